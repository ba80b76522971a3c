"""pyinfra deploy file, BASELINE for bench/deploy_scaling.py: the way the common
air-gap playbooks ship a bundle. Every bundle file goes from the provisioner
to every node (``files.put``, as Ansible's ``copy`` would), whatever the
node's role; re-runs compare checksums on both sides (``files.put`` hashes the
node's copy with sha1sum). No seed node, no peer fetches, no stamps.

    pyinfra -y INVENTORY bench/baseline_copy.py

Files land in ``/var/lib/convecthub-baseline/bundle/`` (not where the real
deploy keeps its bundle), so both can run on the same lab one after the other.
"""

import os
import posixpath

from pyinfra import host
from pyinfra.operations import files

from convecthub.bundle.manifest import load_manifest

BASELINE_DIRECTORY = "/var/lib/convecthub-baseline/bundle"

bundle_dir = os.path.abspath(host.data.bundle_dir)
for entry in load_manifest(bundle_dir).entries:
    files.put(
        name=f"Copy {entry.path} to the node",
        src=os.path.join(bundle_dir, entry.path),
        dest=posixpath.join(BASELINE_DIRECTORY, entry.path),
        mode="644",
        create_remote_dir=True,
    )
