"""What of ConvectHub (K3s, its network, the registry, our files) is on a
node, in one round trip. The audit reports it; the reset removes it."""

import shlex

from pyinfra.api import FactBase

from convecthub import footprint as fp


def mount_pattern() -> str:
    """An awk regex alternative of every mount prefix of K3s's (slashes escaped)."""
    return "|".join(prefix.replace("/", "\\/") for prefix in fp.MOUNT_PREFIXES)


def _section(kind: str, command: str) -> str:
    # Each line of the command's output becomes "<kind> <line>".
    return f"{{ {command} ; }} 2>/dev/null | sed 's|^|{kind} |';"


class ConvectHubLeftovers(FactBase[dict[str, list[str]]]):
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
        paths = fp.audited_paths(workdir, registry_data)
        units = " ".join(fp.service(unit) for unit in fp.OUR_UNITS)
        mounts = mount_pattern()
        port_pattern = "|".join(str(int(port)) for port in ports)
        return " ".join(
            (
                # Our processes: K3s and the containerd-shims of its pods.
                # By process name (not command line, which this very command
                # shares): K3s, and the containerd-shims of its pods.
                _section("process", f"ps -eo pid=,comm=,args= | awk '$2 ~ /{fp.K3S_PROCESS_PATTERN}/'"),
                _section(
                    "unit",
                    f"for u in {units}; do a=$(systemctl is-active $u); e=$(systemctl is-enabled $u); "
                    '[ "$a" = active ] || [ "$e" = enabled ] && echo "$u $a $e"; done',
                ),
                _section("mount", f"awk '$2 ~ /^({mounts})/ {{print $2}}' /proc/self/mounts"),
                _section(
                    "interface",
                    f"ip -o link show | awk -F': ' '{{print $2}}' | cut -d@ -f1 | grep -E '{fp.INTERFACE_PATTERN}'",
                ),
                _section(
                    "interface",
                    f"ip -o link show master {fp.BRIDGE_INTERFACE} | awk -F': ' '{{print $2}}' | cut -d@ -f1",
                ),
                _section("netns", f"ip netns list | awk '{{print $1}}' | grep '^{fp.NETNS_PREFIX}'"),
                _section("iptables", f"iptables-save | grep -E '{fp.IPTABLES_PATTERN}' | grep -v '^#'"),
                _section("ip6tables", f"ip6tables-save | grep -E '{fp.IPTABLES_PATTERN}' | grep -v '^#'"),
                _section(
                    "file",
                    "for p in " + " ".join(shlex.quote(p) for p in paths) + '; do [ -e "$p" ] && echo "$p"; done',
                ),
                _section(
                    "file",
                    "for l in "
                    + " ".join(fp.K3S_LINKS)
                    + f'; do [ "$(readlink "$l")" = {fp.K3S_BINARY} ] && echo "$l"; done',
                ),
                _section(
                    "port",
                    f"ss -Htln | awk '{{n=split($4,a,\":\"); print a[n]}}' | grep -Ex '{port_pattern}' | sort -u",
                )
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
