"""A lab of Debian systemd nodes in Docker, reached over real SSH on 127.0.0.1.

Each node is a container running systemd as PID 1 with:
  - eth0 on Docker's default bridge (the way out to the APT proxy),
  - eth1 on the lab's private network (the manual's `my_iface=eth1`),
  - sshd published on 127.0.0.1:<port>, a login user with the lab's key,
    sudo without a password, or with one when the node asks for it.
An apt-cacher-ng container sits between the nodes and Debian's mirror, playing
the manual's private APT mirror; its cache lives in a host directory, so it
outlives `lab down` and repeated runs do not download again.

Everything the lab creates in Docker carries the label `convecthub.lab=<name>`;
`down` removes exactly what carries it.
"""

import io
import logging
import os
import secrets
import shutil
import socket
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import docker.types

from convecthub.bundle.checksums import sha256_of_file
from convecthub.bundle.errors import BundleError
from convecthub.bundle.verify import verify_bundle
from tests.standins.bundle import build_standin_bundle
from tests.standins.nvidia.repo import apt_source_line, build_nvidia_standin_repo

from . import image, keys
from .inventory import write_inventory

log = logging.getLogger("lab")

LABEL = "convecthub.lab"
K3S_STANDIN = Path(__file__).resolve().parents[1] / "standins" / "k3s" / "k3s"
APT_PROXY_PORT = 3142
NVIDIA_REPO_PORT = 8080
BOOT_TIMEOUT_SECONDS = 90

# Flags that let systemd run as PID 1 here (`--privileged` is refused).
SYSTEMD_CONTAINER_OPTIONS = dict(
    cap_add=["ALL"],
    cap_drop=["SYS_RESOURCE"],
    security_opt=["seccomp=unconfined", "apparmor=unconfined"],
    tmpfs={"/run": "", "/run/lock": ""},
    cgroupns="host",
    # systemd shuts down cleanly on this signal, not on SIGTERM.
    stop_signal="SIGRTMIN+3",
)

NODE_SETUP_SCRIPT = """\
set -eu
user="$1"
setup=/tmp/lab-setup
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
install -d -m 700 -o "$user" -g "$user" "/home/$user/.ssh"
install -m 600 -o "$user" -g "$user" "$setup/authorized_keys" "/home/$user/.ssh/authorized_keys"
if [ -f "$setup/password" ]; then
    # chpasswd reads the password on stdin: it is on no command line.
    { printf '%s:' "$user"; cat "$setup/password"; echo; } | chpasswd
    echo "$user ALL=(ALL:ALL) ALL" > "/etc/sudoers.d/$user"
else
    echo "$user ALL=(ALL:ALL) NOPASSWD: ALL" > "/etc/sudoers.d/$user"
fi
chmod 440 "/etc/sudoers.d/$user"
install -m 644 "$setup/apt-proxy.conf" /etc/apt/apt.conf.d/01lab-apt-proxy
if [ -f "$setup/nvidia-standin.list" ]; then
    install -m 644 "$setup/nvidia-standin.list" /etc/apt/sources.list.d/lab-nvidia-standin.list
fi
rm -rf "$setup"
for _ in $(seq 50); do systemctl is-active --quiet ssh && break; sleep 0.2; done
systemctl is-active --quiet ssh
cat /etc/ssh/ssh_host_ed25519_key.pub
"""


@dataclass(frozen=True)
class NodeSpec:
    name: str
    ssh_port: int
    groups: tuple = ()
    data: dict = field(default_factory=dict)
    sudo_needs_password: bool = False
    # Show the node a stand-in NVIDIA GPU in /sys/bus/pci/devices.
    standin_gpu: bool = False


@dataclass(frozen=True)
class LabSpec:
    name: str = "convecthub-lab"
    nodes: tuple = ()
    user: str = "vagrant"
    subnet: str = "10.213.7.0/24"
    iface: str = "eth1"
    # Inventory data for every node (e.g. {"https_port": 9443}).
    data: dict = field(default_factory=dict)


def topology(
    drivers: int = 1, workers: int = 2, gpu_workers=("worker2",), sudo_password_nodes=(), port_offset: int = 0
) -> tuple:
    """Nodes named and numbered as in the manual's example: `master` (first
    driver, also the registry) on port 2222, further drivers `master2`... on
    2223..., workers `worker1`... on 2200...; `worker2` has a (stand-in) GPU.
    A second lab beside the first one shifts every port by `port_offset`."""
    nodes = []
    for index in range(1, drivers + 1):
        name = "master" if index == 1 else f"master{index}"
        groups = ("driver", "registry") if index == 1 else ("driver",)
        nodes.append((name, 2221 + index, groups))
    for index in range(1, workers + 1):
        nodes.append((f"worker{index}", 2199 + index, ("worker",)))
    return tuple(
        NodeSpec(
            name,
            port + port_offset,
            groups=groups,
            data={"has_gpu": True} if name in gpu_workers else {},
            sudo_needs_password=name in sudo_password_nodes,
            standin_gpu=name in gpu_workers,
        )
        for name, port, groups in nodes
    )


def manual_topology() -> tuple:
    """The example inventory of the manual: master (driver + registry), two workers."""
    return topology(drivers=1, workers=2)


@dataclass
class Node:
    spec: NodeSpec
    container_name: str
    private_ip: str = ""
    host_key: str = ""
    sudo_password_file: Path | None = None


def default_state_root() -> Path:
    explicit = os.environ.get("CONVECTHUB_LAB_HOME")
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "convecthub-lab"


class Lab:
    def __init__(self, spec: LabSpec, client: docker.DockerClient | None = None, state_root: Path | None = None):
        self.spec = spec
        self.client = client or docker.from_env(timeout=300)
        self.state_root = state_root or default_state_root()
        self.state_dir = self.state_root / "labs" / spec.name
        self.apt_cache_dir = self.state_root / "apt-cache" / spec.name
        self.labels = {LABEL: spec.name}
        self.nodes = [Node(node, f"{spec.name}-{node.name}") for node in spec.nodes]

    # -- up ---------------------------------------------------------------

    def up(self, inventory_path: Path | None = None) -> list:
        """Start every node (replacing an earlier lab of the same name) and
        write the inventory. Returns the nodes with their private addresses."""
        self._check_ports_free()
        self.down(keep_state=False)
        node_image = image.ensure_node_image(self.client)
        proxy_image = image.ensure_apt_proxy_image(self.client, node_image)
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = keys.ensure_ssh_key(self.state_dir / "id_ed25519")

        network = self.client.networks.create(
            f"{self.spec.name}-net",
            driver="bridge",
            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=self.spec.subnet)]),
            labels=self.labels,
        )
        proxy_address = self._start_apt_proxy(proxy_image)
        nvidia_repo = self._start_nvidia_repo(node_image) if any(n.spec.standin_gpu for n in self.nodes) else None
        with ThreadPoolExecutor(max_workers=len(self.nodes) or 1) as pool:
            list(
                pool.map(
                    lambda node: self._start_node(node, node_image, network, key, proxy_address, nvidia_repo),
                    self.nodes,
                )
            )

        known_hosts = self.state_dir / "known_hosts"
        known_hosts.write_text("".join(f"[127.0.0.1]:{n.spec.ssh_port} {n.host_key}\n" for n in self.nodes))
        if inventory_path:
            bundle_dir = self.ensure_standin_bundle()
            write_inventory(inventory_path, self.spec, self.nodes, key, known_hosts, bundle_dir, self.state_dir)
        return self.nodes

    def ensure_standin_bundle(self) -> Path:
        """The stand-in air-gap bundle the lab deploys (tests/standins/bundle.py,
        with the K3s stand-in as its K3s), built once per machine and reused
        while it verifies and holds the current K3s stand-in."""
        bundle_dir = self.state_root / "standin-bundle"
        k3s = K3S_STANDIN if K3S_STANDIN.exists() else None
        try:
            manifest = verify_bundle(bundle_dir)
            current = k3s is None or manifest.entry("k3s-amd64").sha256 == sha256_of_file(k3s)
        except (BundleError, KeyError):
            current = False
        if not current:
            log.info("building the stand-in bundle in %s", bundle_dir)
            build_standin_bundle(bundle_dir, docker_client=self.client, k3s_executable=k3s)
        return bundle_dir

    def _check_ports_free(self) -> None:
        ours = {
            int(binding["HostPort"])
            for container in self._containers()
            for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values()
            for binding in bindings or ()
        }
        for node in self.spec.nodes:
            if node.ssh_port in ours:
                continue
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", node.ssh_port)) == 0:
                    raise RuntimeError(
                        f"port 127.0.0.1:{node.ssh_port} for node {node.name} is already in use "
                        "by something that is not this lab: free it or pick another port"
                    )

    def _start_apt_proxy(self, proxy_image: str) -> str:
        self.apt_cache_dir.mkdir(parents=True, exist_ok=True)
        proxy = self.client.containers.run(
            proxy_image,
            name=f"{self.spec.name}-aptproxy",
            detach=True,
            labels=self.labels,
            network="bridge",
            volumes={str(self.apt_cache_dir): {"bind": "/var/cache/apt-cacher-ng", "mode": "rw"}},
        )
        proxy.reload()
        address = proxy.attrs["NetworkSettings"]["IPAddress"]
        _wait_for_port(address, APT_PROXY_PORT, what="apt-cacher-ng")
        return address

    def _start_nvidia_repo(self, node_image: str) -> str:
        """Serve the stand-in NVIDIA packages (tests/standins/nvidia) over HTTP,
        as the site's APT mirror would serve NVIDIA's. Returns its address."""
        repository = build_nvidia_standin_repo(self.state_root / "nvidia-standin-repo")
        server = self.client.containers.run(
            node_image,
            command=["python3", "-m", "http.server", str(NVIDIA_REPO_PORT), "--directory", "/srv/repo"],
            name=f"{self.spec.name}-nvidia-repo",
            detach=True,
            labels=self.labels,
            network="bridge",
            volumes={str(repository): {"bind": "/srv/repo", "mode": "ro"}},
        )
        server.reload()
        address = server.attrs["NetworkSettings"]["IPAddress"]
        _wait_for_port(address, NVIDIA_REPO_PORT, what="the stand-in NVIDIA repository")
        return address

    def _start_node(
        self, node: Node, node_image: str, network, key: keys.KeyPair, proxy_address: str, nvidia_repo: str | None
    ) -> None:
        spec = node.spec
        volumes = {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}}
        if spec.standin_gpu:
            volumes[str(self._standin_pci_devices(spec.name))] = {"bind": "/sys/bus/pci/devices", "mode": "ro"}
        container = self.client.containers.run(
            node_image,
            name=node.container_name,
            hostname=spec.name,
            detach=True,
            labels={**self.labels, f"{LABEL}.node": spec.name},
            network="bridge",
            ports={"22/tcp": ("127.0.0.1", spec.ssh_port)},
            volumes=volumes,
            **SYSTEMD_CONTAINER_OPTIONS,
        )
        # Attached after start, so the private network is always eth1.
        network.connect(container)
        self._wait_for_boot(container)

        apt_proxy = f'Acquire::http::Proxy "http://{proxy_address}:{APT_PROXY_PORT}";\n'
        files = {"authorized_keys": key.public_line.encode()}
        if spec.standin_gpu and nvidia_repo:
            # The stand-in NVIDIA packages come straight from their server.
            apt_proxy += f'Acquire::http::Proxy::{nvidia_repo} "DIRECT";\n'
            files["nvidia-standin.list"] = (apt_source_line(nvidia_repo, NVIDIA_REPO_PORT) + "\n").encode()
        files["apt-proxy.conf"] = apt_proxy.encode()
        if spec.sudo_needs_password:
            password = secrets.token_urlsafe(18)
            files["password"] = password.encode()
            node.sudo_password_file = self.state_dir / f"sudo-password-{spec.name}"
            keys.write_secret(node.sudo_password_file, password)
        container.put_archive("/tmp", _tar_dir("lab-setup", files))
        code, output = container.exec_run(["sh", "-c", NODE_SETUP_SCRIPT, "setup", self.spec.user])
        if code != 0:
            raise RuntimeError(f"setting up node {spec.name} failed:\n{output.decode(errors='replace')}")
        node.host_key = output.decode().strip().splitlines()[-1]

        container.reload()
        node.private_ip = container.attrs["NetworkSettings"]["Networks"][f"{self.spec.name}-net"]["IPAddress"]
        _wait_for_port("127.0.0.1", spec.ssh_port, what=f"sshd of {spec.name}", banner=b"SSH-2.0")

    def _wait_for_boot(self, container) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_SECONDS
        while True:
            _, output = container.exec_run(
                ["timeout", str(BOOT_TIMEOUT_SECONDS), "systemctl", "is-system-running", "--wait"]
            )
            state = output.decode().strip()
            # Until systemd has opened its bus, systemctl cannot ask it anything.
            if "Failed to connect to bus" not in state or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if state not in ("running", "degraded"):
            raise RuntimeError(f"systemd in {container.name} did not boot: {state!r}")
        if state == "degraded":
            _, failed = container.exec_run(["systemctl", "--failed", "--no-legend", "--plain"])
            log.warning("%s booted degraded; failed units:\n%s", container.name, failed.decode())

    def _standin_pci_devices(self, node_name: str) -> Path:
        """A stand-in for /sys/bus/pci/devices showing one NVIDIA 3D controller
        (vendor 0x10de, class 0x0302) and, to be skipped, its audio function."""
        root = self.state_dir / f"standin-pci-{node_name}"
        devices = {
            "0000:01:00.0": {"vendor": "0x10de", "device": "0x20b0", "class": "0x030200"},
            "0000:01:00.1": {"vendor": "0x10de", "device": "0x1aef", "class": "0x040300"},
            "0000:00:02.0": {"vendor": "0x1af4", "device": "0x1041", "class": "0x020000"},
        }
        for address, attributes in devices.items():
            for attribute, value in attributes.items():
                path = root / address / attribute
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(value + "\n")
        return root

    # -- down -------------------------------------------------------------

    def _containers(self):
        return self.client.containers.list(all=True, filters={"label": f"{LABEL}={self.spec.name}"})

    def down(self, keep_state: bool = False) -> dict:
        """Remove every container, network and volume labelled as this lab's.
        The node image and the APT cache are kept: they are caches."""
        removed = {"containers": [], "networks": [], "volumes": []}
        label_filter = {"label": f"{LABEL}={self.spec.name}"}
        for container in self._containers():
            container.remove(force=True, v=True)
            removed["containers"].append(container.name)
        for network in self.client.networks.list(filters=label_filter):
            network.remove()
            removed["networks"].append(network.name)
        for volume in self.client.volumes.list(filters=label_filter):
            volume.remove(force=True)
            removed["volumes"].append(volume.name)
        if not keep_state and self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        return removed

    def leftovers(self) -> dict:
        """What of this lab is still in Docker (empty lists when it is down)."""
        label_filter = {"label": f"{LABEL}={self.spec.name}"}
        return {
            "containers": [c.name for c in self._containers()],
            "networks": [n.name for n in self.client.networks.list(filters=label_filter)],
            "volumes": [v.name for v in self.client.volumes.list(filters=label_filter)],
        }


def _tar_dir(directory: str, files: dict) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(directory)
        info.type = tarfile.DIRTYPE
        info.mode = 0o700
        tar.addfile(info)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{directory}/{name}")
            info.size = len(content)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _wait_for_port(address: str, port: int, what: str, banner: bytes = b"", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2) as connection:
                if not banner or connection.recv(len(banner)) == banner:
                    return
        except OSError as error:
            last_error = error
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on {address}:{port} within {timeout:.0f}s ({last_error})")
