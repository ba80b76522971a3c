"""deploys/preflight.py: the decision as a pure function (one host's facts in,
problems out, each text exact), the refusal table, and the once-per-run
gathering across hosts."""

import dataclasses
from types import SimpleNamespace

import gevent
import pytest
from pyinfra.connectors.util import CommandOutput, OutputLine

from convecthub.inventory.variables import INI_SPELLING
from convecthub.problems import Problem
from deploys.preflight import (
    GB,
    OS_FIX,
    HostFacts,
    PreflightRefused,
    check_host,
    check_run,
    format_refusal,
    run_verdict,
)
from facts.gpu import NvidiaGpus
from facts.network import InterfaceAddresses
from facts.system import AptWorks, ListeningTcpPorts, OsRelease, Resources, SudoWorks

SSHD = {"process": "sshd", "pid": 601, "unit": "ssh.service"}
HEALTHY_APT = {"apt_get": True, "sources": 3, "lists": 3, "errors": [], "audit": [], "check_status": 0, "check": []}
INTERFACES = {"lo": ["127.0.0.1/8"], "eth0": ["172.17.0.2/16"], "eth1": ["10.213.40.2/24"]}
MASTER_ROLES = frozenset({"driver", "registry", "first_driver"})
WORKER_ROLES = frozenset({"worker"})


def healthy(name="master", roles=MASTER_ROLES, data=None, **changes) -> HostFacts:
    """A host that passes: Ubuntu 22.04, 2 CPUs, a 4 GiB machine (MemTotal
    below 4 GiB, as the kernel keeps some), 50 GB free, eth1 addressed."""
    variables = {
        "my_iface": "eth1",
        "has_gpu": False,
        "convect_workdir": "/var/lib/convecthub",
        "http_port": 80,
        "https_port": 443,
        "registry_port": 5000,
        "bundle_peer_port": 8473,
        **(data or {}),
    }
    facts = HostFacts(
        name=name,
        roles=roles,
        data=variables,
        uid=0,
        os_release={"ID": "ubuntu", "VERSION_ID": "22.04", "PRETTY_NAME": "Ubuntu 22.04.4 LTS"},
        resources={
            "cpus": 2,
            "memory_bytes": 4_013_852 * 1024,
            "path": "/var/lib",
            "filesystem": "ext4",
            "mount": "/",
            "free_bytes": 50 * GB,
        },
        ports={22: [SSHD]},
        apt=dict(HEALTHY_APT),
        interfaces=dict(INTERFACES),
        gpus=[],
    )
    return dataclasses.replace(facts, **changes)


def rows(findings_list):
    return [(p.where, p.variable, p.message, p.fix) for p in findings_list]


def problems_of(facts):
    return rows(check_host(facts).problems)


def warnings_of(facts):
    return rows(check_host(facts).warnings)


def resources(**changes):
    return {**healthy().resources, **changes}


# -- healthy hosts -------------------------------------------------------------


@pytest.mark.parametrize(
    "os_release",
    [
        {"ID": "ubuntu", "VERSION_ID": "20.04", "PRETTY_NAME": "Ubuntu 20.04.6 LTS"},
        {"ID": "ubuntu", "VERSION_ID": "24.04", "PRETTY_NAME": "Ubuntu 24.04.1 LTS"},
        {"ID": "debian", "VERSION_ID": "11", "PRETTY_NAME": "Debian GNU/Linux 11 (bullseye)"},
        {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
    ],
)
def test_supported_os_with_the_manual_minimums_passes(os_release):
    findings = check_host(healthy(os_release=os_release))
    assert (findings.problems, findings.warnings) == ([], [])


def test_lab_node_passes():
    # A lab container: the host's 2 CPUs and 24 GB, Debian 12 on overlay.
    facts = healthy(
        os_release={"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
        resources=resources(memory_bytes=24_605_508 * 1024, filesystem="overlay", free_bytes=78 * GB),
    )
    assert check_host(facts).problems == []


# -- sudo ------------------------------------------------------------------------

SUDO_FIX = (
    "give the SSH user sudo without a password (NOPASSWD), "
    "or set _sudo_password (ansible_become_pass) for this host to its sudo password"
)


def test_sudo_failing_is_the_only_row():
    facts = HostFacts("worker1", WORKER_ROLES, {"my_iface": "eth1"}, uid=None)
    assert problems_of(facts) == [
        (
            "worker1",
            "sudo",
            "could not run a command as root through sudo (its message is in pyinfra's output above)",
            SUDO_FIX,
        )
    ]


def test_sudo_that_could_not_be_tried_says_why():
    why = "sudo wants a password, none was given and there is no terminal to ask on"
    facts = HostFacts("worker1", WORKER_ROLES, {"my_iface": "eth1"}, uid=None, sudo_error=why)
    assert problems_of(facts) == [("worker1", "sudo", why, SUDO_FIX)]


def test_sudo_not_giving_root():
    assert problems_of(healthy(uid=1000)) == [("master", "sudo", "runs commands as uid 1000, not root", SUDO_FIX)]


def test_the_sudo_fix_names_the_password_variable_as_the_ini_wrote_it():
    spelled = {"my_iface": "eth1", INI_SPELLING: {"_sudo_password": "ansible_sudo_pass"}}
    facts = HostFacts("worker1", WORKER_ROLES, spelled, uid=None)
    [(_, _, _, fix)] = problems_of(facts)
    assert fix.endswith("or set ansible_sudo_pass for this host to its sudo password")


# -- OS --------------------------------------------------------------------------


def test_centos_is_not_supported_yet_and_apt_is_not_asked_about():
    facts = healthy(
        os_release={"ID": "centos", "VERSION_ID": "7", "PRETTY_NAME": "CentOS Linux 7 (Core)"},
        apt={"apt_get": False},
    )
    assert problems_of(facts) == [("master", "os", "CentOS Linux 7 (Core) is not supported yet", OS_FIX)]
    assert OS_FIX == "install Ubuntu 20.04 or newer, or Debian 11 or newer, on this host"


@pytest.mark.parametrize(
    "os_release, message",
    [
        (
            {"ID": "ubuntu", "VERSION_ID": "18.04", "PRETTY_NAME": "Ubuntu 18.04.6 LTS"},
            "Ubuntu 18.04.6 LTS is too old: Ubuntu 20.04 or newer is needed",
        ),
        (
            {"ID": "ubuntu", "VERSION_ID": "16.04", "PRETTY_NAME": "Ubuntu 16.04.7 LTS"},
            "Ubuntu 16.04.7 LTS is too old: Ubuntu 20.04 or newer is needed",
        ),
        (
            {"ID": "debian", "VERSION_ID": "10", "PRETTY_NAME": "Debian GNU/Linux 10 (buster)"},
            "Debian GNU/Linux 10 (buster) is too old: Debian 11 or newer is needed",
        ),
        (
            {"ID": "debian", "PRETTY_NAME": "Debian GNU/Linux trixie/sid"},
            "Debian GNU/Linux trixie/sid has no release number (a testing or unstable release) and is not supported",
        ),
        ({}, "could not be read from /etc/os-release"),
    ],
)
def test_os_too_old_or_unknown(os_release, message):
    assert problems_of(healthy(os_release=os_release)) == [("master", "os", message, OS_FIX)]


# -- CPUs, memory, disk --------------------------------------------------------------


def test_one_cpu():
    assert problems_of(healthy(resources=resources(cpus=1))) == [
        (
            "master",
            "cpus",
            "1, fewer than preflight_min_cpus=2",
            "give the host at least 2 CPUs (or lower preflight_min_cpus, below the manual's minimum)",
        )
    ]


def test_thresholds_are_overridable_also_as_ini_strings():
    facts = healthy(data={"preflight_min_cpus": "4", "preflight_min_memory_gb": "2", "preflight_min_disk_gb": 1})
    facts = dataclasses.replace(facts, resources=resources(memory_bytes=3 * GB, free_bytes=2 * GB))
    assert problems_of(facts) == [
        (
            "master",
            "cpus",
            "2, fewer than preflight_min_cpus=4",
            "give the host at least 4 CPUs (or lower preflight_min_cpus, below the manual's minimum)",
        )
    ]


def test_threshold_that_is_not_a_number():
    assert problems_of(healthy(data={"preflight_min_memory_gb": "lots"})) == [
        (
            "master",
            "preflight_min_memory_gb",
            "='lots' is not a number",
            "set preflight_min_memory_gb to a number, e.g. 4",
        )
    ]


def test_too_little_memory():
    assert problems_of(healthy(resources=resources(memory_bytes=2_030_000 * 1024))) == [
        (
            "master",
            "memory",
            "2.1 GB (MemTotal), less than preflight_min_memory_gb=4",
            "give the host at least 4 GB of memory (or lower preflight_min_memory_gb, below the manual's minimum)",
        )
    ]


def test_too_little_disk_counts_the_bundle_still_to_arrive():
    facts = healthy(resources=resources(free_bytes=5 * GB), bundle_bytes=2_300_000_000)
    assert problems_of(facts) == [
        (
            "master",
            "disk",
            "/var/lib/convecthub is on / (ext4) with 5.0 GB free; it needs preflight_min_disk_gb=10 plus 2.3 GB of "
            "bundle files still to arrive",
            "free 7.3 GB there, or set convect_workdir to a directory on a larger filesystem",
        )
    ]


def test_bundle_alone_can_exceed_the_free_space():
    facts = healthy(resources=resources(free_bytes=11 * GB), bundle_bytes=2 * GB)
    assert [row[1] for row in problems_of(facts)] == ["disk"]
    assert check_host(dataclasses.replace(facts, bundle_bytes=0)).problems == []


def test_workdir_on_a_small_tmpfs_is_named():
    facts = healthy(
        data={"convect_workdir": "/run/convecthub"},
        resources=resources(path="/run", filesystem="tmpfs", mount="/run", free_bytes=1_200_000_000),
        bundle_bytes=800_000_000,
    )
    assert problems_of(facts) == [
        (
            "master",
            "convect_workdir",
            "/run/convecthub is on /run (tmpfs), in memory and emptied at every reboot, with 1.2 GB free; it needs "
            "preflight_min_disk_gb=10 plus 800.0 MB of bundle files still to arrive",
            "set convect_workdir to a directory on a disk, e.g. /var/lib/convecthub",
        )
    ]


def test_workdir_on_a_large_tmpfs_is_a_warning():
    facts = healthy(
        data={"convect_workdir": "/tmp/convecthub"},
        resources=resources(path="/tmp", filesystem="tmpfs", mount="/tmp", free_bytes=12 * GB),
    )
    assert problems_of(facts) == []
    assert warnings_of(facts) == [
        (
            "master",
            "convect_workdir",
            "/tmp/convecthub is on /tmp (tmpfs), in memory: the bundle is lost at every reboot (the NVIDIA driver's "
            "included) and sent again",
            "set convect_workdir to a directory on a disk, e.g. /var/lib/convecthub",
        )
    ]


def test_unreadable_resources():
    assert problems_of(healthy(resources=None)) == [
        (
            "master",
            "resources",
            "CPUs, memory and disk space could not be read",
            "see pyinfra's output above for this host",
        )
    ]


# -- my_iface ------------------------------------------------------------------------

LISTING = "its interfaces are eth0 (172.17.0.2/16), eth1 (10.213.40.2/24), lo (127.0.0.1/8)"
IFACE_FIX = "set my_iface to the interface on the private network"


def test_missing_interface_lists_the_hosts_interfaces():
    assert problems_of(healthy(data={"my_iface": "eth9"})) == [
        ("master", "my_iface", f"eth9 does not exist on this host; {LISTING}", IFACE_FIX)
    ]


def test_interface_without_ipv4():
    facts = healthy(interfaces={**INTERFACES, "eth1": []})
    assert problems_of(facts) == [
        (
            "master",
            "my_iface",
            "eth1 has no IPv4 address; its interfaces are eth0 (172.17.0.2/16), eth1 (no IPv4), lo (127.0.0.1/8)",
            f"give eth1 an IPv4 address on the private network, or {IFACE_FIX}",
        )
    ]


def test_interface_not_set():
    assert problems_of(healthy(data={"my_iface": None})) == [
        ("master", "my_iface", f"is not set; {LISTING}", IFACE_FIX)
    ]


# -- apt -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "apt, message, fix",
    [
        ({"apt_get": False}, "apt-get is not installed", OS_FIX),
        (
            {
                "sources": 0,
                "errors": [
                    "Malformed entry 1 in list file /etc/apt/sources.list.d/mirror.list (Component)",
                    "The list of sources could not be read.",
                ],
            },
            "cannot read its sources: Malformed entry 1 in list file /etc/apt/sources.list.d/mirror.list (Component)",
            "correct the APT source file named there",
        ),
        (
            {"sources": 0, "lists": 0},
            "has no package source",
            "point /etc/apt/sources.list (or a file in sources.list.d) at your APT mirror, then run `sudo apt-get update`",
        ),
        (
            {
                "audit": [
                    "The following packages are only half configured, probably due to problems",
                    "configuring them the first time.  The configuration should be retried using",
                    "dpkg --configure <package> or the configure menu option in dselect:",
                    " nvidia-dkms-535-server NVIDIA DKMS package",
                ]
            },
            "dpkg reports unfinished package installations of nvidia-dkms-535-server",
            "run `sudo dpkg --configure -a` on this host",
        ),
        (
            {"check_status": 100, "check": ["E: Unmet dependencies. Try 'apt --fix-broken install' with no packages."]},
            "`apt-get check` fails: E: Unmet dependencies. Try 'apt --fix-broken install' with no packages.",
            "run `sudo apt-get -f install` on this host",
        ),
        (None, "could not be probed", "see pyinfra's output above for this host"),
    ],
)
def test_apt_problems(apt, message, fix):
    facts = healthy(apt=None if apt is None else {**HEALTHY_APT, **apt})
    assert problems_of(facts) == [("master", "apt", message, fix)]


def test_apt_without_lists_yet_is_a_warning():
    facts = healthy(apt={**HEALTHY_APT, "lists": 0})
    assert problems_of(facts) == []
    assert warnings_of(facts) == [
        (
            "master",
            "apt",
            "has no package lists yet",
            "nothing to do if the deploy's `apt-get update` can reach the mirror; else run `sudo apt-get update` to see "
            "why not",
        )
    ]


# -- ports ---------------------------------------------------------------------------


def held(process, pid, unit=None):
    return [{"process": process, "pid": pid, "unit": unit}]


def test_api_port_held_by_another_program_on_a_driver():
    facts = healthy(ports={22: [SSHD], 6443: held("python3", 412)})
    assert problems_of(facts) == [
        (
            "master",
            "port 6443",
            "in use by python3 (pid 412), but the K3s API server needs it",
            "stop that program or move it to another port (`sudo ss -tlnp 'sport = :6443'` shows it)",
        )
    ]


def test_ports_held_by_our_own_k3s_and_registry_pass_a_rerun():
    facts = healthy(
        ports={
            6443: held("k3s-server", 812, "k3s.service"),
            6444: held("k3s-server", 812, "k3s.service"),
            10250: held("k3s-server", 812, "k3s.service"),
            2379: held("k3s-server", 812, "k3s.service"),
            2380: held("k3s-server", 812, "k3s.service"),
            5000: held("docker-registry", 77, "docker-registry.service"),
            8473: held("python3", 990, "convecthub-bundle-peer.service"),
        }
    )
    assert check_host(facts).problems == []
    # An agent's kubelet, and a K3s stand-in run as /usr/local/bin/k3s.
    assert (
        check_host(healthy("worker1", WORKER_ROLES, ports={10250: held("k3s-agent", 5, "k3s-agent.service")})).problems
        == []
    )
    assert check_host(healthy(ports={6443: held("k3s", 4242)})).problems == []


def test_a_python_bundle_server_outside_our_unit_is_a_conflict():
    facts = healthy(ports={8473: held("python3", 990, "user@1000.service")})
    assert problems_of(facts) == [
        (
            "master",
            "port 8473 (bundle_peer_port)",
            "in use by python3 (pid 990, user@1000.service), but the bundle server needs it",
            "stop that program or move it to another port, or set bundle_peer_port to a free port",
        )
    ]


def test_server_ports_matter_only_on_drivers_but_the_kubelet_port_everywhere():
    ports = {6443: held("nginx", 7), 2379: held("etcd", 8), 10250: held("node_exporter", 9)}
    assert problems_of(healthy("worker1", WORKER_ROLES, ports=ports)) == [
        (
            "worker1",
            "port 10250",
            "in use by node_exporter (pid 9), but the kubelet of K3s needs it",
            "stop that program or move it to another port (`sudo ss -tlnp 'sport = :10250'` shows it)",
        )
    ]
    assert [row[1] for row in problems_of(healthy("master2", frozenset({"driver"}), ports=ports))] == [
        "port 6443",
        "port 2379",
        "port 10250",
    ]


def test_https_port_taken_on_the_first_driver_is_an_error_elsewhere_a_warning():
    ports = {9443: held("nginx", 1001, "nginx.service") + held("nginx", 1002, "nginx.service")}
    data = {"https_port": 9443}
    assert problems_of(healthy(data=data, ports=ports)) == [
        (
            "master",
            "port 9443 (https_port)",
            "in use by nginx (pid 1001, nginx.service), nginx (pid 1002, nginx.service), but JupyterHub's HTTPS entry "
            "(Traefik) needs it",
            "stop that program or move it to another port, or set https_port to a free port",
        )
    ]
    worker = healthy("worker1", WORKER_ROLES, data=data, ports=ports)
    assert problems_of(worker) == []
    assert warnings_of(worker) == [
        (
            "worker1",
            "port 9443 (https_port)",
            "in use by nginx (pid 1001, nginx.service), nginx (pid 1002, nginx.service): ServiceLB will send this "
            "node's port 9443 traffic to JupyterHub's HTTPS entry (Traefik) instead",
            "move that program to another port, or set https_port to a port free on every node",
        )
    ]


def test_registry_port_matters_only_on_the_registry_host_and_an_unnamed_holder_is_a_conflict():
    ports = {5000: []}  # from /proc/net/tcp: nobody named
    assert problems_of(healthy(ports=ports)) == [
        (
            "master",
            "port 5000 (registry_port)",
            "in use by a process ss could not name (install iproute2 to see which), but the image registry needs it",
            "stop that program or move it to another port, or set registry_port to a free port",
        )
    ]
    assert check_host(healthy("worker1", WORKER_ROLES, ports=ports)).problems == []


def test_unreadable_ports():
    assert problems_of(healthy(ports=None)) == [
        ("master", "ports", "the listening ports could not be read", "see pyinfra's output above for this host")
    ]


# -- GPU -----------------------------------------------------------------------------

GPU = {"address": "0000:01:00.0", "device": "0x20b0", "class": "0x030200"}


@pytest.mark.parametrize("has_gpu", [True, "true", "True"])
def test_has_gpu_without_an_nvidia_device_is_an_error(has_gpu):
    assert problems_of(healthy("worker2", WORKER_ROLES, data={"has_gpu": has_gpu})) == [
        (
            "worker2",
            "has_gpu",
            "is true but no NVIDIA GPU was found (no PCI device of vendor 0x10de with a display class in "
            "/sys/bus/pci/devices)",
            "set has_gpu = false for this host, or make its GPU visible (`lspci -nn -d 10de:` lists it)",
        )
    ]


def test_gpu_found_without_has_gpu_is_only_a_warning():
    facts = healthy("worker2", WORKER_ROLES, gpus=[GPU])
    assert problems_of(facts) == []
    assert warnings_of(facts) == [
        (
            "worker2",
            "has_gpu",
            "is false but the host has NVIDIA GPU 0000:01:00.0 (device 0x20b0)",
            "set has_gpu = true for this host to use them",
        )
    ]


def test_gpu_found_with_has_gpu_passes():
    findings = check_host(healthy("worker2", WORKER_ROLES, data={"has_gpu": True}, gpus=[GPU]))
    assert (findings.problems, findings.warnings) == ([], [])


def test_bundle_listing_error_is_a_row():
    facts = healthy(bundle_error="worker3: architecture 'ppc64le' is not supported (amd64 and arm64 are)")
    assert problems_of(facts) == [
        (
            "master",
            "bundle",
            "the files this host needs could not be listed: worker3: architecture 'ppc64le' is not "
            "supported (amd64 and arm64 are)",
            "see the message",
        )
    ]


def test_several_problems_on_one_host_in_check_order():
    facts = healthy(
        os_release={"ID": "centos", "VERSION_ID": "7", "PRETTY_NAME": "CentOS Linux 7 (Core)"},
        resources=resources(cpus=1),
        data={"my_iface": "eth9", "has_gpu": True},
        ports={6443: held("python3", 412)},
    )
    assert [row[1] for row in problems_of(facts)] == ["os", "cpus", "my_iface", "port 6443", "has_gpu"]


# -- the refusal table -------------------------------------------------------------------


def test_refusal_table_names_every_host_check_problem_and_fix():
    problems = [
        Problem("master", "port 6443", "in use by python3 (pid 412), but the K3s API server needs it", "stop it"),
        Problem("master", "has_gpu", "is true but no NVIDIA GPU was found", "set has_gpu = false"),
        Problem("worker1, worker2", "os", "CentOS Linux 7 (Core) is not supported yet", OS_FIX),
    ]
    assert format_refusal(problems) == (
        "preflight refused the deploy: 3 problems on 3 hosts, nothing was changed on any host:\n"
        "\n"
        "    master\n"
        "        port 6443: in use by python3 (pid 412), but the K3s API server needs it\n"
        "        fix: stop it\n"
        "\n"
        "        has_gpu: is true but no NVIDIA GPU was found\n"
        "        fix: set has_gpu = false\n"
        "\n"
        "    worker1, worker2\n"
        "        os: CentOS Linux 7 (Core) is not supported yet\n"
        f"        fix: {OS_FIX}"
    )
    assert str(PreflightRefused(problems[:1])).startswith("preflight refused the deploy: 1 problem on 1 host,")


# -- once per run, across hosts ----------------------------------------------------------


SUDO_PROBE = "sudo -n true 2>&1 | sed 's/^/sudo -n: /'"


class FakeHost:
    """What gather_host_facts uses of a pyinfra Host, with canned facts."""

    def __init__(self, name, groups, facts, data=None):
        self.name = name
        self.groups = groups
        self.facts = facts
        self.data = {
            "my_iface": "eth1",
            "convect_workdir": "/var/lib/convecthub",
            "http_port": 80,
            "https_port": 443,
            "registry_port": 5000,
            "bundle_peer_port": 8473,
            **(data or {}),
        }
        self.calls, self.commands = [], []
        self.inventory = None
        # No sudo password, and sudo wants none: nothing for convecthub.pyinfra_fixes.sudo to do.
        self.connector_data = {}
        self.state = SimpleNamespace(config=SimpleNamespace(SUDO_PASSWORD=None))
        self.print_prefix = f"[{name}] "

    def run_shell_command(self, command, **arguments):
        self.commands.append(command.get_raw_value())
        if self.data.get("sudo_wants_a_password"):
            return True, CommandOutput([OutputLine("stdout", "sudo -n: sudo: a password is required")])
        return True, CommandOutput([])

    def get_fact(self, cls, **arguments):
        self.calls.append((cls, arguments))
        gevent.sleep(0.001)  # a round trip: let the other greenlets run
        return self.facts[cls]


class FakeInventory(list):
    def get_group(self, name):
        return [node for node in self if name in node.groups]


class FakeState:
    def __init__(self, hosts, activated=None, limit=None):
        self.inventory = FakeInventory(hosts)
        for node in hosts:
            node.inventory = self.inventory
        self.activated_hosts = set(hosts if activated is None else activated)
        self.active_hosts = set(self.activated_hosts)
        self.limit = limit

    def is_host_in_limit(self, node):
        return self.limit is None or node in self.limit


def host_facts(changes=None):
    facts = {
        SudoWorks: 0,
        OsRelease: {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
        Resources: healthy().resources,
        InterfaceAddresses: dict(INTERFACES),
        AptWorks: dict(HEALTHY_APT),
        ListeningTcpPorts: {22: [SSHD]},
        NvidiaGpus: [],
    }
    facts.update(changes or {})
    return facts


def lab_hosts(**per_host_changes):
    return [
        FakeHost("master", ("driver", "registry"), host_facts(per_host_changes.get("master"))),
        FakeHost("worker1", ("worker",), host_facts(per_host_changes.get("worker1"))),
        FakeHost(
            "worker2",
            ("worker",),
            host_facts({NvidiaGpus: [GPU], **per_host_changes.get("worker2", {})}),
            data={"has_gpu": True},
        ),
    ]


def test_check_run_gathers_every_host_and_collects_all_problems():
    hosts = lab_hosts(
        master={ListeningTcpPorts: {6443: held("python3", 412)}},
        worker2={InterfaceAddresses: {"lo": ["127.0.0.1/8"], "eth1": ["10.213.40.4/24"]}, NvidiaGpus: [GPU]},
        worker1={SudoWorks: None},
    )
    hosts[2].data["my_iface"] = "eth9"
    verdict = check_run(FakeState(hosts), bundle_bytes=lambda node: 0)
    assert [(p.where, p.variable) for p in verdict.problems] == [
        ("master", "port 6443"),
        ("worker1", "sudo"),
        ("worker2", "my_iface"),
    ]
    assert verdict.checked == 3
    # Every fact is asked for so that a failure becomes a row, not a dropped host.
    for node in hosts:
        assert node.calls and all(arguments.get("_ignore_errors") is True for _, arguments in node.calls)
    # Without sudo, nothing else is asked; whether sudo wants a password is asked first.
    assert [cls for cls, _ in hosts[1].calls] == [SudoWorks]
    assert all(node.commands == [SUDO_PROBE] for node in hosts)
    # The first driver is the one whose bundle_peer_port is checked: its path includes the bundle directory.
    (resources_call,) = [arguments for cls, arguments in hosts[0].calls if cls is Resources]
    assert resources_call == {"path": "/var/lib/convecthub", "_ignore_errors": True}


def test_sudo_wanting_a_password_with_no_terminal_to_ask_on_is_the_only_row_of_that_host(monkeypatch):
    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr("convecthub.pyinfra_fixes.sudo.getpass", no_terminal)
    hosts = lab_hosts()
    hosts[1].data["sudo_wants_a_password"] = True
    verdict = check_run(FakeState(hosts), bundle_bytes=lambda node: 0)
    assert rows(verdict.problems) == [
        ("worker1", "sudo", "sudo wants a password, none was given and there is no terminal to ask on", SUDO_FIX)
    ]
    assert hosts[1].calls == []  # not even the sudo fact: pyinfra would prompt again


def test_check_run_passes_bundle_bytes_per_host():
    hosts = lab_hosts(worker1={Resources: resources(free_bytes=11 * GB)})
    sizes = {"master": 3 * GB, "worker1": 2 * GB, "worker2": GB // 2}
    verdict = check_run(FakeState(hosts), bundle_bytes=lambda node: sizes[node.name])
    assert [(p.where, p.variable) for p in verdict.problems] == [("worker1", "disk")]
    assert "plus 2.0 GB of bundle files still to arrive" in verdict.problems[0].message


def test_a_host_of_the_limit_that_did_not_connect_is_a_row_and_hosts_outside_the_limit_are_not():
    hosts = lab_hosts()
    master, worker1, worker2 = hosts
    state = FakeState(hosts, activated=[master], limit=[master, worker1])
    verdict = check_run(state, bundle_bytes=lambda node: 0)
    assert rows(verdict.problems) == [
        (
            "worker1",
            "ssh",
            "could not connect (pyinfra's connection error is above)",
            "make the host reachable (ssh_hostname, ssh_port, ssh_user, ssh_key), or leave it out with --limit",
        )
    ]
    assert worker1.calls == [] and worker2.calls == []


def test_same_problem_on_several_hosts_is_one_row():
    centos = {
        OsRelease: {"ID": "centos", "VERSION_ID": "7", "PRETTY_NAME": "CentOS Linux 7 (Core)"},
        AptWorks: {"apt_get": False},
    }
    verdict = check_run(FakeState(lab_hosts(worker1=centos, worker2=centos)), bundle_bytes=lambda node: 0)
    assert rows(verdict.problems)[-1] == (
        "worker1, worker2",
        "os",
        "CentOS Linux 7 (Core) is not supported yet",
        OS_FIX,
    )
    assert len(verdict.problems) == 1


def test_verdict_is_computed_once_per_run_while_every_host_waits_for_it():
    hosts = lab_hosts(worker1={ListeningTcpPorts: {10250: held("nginx", 3)}})
    state = FakeState(hosts)
    asked = []

    def bundle_bytes(node):
        asked.append(node.name)
        return 0

    # As pyinfra runs deploy.py: one greenlet per host, all at once.
    greenlets = [gevent.spawn(run_verdict, state, bundle_bytes) for _ in hosts]
    gevent.joinall(greenlets, raise_error=True)
    verdicts = [greenlet.value for greenlet in greenlets]
    assert verdicts[0] is verdicts[1] is verdicts[2]
    assert sorted(asked) == ["master", "worker1", "worker2"]
    assert all(len([c for c, _ in node.calls if c is SudoWorks]) == 1 for node in hosts)
    assert [(p.where, p.variable) for p in verdicts[0].problems] == [("worker1", "port 10250")]
    # A new run (a new state) decides again.
    again = run_verdict(FakeState(lab_hosts(worker2={NvidiaGpus: []})), bundle_bytes)
    assert [(p.where, p.variable) for p in again.problems] == [("worker2", "has_gpu")]
