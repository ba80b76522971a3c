"""A host that fails (no connection, sudo refused) while another host's
greenlet asks for its facts: it is left out, never a traceback.

pyinfra gives a failed host's facts as None and adds the host to
``state.failed_hosts``; deploy.py runs once per host, all at once, and the
seed asks every peer's architecture (bundle files) while a peer's sudo may be
failing in its own greenlet. That order once raised "architecture None is not
supported" in the seed's greenlet and ended the run with a traceback."""

from types import SimpleNamespace

import gevent
import gevent.pool
import pytest
from pyinfra.context import ctx_host
from pyinfra.facts.server import Arch, Hostname
from pyinfra_cli.util import _parallel_load_hosts

from convecthub.cluster import nodes as cluster
from facts.network import InterfaceAddresses


class FakeHost:
    """What convecthub.cluster.nodes uses of a pyinfra Host. A host with
    ``sudo_fails`` behaves as pyinfra's get_fact does when sudo refuses:
    the fact is None and the host is failed."""

    def __init__(self, name, state, sudo_fails=False):
        self.name, self.state, self.sudo_fails = name, state, sudo_fails
        self.print_prefix = f"[{name}] "
        self.data = {"my_iface": "eth1"}
        self.asked = []

    def get_fact(self, cls, **arguments):
        self.asked.append(cls)
        gevent.sleep(0.001)  # a round trip: the other greenlets run meanwhile
        if self.sudo_fails:
            self.state.failed_hosts.add(self)
            return None
        return {Arch: "x86_64", Hostname: self.name, InterfaceAddresses: {"eth1": ["10.0.0.2/24"]}}[cls]


class FakeState:
    def __init__(self):
        self.failed_hosts = set()
        self.pool = gevent.pool.Pool(10)
        self.config = SimpleNamespace(copy=lambda: SimpleNamespace())


@pytest.fixture
def hosts():
    state = FakeState()
    return state, FakeHost("master", state), FakeHost("worker1", state, sudo_fails=True), FakeHost("worker2", state)


def test_a_peer_failing_while_asked_is_left_out(hosts, capfd):
    _, _, worker1, worker2 = hosts

    answers = cluster.on_each(cluster.architecture, [worker1, worker2])

    assert answers == {worker2: "amd64"}
    assert worker1.asked == [Arch]
    assert "Traceback" not in capfd.readouterr().err


def test_a_peer_that_failed_before_is_not_asked_again(hosts):
    state, _, worker1, worker2 = hosts
    state.failed_hosts.add(worker1)

    assert cluster.on_each(cluster.node_name, [worker1, worker2]) == {worker2: "worker2"}
    assert worker1.asked == []


def test_a_failed_peer_asked_directly_is_named(hosts):
    _, master, worker1, _ = hosts

    with ctx_host.use(master), pytest.raises(cluster.HostFailed, match="worker1 failed earlier in this run"):
        cluster.private_address(worker1)


def test_the_failed_hosts_own_deploy_ends_quietly_and_the_others_go_on(hosts, capfd):
    """The order of the e2e race: worker1's deploy file fails its sudo while
    master's deploy file asks every peer's architecture; pyinfra's loader
    raises the first Exception any host's greenlet returns."""
    state, master, worker1, worker2 = hosts
    state.inventory = SimpleNamespace(get_active_hosts=lambda: [master, worker1, worker2])
    done = []

    def deploy_file():
        me = ctx_host.get()
        if me is master:
            peers = cluster.on_each(cluster.architecture, [worker1, worker2])
            done.append((me.name, sorted(peer.name for peer in peers)))
        else:
            done.append((me.name, cluster.architecture(me)))

    _parallel_load_hosts(state, deploy_file, "deploy.py")

    assert sorted(done) == [("master", ["worker2"]), ("worker2", "amd64")]
    assert state.failed_hosts == {worker1}
    assert "Traceback" not in capfd.readouterr().err


def test_any_other_error_is_raised_in_the_callers_greenlet(hosts, capfd):
    _, master, _, worker2 = hosts

    def broken(host):
        raise ValueError(f"{host.name}: architecture 'mips' is not supported")

    with pytest.raises(ValueError, match="master: architecture 'mips'"):
        cluster.on_each(broken, [master, worker2])
    assert "Traceback" not in capfd.readouterr().err
