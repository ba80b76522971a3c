"""
The real CLI: ``pyinfra inventories/ansible.py check.py`` with a bad inventory
stops before connecting, prints every problem, exits non-zero, leaks nothing.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYINFRA = Path(sys.executable).with_name("pyinfra")

SSH_PASSWORD = "cli-ssh-Secret-0001"
SUDO_PASSWORD = "cli-sudo-Secret-0002"
WEAK_TOKEN = "cli-token-Secret"


@pytest.fixture
def listener():
    """A TCP port on loopback where the hosts' "sshd" would be: it must see no one."""

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def connection_attempted(server) -> bool:
    try:
        connection, _ = server.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def run_pyinfra(inventory_text: str, tmp_path: Path, *operations) -> subprocess.CompletedProcess:
    ini = tmp_path / "inv.toml"
    ini.write_text(inventory_text)
    env = {**os.environ, "CONVECTHUB_ANSIBLE_INVENTORY": str(ini)}
    env.pop("CONVECTHUB_DEFER_CHECK", None)
    return subprocess.run(
        [str(PYINFRA), "inventories/ansible.py", *operations],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bad_inventory(port: int) -> str:
    return (
        f"master ansible_host=127.0.0.1 ansible_port={port} ansible_user=ops "
        f"ansible_ssh_pass={SSH_PASSWORD} ansible_sudo_pass={SUDO_PASSWORD} my_iface=eth1\n"
        f"worker1 ansible_host=127.0.0.1 ansible_port={port} has_gpus=true\n"
        "[driver]\nmaster\n[worker]\nworker1\n"
        f"[all:vars]\nconvect_token={WEAK_TOKEN}\njhub_config_path=nowhere.yaml\n"
    )


def test_check_with_a_bad_inventory_stops_before_connecting(tmp_path, listener):
    port = listener.getsockname()[1]

    result = run_pyinfra(bad_inventory(port), tmp_path, "check.py")
    output = result.stdout + result.stderr

    assert result.returncode != 0
    assert "Traceback" not in output
    assert "--> Connecting to hosts" not in output
    assert not connection_attempted(listener)

    assert "the inventory has 5 problems, nothing was run on any host:" in result.stderr
    # One block per place, each problem in the block of the hosts it names.
    blocks = {block.splitlines()[0]: block for block in re.split(r"\n\n    (?=\S)", result.stderr)[1:]}
    for where, line in (
        ("master, worker1", "convect_token: is shorter than 32 characters"),
        ("master, worker1", f"ssh_hostname and ssh_port: are 127.0.0.1:{port} for each of these hosts"),
        ("worker1", "has_gpus: is not a variable ConvectHub or pyinfra reads, and looks like a misspelling of has_gpu"),
        ("worker1", "my_iface: is not set"),
        ("master, worker1", f"jhub_config_path: points at {tmp_path}/nowhere.yaml, which does not exist"),
    ):
        assert f"        {line}" in blocks[where], (where, line)

    for secret in (SSH_PASSWORD, SUDO_PASSWORD, WEAK_TOKEN):
        assert secret not in output


def test_a_valid_inventory_passes_the_check(tmp_path, listener):
    # debug-inventory never connects: it shows the check lets a good inventory through.
    port = listener.getsockname()[1]
    (tmp_path / "id_test").write_text("not a real key\n")
    (tmp_path / "values.yaml").write_text("hub: {}\n")
    good = (
        f"master ansible_host=127.0.0.1 ansible_port={port} my_iface=eth1 "
        f"ansible_ssh_private_key_file={tmp_path}/id_test ansible_sudo_pass={SUDO_PASSWORD}\n"
        "[driver]\nmaster\n[registry]\nmaster\n"
        "[all:vars]\njhub_config_path=values.yaml\n"
    )

    result = run_pyinfra(good, tmp_path, "debug-inventory")

    assert result.returncode == 0, result.stderr
    assert "problem" not in result.stderr
    assert not connection_attempted(listener)
