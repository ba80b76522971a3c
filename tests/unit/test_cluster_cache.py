"""convecthub.cluster.nodes's memo of per-host facts, under pyinfra's concurrency:
deploy.py runs for every host at once, each in its own greenlet."""

import gevent
import pyinfra
from pyinfra.context import ctx_host

from convecthub.cluster.nodes import cache


class FakeHost:
    def __init__(self, name):
        self.name = name


def asked_slowly(calls):
    @cache
    def address(host):
        calls.append(host.name)
        gevent.sleep(0.01)  # a round trip: other greenlets run meanwhile
        return f"address of {host.name}"

    return address


def test_concurrent_callers_share_one_round_trip():
    calls = []
    address = asked_slowly(calls)
    master = FakeHost("master")

    jobs = [gevent.spawn(address, master) for _ in range(11)]
    gevent.joinall(jobs, raise_error=True)

    assert [job.value for job in jobs] == ["address of master"] * 11
    assert calls == ["master"]


def test_the_context_host_proxy_answers_for_each_greenlets_own_host():
    calls = []
    address = asked_slowly(calls)
    hosts = [FakeHost(f"worker{index}") for index in range(1, 11)]

    def run_for(host):
        with ctx_host.use(host):
            return address(pyinfra.host)  # deploy.py's `host`, as a deploy file passes it

    jobs = [gevent.spawn(run_for, host) for host in hosts]
    gevent.joinall(jobs, raise_error=True)

    assert [job.value for job in jobs] == [f"address of {host.name}" for host in hosts]
    assert sorted(calls) == sorted(host.name for host in hosts)
    assert address(hosts[0]) == "address of worker1" and len(calls) == 10


def test_a_failure_is_not_remembered():
    attempts = []

    @cache
    def flaky(host):
        attempts.append(host.name)
        if len(attempts) == 1:
            raise ValueError("no answer")
        return "answer"

    master = FakeHost("master")
    try:
        flaky(master)
    except ValueError:
        pass
    assert flaky(master) == "answer" and attempts == ["master", "master"]
