"""The per-run cluster plan (convecthub/cluster/plan.py): the layout every
host's deploy reads, decided once."""

from types import SimpleNamespace

import pytest
from pyinfra.facts.server import Arch, Hostname

from convecthub.cluster import plan as cluster_plan
from facts.k3s import K3sClusterCaHash
from facts.network import InterfaceAddresses


class Data(dict):
    __getattr__ = dict.__getitem__


class FakeHost:
    def __init__(self, name, groups, address, hostname=None, **data):
        self.name, self.groups = name, groups
        self.data = Data(my_iface="eth1", registry_port=5000, **data)
        self.state = SimpleNamespace(failed_hosts=set())
        self.facts = {
            Arch: "x86_64",
            Hostname: hostname or name,
            InterfaceAddresses: {"eth1": [f"{address}/24"]},
            K3sClusterCaHash: None,  # no cluster yet
        }
        self.asked = 0

    def get_fact(self, cls, **arguments):
        self.asked += 1
        return self.facts[cls]


class FakeInventory(list):
    def get_group(self, name, default=None):
        return [host for host in self if name in host.groups]


def ha_inventory():
    return FakeInventory(
        [
            FakeHost("d1", ("driver", "registry"), "10.0.0.1"),
            FakeHost("d2", ("driver",), "10.0.0.2"),
            FakeHost("d3", ("driver",), "10.0.0.3"),
            FakeHost("gpu1", ("worker",), "10.0.0.9", hostname="GPU-Node-1", has_gpu=True),
        ]
    )


def test_an_ha_plan_joins_every_server_and_agent_to_the_first():
    inventory = ha_inventory()
    plan = cluster_plan.make_plan(inventory)

    assert plan.ha and plan.first_driver is inventory[0]
    # K3s's `server` key: https://<first server>:6443 (the K3s docs' join URL).
    assert plan.api_url == "https://10.0.0.1:6443"
    assert plan.driver_addresses == ("10.0.0.1", "10.0.0.2", "10.0.0.3")
    assert plan.registry_address == "10.0.0.1:5000"
    assert plan.agents == (inventory[3],) and plan.gpu_hosts == (inventory[3],)


def test_each_host_runs_the_deploys_of_its_roles():
    inventory = ha_inventory()
    plan = cluster_plan.make_plan(inventory)
    first, second, gpu = plan.node(inventory[0]), plan.node(inventory[1]), plan.node(inventory[3])

    assert first.deploys == (
        "bundle",
        "base",
        "docker",
        "nvidia",
        "registry",
        "k3s_node",
        "k3s_server",
        "jupyterhub",
        "verify",
    )
    assert second.deploys == ("bundle", "base", "docker", "nvidia", "k3s_node", "k3s_server")
    assert gpu.deploys == ("bundle", "base", "docker", "nvidia", "k3s_node", "k3s_agent")
    # The label NVIDIA's device plugin chart selects nodes by.
    assert gpu.labels == ("nvidia.com/gpu.present=true",) and first.labels == ()
    assert gpu.arch == "amd64" and gpu.address == "10.0.0.9"


def test_joining_nodes_get_the_full_token_once_the_first_server_wrote_it():
    inventory = ha_inventory()
    assert cluster_plan.make_plan(inventory).join_token("secret") is None  # before its first start
    ca_hash = "ab" * 32
    inventory[0].facts[K3sClusterCaHash] = ca_hash
    # K3s's full token (docs/contracts.md 1.4): K10<CA sha256>::server:<secret>.
    assert cluster_plan.make_plan(inventory).join_token("secret") == f"K10{ca_hash}::server:secret"


def test_a_single_server_is_not_ha():
    inventory = FakeInventory(
        [FakeHost("m", ("driver", "registry"), "10.0.1.1"), FakeHost("w", ("worker",), "10.0.1.2")]
    )
    plan = cluster_plan.make_plan(inventory)

    assert not plan.ha and not plan.any_gpu


def test_node_names_are_hostnames_lowercased_as_k3s_names_nodes():
    inventory = ha_inventory()
    plan = cluster_plan.make_plan(inventory)

    assert plan.node_names(inventory)[inventory[3]] == "gpu-node-1"


def test_a_driver_that_failed_names_itself():
    inventory = ha_inventory()
    inventory[1].state.failed_hosts.add(inventory[1])

    with pytest.raises(cluster_plan.nodes.HostFailed, match="d2 failed earlier in this run"):
        cluster_plan.make_plan(inventory)


def test_one_plan_per_run_whoever_asks():
    class State:  # weakly referable, as pyinfra's State
        inventory = ha_inventory()

    state = State()

    assert cluster_plan.plan_of(state) is cluster_plan.plan_of(state)
