"""The lab itself: real SSH, real sudo, real systemd and apt, torn down cleanly."""

import ipaddress
import json

import pytest

from tests.lab.lab import LABEL, Lab, LabSpec, topology

from .conftest import deploy_totals, exec_on, run_pyinfra

pytestmark = pytest.mark.e2e

SUBNET = "10.213.8.0/24"
TRIVIAL = "tests/e2e/deploys/trivial.py"


@pytest.fixture(scope="module")
def lab(docker_client, tmp_path_factory):
    """The manual's topology, ports shifted by 100 so it can sit beside a
    developer's `make lab`; worker1's sudo asks for a password."""
    state = tmp_path_factory.mktemp("lab-state")
    spec = LabSpec(
        name="convecthub-e2e-lab",
        nodes=topology(sudo_password_nodes=("worker1",), port_offset=100),
        subnet=SUBNET,
    )
    lab = Lab(spec, client=docker_client, state_root=state)
    inventory = state / "inventory.py"
    lab.up(inventory_path=inventory)
    lab.inventory = inventory
    yield lab
    lab.down()


def test_every_node_answers_over_ssh_with_an_address_on_the_private_subnet(lab):
    result = run_pyinfra(lab.inventory, "--json", "fact", "facts.network.InterfaceAddresses")
    (by_host,) = json.loads(result.stdout).values()
    assert sorted(by_host) == ["master", "worker1", "worker2"]
    for node, fact in by_host.items():
        (address,) = fact["eth1"]
        assert ipaddress.ip_interface(address).network == ipaddress.ip_network(SUBNET), (node, fact)
        assert fact["eth0"], f"{node} has no address on Docker's default network"


def test_trivial_deploy_applies_then_reports_zero_changes(lab):
    first = deploy_totals(lab.inventory, TRIVIAL)
    assert first["error"] == 0
    for node in ("master", "worker1", "worker2"):
        assert exec_on(lab, node, ["cat", "/etc/convecthub-lab/trivial.conf"]) == (0, "deployed-by=pyinfra\n")
        assert exec_on(lab, node, ["systemctl", "is-active", "convecthub-lab-hello"]) == (0, "active\n")
        assert exec_on(lab, node, ["systemctl", "is-enabled", "convecthub-lab-hello"]) == (0, "enabled\n")
        code, _ = exec_on(lab, node, ["dpkg-query", "-W", "tree"])
        assert code == 0, f"package tree missing on {node}"

    second = deploy_totals(lab.inventory, TRIVIAL)
    assert second["error"] == 0
    assert second["success"] == 0, f"second run changed something: {second}"
    assert second["no_change"] == first["success"] + first["no_change"]


def test_packages_come_through_the_labs_apt_proxy(lab):
    deploy_totals(lab.inventory, TRIVIAL)
    proxy = lab.client.containers.get(f"{lab.spec.name}-aptproxy")
    code, log = proxy.exec_run(["cat", "/var/log/apt-cacher-ng/apt-cacher.log"])
    assert code == 0
    assert "/tree_" in log.decode(), "the package was not fetched through apt-cacher-ng"


def test_sudo_with_a_password_is_really_asked_for_and_given(lab):
    # Without a password, sudo refuses on worker1 (and only there) ...
    assert exec_on(lab, "worker1", ["sudo", "-n", "true"], user="vagrant")[0] != 0
    assert exec_on(lab, "worker2", ["sudo", "-n", "true"], user="vagrant")[0] == 0
    # ... and pyinfra, given it through the inventory, still became root there.
    result = run_pyinfra(lab.inventory, "--json", "--limit", "worker1", "fact", "server.Command", "command=id -u")
    (by_host,) = json.loads(result.stdout).values()
    assert by_host == {"worker1": "0"}


def test_down_removes_everything_of_the_lab_and_nothing_else(docker_client, tmp_path):
    bystander = docker_client.networks.create("convecthub-e2e-bystander", labels={"purpose": "bystander"})
    try:
        spec = LabSpec(
            name="convecthub-e2e-down", nodes=topology(drivers=1, workers=0, port_offset=200), subnet="10.213.9.0/24"
        )
        lab = Lab(spec, client=docker_client, state_root=tmp_path)
        lab.up()
        assert sorted(lab.leftovers()["containers"]) == ["convecthub-e2e-down-aptproxy", "convecthub-e2e-down-master"]
        lab.down()
        assert lab.leftovers() == {"containers": [], "networks": [], "volumes": []}
        label = {"label": f"{LABEL}=convecthub-e2e-down"}
        assert docker_client.containers.list(all=True, filters=label) == []
        assert docker_client.networks.list(filters=label) == []
        assert docker_client.volumes.list(filters=label) == []
        docker_client.networks.get(bystander.id)  # still there: raises if removed
    finally:
        bystander.remove()
