"""pyinfra INVENTORY deploy.py: turn the inventory's servers into a ConvectHub cluster.

The manual's flow, one @deploy per step (deploys/). Everything that can be
refused is refused first, before any host changes: the inventory, then the
air-gap bundle on the provisioner.
"""

import os

from pyinfra import host

from convecthub.check import require_valid_inventory, require_verified_bundle
from convecthub.secrets import apply_secrets
from deploys.bundle import distribute_bundle
from deploys.connectivity import check_connectivity

require_valid_inventory()
apply_secrets()
manifest = require_verified_bundle(host.data.bundle_dir)

check_connectivity()
distribute_bundle(
    local_directory=os.path.abspath(host.data.bundle_dir),
    manifest=manifest,
    peer_port=host.data.bundle_peer_port,
)
