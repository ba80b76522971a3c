"""Writes the pyinfra inventory for the nodes a lab started."""

from pathlib import Path

LAB_JUPYTERHUB_VALUES = Path(__file__).with_name("jupyterhub.yaml")

HEADER = '''\
"""Inventory of the lab {lab!r}, written by `python -m tests.lab up`.

Rewritten by every `lab up`: do not edit. The nodes are Docker containers on
this machine (tests/lab/); their private network {subnet} is on {iface}.
"""
from pathlib import Path

from convecthub.cluster.check import check_before_connect as _check_before_connect

_connection = {connection}

'''

FOOTER = """
# Stop here, before pyinfra connects to anything, if the inventory is wrong.
_check_before_connect(globals())
"""


def render_inventory(spec, nodes, key, known_hosts: Path, bundle_dir: Path, state_dir: Path) -> str:
    connection = {
        "ssh_hostname": "127.0.0.1",
        "ssh_user": spec.user,
        "ssh_key": str(key.private_path),
        # Only the lab's key, checked against the host keys the nodes made.
        "ssh_allow_agent": False,
        "ssh_look_for_keys": False,
        "ssh_known_hosts_file": str(known_hosts),
        "ssh_strict_host_key_checking": "yes",
        "my_iface": spec.iface,
        "jhub_config_path": str(LAB_JUPYTERHUB_VALUES),
        "bundle_dir": str(bundle_dir),
        # The lab's generated token lives and dies with the lab.
        "convecthub_state_dir": str(state_dir),
        **spec.data,
    }
    text = HEADER.format(lab=spec.name, subnet=spec.subnet, iface=spec.iface, connection=_pretty(connection))
    groups = {}
    for node in nodes:
        for group in node.spec.groups:
            groups.setdefault(group, []).append(node)
    described = set()
    for group, members in groups.items():
        text += f"{group} = [\n"
        for node in members:
            if node.spec.name in described:
                text += f"    {node.spec.name!r},\n"
                continue
            described.add(node.spec.name)
            text += f"    ({node.spec.name!r}, {_host_data(node)}),\n"
        text += "]\n"
    return text + FOOTER


def _host_data(node) -> str:
    parts = ["**_connection", f"'ssh_port': {node.spec.ssh_port}"]
    parts += [f"{name!r}: {value!r}" for name, value in node.spec.data.items()]
    if node.sudo_password_file:
        # Read from a 0600 file at load time: the password is in no file of the repo.
        parts.append(f"'_sudo_password': Path({str(node.sudo_password_file)!r}).read_text()")
    return "{" + ", ".join(parts) + "}"


def _pretty(mapping: dict) -> str:
    lines = [f"    {key!r}: {value!r}," for key, value in mapping.items()]
    return "{\n" + "\n".join(lines) + "\n}"


def write_inventory(path: Path, spec, nodes, key, known_hosts: Path, bundle_dir: Path, state_dir: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_inventory(spec, nodes, key, known_hosts, bundle_dir, state_dir))
