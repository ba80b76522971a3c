"""The lab's node image: a Debian rootfs made by debootstrap and `docker import`ed.

No image registry is reachable here, so nothing is pulled: the image is built
from Debian's packages alone. It is tagged with a hash of its recipe, so a
second `lab up` finds it and builds nothing.
"""

import hashlib
import json
import logging
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
import docker.errors

log = logging.getLogger("lab")

IMAGE_REPOSITORY = "convecthub-lab-node"
APT_PROXY_REPOSITORY = "convecthub-lab-aptproxy"

# Files added to the rootfs before import. Each one is part of the recipe hash.
SSH_HOST_KEYS_DROPIN = """\
# The image ships without host keys (every node would share them): make
# them on first start, before sshd checks its configuration.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""

# Units that have nothing to do in a container and fail or hang there.
MASKED_UNITS = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-modules-load.service",
    "systemd-remount-fs.service",
    "getty@tty1.service",
    "console-getty.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
)


@dataclass(frozen=True)
class ImageRecipe:
    suite: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"
    packages: tuple = (
        "systemd",
        "systemd-sysv",
        "dbus",
        "openssh-server",
        "sudo",
        "iproute2",
        "python3",
        "ca-certificates",
        "curl",
        # What Ubuntu servers have and the deploy's commands use.
        "iptables",
        "kmod",
        "openssl",
        "procps",
        # Nothing only a stand-in needs: the K3s stand-in carries its PyYAML
        # (tests/standins/k3s/build.py), as the real binary needs nothing.
    )
    masked_units: tuple = MASKED_UNITS
    ssh_dropin: str = SSH_HOST_KEYS_DROPIN
    # Bump when the way the rootfs is prepared changes in a way not captured above.
    revision: int = 1

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.digest()}"


def find_image(client: docker.DockerClient, tag: str):
    try:
        return client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None


def ensure_node_image(client: docker.DockerClient, recipe: ImageRecipe = ImageRecipe()) -> str:
    """Return the tag of the node image for `recipe`, building it if missing."""
    if find_image(client, recipe.tag):
        log.info("node image %s is cached", recipe.tag)
        return recipe.tag
    if not shutil.which("debootstrap"):
        raise RuntimeError(
            "building the lab's node image needs debootstrap: run scripts/ensure-provisioner.sh "
            "as root (it installs it), or 'apt-get install debootstrap'"
        )
    with tempfile.TemporaryDirectory(prefix="convecthub-lab-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _debootstrap(recipe, rootfs)
        _prepare_rootfs(recipe, rootfs)
        _import_rootfs(client, rootfs, recipe.tag)
    return recipe.tag


def _debootstrap(recipe: ImageRecipe, rootfs: Path) -> None:
    log.info("debootstrap %s into %s (about a minute)", recipe.suite, rootfs)
    command = [
        "debootstrap",
        "--variant=minbase",
        "--include=" + ",".join(recipe.packages),
        recipe.suite,
        str(rootfs),
        recipe.mirror,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RuntimeError(f"debootstrap failed (exit {result.returncode}):\n{tail}")


def _prepare_rootfs(recipe: ImageRecipe, rootfs: Path) -> None:
    for key in rootfs.glob("etc/ssh/ssh_host_*"):
        key.unlink()
    dropin = rootfs / "etc/systemd/system/ssh.service.d/host-keys.conf"
    dropin.parent.mkdir(parents=True, exist_ok=True)
    dropin.write_text(recipe.ssh_dropin)
    for unit in recipe.masked_units:
        link = rootfs / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    # systemd makes a fresh machine id per container when this file is empty.
    (rootfs / "etc/machine-id").write_text("")
    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True)
    for lists in (rootfs / "var/lib/apt/lists").glob("*_*"):
        lists.unlink()


def _import_rootfs(client: docker.DockerClient, rootfs: Path, tag: str) -> None:
    log.info("importing rootfs as %s", tag)
    repository, _, version = tag.partition(":")
    archive = rootfs.parent / "rootfs.tar"
    with tarfile.open(archive, mode="w") as tar:
        for entry in sorted(rootfs.iterdir()):
            tar.add(entry, arcname=entry.name)
    # A file name (not a stream): docker-py then sends it with a length,
    # which dockerd accepts where a chunked stream is refused.
    client.api.import_image(
        src=str(archive),
        repository=repository,
        tag=version,
        changes=[
            'CMD ["/lib/systemd/systemd"]',
            "ENV container=docker",
            f"LABEL convecthub.lab.image={tag}",
        ],
    )
    if not find_image(client, tag):
        raise RuntimeError(f"docker import did not produce {tag}")


def ensure_apt_proxy_image(client: docker.DockerClient, node_tag: str) -> str:
    """The APT proxy image: the node image plus Debian's apt-cacher-ng."""
    tag = f"{APT_PROXY_REPOSITORY}:{node_tag.partition(':')[2]}"
    if find_image(client, tag):
        return tag
    log.info("building %s (apt-cacher-ng on the node image)", tag)
    container = client.containers.run(
        node_tag,
        command=[
            "sh",
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
            "apt-get install -y -qq --no-install-recommends apt-cacher-ng "
            "&& apt-get clean && rm -rf /var/lib/apt/lists/*",
        ],
        detach=True,
    )
    try:
        status = container.wait()
        if status["StatusCode"] != 0:
            output = container.logs().decode(errors="replace")[-2000:]
            raise RuntimeError(f"installing apt-cacher-ng failed:\n{output}")
        container.commit(
            repository=APT_PROXY_REPOSITORY,
            tag=tag.partition(":")[2],
            changes=[
                'CMD ["/usr/sbin/apt-cacher-ng", "-c", "/etc/apt-cacher-ng", "ForeGround=1"]',
            ],
        )
    finally:
        container.remove(force=True)
    return tag
