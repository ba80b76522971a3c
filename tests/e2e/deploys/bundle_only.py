"""deploy.py's first steps only: refuse a bad inventory or bundle, check
SSH and sudo, then distribute the bundle. The bundle tests measure this."""

import os

from pyinfra import host

from convecthub.cluster.check import require_valid_inventory, require_verified_bundle
from convecthub.cluster.state import apply_secrets
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
