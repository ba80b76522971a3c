"""The preflight against a lab: passes on healthy nodes (also when our own K3s
already holds its ports, as on a re-run), and refuses with one table naming
every host's problems when nodes are broken, before any operation runs."""

import dataclasses
import json
import textwrap

import pytest

from deploys.preflight import OS_FIX
from tests.lab import keys
from tests.lab.inventory import write_inventory
from tests.lab.lab import Lab, LabSpec, topology

from .conftest import run_pyinfra

pytestmark = pytest.mark.e2e

SUBNET = "10.213.40.0/24"
MARKER = "/run/convecthub-preflight-marker"

# The preflight, then one operation that would leave a marker on every node.
DEPLOY = f"""\
from pyinfra.operations import server

from deploys.preflight import preflight

preflight()
server.shell(name="An operation after the preflight", commands=["touch {MARKER}"])
"""

# A program named k3s (as /usr/local/bin/k3s would be) holding the ports of a
# K3s server from an earlier deploy.
OUR_K3S = """\
#!/usr/bin/python3
import socket, time
listeners = []
for port in (6443, 10250):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(); listeners.append(s)
time.sleep(3600)
"""


@pytest.fixture(scope="module")
def lab(docker_client, tmp_path_factory):
    """master (driver, registry), worker1 (sudo asks a password), worker2
    (stand-in NVIDIA GPU, has_gpu); ports shifted by 400."""
    work = tmp_path_factory.mktemp("preflight")
    spec = LabSpec(
        name="convecthub-e2e-preflight",
        nodes=topology(sudo_password_nodes=("worker1",), port_offset=400),
        subnet=SUBNET,
    )
    lab = Lab(spec, client=docker_client, state_root=work / "state")
    lab.up()
    lab.work = work
    (work / "deploy.py").write_text(DEPLOY)
    yield lab
    lab.down()


def inventory(lab, name, data=None, wrong_sudo_password=()):
    """Write a lab inventory with per-node variables changed; nodes named in
    wrong_sudo_password get a sudo password that is not theirs."""
    nodes = []
    for node in lab.nodes:
        spec = dataclasses.replace(node.spec, data={**node.spec.data, **(data or {}).get(node.spec.name, {})})
        password_file = node.sudo_password_file
        if node.spec.name in wrong_sudo_password:
            password_file = lab.work / f"wrong-password-{node.spec.name}"
            keys.write_secret(password_file, "not-the-password")
        nodes.append(dataclasses.replace(node, spec=spec, sudo_password_file=password_file))
    path = lab.work / f"{name}.py"
    key = keys.ensure_ssh_key(lab.state_dir / "id_ed25519")
    # This deploy reads no bundle: any directory will do.
    write_inventory(path, lab.spec, nodes, key, lab.state_dir / "known_hosts", lab.work, lab.state_dir)
    return path


def container(lab, node):
    return lab.client.containers.get(f"{lab.spec.name}-{node}")


def sh(lab, node, script):
    code, output = container(lab, node).exec_run(["sh", "-c", script])
    assert code == 0, output.decode()
    return output.decode()


def start_background(lab, node, script):
    """Start a long-running program on a node; returns its pid once it listens."""
    container(lab, node).exec_run(["sh", "-c", f"echo $$ > /run/preflight-test.pid; exec {script}"], detach=True)
    return int(
        sh(
            lab,
            node,
            "for i in $(seq 50); do [ -s /run/preflight-test.pid ] && "
            "ss -Htln | grep -q ':6443 ' && break; sleep 0.1; done; cat /run/preflight-test.pid",
        )
    )


def stop_background(lab, node):
    sh(lab, node, "kill $(cat /run/preflight-test.pid); rm -f /run/preflight-test.pid")


def markers(lab):
    return {
        node.spec.name: container(lab, node.spec.name).exec_run(["test", "-e", MARKER])[0] == 0 for node in lab.nodes
    }


def test_healthy_nodes_pass_also_with_our_own_k3s_holding_its_ports(lab):
    # Not under /run: Docker mounts that tmpfs noexec.
    sh(
        lab,
        "master",
        f"rm -f {MARKER}; mkdir -p /opt/preflight-test; cat > /opt/preflight-test/k3s <<'EOF'\n"
        f"{OUR_K3S}EOF\nchmod +x /opt/preflight-test/k3s",
    )
    start_background(lab, "master", "/opt/preflight-test/k3s")
    try:
        assert "k3s" in sh(lab, "master", "ss -Htlnp 'sport = :6443'")
        result = run_pyinfra(inventory(lab, "healthy"), "--json", "-y", str(lab.work / "deploy.py"))
    finally:
        stop_background(lab, "master")
    totals = json.loads(result.stdout)["results"]["totals"]
    assert (totals["error"], totals["success"]) == (0, 3), totals
    assert markers(lab) == {"master": True, "worker1": True, "worker2": True}
    assert "preflight refused" not in result.stderr


def test_broken_nodes_are_refused_with_one_table_and_nothing_runs(lab):
    for node in lab.nodes:
        sh(lab, node.spec.name, f"rm -f {MARKER}")
    pid = start_background(lab, "master", "python3 -m http.server 6443")
    try:
        broken = inventory(
            lab,
            "broken",
            data={"master": {"has_gpu": True}, "worker2": {"my_iface": "eth9"}},
            wrong_sudo_password=("worker1",),
        )
        result = run_pyinfra(broken, "--json", "-y", str(lab.work / "deploy.py"), check=False)
    finally:
        stop_background(lab, "master")

    worker2 = container(lab, "worker2").attrs["NetworkSettings"]["Networks"]
    eth0 = f"{worker2['bridge']['IPAddress']}/{worker2['bridge']['IPPrefixLen']}"
    eth1 = f"{worker2[lab.spec.name + '-net']['IPAddress']}/{worker2[lab.spec.name + '-net']['IPPrefixLen']}"
    table = textwrap.dedent(f"""\
        preflight refused the deploy: 4 problems on 3 hosts, nothing was changed on any host:

            master
                port 6443: in use by python3 (pid {pid}), but the K3s API server needs it
                fix: stop that program or move it to another port (`sudo ss -tlnp 'sport = :6443'` shows it)

                has_gpu: is true but no NVIDIA GPU was found (no PCI device of vendor 0x10de with a display class in /sys/bus/pci/devices)
                fix: set has_gpu = false for this host, or make its GPU visible (`lspci -nn -d 10de:` lists it)

            worker1
                sudo: could not run a command as root through sudo (its message is in pyinfra's output above)
                fix: give the SSH user sudo without a password (NOPASSWD), or set _sudo_password (ansible_become_pass) for this host to its sudo password

            worker2
                my_iface: eth9 does not exist on this host; its interfaces are eth0 ({eth0}), eth1 ({eth1}), lo (127.0.0.1/8)
                fix: set my_iface to the interface on the private network""")  # noqa: E501

    assert result.returncode == 1, result.stderr[-3000:]
    assert table in result.stderr, result.stderr[-3000:]
    assert result.stderr.count("preflight refused the deploy") == 1
    # No operation ran: no results at all, and no marker on any node.
    assert '"totals"' not in result.stdout
    assert markers(lab) == {"master": False, "worker1": False, "worker2": False}
    assert OS_FIX not in result.stderr  # the nodes' Debian 12 passed
