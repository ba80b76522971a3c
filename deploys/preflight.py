"""Preflight: check every host of the run before anything changes, and refuse
with one table of every problem on every host.

pyinfra runs deploy.py once per host, in parallel greenlets, and keeps no fact
cache. So the first host to reach ``preflight()`` gathers the facts of *every*
active host (in parallel, a few round trips each) and decides once for the run;
the other hosts' greenlets wait for that verdict. Either every host goes on, or
every host raises the same PreflightRefused, before any of them has added an
operation. With ``--limit``, the hosts of the run are checked, and a host of the
limit that pyinfra could not connect to is a problem too.

The decision itself, ``check_host``, is a pure function of one host's facts
and variables (docs/preflight.md lists every check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from gevent.event import AsyncResult
from pyinfra import host, logger
from pyinfra.api import Host, deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_host, ctx_state

from convecthub import footprint as fp
from convecthub.bundle.manifest import Manifest
from convecthub.cluster.nodes import first_driver, on_each, roles_of
from convecthub.cluster.ssh_probe import address_of, silent_port
from convecthub.inventory.variables import INI_SPELLING, as_written
from convecthub.problems import Problem, Refused, merge_same_problems
from convecthub.pyinfra_fixes.sudo import keep_sudo_password_off_command_lines
from deploys.bundle import files_needed, files_relayed_by_seed, node_bundle_directory
from facts.bundle import VerifiedBundleFiles
from facts.gpu import NvidiaGpus
from facts.network import InterfaceAddresses
from facts.system import AptWorks, ListeningTcpPorts, OsRelease, Resources, SudoWorks

# The manual's minimums for Master and Worker nodes. GB is 10^9 bytes: a
# machine sold as "4 GB" whose kernel reserves some memory (MemTotal ~3.8 GiB)
# still passes.
GB = 10**9
THRESHOLDS = {"preflight_min_cpus": 2, "preflight_min_memory_gb": 4, "preflight_min_disk_gb": 10}

# ID in /etc/os-release -> (name, oldest VERSION_ID supported).
SUPPORTED_OS = {"ubuntu": ("Ubuntu", "20.04"), "debian": ("Debian", "11")}
OS_FIX = "install Ubuntu 20.04 or newer, or Debian 11 or newer, on this host"

# When a fact could not be read, pyinfra has printed the command's output.
UNREADABLE_FIX = "see pyinfra's output above for this host"

# Filesystems that live in memory: emptied by every reboot.
MEMORY_FILESYSTEMS = ("tmpfs", "ramfs")


@dataclass(frozen=True)
class Owners:
    """What may already hold a port on a re-run: our own service from an
    earlier deploy (process name as `ss -p` shows it, or systemd unit)."""

    processes: frozenset = frozenset()
    units: frozenset = frozenset()

    def own(self, holder: Mapping) -> bool:
        return holder.get("process") in self.processes or holder.get("unit") in self.units


K3S = Owners(frozenset(fp.K3S_PROCESSES), frozenset(fp.service(unit) for unit in fp.K3S_UNITS))
REGISTRY = Owners(frozenset(fp.REGISTRY_PROCESSES), frozenset({fp.service(fp.REGISTRY_UNIT)}))
BUNDLE_PEER = Owners(units=frozenset({fp.service(fp.BUNDLE_PEER_UNIT)}))


@dataclass(frozen=True)
class PortUse:
    port: int
    purpose: str  # who needs it, as a noun phrase
    variable: str | None  # the variable that sets it; None for a fixed port
    owners: Owners
    # Only "warning": a port ServiceLB takes over on a node the URL does not point at.
    severity: str = "error"


@dataclass
class HostFacts:
    """What the checks look at for one host. ``None`` for a fact means it
    could not be read (pyinfra's output above says why)."""

    name: str
    roles: frozenset  # of "driver", "worker", "registry", "first_driver"
    data: Mapping  # the host's variables
    uid: int | None = 0
    os_release: dict | None = None
    resources: dict | None = None
    ports: dict | None = None
    apt: dict | None = None
    interfaces: dict | None = None
    gpus: list | None = None
    bundle_bytes: int = 0  # of bundle files still to arrive on this host
    bundle_error: str | None = None
    sudo_error: str | None = None  # why sudo could not even be tried


@dataclass
class Findings:
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)


class PreflightRefused(Refused):
    """Raised on every host when any host fails the preflight."""

    @classmethod
    def heading(cls, problems: list) -> str:
        hosts = {name for problem in problems for name in problem.where.split(", ")}
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        return (
            f"preflight refused the deploy: {count} on {len(hosts)} host{'s' if len(hosts) != 1 else ''}, "
            "nothing was changed on any host:"
        )


def format_refusal(problems: list) -> str:
    return str(PreflightRefused(problems))


# -- the decision: one host's facts in, problems and warnings out -----------


def check_host(facts: HostFacts) -> Findings:
    found = Findings()

    def problem(check, message, fix):
        found.problems.append(Problem(facts.name, check, message, fix))

    def warning(check, message, fix):
        found.warnings.append(Problem(facts.name, check, message, fix))

    if facts.uid != 0:
        # Without root, every other fact is unreadable: this is the only row.
        if facts.sudo_error:
            message = facts.sudo_error
        elif facts.uid is None:
            message = "could not run a command as root through sudo (its message is in pyinfra's output above)"
        else:
            message = f"runs commands as uid {facts.uid}, not root"
        sudo_password = as_written(
            facts.data.get(INI_SPELLING), "_sudo_password", default="_sudo_password (ansible_become_pass)"
        )
        problem(
            "sudo",
            message,
            "give the SSH user sudo without a password (NOPASSWD), "
            f"or set {sudo_password} for this host to its sudo password",
        )
        return found

    os_supported = _check_os(facts.os_release, problem)
    thresholds = _thresholds(facts.data, problem)
    _check_resources(facts, thresholds, problem, warning)
    _check_interface(facts.data.get("my_iface"), facts.interfaces, problem)
    if os_supported:
        _check_apt(facts.apt, problem, warning)
    _check_ports(facts, problem, warning)
    _check_gpu(facts, problem, warning)
    if facts.bundle_error:
        problem("bundle", f"the files this host needs could not be listed: {facts.bundle_error}", "see the message")
    return found


def _check_os(os_release, problem) -> bool:
    """True when the OS is a supported family (its apt can be checked)."""
    if not os_release or not os_release.get("ID"):
        problem("os", f"could not be read from {fp.OS_RELEASE_FILES[0]}", OS_FIX)
        return False
    os_id = os_release["ID"].lower()
    pretty = os_release.get("PRETTY_NAME") or f"{os_release.get('NAME', os_id)} {os_release.get('VERSION_ID', '')}"
    if os_id not in SUPPORTED_OS:
        problem("os", f"{pretty.strip()} is not supported yet", OS_FIX)
        return False
    name, oldest = SUPPORTED_OS[os_id]
    version = _version(os_release.get("VERSION_ID", ""))
    if version is None:
        problem("os", f"{pretty} has no release number (a testing or unstable release) and is not supported", OS_FIX)
    elif version < _version(oldest):
        problem("os", f"{pretty} is too old: {name} {oldest} or newer is needed", OS_FIX)
    return True


def _version(text: str):
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return None


def _thresholds(data: Mapping, problem) -> dict:
    values: dict[str, float | None] = {}
    for name, default in THRESHOLDS.items():
        value = data.get(name)
        if value is None:
            values[name] = default
            continue
        try:
            values[name] = float(value)
        except (TypeError, ValueError):
            problem(name, f"={value!r} is not a number", f"set {name} to a number, e.g. {default}")
            values[name] = None
    return values


def _gb(count: float) -> str:
    # Below a GB, in MB: "0.0 GB free, needs 0.0 GB" would tell nothing.
    if abs(count) < GB:
        return f"{count / 10**6:.1f} MB"
    return f"{count / GB:.1f} GB"


def _check_resources(facts: HostFacts, thresholds: dict, problem, warning) -> None:
    resources = facts.resources
    if resources is None:
        problem("resources", "CPUs, memory and disk space could not be read", UNREADABLE_FIX)
        return
    min_cpus = thresholds["preflight_min_cpus"]
    if min_cpus is not None and resources["cpus"] < min_cpus:
        problem(
            "cpus",
            f"{resources['cpus']}, fewer than preflight_min_cpus={min_cpus:g}",
            f"give the host at least {min_cpus:g} CPUs (or lower preflight_min_cpus, below the manual's minimum)",
        )
    min_memory = thresholds["preflight_min_memory_gb"]
    if min_memory is not None and resources["memory_bytes"] < min_memory * GB:
        problem(
            "memory",
            f"{_gb(resources['memory_bytes'])} (MemTotal), less than preflight_min_memory_gb={min_memory:g}",
            f"give the host at least {min_memory:g} GB of memory "
            "(or lower preflight_min_memory_gb, below the manual's minimum)",
        )

    min_disk = thresholds["preflight_min_disk_gb"]
    if min_disk is None:
        return
    workdir = facts.data.get("convect_workdir")
    to_arrive = facts.bundle_bytes
    needed = min_disk * GB + to_arrive
    free = resources["free_bytes"]
    where = f"{workdir} is on {resources['mount']} ({resources['filesystem']})"
    need_text = f"preflight_min_disk_gb={min_disk:g}"
    if to_arrive:
        need_text += f" plus {_gb(to_arrive)} of bundle files still to arrive"
    in_memory = resources["filesystem"] in MEMORY_FILESYSTEMS
    if free < needed and in_memory:
        problem(
            "convect_workdir",
            f"{where}, in memory and emptied at every reboot, with {_gb(free)} free; it needs {need_text}",
            f"set convect_workdir to a directory on a disk, e.g. {fp.DEFAULT_WORKDIR}",
        )
    elif free < needed:
        problem(
            "disk",
            f"{where} with {_gb(free)} free; it needs {need_text}",
            f"free {_gb(needed - free)} there, or set convect_workdir to a directory on a larger filesystem",
        )
    elif in_memory:
        warning(
            "convect_workdir",
            f"{where}, in memory: the bundle is lost at every reboot (the NVIDIA driver's included) and sent again",
            f"set convect_workdir to a directory on a disk, e.g. {fp.DEFAULT_WORKDIR}",
        )


def _describe_interfaces(interfaces: Mapping) -> str:
    return ", ".join(f"{name} ({', '.join(addresses) or 'no IPv4'})" for name, addresses in sorted(interfaces.items()))


def _check_interface(iface, interfaces, problem) -> None:
    if interfaces is None:
        problem("my_iface", "the host's interfaces could not be read", UNREADABLE_FIX)
        return
    listing = f"its interfaces are {_describe_interfaces(interfaces)}" if interfaces else "it shows no interfaces"
    fix = "set my_iface to the interface on the private network"
    if not iface:
        problem("my_iface", f"is not set; {listing}", fix)
    elif iface not in interfaces:
        problem("my_iface", f"{iface} does not exist on this host; {listing}", fix)
    elif not interfaces[iface]:
        problem(
            "my_iface",
            f"{iface} has no IPv4 address; {listing}",
            f"give {iface} an IPv4 address on the private network, or {fix}",
        )


def _check_apt(apt, problem, warning) -> None:
    if apt is None:
        problem("apt", "could not be probed", UNREADABLE_FIX)
    elif not apt["apt_get"]:
        problem("apt", "apt-get is not installed", OS_FIX)
    elif apt["errors"]:
        problem("apt", f"cannot read its sources: {apt['errors'][0]}", "correct the APT source file named there")
    elif apt["sources"] == 0:
        problem(
            "apt",
            "has no package source",
            f"point {fp.APT_SOURCES_LIST} (or a file in sources.list.d) at your APT mirror, "
            "then run `sudo apt-get update`",
        )
    elif apt["audit"]:
        # `dpkg --audit` indents the package lines under its explanation.
        packages = [line.split()[0] for line in apt["audit"] if line[:1].isspace() and line.split()]
        detail = f" of {', '.join(packages)}" if packages else ""
        fix = "run `sudo dpkg --configure -a` on this host"
        problem("apt", f"dpkg reports unfinished package installations{detail}", fix)
    elif apt["check_status"] != 0:
        errors = [line for line in apt["check"] if line.startswith("E:")] or apt["check"] or ["no message"]
        problem("apt", f"`apt-get check` fails: {errors[0]}", "run `sudo apt-get -f install` on this host")
    elif apt["lists"] == 0:
        warning(
            "apt",
            "has no package lists yet",
            "nothing to do if the deploy's `apt-get update` can reach the mirror; "
            "else run `sudo apt-get update` to see why not",
        )


def port_uses(roles: frozenset, data: Mapping) -> list:
    """The TCP ports this host's roles will listen on, in check order."""
    uses = []
    if "driver" in roles:
        uses += [
            PortUse(fp.K3S_API_PORT, "the K3s API server", None, K3S),
            PortUse(fp.ETCD_PORTS[0], "K3s's embedded etcd (clients)", None, K3S),
            PortUse(fp.ETCD_PORTS[1], "K3s's embedded etcd (peers)", None, K3S),
        ]
    # The kubelet runs inside K3s on servers and agents alike.
    uses.append(PortUse(fp.KUBELET_PORT, "the kubelet of K3s", None, K3S))
    # Traefik is exposed by ServiceLB on every node (iptables, not visible to
    # ss); the URL the deploy prints is the first driver's.
    severity = "error" if "first_driver" in roles else "warning"
    for variable, scheme in (("http_port", "HTTP"), ("https_port", "HTTPS")):
        if data.get(variable) is not None:
            uses.append(PortUse(int(data[variable]), f"JupyterHub's {scheme} entry (Traefik)", variable, K3S, severity))
    if "registry" in roles and data.get("registry_port") is not None:
        uses.append(PortUse(int(data["registry_port"]), "the image registry", "registry_port", REGISTRY))
    if "first_driver" in roles and data.get("bundle_peer_port") is not None:
        uses.append(PortUse(int(data["bundle_peer_port"]), "the bundle server", "bundle_peer_port", BUNDLE_PEER))
    return uses


def _describe_holders(holders: list) -> str:
    if not holders:
        return "a process ss could not name (install iproute2 to see which)"
    return ", ".join(f"{h['process']} (pid {h['pid']}{', ' + h['unit'] if h.get('unit') else ''})" for h in holders)


def _check_ports(facts: HostFacts, problem, warning) -> None:
    if facts.ports is None:
        problem("ports", "the listening ports could not be read", UNREADABLE_FIX)
        return
    seen = set()
    for use in port_uses(facts.roles, facts.data):
        if use.port in seen or use.port not in facts.ports:
            continue
        seen.add(use.port)
        holders = facts.ports[use.port]
        foreign = [holder for holder in holders if not use.owners.own(holder)]
        if holders and not foreign:
            continue  # ours, from an earlier deploy: a re-run passes
        label = f"port {use.port}" + (f" ({use.variable})" if use.variable else "")
        who = _describe_holders(foreign)
        if use.severity == "warning":
            warning(
                label,
                f"in use by {who}: ServiceLB will send this node's port {use.port} traffic to {use.purpose} instead",
                f"move that program to another port, or set {use.variable} to a port free on every node",
            )
            continue
        if use.variable:
            fix = f"stop that program or move it to another port, or set {use.variable} to a free port"
        else:
            fix = f"stop that program or move it to another port (`sudo ss -tlnp 'sport = :{use.port}'` shows it)"
        problem(label, f"in use by {who}, but {use.purpose} needs it", fix)


def _truthy(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1")


def _check_gpu(facts: HostFacts, problem, warning) -> None:
    has_gpu = _truthy(facts.data.get("has_gpu"))
    gpus = facts.gpus or []
    if has_gpu and not gpus:
        problem(
            "has_gpu",
            "is true but no NVIDIA GPU was found (no PCI device of vendor 0x10de with a display class "
            "in /sys/bus/pci/devices)",
            "set has_gpu = false for this host, or make its GPU visible (`lspci -nn -d 10de:` lists it)",
        )
    elif gpus and not has_gpu:
        addresses = ", ".join(f"{gpu['address']} (device {gpu['device']})" for gpu in gpus)
        warning(
            "has_gpu",
            f"is false but the host has NVIDIA GPU{'s' if len(gpus) > 1 else ''} {addresses}",
            "set has_gpu = true for this host to use them",
        )


# -- gathering: every active host's facts, once per run ---------------------

# The variables the checks read (thresholds default to THRESHOLDS).
VARIABLES = (
    "my_iface",
    "has_gpu",
    "convect_workdir",
    "http_port",
    "https_port",
    "registry_port",
    "bundle_peer_port",
    *THRESHOLDS,
)


def gather_host_facts(node: Host, seed: Host | None, bundle_bytes: Callable[[Host], int]) -> HostFacts:
    """All the preflight's facts of one host: seven round trips, none if sudo fails."""

    def fact(cls, **arguments):
        # A fact that fails becomes None here and a row in the table, instead
        # of a host pyinfra drops from the run.
        return node.get_fact(cls, _ignore_errors=True, **arguments)

    roles = frozenset(roles_of(node) | ({"first_driver"} if node == seed else set()))
    facts = HostFacts(node.name, roles, {name: node.data.get(name) for name in VARIABLES})
    try:
        # This node's deploy.py may not have run apply_secrets yet.
        keep_sudo_password_off_command_lines(node)
        facts.uid = fact(SudoWorks)
    except EOFError:
        # sudo wants a password none was given for (CI, cron).
        facts.uid, facts.sudo_error = None, "sudo wants a password, none was given and there is no terminal to ask on"
    except PyinfraError as error:  # e.g. the askpass script could not be written
        facts.uid, facts.sudo_error = None, str(error)
    if facts.uid != 0:
        return facts
    workdir = facts.data.get("convect_workdir") or "/"
    facts.os_release = fact(OsRelease)
    facts.resources = fact(Resources, path=workdir)
    facts.interfaces = fact(InterfaceAddresses)
    facts.apt = fact(AptWorks)
    facts.ports = fact(ListeningTcpPorts)
    facts.gpus = fact(NvidiaGpus)
    try:
        facts.bundle_bytes = bundle_bytes(node)
    except ValueError as error:  # e.g. an architecture the bundle has no files for
        facts.bundle_error = str(error)
    return facts


@dataclass
class Verdict:
    problems: list
    warnings: dict  # host name -> [Problem]
    checked: int


def check_run(state, bundle_bytes: Callable[[Host], int]) -> Verdict:
    inventory = state.inventory
    try:
        seed = first_driver(inventory)
    except (IndexError, KeyError, TypeError):
        seed = None  # the inventory check reports a missing driver group
    active = [node for node in inventory if node in state.active_hosts]
    # A host that fails while its facts are gathered (its connection drops)
    # is left out: pyinfra has printed why and fails it alone.
    gathered = on_each(lambda node: gather_host_facts(node, seed, bundle_bytes), active)

    unreached = [node for node in inventory if state.is_host_in_limit(node) and node not in state.activated_hosts]
    silences = on_each(lambda node: silent_port(address_of(node)), unreached)
    problems = [
        Problem(
            node.name,
            "ssh",
            f"could not connect{': ' + silence if silence else ''} (pyinfra's connection error is above)",
            "make the host reachable (ssh_hostname, ssh_port, ssh_user, ssh_key), or leave it out with --limit",
        )
        for node, silence in silences.items()
    ]
    warnings = {}
    for facts in gathered.values():
        findings = check_host(facts)
        problems += findings.problems
        warnings[facts.name] = findings.warnings
    return Verdict(merge_same_problems(problems), warnings, len(gathered))


# One verdict per pyinfra run, whichever host asks first; the others wait on it.
_verdicts: WeakKeyDictionary = WeakKeyDictionary()


def run_verdict(state, bundle_bytes: Callable[[Host], int]) -> Verdict:
    pending = _verdicts.get(state)
    if pending is None:
        pending = _verdicts[state] = AsyncResult()
        try:
            pending.set(check_run(state, bundle_bytes))
        except BaseException as error:
            pending.set_exception(error)
            raise
    return pending.get()


def bundle_bytes_to_arrive(manifest: Manifest) -> Callable[[Host], int]:
    """Bytes of bundle files each node is still to receive: of the files it
    holds once distribute_bundle has run (the first driver relays every file;
    every other node keeps its own), those it does not hold verified yet.
    Anything else under its bundle directory (an older release's files) is
    used space like any other, not bundle already there."""

    def to_arrive(node: Host) -> int:
        if node == first_driver(node.inventory):
            files = files_relayed_by_seed(manifest)
        else:
            files = files_needed(manifest, node)
        verified = (
            node.get_fact(
                VerifiedBundleFiles,
                directory=node_bundle_directory(node.data),
                paths=[f.path for f in files],
                _ignore_errors=True,
            )
            or {}
        )
        return sum(f.size for f in files if verified.get(f.path) != f.sha256)

    return to_arrive


@deploy("Preflight")
def preflight(bundle_bytes: Callable[[Host], int] | None = None):
    """
    Check every host of the run (OS, CPUs, memory, disk, my_iface, sudo, apt,
    ports, GPU); refuse with one table of every problem. Changes nothing.

    + bundle_bytes: node -> bytes of bundle files still to arrive under its
      convect_workdir (``bundle_bytes_to_arrive(manifest)``); None counts none.
    """
    verdict = run_verdict(ctx_state.get(), bundle_bytes or (lambda node: 0))
    me = ctx_host.get()
    for warning in verdict.warnings.get(me.name, ()):
        logger.warning(f"{me.print_prefix}preflight: {warning.variable} {warning.message}. Fix: {warning.fix}.")
    if verdict.problems:
        raise PreflightRefused(verdict.problems)
    host.noop(f"preflight passed on all {verdict.checked} hosts of the run")
