"""What of ConvectHub (K3s, its network, the registry, our files) is on a
node, in one round trip. The audit reports it; the reset removes it."""

import shlex

from pyinfra.api import FactBase

K3S_UNITS = ("k3s", "k3s-agent")
OUR_UNITS = K3S_UNITS + ("docker-registry", "convecthub-bundle-peer")
# Where K3s, the kubelet and the CNI mount things and keep state.
MOUNT_PREFIXES = ("/run/k3s", "/var/lib/kubelet", "/var/lib/rancher/k3s", "/run/netns/cni-")
INTERFACE_PATTERN = r"^(cni0|flannel\.1|flannel-v6\.1|flannel-wg|flannel-wg-v6|kube-ipvs0)$"
IPTABLES_PATTERN = "KUBE-|CNI-|FLANNEL|flannel"
K3S_PATHS = (
    "/usr/local/bin/k3s",
    "/etc/rancher",
    "/var/lib/rancher/k3s",
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/run/k3s",
    "/run/flannel",
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
    "/etc/modules-load.d/convecthub-k3s.conf",
    "/etc/sysctl.d/90-convecthub-k3s.conf",
    "/etc/convecthub",
)
REGISTRY_CONFIG_FILES = (
    "/etc/docker/registry/config.yml",
    "/etc/docker/registry/htpasswd",
    "/etc/docker/registry/registry.crt",
    "/etc/docker/registry/registry.key",
    "/etc/systemd/system/docker-registry.service.d/convecthub-restart.conf",
)
REGISTRY_DATA = "/var/lib/docker-registry"
K3S_LINKS = ("/usr/local/bin/kubectl", "/usr/local/bin/crictl", "/usr/local/bin/ctr")


def _section(kind: str, command: str) -> str:
    # Each line of the command's output becomes "<kind> <line>".
    return f"{{ {command} ; }} 2>/dev/null | sed 's|^|{kind} |';"


class ConvectHubLeftovers(FactBase):
    """
    Everything of ours on the node, by kind:

    .. code:: python

        {"process": ["1234 /usr/local/bin/k3s server"], "unit": ["k3s.service active"],
         "mount": ["/run/k3s/..."], "interface": ["cni0"], "netns": ["cni-1f2e..."],
         "iptables": ["-A FORWARD -j KUBE-FORWARD"], "file": ["/etc/rancher"],
         "port": ["6443"]}

    A node with nothing of ours gives ``{}``. ``workdir`` is convect_workdir;
    ``ports`` the TCP ports only our services listen on; ``registry_data``
    whether the registry's images count (False when the operator keeps them).
    """

    default = dict

    def command(self, workdir: str, ports: list, registry_data: bool = True) -> str:
        paths = list(K3S_PATHS) + list(REGISTRY_CONFIG_FILES) + [workdir]
        if registry_data:
            paths.append(REGISTRY_DATA)
        units = " ".join(f"{unit}.service" for unit in OUR_UNITS)
        mounts = "|".join(prefix.replace("/", "\\/") for prefix in MOUNT_PREFIXES)
        port_pattern = "|".join(str(int(port)) for port in ports)
        return " ".join(
            (
                # Our processes: K3s and the containerd-shims of its pods.
                # By process name (not command line, which this very command
                # shares): K3s, and the containerd-shims of its pods.
                _section("process", "ps -eo pid=,comm=,args= | awk '$2 ~ /^(k3s|k3s-server|k3s-agent|containerd-shim)/'"),
                _section(
                    "unit",
                    f"for u in {units}; do a=$(systemctl is-active $u); e=$(systemctl is-enabled $u); "
                    '[ "$a" = active ] || [ "$e" = enabled ] && echo "$u $a $e"; done',
                ),
                _section("mount", f"awk '$2 ~ /^({mounts})/ {{print $2}}' /proc/self/mounts"),
                _section("interface", f"ip -o link show | awk -F': ' '{{print $2}}' | cut -d@ -f1 | grep -E '{INTERFACE_PATTERN}'"),
                _section("interface", "ip -o link show master cni0 | awk -F': ' '{print $2}' | cut -d@ -f1"),
                _section("netns", "ip netns list | awk '{print $1}' | grep '^cni-'"),
                _section("iptables", f"iptables-save | grep -E '{IPTABLES_PATTERN}' | grep -v '^#'"),
                _section("ip6tables", f"ip6tables-save | grep -E '{IPTABLES_PATTERN}' | grep -v '^#'"),
                _section("file", "for p in " + " ".join(shlex.quote(p) for p in paths) + '; do [ -e "$p" ] && echo "$p"; done'),
                _section(
                    "file",
                    "for l in " + " ".join(K3S_LINKS) + '; do [ "$(readlink "$l")" = /usr/local/bin/k3s ] && echo "$l"; done',
                ),
                _section("port", f"ss -Htln | awk '{{n=split($4,a,\":\"); print a[n]}}' | grep -Ex '{port_pattern}' | sort -u")
                if ports
                else "",
                "true",
            )
        )

    def process(self, output):
        leftovers: dict = {}
        for line in output:
            kind, _, item = line.partition(" ")
            if item.strip():
                leftovers.setdefault(kind, []).append(item.strip())
        return leftovers
