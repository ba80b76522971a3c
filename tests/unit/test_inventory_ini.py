"""The Ansible INI loader: the manual's file as it is, and Ansible's rules."""

import os
import textwrap
from pathlib import Path

import pytest

from convecthub.inventory.ansible_ini import ENV_VAR, load_ini, load_ini_from_env, parse_ini
from convecthub.inventory.variables import INI_SPELLING
from convecthub.problems import InventoryError

FIXTURES = Path(__file__).parent / "fixtures"
MANUAL_INI = FIXTURES / "manual" / "inv.toml"
MANUAL = Path("/work/shared/seed/private-deployment-manual.zh.md")
KEY = os.path.expanduser("~/.ssh/id_rsa")


def parse(text, **kwargs):
    return parse_ini(textwrap.dedent(text), source="inv.toml", **kwargs)


@pytest.mark.skipif(not MANUAL.exists(), reason="the manual is not on this machine")
def test_fixture_is_the_manuals_example_verbatim():
    manual = MANUAL.read_text(encoding="utf-8")
    example = manual.split("如下是一个样例inventory文件", 1)[1].split("```", 2)[1]

    assert MANUAL_INI.read_text(encoding="utf-8") == example.lstrip("\n")


def test_manual_example_loads_unchanged():
    inventory = load_ini(MANUAL_INI)

    common = {
        "ssh_user": "vagrant",
        "ssh_hostname": "127.0.0.1",
        "ssh_key": KEY,
        "my_iface": "eth1",
        "convect_workdir": "/tmp/convecthub",
        "convect_token": "k3s_hub_token",
        "jhub_config_path": str(FIXTURES / "manual" / "thu-vars" / "jupyterhub.yaml"),
    }
    assert inventory.problems == []
    assert inventory.hosts == {
        "worker2": {**common, "ssh_port": 2201, "has_gpu": True},
        "worker1": {**common, "ssh_port": 2200, "has_gpu": False},
        "master": {**common, "ssh_port": 2222, "has_gpu": False},
    }
    # pyinfra gets each host's data with how the file spelled its variables,
    # so that messages name them as the operator wrote them.
    spelled = {
        "ssh_hostname": "ansible_ssh_host",
        "ssh_key": "ansible_ssh_private_key_file",
        "ssh_port": "ansible_ssh_port",
        "ssh_user": "ansible_ssh_user",
    }

    def data(name):
        return {**inventory.hosts[name], INI_SPELLING: spelled}

    assert inventory.pyinfra_groups() == {
        "driver": [("master", data("master"))],
        "worker": [("worker1", data("worker1")), ("worker2", data("worker2"))],
        "registry": [("master", data("master"))],
    }


def test_ansible_connection_variables_become_pyinfra_ones():
    inventory = parse(
        """
        a ansible_host=10.0.0.1 ansible_port=2022 ansible_user=ops ansible_password=pw1 ansible_become_pass=pw2
        b ansible_ssh_host=10.0.0.2 ansible_ssh_port=22 ansible_ssh_user=ops ansible_ssh_pass=pw3 ansible_sudo_pass=pw4
        c ansible_become=true ansible_become_user=root ansible_become_password=pw5 ansible_private_key_file=~/k
        """,
    )

    assert inventory.hosts == {
        "a": {
            "ssh_hostname": "10.0.0.1",
            "ssh_port": 2022,
            "ssh_user": "ops",
            "ssh_password": "pw1",
            "_sudo_password": "pw2",
        },
        "b": {
            "ssh_hostname": "10.0.0.2",
            "ssh_port": 22,
            "ssh_user": "ops",
            "ssh_password": "pw3",
            "_sudo_password": "pw4",
        },
        "c": {"_sudo": True, "_sudo_user": "root", "_sudo_password": "pw5", "ssh_key": os.path.expanduser("~/k")},
    }


def test_types_ports_booleans_and_secrets():
    inventory = parse(
        """
        a http_port=9000 has_gpu=TRUE install_docker=False ansible_ssh_pass=true extra=42 note=yes
        """,
    )

    # Ports become ints; true/false booleans; a password stays exactly as typed;
    # unknown variables stay strings.
    assert inventory.hosts["a"] == {
        "http_port": 9000,
        "has_gpu": True,
        "install_docker": False,
        "ssh_password": "true",
        "extra": "42",
        "note": "yes",
    }


def test_quotes_comments_and_host_port_shorthand():
    inventory = parse(
        """
        # a comment
        ; another comment
        a:2222 my_iface="eth 1" ansible_ssh_pass='p#ss word'  # trailing comment
        [all:vars]
        jhub_config_path = '/abs/values.yaml'   # comment after a quoted value
        convect_workdir=/srv/convecthub # comment
        """,
    )

    assert inventory.problems == []
    assert inventory.hosts["a"] == {
        "ssh_port": 2222,
        "my_iface": "eth 1",
        "ssh_password": "p#ss word",
        "jhub_config_path": "/abs/values.yaml",
        "convect_workdir": "/srv/convecthub",
    }


def test_precedence_all_then_parents_then_children_then_host():
    inventory = parse(
        """
        [gpu]
        g1
        g2 http_port=8002

        [worker:children]
        gpu

        [all:vars]
        http_port=8000
        https_port=8400
        my_iface=eth0

        [worker:vars]
        http_port=8001
        my_iface=eth1

        [gpu:vars]
        has_gpu=true
        my_iface=eth2
        """,
    )

    assert inventory.problems == []
    assert inventory.groups["worker"] == ["g1", "g2"]
    assert inventory.hosts["g1"] == {"http_port": 8001, "https_port": 8400, "my_iface": "eth2", "has_gpu": True}
    assert inventory.hosts["g2"]["http_port"] == 8002


def test_groups_at_one_depth_apply_in_name_order():
    inventory = parse(
        """
        [zeta]
        h
        [alpha]
        h
        [zeta:vars]
        my_iface=from-zeta
        [alpha:vars]
        my_iface=from-alpha
        """,
    )

    assert inventory.hosts["h"]["my_iface"] == "from-zeta"


def test_ungrouped_hosts_form_the_ungrouped_group():
    inventory = parse(
        """
        lonely my_iface=eth1
        member
        [worker]
        member
        """,
    )

    assert inventory.groups["ungrouped"] == ["lonely"]
    assert list(inventory.pyinfra_groups()) == ["ungrouped", "worker"]


def test_relative_local_files_are_relative_to_the_ini_file(tmp_path):
    ini = tmp_path / "old" / "inv.toml"
    ini.parent.mkdir()
    ini.write_text("a jhub_config_path=thu-vars/j.yaml registry_tls_ca_file=/etc/ca.pem\n")

    inventory = load_ini(ini)

    assert inventory.hosts["a"]["jhub_config_path"] == str(tmp_path / "old" / "thu-vars" / "j.yaml")
    assert inventory.hosts["a"]["registry_tls_ca_file"] == "/etc/ca.pem"


def test_env_var_not_set():
    with pytest.raises(InventoryError) as raised:
        load_ini_from_env({})

    assert [problem.text for problem in raised.value.problems] == [
        "environment: CONVECTHUB_ANSIBLE_INVENTORY is not set. Fix: name the Ansible INI "
        "inventory to read: CONVECTHUB_ANSIBLE_INVENTORY=inv.toml pyinfra "
        "inventories/ansible.py deploy.py.",
    ]


def test_env_var_names_a_missing_file(tmp_path):
    missing = tmp_path / "nope.toml"

    with pytest.raises(InventoryError) as raised:
        load_ini_from_env({ENV_VAR: str(missing)})

    assert [problem.text for problem in raised.value.problems] == [
        f"{missing}: CONVECTHUB_ANSIBLE_INVENTORY points at a file that cannot be read "
        "(No such file or directory). Fix: point it at your Ansible INI inventory, e.g. inv.toml.",
    ]
