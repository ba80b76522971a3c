"""Air-gap bundle distribution.

The provisioner sends each bundle file once, to the seed node (the first
driver); every other node fetches the files its roles need from the seed over
the private network and checks their digests. The bytes leaving the
provisioner do not grow with the number of nodes, and a re-run moves nothing.
"""

from pyinfra import host, inventory
from pyinfra.api import deploy

from convecthub import footprint
from convecthub.bundle.manifest import Manifest
from convecthub.cluster.nodes import architecture, fact_of, first_driver, on_each, private_address, roles_of
from facts.bundle import VerifiedBundleFiles
from operations import bundle
from operations.bundle import BundleFile


def node_bundle_directory(data) -> str:
    return footprint.bundle_directory(data.convect_workdir)


def files_needed(manifest: Manifest, node) -> list:
    entries = manifest.for_host(roles_of(node), architecture(node))
    return [BundleFile(entry.path, entry.sha256, entry.size) for entry in entries]


def files_relayed_by_seed(manifest: Manifest) -> list:
    """The seed holds every file some node of the inventory needs."""
    roles = set().union(*(roles_of(node) for node in inventory))
    return [BundleFile(entry.path, entry.sha256, entry.size) for entry in manifest.for_roles(roles)]


def peers_missing_files(manifest: Manifest, seed) -> bool:
    def missing_files(peer) -> bool:
        files = files_needed(manifest, peer)
        verified = fact_of(
            peer, VerifiedBundleFiles, directory=node_bundle_directory(peer.data), paths=[f.path for f in files]
        )
        return any(verified.get(f.path) != f.sha256 for f in files)

    # Every peer at once: one round trip's time, not one per peer in a row.
    peers = [peer for peer in inventory.iter_activated_hosts() if peer != seed]
    return any(on_each(missing_files, peers).values())


@deploy("Distribute the air-gap bundle")
def distribute_bundle(local_directory: str, manifest: Manifest, peer_port: int):
    seed = first_driver(inventory)
    seed_in_run = seed in inventory.iter_activated_hosts()
    directory = node_bundle_directory(host.data)
    is_seed = host == seed
    # Without the seed in this run (`--limit`), a node has nobody to fetch
    # from: it takes its files from the provisioner directly.
    fetches_from_seed = not is_seed and seed_in_run
    if is_seed:
        to_upload = files_relayed_by_seed(manifest)
    else:
        to_upload = [] if fetches_from_seed else files_needed(manifest, host)

    # Every host goes through the same four operations (most of them no-ops
    # on most hosts): pyinfra orders operations across hosts by each host's
    # sequence, so this is what keeps the seed serving before the others fetch.
    bundle.uploaded_files(
        name="Upload bundle files from the provisioner",
        local_directory=local_directory,
        directory=directory,
        files=to_upload,
    )
    serving = bundle.peer_server(
        name="Serve the bundle to the other nodes",
        directory=directory,
        bind_address=private_address(seed),
        port=peer_port,
        serve=is_seed and peers_missing_files(manifest, seed),
    )
    bundle.fetched_files(
        name="Fetch bundle files from the seed node",
        base_url=f"http://{private_address(seed)}:{peer_port}",
        directory=directory,
        files=files_needed(manifest, host) if fetches_from_seed else [],
        peer=seed,
    )
    bundle.peer_server_stopped(name="Stop serving the bundle", _if=serving.did_change)
