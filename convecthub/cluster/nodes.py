"""Facts about the cluster as a whole, computed once per pyinfra run.

pyinfra executes deploy.py once per host and keeps no fact cache: what every
host needs to know about another one (the first driver's private address,
each node's architecture) is gathered here once and memoised for the run.
Only facts that a deploy does not change belong here.
"""

import functools
from pathlib import Path

import gevent
from gevent import GreenletExit
from gevent.lock import BoundedSemaphore
from pyinfra.api import Host
from pyinfra.api.exceptions import PyinfraError
from pyinfra.context import ctx_host
from pyinfra.facts.server import Arch, Hostname

from convecthub.inventory.variables import ROLE_GROUPS
from convecthub.problems import Problem, Refused
from facts.network import InterfaceAddresses

# `uname -m` -> the architecture names K3s and image indexes use.
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


class HostFailed(PyinfraError):
    """Another host's fact is missing because pyinfra failed that host (it
    could not connect, sudo refused, its connection dropped). ``on_each``
    leaves such a host out; anywhere else it names the host, not a None (a
    PyinfraError: the CLI prints it without a traceback)."""

    def __init__(self, host: Host):
        super().__init__(f"{host.name} failed earlier in this run (pyinfra printed why above)")
        self.host = host


class ThisHostFailed(GreenletExit):
    """The calling greenlet's own host has failed. A GreenletExit on purpose:
    pyinfra's deploy-file loader stops the whole run for an Exception, while
    this ends only the failed host's greenlet, quietly (pyinfra has printed
    why and keeps the host out of the run), so the host fails alone."""


def fact_of(host: Host, fact_class, **arguments):
    """``host.get_fact``, or HostFailed/ThisHostFailed where the host has
    failed (before asking, or because asking failed it): never a None
    standing for a host that is gone."""
    if host not in host.state.failed_hosts:
        value = host.get_fact(fact_class, **arguments)
        if value is not None or host not in host.state.failed_hosts:
            return value
    if ctx_host.isset() and ctx_host.get() is host:
        raise ThisHostFailed(f"{host.name} failed earlier in this run")
    raise HostFailed(host)


def cache(function):
    """``functools.cache`` for one-argument facts that every host's greenlet
    asks at once (deploy.py runs for all hosts concurrently): the first
    caller asks, the others wait for its answer. One round trip in all, not
    one per host, and never more concurrent SSH sessions on one host than
    sshd's MaxSessions (10) allows. A failure is not remembered."""
    results: dict = {}
    locks: dict = {}

    @functools.wraps(function)
    def once(host):
        if host is ctx_host.context:
            # `from pyinfra import host`: a stand-in for whichever host the
            # calling greenlet runs for. Remember the answer for that host.
            host = ctx_host.get()
        if host not in results:
            with locks.setdefault(host, BoundedSemaphore()):
                if host not in results:
                    results[host] = function(host)
        return results[host]

    return once


def on_each(function, hosts) -> dict:
    """``{host: function(host)}`` for every host at once, one greenlet each,
    in the order of ``hosts``; a host that has failed (HostFailed) is left
    out. Asking the hosts one after the other from one greenlet costs a round
    trip per host, in a row. Any other error is raised here, in the caller's
    greenlet, and not also printed by gevent as an unhandled one."""

    def answer(host):
        try:
            return True, function(host)
        except (HostFailed, ThisHostFailed):
            return False, None
        except Exception as error:
            return False, error

    jobs = [gevent.spawn(answer, host) for host in hosts]
    gevent.joinall(jobs)
    results = {}
    for host, job in zip(hosts, jobs, strict=False):
        answered, value = job.value
        if isinstance(value, Exception):
            raise value
        if answered:
            results[host] = value
    return results


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
    addresses = fact_of(host, InterfaceAddresses).get(iface)
    if not addresses:
        raise Refused(
            [Problem(host.name, "my_iface", f"{iface} has no IPv4 address", "set my_iface to the private interface")]
        )
    return addresses[0].split("/")[0]


@cache
def node_name(host: Host) -> str:
    """The host's K3s node name: K3s names a node after its hostname."""
    return fact_of(host, Hostname)


@cache
def architecture(host: Host) -> str:
    machine = fact_of(host, Arch)
    try:
        return ARCHES[machine]
    except KeyError:
        unsupported = Problem(
            host.name, "architecture", f"{machine} is not supported", "run ConvectHub on amd64 or arm64 hosts"
        )
        raise Refused([unsupported]) from None


def registry_host(inventory) -> Host:
    """The host of the `registry` group (validation allows one), or the
    first driver when the inventory names none."""
    hosts = inventory.get_group("registry", default=[])
    return hosts[0] if hosts else first_driver(inventory)


def images_by_entry(manifest) -> dict:
    """Bundle entry name -> the image reference it holds."""
    return {entry.name: entry.image for entry in manifest.entries if entry.kind == "image" and entry.image}


def image_of(manifest, entry_name: str) -> str | None:
    """The image reference a bundle entry holds, None if the bundle has none."""
    return images_by_entry(manifest).get(entry_name)


def chart_bytes(manifest, bundle_dir: str) -> bytes:
    """The JupyterHub chart archive from the provisioner's (verified) bundle."""
    return (Path(bundle_dir) / manifest.jupyterhub_chart().path).read_bytes()
