"""Uninstall: remove everything of ConvectHub from a node, in the order that
leaves nothing behind (services, then their processes, mounts, network,
firewall rules, files). Each step is planned from what the audit fact finds,
so a node never deployed, or half deployed, is fine, and a second reset
changes nothing."""

import posixpath
import shlex

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.deb import DebPackages
from pyinfra.operations import server

from convecthub import footprint as fp
from facts.audit import ConvectHubLeftovers, mount_pattern
from operations import system


def leftovers_on(data, ports: list) -> dict:
    return host.get_fact(
        ConvectHubLeftovers,
        workdir=data.convect_workdir,
        ports=ports,
        registry_data=not data.get("keep_registry_data"),
    )


def _stop_units(units_found: list, names: tuple, what: str):
    found = [name for name in names if any(line.startswith(f"{fp.service(name)} ") for line in units_found)]
    if found:
        server.shell(
            name=f"Stop and disable {what}",
            commands=[f"systemctl disable --now {fp.service(name)}" for name in found],
        )


@deploy("Stop ConvectHub's services")
def stop_services(leftovers: dict):
    units = leftovers.get("unit", [])
    # Agents before servers: a server going first leaves agents retrying it.
    _stop_units(units, (fp.K3S_AGENT_UNIT,), "the K3s agent")
    _stop_units(units, (fp.K3S_SERVER_UNIT,), "the K3s server")
    _stop_units(units, (fp.REGISTRY_UNIT, fp.BUNDLE_PEER_UNIT), "the registry and bundle server")


@deploy("Remove K3s's processes, mounts, network and firewall rules")
def remove_runtime(leftovers: dict):
    if leftovers.get("process"):
        server.shell(
            name="Kill K3s and its containers' process trees",
            commands=[
                f"ps -eo pid=,comm= | awk '$2 ~ /{fp.K3S_PROCESS_PATTERN}/ {{print $1}}' | xargs -r kill -9",
            ],
        )
    if leftovers.get("mount"):
        pattern = mount_pattern()
        server.shell(
            name="Unmount everything under the K3s and kubelet directories",
            # Deepest first; lazily when something still holds a mount.
            commands=[
                f"awk '$2 ~ /^({pattern})/ {{print $2}}' /proc/self/mounts | sort -r "
                '| while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done',
            ],
        )
    if leftovers.get("netns"):
        server.shell(
            name="Delete the CNI network namespaces",
            commands=[f"ip netns list | awk '/^{fp.NETNS_PREFIX}/ {{print $1}}' | xargs -r -n1 ip netns delete"],
        )
    interfaces = leftovers.get("interface", [])
    if interfaces:
        server.shell(
            name="Delete the CNI and flannel interfaces",
            # A veth goes with its peer's namespace: gone already is fine.
            commands=[
                f"ip link delete {shlex.quote(name)} 2>/dev/null || ! ip link show {shlex.quote(name)} >/dev/null 2>&1"
                for name in interfaces
            ],
        )
    for tool, kind in (("iptables", "iptables"), ("ip6tables", "ip6tables")):
        if leftovers.get(kind):
            server.shell(
                name=f"Remove K3s's and flannel's {tool} rules, and only those",
                commands=[f"{tool}-save | grep -v -E '{fp.IPTABLES_PATTERN}' | {tool}-restore"],
            )


@deploy("Remove ConvectHub's files")
def remove_files(leftovers: dict, keep_registry_data: bool):
    paths = [path for path in leftovers.get("file", []) if not (keep_registry_data and path == fp.REGISTRY_DATA_DIR)]
    if paths:
        server.shell(
            name="Remove binaries, units, configuration, data, bundle and workdir",
            commands=["rm -rf -- " + " ".join(shlex.quote(path) for path in paths)],
        )
    units = [path for path in paths if path.startswith(fp.SYSTEMD_DIR + "/")]
    if units:
        # The drop-in's directory goes too, unless someone else's drop-ins are in it.
        dropin_dirs = sorted({posixpath.dirname(path) for path in units if path.endswith(".conf")})
        server.shell(
            name="Forget the removed units",
            commands=[
                *(f"rmdir --ignore-fail-on-non-empty {shlex.quote(d)}" for d in dropin_dirs),
                "systemctl daemon-reload",
            ],
        )


def apt_packages_left(remove: bool) -> list:
    installed = host.get_fact(DebPackages)
    ours = [name for name in installed if name in fp.APT_PACKAGES or name.startswith(fp.APT_PACKAGE_PREFIXES)]
    if ours and remove:
        server.shell(
            name="Purge what the deploy installed from APT",
            commands=[
                "DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq " + " ".join(shlex.quote(name) for name in ours)
            ],
        )
        return []
    return ours


def describe(leftovers: dict) -> str:
    return "; ".join(f"{kind}: {', '.join(items)}" for kind, items in sorted(leftovers.items()))


@deploy("Reset")
def reset(ports: list, changed_condition):
    keep = bool(host.data.get("keep_registry_data"))
    leftovers = leftovers_on(host.data, ports)
    if leftovers:
        logger.info(f"{host.name}: removing {describe(leftovers)}")
    else:
        logger.info(f"{host.name}: nothing of ConvectHub here")
    stop_services(leftovers=leftovers)
    remove_runtime(leftovers=leftovers)
    remove_files(leftovers=leftovers, keep_registry_data=keep)
    # The audit, once what is planned has run (a run that changed nothing
    # had nothing to remove: the plan above was the audit).
    system.prints_nothing(
        name="Audit: nothing of ConvectHub is left",
        check=ConvectHubLeftovers().command(workdir=host.data.convect_workdir, ports=ports, registry_data=not keep),
        what=f"reset: {host.name} still holds the leftovers above",
        fix="run reset.py again; if something stays, remove it by hand (audit.py lists it)",
        _if=changed_condition,
    )

    left = apt_packages_left(remove=bool(host.data.get("reset_remove_packages")))
    if left:
        logger.warning(
            f"{host.name}: left installed from APT: {', '.join(sorted(left))} "
            "(set reset_remove_packages=true to purge them)"
        )


def service_ports(data) -> list:
    """TCP ports only our services listen on (fp.service_ports)."""
    return fp.service_ports(data.registry_port, data.bundle_peer_port)
