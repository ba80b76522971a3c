"""What every K3s node gets, server or agent: the binary and the air-gap
images from the bundle, and the registry mirrors with their credentials."""

import posixpath

import yaml
from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.systemd import SystemdStatus
from pyinfra.operations import files as pyinfra_files
from pyinfra.operations import python, server, systemd
from pyinfra.operations.util import any_changed

from convecthub import footprint as fp
from convecthub.bundle.manifest import Manifest
from convecthub.cluster import nodes
from convecthub.cluster.plan import ClusterPlan, full_token
from convecthub.images import registries_of
from convecthub.problems import Problem, Refused
from facts.k3s import K3sClusterCaHash, K3sConfigChangedSinceStart, K3sSkippedConfigKeys
from operations import bundle, files
from operations.failure import failure

from .templating import render


def registries_yaml(registry_address: str, registries: list, password: str) -> str:
    """Every public registry the images come from is mirrored by ours; K3s
    reads this on start, so a change means a restart."""
    document = {
        "mirrors": {name: {"endpoint": [f"https://{registry_address}"]} for name in registries},
        "configs": {
            registry_address: {
                "auth": {"username": fp.REGISTRY_USER, "password": password},
                "tls": {"ca_file": fp.CLUSTER_CA_FILE},
            }
        },
    }
    return "# Written by ConvectHub Deploy (deploys/k3s_node.py). Holds a password: 0600.\n" + yaml.safe_dump(
        document, sort_keys=False
    )


def k3s_config_yaml(config: dict, writer: str) -> str:
    """/etc/rancher/k3s/config.yaml: K3s's flags as keys. It holds the token."""
    header = f"# Written by ConvectHub Deploy ({writer}). Holds the cluster token: 0600.\n"
    return header + yaml.safe_dump(config, sort_keys=False)


@deploy("K3s binary, images and registry mirrors")
def k3s_node_files(
    manifest: Manifest,
    arch: str,
    bundle_directory: str,
    registry_address: str,
    registry_password: str,
    registry_ca: str,
    staging_dir: str,
) -> list:
    """Returns the operations after whose change K3s must restart."""
    binary, images = manifest.k3s_binary(arch), manifest.k3s_airgap_images(arch)
    installed_binary = bundle.installed_from_bundle(
        name="K3s binary from the bundle",
        src=posixpath.join(bundle_directory, binary.path),
        dest=fp.K3S_BINARY,
        mode="755",
    )
    for link in fp.K3S_LINKS:
        pyinfra_files.link(name=f"{posixpath.basename(link)} -> k3s", path=link, target=fp.K3S_BINARY)
    installed_images = bundle.installed_from_bundle(
        name="K3s air-gap images from the bundle",
        src=posixpath.join(bundle_directory, images.path),
        dest=posixpath.join(fp.K3S_IMAGES_DIR, posixpath.basename(images.path)),
    )
    ca = files.content(
        name="Cluster CA for K3s and its clients", dest=fp.CLUSTER_CA_FILE, text=registry_ca, staging_dir=staging_dir
    )
    mirrors = files.content(
        name="Registry mirrors for K3s (registries.yaml)",
        dest=fp.K3S_REGISTRIES_FILE,
        text=registries_yaml(
            registry_address, registries_of(e.image for e in manifest.entries if e.image), registry_password
        ),
        mode="600",
        staging_dir=staging_dir,
    )
    return [installed_binary, installed_images, ca, mirrors]


def k3s_service(mode: str, unit: str, config_text: str, restart_on: list, staging_dir: str):
    """The configuration file and systemd unit of a K3s server or agent.
    Returns when it must (re)start: a callable, evaluated when the start
    operation runs (after these files were written): the files or anything in
    `restart_on` changed, or the unit was not running."""
    config = files.content(
        name=f"K3s {mode} configuration",
        dest=fp.K3S_CONFIG_FILE,
        text=config_text,
        mode="600",
        staging_dir=staging_dir,
    )
    unit_file = files.content(
        name=f"K3s {mode} unit",
        dest=fp.unit_file(unit),
        text=render("k3s.service.j2", mode=mode, binary=fp.K3S_BINARY),
        staging_dir=staging_dir,
    )
    systemd.daemon_reload(name=f"Reload systemd for the K3s {mode} unit", _if=unit_file.did_change)
    changed = any_changed(config, unit_file, *restart_on)
    running = host.get_fact(SystemdStatus).get(fp.service(unit), False)
    # The operator's drop-ins count as K3s's settings: a newer one restarts
    # it (and the start is checked); else what it skipped is refused now.
    operator_changed = running and host.get_fact(K3sConfigChangedSinceStart, unit=unit)
    if running and not operator_changed:
        refuse_skipped_keys(unit)
    return lambda: changed() or not running or operator_changed


def join_token_written(plan: ClusterPlan, secret: str, staging_dir: str):
    """The full token of a joining server or agent (K10<CA hash>::server:
    <secret>, 0600), so that K3s checks the first server's CA by its hash
    before trusting it (with the bare secret it would trust whatever CA
    answers first). The hash comes from the first server over SSH: in the
    plan when the cluster exists; on the first deploy, read once that server
    has started (this operation runs after its start)."""

    def written(token: str):
        return files.content(
            name="K3s join token (pins the cluster CA)",
            dest=fp.K3S_JOIN_TOKEN_FILE,
            text=f"{token}\n",
            mode="600",
            staging_dir=staging_dir,
        )

    known = plan.join_token(secret)
    if known:
        return written(known)
    first = plan.first_driver

    def from_the_first_server() -> None:
        # No arguments: pyinfra may print a callback's arguments; the secret stays out.
        ca_hash = nodes.fact_of(first, K3sClusterCaHash, when="started")
        if not ca_hash:
            server.shell(
                name="The first server's token",
                commands=[
                    failure(
                        f"{first.name} has no {fp.K3S_SERVER_TOKEN_FILE}: its K3s server did not start",
                        f"look at `journalctl -u {fp.K3S_SERVER_UNIT}` on {first.name}",
                    )
                ],
            )
            return
        written(full_token(ca_hash, secret))

    return python.call(
        name="K3s join token from the first server (pins the cluster CA)", function=from_the_first_server
    )


def refuse_skipped_keys(unit: str) -> None:
    """A running K3s server that skipped config keys it does not know runs
    without what the operator meant: refused before anything changes."""
    skipped = host.get_fact(K3sSkippedConfigKeys, unit=unit)
    if skipped:
        raise Refused([skipped_key(host.name, key) for key in skipped])


def skipped_key(name: str, key: str) -> Problem:
    return Problem(
        name,
        key,
        f"is not a K3s flag: K3s skipped it (its log: Unknown flag --{key} found in config.yaml)",
        f"correct or remove it in {fp.K3S_CONFIG_DROPIN_DIR}/ (ConvectHub writes {fp.K3S_CONFIG_FILE})",
    )
