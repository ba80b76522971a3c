"""The manual's Ansible INI inventory, kept as it is, deploys the lab like the
pyinfra inventory does, sudo password (ansible_sudo_pass) included."""

import json
import os
import subprocess
import sys

import pytest

from tests.lab.lab import topology

from .conftest import REPO, run_pyinfra

pytestmark = pytest.mark.e2e

DEPLOY = "tests/e2e/deploys/bundle_only.py"


@pytest.fixture(scope="module")
def lab(lab_factory):
    nodes = topology(sudo_password_nodes=("worker1",), port_offset=600)
    return lab_factory("convecthub-e2e-ini", nodes, "10.213.60.0/24")


def write_manual_style_inventory(lab, path):
    """An inventory in the manual's format, for the lab's nodes."""
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
            f"ssh_known_hosts_file={state / 'known_hosts'}",
        ]
        if node.spec.data.get("has_gpu"):
            fields.append("has_gpu=true")
        if node.sudo_password_file:
            fields.append(f"ansible_sudo_pass={node.sudo_password_file.read_text()}")
        lines.append(" ".join(fields))
    lines += [
        "",
        "[driver]", "master", "",
        "[worker]", "worker1", "worker2", "",
        "[registry]", "master", "",
        "[all:vars]",
        "convect_workdir=/var/lib/convecthub",
        "has_gpu=false",
        f"jhub_config_path={REPO / 'tests/lab/jupyterhub.yaml'}",
        f"bundle_dir={lab.ensure_standin_bundle()}",
        f"convecthub_state_dir={state}",
    ]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def run_with_ini(ini_path, *arguments):
    env = {**os.environ, "CONVECTHUB_ANSIBLE_INVENTORY": str(ini_path)}
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
    assert "worker1: sudo failed for SSH user 'vagrant'" in result.stderr
    assert "Traceback" not in result.stderr
    assert "wrong-password" not in result.stdout + result.stderr
