"""The manual's Ansible INI inventory, kept as it is, deploys the lab like the
pyinfra inventory does, sudo password (ansible_sudo_pass) included."""

import json
import os
import re
import stat
import subprocess
import sys

import pytest

from tests.lab.lab import topology

from .conftest import REPO, exec_on, run_pyinfra

pytestmark = pytest.mark.e2e

DEPLOY = "tests/e2e/deploys/bundle_only.py"


@pytest.fixture(scope="module")
def lab(lab_factory):
    nodes = topology(sudo_password_nodes=("worker1",), port_offset=600)
    return lab_factory("convecthub-e2e-ini", nodes, "10.213.60.0/24")


def write_manual_style_inventory(lab, path, pinned_host_keys=True):
    """An inventory in the manual's format, for the lab's nodes; with
    ``pinned_host_keys``, it names the lab's known_hosts file (the lab
    pinned every node's key in it)."""
    state = lab.state_dir
    lines = []
    for node in lab.nodes:
        fields = [
            node.spec.name,
            f"ansible_ssh_user={lab.spec.user}",
            "ansible_ssh_host=127.0.0.1",
            f"ansible_ssh_port={node.spec.ssh_port}",
            f"ansible_ssh_private_key_file='{state / 'id_ed25519'}'",
            "my_iface=eth1",
        ]
        if pinned_host_keys:
            fields.append(f"ssh_known_hosts_file={state / 'known_hosts'}")
        if node.spec.data.get("has_gpu"):
            fields.append("has_gpu=true")
        if node.sudo_password_file:
            fields.append(f"ansible_sudo_pass={node.sudo_password_file.read_text()}")
        lines.append(" ".join(fields))
    lines += [
        "",
        "[driver]",
        "master",
        "",
        "[worker]",
        "worker1",
        "worker2",
        "",
        "[registry]",
        "master",
        "",
        "[all:vars]",
        "convect_workdir=/var/lib/convecthub",
        "has_gpu=false",
        f"jhub_config_path={REPO / 'tests/lab/jupyterhub.yaml'}",
        f"bundle_dir={lab.ensure_standin_bundle()}",
        f"convecthub_state_dir={state}",
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def run_with_ini(ini_path, *arguments, home=None):
    env = {**os.environ, "CONVECTHUB_ANSIBLE_INVENTORY": str(ini_path)}
    if home is not None:
        env["HOME"] = str(home)
    pyinfra = str(os.path.join(os.path.dirname(sys.executable), "pyinfra"))
    return subprocess.run(
        [pyinfra, "inventories/ansible.py", *arguments], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_ini_inventory_deploys_what_the_pyinfra_inventory_deploys(lab, tmp_path):
    ini = tmp_path / "inv.toml"
    write_manual_style_inventory(lab, ini)
    password = lab.nodes[1].sudo_password_file.read_text()

    first = run_with_ini(ini, "-y", "-vvv", DEPLOY)

    assert first.returncode == 0, first.stderr[-3000:]
    assert "Upload bundle files from the provisioner" in first.stderr
    assert password not in first.stdout + first.stderr, "the sudo password was printed"
    # The same state, seen through the pyinfra inventory: nothing left to do.
    again = run_pyinfra(lab.inventory, "--json", "-y", DEPLOY)
    totals = json.loads(again.stdout)["results"]["totals"]
    assert totals["success"] == 0 and totals["error"] == 0, totals


def test_wrong_sudo_password_in_the_ini_is_named_by_host(lab, tmp_path):
    ini = tmp_path / "inv.toml"
    write_manual_style_inventory(lab, ini)
    text = ini.read_text()
    real = lab.nodes[1].sudo_password_file.read_text()
    ini.write_text(text.replace(f"ansible_sudo_pass={real}", "ansible_sudo_pass=wrong-password"))

    result = run_with_ini(ini, "-y", DEPLOY)

    assert result.returncode != 0
    assert "    worker1\n        sudo: failed for SSH user 'vagrant'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "wrong-password" not in result.stdout + result.stderr


def fingerprint_on(lab, node_name) -> str:
    """The node's ED25519 host key as its own ssh-keygen shows it: ``ED25519 SHA256:...``."""
    code, output = exec_on(lab, node_name, ["ssh-keygen", "-l", "-f", "/etc/ssh/ssh_host_ed25519_key.pub"])
    assert code == 0, output
    _bits, fingerprint, *_, kind = output.split()
    return f"{kind.strip('()')} {fingerprint}"


def test_a_provisioner_without_ssh_directory_connects_and_pins_each_host_once(lab, tmp_path):
    ini = tmp_path / "inv.toml"
    write_manual_style_inventory(lab, ini, pinned_host_keys=False)
    home = tmp_path / "new-operator"
    home.mkdir()
    assert not (home / ".ssh").exists()

    first = run_with_ini(ini, "-y", DEPLOY, home=home)

    assert first.returncode == 0, first.stderr[-3000:]
    known_hosts = home / ".ssh" / "known_hosts"
    assert stat.S_IMODE((home / ".ssh").stat().st_mode) == 0o700
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    for node in lab.nodes:
        assert f"added host key for {node.spec.name} ({fingerprint_on(lab, node.spec.name)})" in first.stderr
    assert sorted(line.split()[0] for line in known_hosts.read_text().splitlines()) == sorted(
        f"[127.0.0.1]:{node.spec.ssh_port}" for node in lab.nodes
    )
    again = run_with_ini(ini, "-y", DEPLOY, home=home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "added host key" not in again.stderr
    assert "Traceback" not in first.stderr + again.stderr


@pytest.fixture
def worker2_rekeyed(lab):
    """worker2 with new host keys (a reinstalled machine, or someone else at
    its address); its old keys are put back afterwards."""
    keep = "mkdir -p /root/old-host-keys && cp -p /etc/ssh/ssh_host_* /root/old-host-keys/"
    rekey = "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh"
    old = fingerprint_on(lab, "worker2")
    assert exec_on(lab, "worker2", ["sh", "-c", f"{keep} && {rekey}"])[0] == 0
    new = fingerprint_on(lab, "worker2")
    assert new != old
    yield old, new
    restore = "cp -p /root/old-host-keys/* /etc/ssh/ && systemctl restart ssh"
    assert exec_on(lab, "worker2", ["sh", "-c", restore])[0] == 0
    assert fingerprint_on(lab, "worker2") == old


def test_a_changed_host_key_is_refused_naming_the_host_before_any_operation(lab, tmp_path, worker2_rekeyed):
    old, new = worker2_rekeyed
    ini = tmp_path / "inv.toml"
    write_manual_style_inventory(lab, ini)

    result = run_with_ini(ini, "-y", "deploy.py")

    assert result.returncode != 0
    port = lab.nodes[2].spec.ssh_port
    assert "[worker2] SSH host key changed" in result.stderr
    assert f"holds {old} for [127.0.0.1]:{port}, the host now offers {new}" in result.stderr
    assert f"-R '[127.0.0.1]:{port}'" in result.stderr
    assert re.search(r"\n    worker2\n        ssh: could not connect", result.stderr), result.stderr[-3000:]
    assert "--> Beginning operation run" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
