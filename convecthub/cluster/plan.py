"""
The cluster plan: how this run lays the cluster out, computed once.

pyinfra runs deploy.py once per host, all at once. What one host's deploy
needs to know about the others (the first driver and its address, the HA
set, the registry's address, which hosts have GPUs) is decided here, once per
run, from the inventory and one round of cross-host facts, and frozen. Each
host then asks ``plan.node(host)`` for its own part: its roles, address,
K3s node name, architecture, registration labels and the deploys it runs.

    plan = plan_of(state)
    me = plan.node(host)
    if me.runs_k3s_server: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from gevent.event import AsyncResult
from pyinfra.api import Host

from convecthub import footprint
from convecthub.cluster import nodes
from facts.k3s import K3sClusterCaHash

# The label NVIDIA's device plugin selects nodes by (its chart's nodeSelector).
GPU_NODE_LABEL = "nvidia.com/gpu.present"


@dataclass(frozen=True)
class NodePlan:
    """One host's part of the plan."""

    host: Host
    roles: frozenset
    is_first_driver: bool
    address: str  # IPv4 on my_iface
    iface: str
    arch: str  # amd64 / arm64, as K3s and image indexes name it
    has_gpu: bool

    @property
    def runs_k3s_server(self) -> bool:
        return "driver" in self.roles

    @property
    def runs_k3s_agent(self) -> bool:
        return not self.runs_k3s_server

    @property
    def runs_registry(self) -> bool:
        return "registry" in self.roles

    @property
    def runs_jupyterhub(self) -> bool:
        """JupyterHub's manifests, the GPU labels and the verification."""
        return self.is_first_driver

    @property
    def labels(self) -> tuple:
        """K3s `node-label` values, applied when the node registers."""
        return (f"{GPU_NODE_LABEL}=true",) if self.has_gpu else ()

    @property
    def deploys(self) -> tuple:
        """The role deploys this host runs, in the order deploy.py runs them."""
        steps = ["bundle", "base", "docker", "nvidia"]
        steps += ["registry"] if self.runs_registry else []
        steps += ["k3s_node", "k3s_server" if self.runs_k3s_server else "k3s_agent"]
        steps += ["jupyterhub", "verify"] if self.runs_jupyterhub else []
        return tuple(steps)


@dataclass(frozen=True)
class ClusterPlan:
    first_driver: Host
    drivers: tuple
    agents: tuple
    registry_host: Host
    registry_address: str  # ip:port on the private network
    registry_ip: str  # the registry host's address on the private network
    first_address: str
    driver_addresses: tuple  # every server's, for the API certificate (tls-san)
    gpu_hosts: tuple
    # The cluster CA's sha256 from the first server's token file; None until
    # that server has started once (the first deploy reads it then).
    ca_hash: str | None = None

    @property
    def ha(self) -> bool:
        """Several servers: embedded etcd, the first started with cluster-init."""
        return len(self.drivers) > 1

    @property
    def api_url(self) -> str:
        """Where agents and joining servers find the first server."""
        return footprint.k3s_api_url(self.first_address)

    @property
    def any_gpu(self) -> bool:
        return bool(self.gpu_hosts)

    def join_token(self, secret: str) -> str | None:
        """The full token joining servers and agents use (None before the
        first server has started): K3s then pins the cluster CA by hash."""
        return full_token(self.ca_hash, secret) if self.ca_hash else None

    def node(self, host: Host) -> NodePlan:
        return NodePlan(
            host=host,
            roles=frozenset(nodes.roles_of(host)),
            is_first_driver=host == self.first_driver,
            address=nodes.private_address(host),
            iface=host.data.my_iface,
            arch=nodes.architecture(host),
            has_gpu=bool(host.data.get("has_gpu")),
        )

    def node_names(self, hosts) -> dict:
        """``{host: K3s node name}`` of the hosts still in the run, asked side
        by side: K3s names a node after its hostname, lowercased."""
        return {host: name.lower() for host, name in nodes.on_each(nodes.node_name, list(hosts)).items()}


def make_plan(inventory) -> ClusterPlan:
    drivers = tuple(inventory.get_group("driver"))
    first = drivers[0]
    registry = nodes.registry_host(inventory)
    # The addresses every host's deploy reads, asked side by side.
    addresses = nodes.on_each(nodes.private_address, list(dict.fromkeys((first, registry, *drivers))))
    missing = [host for host in (first, registry, *drivers) if host not in addresses]
    if missing:
        raise nodes.HostFailed(missing[0])
    return ClusterPlan(
        first_driver=first,
        drivers=drivers,
        agents=tuple(host for host in inventory if "driver" not in nodes.roles_of(host)),
        registry_host=registry,
        registry_address=f"{addresses[registry]}:{registry.data.registry_port}",
        registry_ip=addresses[registry],
        first_address=addresses[first],
        driver_addresses=tuple(addresses[driver] for driver in drivers),
        gpu_hosts=tuple(host for host in inventory if host.data.get("has_gpu")),
        ca_hash=nodes.fact_of(first, K3sClusterCaHash),
    )


def full_token(ca_hash: str, secret: str) -> str:
    """K3s's full token format (docs/contracts.md 1.4): K10<CA sha256>::server:<secret>."""
    return f"K10{ca_hash}::server:{secret}"


# One plan per pyinfra run, whichever host asks first; the others wait on it.
_plans: WeakKeyDictionary = WeakKeyDictionary()


def plan_of(state) -> ClusterPlan:
    pending = _plans.get(state)
    if pending is None:
        pending = _plans[state] = AsyncResult()
        try:
            pending.set(make_plan(state.inventory))
        except BaseException as error:
            pending.set_exception(error)
            raise
    return pending.get()
