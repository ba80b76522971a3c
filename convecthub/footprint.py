"""
The footprint: everything the deploy puts on a node, or needs there.

Every node path, systemd unit, fixed port, user, iptables chain pattern and
interface pattern lives here and nowhere else (tests/unit/test_footprint.py
fails on a literal elsewhere). The deploys write what is named here, the
audit fact (facts/audit.py) looks for exactly ``audited_paths()`` and the
units, the reset removes what the audit finds, and the preflight and the
inventory check reserve the ports. Add a file to a deploy: add it here, and
the audit and the reset follow.

Pure data: no pyinfra, importable anywhere.
"""

from __future__ import annotations

import posixpath

# -- Ports -------------------------------------------------------------------

K3S_API_PORT = 6443  # the Kubernetes API on every server
KUBELET_PORT = 10250  # every node's kubelet
ETCD_PORTS = (2379, 2380)  # embedded etcd: clients, peers (servers)
# TCP ports K3s binds on the node and no one else may hold.
K3S_PORTS = {
    K3S_API_PORT: "the Kubernetes API",
    KUBELET_PORT: "the kubelet",
    ETCD_PORTS[0]: "etcd",
    ETCD_PORTS[1]: "etcd",
}


def k3s_api_url(address: str) -> str:
    """Where agents and joining servers find a server (K3s's `server` key)."""
    return f"https://{address}:{K3S_API_PORT}"


# -- systemd units (names without ".service") ---------------------------------

K3S_SERVER_UNIT = "k3s"
K3S_AGENT_UNIT = "k3s-agent"
K3S_UNITS = (K3S_SERVER_UNIT, K3S_AGENT_UNIT)
REGISTRY_UNIT = "docker-registry"  # Debian/Ubuntu's distribution package
BUNDLE_PEER_UNIT = "convecthub-bundle-peer"  # transient (systemd-run), only during a deploy
DOCKER_UNIT = "docker"
OUR_UNITS = (*K3S_UNITS, REGISTRY_UNIT, BUNDLE_PEER_UNIT)
# Process names (`ps -o comm`, `ss -p`) of K3s and of its pods' shims.
K3S_PROCESSES = ("k3s", "k3s-server", "k3s-agent")
K3S_PROCESS_PATTERN = r"^(k3s|k3s-server|k3s-agent|containerd-shim)"
REGISTRY_PROCESSES = ("docker-registry", "registry")

SYSTEMD_DIR = "/etc/systemd/system"


def unit_file(unit: str) -> str:
    return f"{SYSTEMD_DIR}/{unit}.service"


def service(unit: str) -> str:
    """The name systemctl and the cgroup use: ``k3s.service``."""
    return f"{unit}.service"


# -- K3s ----------------------------------------------------------------------

K3S_BINARY = "/usr/local/bin/k3s"
# The usual names for K3s's subcommands, links to the binary.
K3S_LINKS = tuple(f"/usr/local/bin/{name}" for name in ("kubectl", "crictl", "ctr"))
K3S_ETC = "/etc/rancher"  # holds k3s/ and node/ (the node password)
K3S_CONFIG_DIR = f"{K3S_ETC}/k3s"
K3S_CONFIG_FILE = f"{K3S_CONFIG_DIR}/config.yaml"
# The operator's own K3s settings, read after config.yaml (K3s: "<config>.d").
K3S_CONFIG_DROPIN_DIR = f"{K3S_CONFIG_FILE}.d"
# The full token of joining servers and agents (token-file), 0600: with the
# CA's hash in it, they check the first server's CA before trusting it.
K3S_JOIN_TOKEN_FILE = f"{K3S_CONFIG_DIR}/join-token"
K3S_REGISTRIES_FILE = f"{K3S_CONFIG_DIR}/registries.yaml"
# The CA of the registry and of the HTTPS front (convecthub/cluster/tls.py).
CLUSTER_CA_FILE = f"{K3S_CONFIG_DIR}/convecthub-ca.crt"
K3S_DATA_DIR = "/var/lib/rancher/k3s"
K3S_IMAGES_DIR = f"{K3S_DATA_DIR}/agent/images"
K3S_MANIFESTS_DIR = f"{K3S_DATA_DIR}/server/manifests"
# K3s's first server writes the full token here: K10<CA sha256>::server:<secret>.
K3S_SERVER_TOKEN_FILE = f"{K3S_DATA_DIR}/server/token"
KUBELET_DIR = "/var/lib/kubelet"
DEVICE_PLUGINS_DIR = f"{KUBELET_DIR}/device-plugins"
# What K3s, the kubelet and flannel keep beside their data directory.
K3S_STATE_DIRS = ("/var/lib/cni", "/run/k3s", "/run/flannel")
MODULES_LOAD_FILE = "/etc/modules-load.d/convecthub-k3s.conf"
SYSCTL_FILE = "/etc/sysctl.d/90-convecthub-k3s.conf"

# Where K3s, the kubelet and the CNI mount things (prefixes of mount points).
MOUNT_PREFIXES = ("/run/k3s", KUBELET_DIR, K3S_DATA_DIR, "/run/netns/cni-")
INTERFACE_PATTERN = r"^(cni0|flannel\.1|flannel-v6\.1|flannel-wg|flannel-wg-v6|kube-ipvs0)$"
BRIDGE_INTERFACE = "cni0"  # the veths of pods hang on it
NETNS_PREFIX = "cni-"
IPTABLES_PATTERN = "KUBE-|CNI-|FLANNEL|flannel"

# -- Our own files ------------------------------------------------------------

CONVECTHUB_ETC = "/etc/convecthub"
REGISTRY_CLIENT_DIR = f"{CONVECTHUB_ETC}/registry-client"
# Default of convect_workdir (group_data/all.py), named in fixes.
DEFAULT_WORKDIR = "/var/lib/convecthub"


def bundle_directory(workdir: str) -> str:
    return posixpath.join(workdir, "bundle")


def staging_directory(workdir: str) -> str:
    return posixpath.join(workdir, ".staging")


# -- The private registry -------------------------------------------------------

REGISTRY_USER = "convecthub"
REGISTRY_CONFIG_DIR = "/etc/docker/registry"
REGISTRY_CONFIG_FILE = f"{REGISTRY_CONFIG_DIR}/config.yml"
REGISTRY_HTPASSWD_FILE = f"{REGISTRY_CONFIG_DIR}/htpasswd"
REGISTRY_CERT_FILE = f"{REGISTRY_CONFIG_DIR}/registry.crt"
REGISTRY_KEY_FILE = f"{REGISTRY_CONFIG_DIR}/registry.key"
REGISTRY_CONFIG_FILES = (REGISTRY_CONFIG_FILE, REGISTRY_HTPASSWD_FILE, REGISTRY_CERT_FILE, REGISTRY_KEY_FILE)
REGISTRY_RESTART_DROPIN = f"{SYSTEMD_DIR}/{REGISTRY_UNIT}.service.d/convecthub-restart.conf"
REGISTRY_DATA_DIR = "/var/lib/docker-registry"

# -- Docker from docker_repo ----------------------------------------------------

APT_KEYRINGS_DIR = "/etc/apt/keyrings"
DOCKER_KEYRING = f"{APT_KEYRINGS_DIR}/convecthub-docker.asc"
DOCKER_APT_SOURCE = "/etc/apt/sources.list.d/convecthub-docker.list"

# -- What the deploy reads of the system ------------------------------------------

OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
APT_SOURCES_LIST = "/etc/apt/sources.list"
APT_LISTS_DIR = "/var/lib/apt/lists"
REBOOT_REQUIRED_FILE = "/var/run/reboot-required"  # Ubuntu: a package wants a reboot

# -- What the deploy may install from APT (reset leaves it unless asked) ---------

APT_PACKAGES = (
    "docker.io",
    "docker-ce",
    "docker-ce-cli",
    "containerd.io",
    REGISTRY_UNIT,
    "skopeo",
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
)
APT_PACKAGE_PREFIXES = ("nvidia-headless-", "nvidia-utils-")


def audited_paths(workdir: str, registry_data: bool = True) -> list:
    """Every path the deploy may create on a node: what the audit looks for
    and the reset removes. ``registry_data`` False keeps the registry's
    stored images out of it (keep_registry_data)."""
    paths = [
        K3S_BINARY,
        K3S_ETC,
        K3S_DATA_DIR,
        KUBELET_DIR,
        *K3S_STATE_DIRS,
        *(unit_file(unit) for unit in K3S_UNITS),
        MODULES_LOAD_FILE,
        SYSCTL_FILE,
        CONVECTHUB_ETC,
        *REGISTRY_CONFIG_FILES,
        REGISTRY_RESTART_DROPIN,
        DOCKER_KEYRING,
        DOCKER_APT_SOURCE,
        workdir,
    ]
    if registry_data:
        paths.append(REGISTRY_DATA_DIR)
    return paths


def service_ports(registry_port: int, bundle_peer_port: int) -> list:
    """TCP ports only our services listen on: K3s's, the registry's and the
    bundle server's (http_port/https_port are Traefik's, through iptables)."""
    return [*K3S_PORTS, registry_port, bundle_peer_port]
