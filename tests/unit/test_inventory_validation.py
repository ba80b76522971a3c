"""
Malformed inventories, each with the exact problem text it must produce.

Every case loads through the real inventory modules (inventories/ansible.py, or
a pyinfra inventory file calling check_before_connect) with the repository's
group_data, as the pyinfra CLI would - and with every way of opening a network
connection made to fail the test.
"""

import runpy
import socket
import textwrap
from pathlib import Path

import paramiko
import pytest
from pyinfra.api import Config, Inventory, State

from convecthub.cluster.check import DEFER_ENV, require_valid_inventory
from convecthub.inventory.ansible_ini import ENV_VAR
from convecthub.problems import InventoryError, Problem, format_problems

REPO = Path(__file__).resolve().parents[2]

TOKEN = "unit-test-token-0123456789-abcdefghijkl"  # 40 characters, not a real secret

BASE = """\
master ansible_host=10.0.0.1 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1
worker1 ansible_host=10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1
worker2 ansible_host=10.0.0.3 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1 has_gpu=true

[driver]
master

[worker]
worker1
worker2

[registry]
master

[all:vars]
convect_token={token}
jhub_config_path=thu-vars/jupyterhub.yaml
"""

ALL_HOSTS = "master, worker1, worker2"

JHUB_FIX = (
    "point it at your Zero to JupyterHub values file (a YAML mapping); a relative path is "
    "relative to the INI file's directory (INI inventories) or to the directory pyinfra runs "
    "in (pyinfra inventories)"
)
TOKEN_FIX = (
    "delete convect_token to have a strong one generated and kept in .convecthub/state.json, "
    "or set one of at least 32 random characters (e.g. `openssl rand -hex 32`)"
)
BOOLEAN_FIX = "write {0}=true or {0}=false in an INI inventory, True or False in a pyinfra inventory"
PORT_FIX = "set {0} to a whole number from 1 to 65535"
SAME_NAME_FIX = "give each machine its own host name: a name is one machine"


@pytest.fixture(autouse=True)
def no_connections(monkeypatch):
    """Any attempt to connect anywhere is recorded and fails the test."""

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("an inventory check tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(paramiko.SSHClient, "connect", refuse)
    yield
    assert attempts == []


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A directory with an SSH key stand-in and a values file; pyinfra's cwd is the repo."""

    (tmp_path / "id_test").write_text("not a real key\n")
    (tmp_path / "thu-vars").mkdir()
    (tmp_path / "thu-vars" / "jupyterhub.yaml").write_text("hub:\n  config: {}\n")
    monkeypatch.chdir(REPO)
    monkeypatch.delenv(DEFER_ENV, raising=False)
    return tmp_path


def check_ini(files, monkeypatch, template: str) -> list[str]:
    """Problems of an INI inventory loaded through inventories/ansible.py."""

    ini = files / "inv.toml"
    ini.write_text(template.format(key=files / "id_test", token=TOKEN))
    monkeypatch.setenv(ENV_VAR, str(ini))
    try:
        runpy.run_path(str(REPO / "inventories" / "ansible.py"))
    except InventoryError as error:
        return [problem.text for problem in error.problems]
    return []


def check_pyinfra_inventory(files, body: str) -> list[str]:
    """Problems of a pyinfra inventory module ending with check_before_connect."""

    module = files / "inventory.py"
    header = "from convecthub.cluster.check import check_before_connect as _check\n"
    module.write_text(header + textwrap.dedent(body) + "\n_check(globals())\n")
    try:
        runpy.run_path(str(module))
    except InventoryError as error:
        return [problem.text for problem in error.problems]
    return []


def test_base_inventory_is_valid(files, monkeypatch):
    # Every case below changes one thing in it: their problems are theirs alone.
    assert check_ini(files, monkeypatch, BASE) == []


def replace(old, new):
    assert old in BASE, old
    return BASE.replace(old, new)


def add_vars(lines):
    return BASE + lines


WORKER1_LINE = "worker1 ansible_host=10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1\n"

INI_CASES = {
    "no driver": (
        replace("[driver]\nmaster\n\n", ""),
        [
            "inventory: driver group has no host. Fix: put the K3s server host(s) in the driver "
            "group: [driver] in an INI inventory, driver = [...] in a pyinfra inventory.",
        ],
    ),
    "even number of drivers": (
        replace("[driver]\nmaster\n", "[driver]\nmaster\nworker1\n"),
        [
            "master, worker1: driver group has 2 hosts, but a K3s HA control plane needs an odd "
            "number to keep etcd quorum. Fix: use 1, 3 or 5 driver hosts.",
        ],
    ),
    "two registry hosts": (
        replace("[registry]\nmaster\n", "[registry]\nmaster\nworker1\n"),
        [
            "master, worker1: registry group has 2 hosts, but ConvectHub runs one private "
            "registry. Fix: keep exactly one host in the registry group.",
        ],
    ),
    "missing my_iface": (
        replace(
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1",
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key}",
        ),
        [
            "worker1: my_iface is not set. Fix: set my_iface to the host's interface on the "
            "private network (see `ip -br addr` on the host), e.g. my_iface=eth1.",
        ],
    ),
    "my_iface with a space": (
        replace(
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1",
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface='eth 1'",
        ),
        [
            "worker1: my_iface is the string 'eth 1', not a network interface name. Fix: use the "
            "name `ip -br addr` shows on the host, e.g. eth1 or ens18.",
        ],
    ),
    # The INI's own spelling, not pyinfra's (ssh_port), in the message and the fix.
    "SSH port out of range": (
        replace(
            "ansible_ssh_private_key_file={key} my_iface=eth1 has_gpu=true",
            "ansible_ssh_port=70000 ansible_ssh_private_key_file={key} my_iface=eth1 has_gpu=true",
        ),
        [f"worker2: ansible_ssh_port is 70000, outside 1..65535. Fix: {PORT_FIX.format('ansible_ssh_port')}."],
    ),
    "port that is not a number": (
        add_vars("http_port=80a\n"),
        [f"{ALL_HOSTS}: http_port is the string '80a', not a whole number. Fix: {PORT_FIX.format('http_port')}."],
    ),
    "port out of range": (
        add_vars("https_port=70000\n"),
        [f"{ALL_HOSTS}: https_port is 70000, outside 1..65535. Fix: {PORT_FIX.format('https_port')}."],
    ),
    "http and https on one port": (
        add_vars("http_port=8443\nhttps_port=8443\n"),
        [
            f"{ALL_HOSTS}: https_port is the same port as http_port (8443). Fix: give HTTP and "
            "HTTPS different ports, e.g. http_port=80 and https_port=443.",
        ],
    ),
    "port K3s needs": (
        add_vars("https_port=6443\n"),
        [f"{ALL_HOSTS}: https_port is 6443, which K3s uses for the Kubernetes API. Fix: choose another port."],
    ),
    "registry port taken by http": (
        add_vars("http_port=5000\n"),
        [
            "master: registry_port is the same port as http_port (5000), which every node serves "
            "JupyterHub on. Fix: choose a registry_port different from http_port and https_port.",
        ],
    ),
    "ports differ between hosts": (
        replace("my_iface=eth1 has_gpu=true", "my_iface=eth1 has_gpu=true http_port=8080"),
        [
            f"{ALL_HOSTS}: http_port differs between hosts (80 on master, worker1; 8080 on worker2). "
            "Fix: set it once for every host ([all:vars] in an INI inventory).",
        ],
    ),
    "jhub_config_path not set": (
        replace("jhub_config_path=thu-vars/jupyterhub.yaml\n", ""),
        [
            f"{ALL_HOSTS}: jhub_config_path is not set. Fix: set jhub_config_path to your Zero to "
            "JupyterHub values file, e.g. thu-vars/jupyterhub.yaml.",
        ],
    ),
    "jhub_config_path missing file": (
        replace("thu-vars/jupyterhub.yaml", "thu-vars/missing.yaml"),
        [
            f"{ALL_HOSTS}: jhub_config_path points at {{tmp}}/thu-vars/missing.yaml, which does not exist. Fix: {JHUB_FIX}."
        ],
    ),
    "jhub_config_path is a directory": (
        replace("thu-vars/jupyterhub.yaml", "thu-vars"),
        [f"{ALL_HOSTS}: jhub_config_path points at {{tmp}}/thu-vars, which is not a file. Fix: {JHUB_FIX}."],
    ),
    "jhub_config_path a YAML list": (
        replace("thu-vars/jupyterhub.yaml", "thu-vars/list.yaml"),
        [
            f"{ALL_HOSTS}: jhub_config_path points at {{tmp}}/thu-vars/list.yaml, which is a YAML "
            f"list, not a mapping of chart values. Fix: {JHUB_FIX}.",
        ],
    ),
    "jhub_config_path broken YAML": (
        replace("thu-vars/jupyterhub.yaml", "thu-vars/broken.yaml"),
        [
            f"{ALL_HOSTS}: jhub_config_path points at {{tmp}}/thu-vars/broken.yaml, which is not "
            f"valid YAML (line 3). Fix: {JHUB_FIX}.",
        ],
    ),
    "has_gpu yes": (
        replace("has_gpu=true", "has_gpu=yes"),
        [f"worker2: has_gpu is the string 'yes', not a boolean. Fix: {BOOLEAN_FIX.format('has_gpu')}."],
    ),
    "install_docker 1": (
        add_vars("install_docker=1\n"),
        [f"{ALL_HOSTS}: install_docker is the string '1', not a boolean. Fix: {BOOLEAN_FIX.format('install_docker')}."],
    ),
    "same host name for two machines": (
        BASE.replace("[driver]", WORKER1_LINE.replace("10.0.0.2", "10.0.0.9") + "\n[driver]"),
        [f"worker1: ansible_host is set to different values on lines 2 and 5. Fix: {SAME_NAME_FIX}."],
    ),
    "two names for one machine": (
        replace("ansible_host=10.0.0.3", "ansible_host=10.0.0.2"),
        [
            "worker1, worker2: ssh_hostname and ssh_port are 10.0.0.2:22 for each of these hosts, "
            "so they are one machine. Fix: give each machine one host name and list that name in "
            "several groups for several roles; or correct the address or port.",
        ],
    ),
    "host in no role": (
        WORKER1_LINE.replace("worker1", "worker3").replace("10.0.0.2", "10.0.0.4") + BASE,
        [
            "worker3: role is missing: the host is in none of the groups driver, worker, registry. "
            "Fix: add the host to one of these groups, or remove it from the inventory.",
        ],
    ),
    "registry-only host": (
        WORKER1_LINE.replace("worker1", "store").replace("10.0.0.2", "10.0.0.4")
        + BASE.replace("[registry]\nmaster", "[registry]\nstore"),
        [
            "store: registry is this host's only group, but the registry host must also be a K3s node. "
            "Fix: add the host to the worker (or driver) group too, or put the registry on a driver, "
            "as the manual does.",
        ],
    ),
    "typo has_gpus": (
        replace("has_gpu=true", "has_gpus=true"),
        [
            "worker2: has_gpus is not a variable ConvectHub or pyinfra reads, and looks like a "
            "misspelling of has_gpu. Fix: rename it to has_gpu.",
        ],
    ),
    "typo http-port": (
        add_vars("http-port=8080\n"),
        [
            f"{ALL_HOSTS}: http-port is not a variable ConvectHub or pyinfra reads, and looks like "
            "a misspelling of http_port. Fix: rename it to http_port.",
        ],
    ),
    "typo of an Ansible variable": (
        replace("ansible_host=10.0.0.1", "ansible_hots=10.0.0.1"),
        [
            "master: ansible_hots is not a variable ConvectHub or pyinfra reads, and looks like a "
            "misspelling of ansible_host. Fix: rename it to ansible_host.",
        ],
    ),
    "the manual's placeholder token": (
        replace("convect_token={token}", "convect_token=k3s_hub_token"),
        [f"{ALL_HOSTS}: convect_token is the manual's example value, which anyone can read. Fix: {TOKEN_FIX}."],
    ),
    "short token": (
        replace("convect_token={token}", "convect_token=short-secret-1"),
        [f"{ALL_HOSTS}: convect_token is shorter than 32 characters. Fix: {TOKEN_FIX}."],
    ),
    # K3s parses a token starting with K10 as K10<CA hash>::<user>:<password>.
    "token K3s would read as a full one": (
        replace("convect_token={token}", "convect_token=K10" + "f" * 40),
        [
            f"{ALL_HOSTS}: convect_token starts with K10, which K3s reads as a full token (K10<CA hash>::server:"
            f"<secret>) and refuses as 'invalid token format'. Fix: {TOKEN_FIX}."
        ],
    ),
    "tokens differ between hosts": (
        replace("has_gpu=true", "has_gpu=true convect_token=another-secret-token-abcdefghijklmnopqrstu"),
        [
            f"{ALL_HOSTS}: convect_token differs between hosts (master, worker1 vs worker2). "
            "Fix: set it once for every host ([all:vars] in an INI inventory).",
        ],
    ),
    "relative convect_workdir": (
        add_vars("convect_workdir=tmp/convecthub\n"),
        [
            f"{ALL_HOSTS}: convect_workdir is the string 'tmp/convecthub', not an absolute path. "
            "Fix: use an absolute directory on the nodes, e.g. /var/lib/convecthub.",
        ],
    ),
    "missing SSH key": (
        replace(
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key}",
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file=/nonexistent/id_rsa",
        ),
        [
            "worker1: ansible_ssh_private_key_file points at /nonexistent/id_rsa, which does not exist. Fix: create the "
            "key (ssh-keygen) or correct ssh_key (ansible_ssh_private_key_file in an INI inventory).",
        ],
    ),
    "two spellings of the address": (
        replace("ansible_host=10.0.0.1", "ansible_host=10.0.0.1 ansible_ssh_host=10.0.0.7"),
        [
            "master: ssh_hostname is given twice with different values, as ansible_host and "
            "ansible_ssh_host. Fix: keep only one of ansible_host and ansible_ssh_host.",
        ],
    ),
    "vars for an undeclared group": (
        add_vars("\n[gpu:vars]\nhas_gpu=true\n"),
        [
            "inv.toml line 19: [gpu:vars] sets variables for group gpu, which no [gpu] or "
            "[gpu:children] section declares. Fix: declare [gpu] with its hosts, or correct the group name.",
        ],
    ),
    "children that is a host": (
        add_vars("\n[gpu:children]\nworker2\n"),
        [
            "inv.toml line 20: [gpu:children] lists worker2, which is a host, not a group. "
            "Fix: list hosts under [gpu] and groups under [gpu:children].",
        ],
    ),
    "groups containing each other": (
        add_vars("\n[a:children]\nb\n\n[b:children]\na\n"),
        [
            "inv.toml line 23: [b:children] makes group b contain itself (b -> a -> b). "
            "Fix: remove a from [b:children].",
        ],
    ),
    "unknown section kind": (
        replace("[driver]", "[driver:var]"),
        [
            "inv.toml line 5: [driver:var] has an unknown section kind ':var'. Fix: write "
            "[driver:vars] for variables or [driver:children] for child groups.",
            "inventory: driver group has no host. Fix: put the K3s server host(s) in the driver "
            "group: [driver] in an INI inventory, driver = [...] in a pyinfra inventory.",
        ],
    ),
    "vars line without =": (
        add_vars("http_port 8080\n"),
        ["inv.toml line 18: [all:vars] has a line that is not key=value. Fix: write one key=value per line."],
    ),
    "password with a space": (
        replace(
            "ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1 has_gpu",
            "ansible_user=ubuntu ansible_ssh_pass=pass word ansible_ssh_private_key_file={key} my_iface=eth1 has_gpu",
        ),
        [
            "inv.toml line 3: worker2 has word 5 that is not a key=value pair. Fix: write each host "
            "variable as key=value, with no spaces around '='.",
        ],
    ),
    "quote never closed": (
        replace(
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface=eth1",
            "10.0.0.2 ansible_user=ubuntu ansible_ssh_private_key_file={key} my_iface='eth1",
        ),
        [
            "inv.toml line 2: host line has a quote that is never closed. Fix: close the quote, "
            "e.g. ansible_ssh_private_key_file='~/.ssh/id_rsa'.",
            "worker1: my_iface is not set. Fix: set my_iface to the host's interface on the private "
            "network (see `ip -br addr` on the host), e.g. my_iface=eth1.",
        ],
    ),
    "host range": (
        add_vars("\n[extra]\nnode[01:03]\n"),
        [
            "inv.toml line 20: node[01:03] is an Ansible host range, which this loader does not "
            "expand. Fix: list each host on its own line.",
        ],
    ),
}


@pytest.mark.parametrize("template, expected", INI_CASES.values(), ids=INI_CASES.keys())
def test_malformed_ini_inventory(files, monkeypatch, template, expected):
    (files / "thu-vars" / "list.yaml").write_text("- hub\n- proxy\n")
    (files / "thu-vars" / "broken.yaml").write_text("hub:\n  config: {}\n\tbad: tab\n")

    problems = check_ini(files, monkeypatch, template)

    assert problems == [text.replace("{tmp}", str(files)) for text in expected]


PYINFRA_HEADER = """
_login = {"ssh_key": %r, "my_iface": "eth1", "jhub_config_path": %r, "convect_token": %r}
"""

PYINFRA_CASES = {
    "has_gpu as the string yes": (
        """
        driver = [("master", {**_login, "ssh_hostname": "10.0.0.1"})]
        registry = driver
        worker = [("worker1", {**_login, "ssh_hostname": "10.0.0.2", "has_gpu": "yes"})]
        """,
        [f"worker1: has_gpu is the string 'yes', not a boolean. Fix: {BOOLEAN_FIX.format('has_gpu')}."],
    ),
    "ssh_port as a string": (
        """
        driver = [("master", {**_login, "ssh_hostname": "10.0.0.1", "ssh_port": "2222"})]
        registry = driver
        worker = [("worker1", {**_login, "ssh_hostname": "10.0.0.2"})]
        """,
        [f"master: ssh_port is the string '2222', not a whole number. Fix: {PORT_FIX.format('ssh_port')}."],
    ),
    "one name given two addresses": (
        """
        driver = [("master", {**_login, "ssh_hostname": "10.0.0.1"})]
        registry = [("master", {"ssh_hostname": "10.0.0.5"})]
        worker = [("worker1", {**_login, "ssh_hostname": "10.0.0.2"})]
        """,
        [
            "master: ssh_hostname is given different values in two places for the same host "
            f"name. Fix: {SAME_NAME_FIX}.",
        ],
    ),
    "sudo password that is not a string": (
        """
        driver = [("master", {**_login, "ssh_hostname": "10.0.0.1", "_sudo_password": 1234})]
        registry = driver
        worker = [("worker1", {**_login, "ssh_hostname": "10.0.0.2"})]
        """,
        ["master: _sudo_password is not a string. Fix: quote the value of _sudo_password."],
    ),
}


@pytest.mark.parametrize("body, expected", PYINFRA_CASES.values(), ids=PYINFRA_CASES.keys())
def test_malformed_pyinfra_inventory(files, body, expected):
    jhub = str(files / "thu-vars" / "jupyterhub.yaml")
    header = PYINFRA_HEADER % (str(files / "id_test"), jhub, TOKEN)

    assert check_pyinfra_inventory(files, header + textwrap.dedent(body)) == expected


def test_group_data_defaults_count_before_connecting(files):
    # my_iface set nowhere in the inventory: group_data/all.py's None must be seen.
    body = """
    driver = [("master", {{"ssh_hostname": "10.0.0.1", "jhub_config_path": {!r}}})]
    registry = driver
    """.format(str(files / "thu-vars" / "jupyterhub.yaml"))

    assert check_pyinfra_inventory(files, textwrap.dedent(body)) == [
        "master: my_iface is not set. Fix: set my_iface to the host's interface on the private "
        "network (see `ip -br addr` on the host), e.g. my_iface=eth1.",
    ]


def test_all_problems_are_reported_together(files, monkeypatch):
    template = replace("has_gpu=true", "has_gpus=yes").replace("[registry]\nmaster\n", "")
    template += "http_port=443\n"

    problems = check_ini(files, monkeypatch, template)

    assert problems == [
        f"{ALL_HOSTS}: https_port is the same port as http_port (443). Fix: give HTTP and HTTPS "
        "different ports, e.g. http_port=80 and https_port=443.",
        "worker2: has_gpus is not a variable ConvectHub or pyinfra reads, and looks like a "
        "misspelling of has_gpu. Fix: rename it to has_gpu.",
    ]


def test_problem_table_names_where_what_and_fix():
    problems = [
        Problem("worker2", "has_gpu", "is the string 'yes', not a boolean", "write has_gpu=true"),
        Problem("inventory", "driver", "group has no host", "add a [driver] section"),
    ]

    assert format_problems(problems) == textwrap.dedent(
        """\
        the inventory has 2 problems, nothing was run on any host:

            worker2
                has_gpu: is the string 'yes', not a boolean
                fix: write has_gpu=true

            inventory
                driver: group has no host
                fix: add a [driver] section""",
    )


def test_secrets_never_appear_in_problems(files, monkeypatch):
    secrets = ["ssh-Secret-1", "sudo-Secret-2", "short-Secret-3", "typo-Secret-4"]
    template = replace(
        "my_iface=eth1 has_gpu=true",
        "my_iface=eth1 has_gpu=maybe ansible_ssh_pass={} ansible_sudo_pass={} "
        "convect_token={} convect_tokn={} extra words".format(*secrets),
    )

    problems = check_ini(files, monkeypatch, template)

    assert len(problems) == 6
    for secret in secrets:
        assert not any(secret in text for text in problems), secret


def test_deploy_time_check_sees_the_live_inventory(files):
    # Inventories that skip the first check are stopped by deploy.py's call.
    jhub = str(files / "thu-vars" / "jupyterhub.yaml")
    login = {"my_iface": "eth1", "jhub_config_path": jhub, "ssh_hostname": "10.0.0.1"}
    inventory = Inventory(
        (["master"], {}),
        override_data={"http_port": 70000},
        worker=([("master", login)], {}),
    )
    state = State(inventory, Config())

    with pytest.raises(InventoryError) as raised:
        require_valid_inventory(state)

    assert [problem.text for problem in raised.value.problems] == [
        "inventory: driver group has no host. Fix: put the K3s server host(s) in the driver group: "
        "[driver] in an INI inventory, driver = [...] in a pyinfra inventory.",
        f"master: http_port is 70000, outside 1..65535. Fix: {PORT_FIX.format('http_port')}.",
    ]


def test_deploy_time_check_passes_a_valid_inventory(files):
    jhub = str(files / "thu-vars" / "jupyterhub.yaml")
    data = {"my_iface": "eth1", "jhub_config_path": jhub, "ssh_hostname": "10.0.0.1"}
    inventory = Inventory((["master"], {}), driver=([("master", data)], {}))

    require_valid_inventory(State(inventory, Config()))  # no exception, no connection
