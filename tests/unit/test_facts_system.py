"""facts/system.py: each fact's process() on real outputs, and the shell
commands themselves run on this machine where they only read."""

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from pyinfra.api.exceptions import FactProcessError

from facts.system import AptWorks, ListeningTcpPorts, OsRelease, Resources, SudoWorks

UBUNTU_2204 = """\
PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
""".splitlines()

DEBIAN_12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
""".splitlines()

CENTOS_7 = """\
NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"

CENTOS_MANTISBT_PROJECT="CentOS-7"
CENTOS_MANTISBT_PROJECT_VERSION="7"
REDHAT_SUPPORT_PRODUCT="centos"
REDHAT_SUPPORT_PRODUCT_VERSION="7"
""".splitlines()


def run_locally(fact, **arguments) -> list:
    command = fact.command(**arguments) if callable(fact.command) else fact.command
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


# -- OsRelease ---------------------------------------------------------------


def test_os_release_of_ubuntu_2204():
    fact = OsRelease().process(UBUNTU_2204)
    assert (fact["ID"], fact["VERSION_ID"], fact["PRETTY_NAME"]) == ("ubuntu", "22.04", "Ubuntu 22.04.4 LTS")
    assert fact["ID_LIKE"] == "debian"


def test_os_release_of_debian_12():
    fact = OsRelease().process(DEBIAN_12)
    assert (fact["ID"], fact["VERSION_ID"], fact["PRETTY_NAME"]) == ("debian", "12", "Debian GNU/Linux 12 (bookworm)")


def test_os_release_of_centos_7_with_quoted_id_and_blank_line():
    fact = OsRelease().process(CENTOS_7)
    assert (fact["ID"], fact["VERSION_ID"], fact["PRETTY_NAME"]) == ("centos", "7", "CentOS Linux 7 (Core)")
    assert fact["ID_LIKE"] == "rhel fedora"
    assert fact["REDHAT_SUPPORT_PRODUCT_VERSION"] == "7"


def test_os_release_single_quotes_and_comments():
    fact = OsRelease().process(["# generated", "ID='debian'", "PRETTY_NAME='Debian GNU/Linux trixie/sid'"])
    assert fact == {"ID": "debian", "PRETTY_NAME": "Debian GNU/Linux trixie/sid"}


# -- SudoWorks ---------------------------------------------------------------


def test_sudo_works_is_the_uid():
    assert SudoWorks().process(["0"]) == 0
    assert SudoWorks().process(["1000"]) == 1000


def test_sudo_works_refuses_garbage():
    with pytest.raises(FactProcessError):
        SudoWorks().process(["sudo: a terminal is required"])


# -- Resources ---------------------------------------------------------------

RESOURCES_OUTPUT = [
    "cpus=2",
    "memory_kb=24605508",
    "path=/var/lib",
    "filesystem=ext4",
    "free_bytes=83996372992",
    "mount=/",
]


def test_resources_process():
    assert Resources().process(RESOURCES_OUTPUT) == {
        "cpus": 2,
        "memory_bytes": 24605508 * 1024,
        "path": "/var/lib",
        "filesystem": "ext4",
        "mount": "/",
        "free_bytes": 83996372992,
    }


def test_resources_names_tmpfs():
    output = ["cpus=4", "memory_kb=4013852", "path=/run", "filesystem=tmpfs", "free_bytes=410000000", "mount=/run"]
    fact = Resources().process(output)
    assert (fact["filesystem"], fact["memory_bytes"]) == ("tmpfs", 4013852 * 1024)


def test_resources_without_df_output_is_an_error_not_a_guess():
    with pytest.raises(FactProcessError, match="filesystem, free_bytes"):
        Resources().process(["cpus=2", "memory_kb=4013852", "path=/", "filesystem=", "free_bytes=", "mount="])


def test_resources_command_walks_up_to_the_nearest_existing_parent(tmp_path):
    fact = Resources().process(run_locally(Resources(), path=str(tmp_path / "not" / "yet")))
    assert fact["path"] == str(tmp_path)
    assert fact["cpus"] == len(os.sched_getaffinity(0))
    assert fact["memory_bytes"] > 0 and fact["free_bytes"] > 0
    expected_type = subprocess.run(["df", "--output=fstype", str(tmp_path)], capture_output=True, text=True)
    assert fact["filesystem"] == expected_type.stdout.split()[-1]


# -- ListeningTcpPorts -------------------------------------------------------

# `ss -Htlnp` on a K3s server, and the unit lines the fact adds (prefixed as
# the command prints them).
SS_OUTPUT = [
    'ss LISTEN 0      4096         0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=601,fd=3))',
    'ss LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=402,fd=14))',
    'ss LISTEN 0      4096       127.0.0.1:6444       0.0.0.0:*    users:(("k3s-server",pid=812,fd=12))',
    'ss LISTEN 0      4096               *:6443             *:*    users:(("k3s-server",pid=812,fd=16))',
    'ss LISTEN 0      4096               *:10250            *:*    users:(("k3s-server",pid=812,fd=18))',
    'ss LISTEN 0      511                *:80               *:*    users:(("nginx",pid=1002,fd=6),("nginx",pid=1001,fd=6))',
    'ss LISTEN 0      4096            [::]:22            [::]:*    users:(("sshd",pid=601,fd=4))',
    'ss LISTEN 0      5     [::ffff:127.0.0.1]:5000        *:*    users:(("docker-registry",pid=77,fd=3))',
    "ss LISTEN 0      128   [fe80::42:acff:fe11:2%eth0]:8080 [::]:*",
    "unit 77 docker-registry.service",
    "unit 402 systemd-resolved.service",
    "unit 601 ssh.service",
    "unit 812 k3s.service",
    "unit 1001 nginx.service",
    "unit 1002 nginx.service",
]


def test_listening_ports_from_ss_with_ipv6_and_holders():
    fact = ListeningTcpPorts().process(SS_OUTPUT)
    assert sorted(fact) == [22, 53, 80, 5000, 6443, 6444, 8080, 10250]
    assert fact[22] == [{"process": "sshd", "pid": 601, "unit": "ssh.service"}]
    assert fact[6443] == [{"process": "k3s-server", "pid": 812, "unit": "k3s.service"}]
    assert fact[80] == [
        {"process": "nginx", "pid": 1002, "unit": "nginx.service"},
        {"process": "nginx", "pid": 1001, "unit": "nginx.service"},
    ]
    assert fact[5000] == [{"process": "docker-registry", "pid": 77, "unit": "docker-registry.service"}]
    assert fact[8080] == []  # listed without a process: holder unknown


def test_listening_ports_holder_outside_any_service():
    fact = ListeningTcpPorts().process(
        ['ss LISTEN 0 5 0.0.0.0:6443 0.0.0.0:* users:(("python3",pid=3190,fd=3))', "unit 3190 "]
    )
    assert fact == {6443: [{"process": "python3", "pid": 3190, "unit": None}]}


# /proc/net/tcp and tcp6 as the kernel prints them (when ss is missing):
# 22 and 53 (127.0.0.53) listening, an outgoing SSH connection from port
# 50338 (established, not listening), and 22 and 6443 over IPv6.
PROC_OUTPUT = [
    "proc   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "proc    0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20114 1 "
    "0000000000000000 100 0 0 10 0",
    "proc    1: 3500007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 18512 1 "
    "0000000000000000 100 0 0 10 5",
    "proc    2: 0300D50A:C4A2 0200D50A:0016 01 00000000:00000000 02:0009F5C1 00000000     0        0 43817 2 "
    "0000000000000000 20 4 29 10 -1",
    "proc   sl  local_address                         remote_address                        st tx_queue rx_queue tr "
    "tm->when retrnsmt   uid  timeout inode",
    "proc    0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 20116 1 0000000000000000 100 0 0 10 0",
    "proc    1: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A 00000000:00000000 "
    "00:00000000 00000000     0        0 31337 1 0000000000000000 100 0 0 10 0",
]


def test_listening_ports_from_proc_net_tcp_skip_established_and_headers():
    assert ListeningTcpPorts().process(PROC_OUTPUT) == {22: [], 53: [], 6443: []}


@pytest.mark.skipif(not shutil.which("ss"), reason="ss (iproute2) is not installed here")
def test_listening_ports_command_finds_a_listener_and_its_process():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        fact = ListeningTcpPorts().process(run_locally(ListeningTcpPorts()))
    assert port in fact
    if os.geteuid() == 0:  # ss -p names other users' processes only for root
        (holder,) = fact[port]
        assert holder["pid"] == os.getpid()
        assert holder["process"] == Path(f"/proc/{os.getpid()}/comm").read_text().strip()


def test_listening_ports_command_falls_back_to_proc_without_ss(tmp_path):
    # A PATH where `ss` does not exist but the shell's other tools do.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "cat", "sed"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = subprocess.run(
            [str(bin_dir / "sh"), "-c", ListeningTcpPorts().command()],
            capture_output=True,
            text=True,
            env={"PATH": str(bin_dir)},
        )
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("proc ") for line in lines)
    assert ListeningTcpPorts().process(lines)[port] == []


# -- AptWorks ----------------------------------------------------------------


def test_apt_works_healthy():
    output = ["apt-get=present", "sources=3", "lists=3", "check_status=0"]
    assert AptWorks().process(output) == {
        "apt_get": True,
        "sources": 3,
        "lists": 3,
        "errors": [],
        "audit": [],
        "check_status": 0,
        "check": [],
    }


def test_apt_works_without_apt_get():
    assert AptWorks().process(["apt-get=missing"])["apt_get"] is False


def test_apt_works_broken_host():
    output = [
        "apt-get=present",
        "sources=0",
        "error Malformed entry 1 in list file /etc/apt/sources.list.d/mirror.list (Component)",
        "error The list of sources could not be read.",
        "lists=0",
        "audit The following packages are only half configured, probably due to problems",
        "audit configuring them the first time.  The configuration should be retried using",
        "audit dpkg --configure <package> or the configure menu option in dselect:",
        "audit  nvidia-dkms-535-server NVIDIA DKMS package",
        "audit ",
        "check_status=100",
        "check E: Unmet dependencies. Try 'apt --fix-broken install' with no packages (or specify a solution).",
    ]
    fact = AptWorks().process(output)
    assert fact["sources"] == 0 and fact["lists"] == 0 and fact["check_status"] == 100
    assert fact["errors"] == [
        "Malformed entry 1 in list file /etc/apt/sources.list.d/mirror.list (Component)",
        "The list of sources could not be read.",
    ]
    assert fact["audit"][3] == " nvidia-dkms-535-server NVIDIA DKMS package"
    assert len(fact["audit"]) == 4
    assert fact["check"] == [
        "E: Unmet dependencies. Try 'apt --fix-broken install' with no packages (or specify a solution)."
    ]


def _tree_state(*roots):
    state = {}
    for root in roots:
        for path in Path(root).rglob("*"):
            try:
                stat = path.lstat()
            except FileNotFoundError:
                continue
            state[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return state


@pytest.mark.skipif(not shutil.which("apt-get"), reason="apt-get is not installed here")
def test_apt_works_command_reads_without_changing_anything():
    watched = ("/var/lib/apt", "/var/cache/apt", "/var/lib/dpkg")
    before = _tree_state(*watched)
    fact = AptWorks().process(run_locally(AptWorks()))
    assert _tree_state(*watched) == before
    assert fact["apt_get"] is True
    assert fact["check_status"] == 0, fact["check"]
    assert fact["lists"] == len([p for p in os.listdir("/var/lib/apt/lists") if "_Packages" in p])
