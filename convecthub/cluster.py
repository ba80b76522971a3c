"""Facts about the cluster as a whole, computed once per pyinfra run.

pyinfra executes deploy.py once per host and keeps no fact cache: what every
host needs to know about another one (the first driver's private address,
each node's architecture) is gathered here once and memoised for the run.
Only facts that a deploy does not change belong here.
"""

from functools import cache

from pyinfra.api import Host
from pyinfra.facts.server import Arch

from facts.network import InterfaceAddresses

from .variables import ROLE_GROUPS

# `uname -m` -> the architecture names K3s and image indexes use.
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def roles_of(host: Host) -> set:
    return set(host.groups) & set(ROLE_GROUPS)


def first_driver(inventory) -> Host:
    """The first host of the `driver` group: K3s's first server, the node
    the provisioner uploads the bundle to, the address agents join."""
    return inventory.get_group("driver")[0]


@cache
def private_address(host: Host) -> str:
    """The host's IPv4 address on `my_iface`, without the prefix length."""
    iface = host.data.get("my_iface")
    addresses = host.get_fact(InterfaceAddresses).get(iface)
    if not addresses:
        raise ValueError(f"{host.name}: my_iface={iface!r} has no IPv4 address")
    return addresses[0].split("/")[0]


@cache
def architecture(host: Host) -> str:
    machine = host.get_fact(Arch)
    try:
        return ARCHES[machine]
    except KeyError:
        raise ValueError(f"{host.name}: architecture {machine!r} is not supported (amd64 and arm64 are)") from None
