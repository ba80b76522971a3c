"""The preflight's look at the SSH port of a host pyinfra could not log in to."""

import socket
import threading

import pytest

from convecthub.cluster.ssh_probe import address_of, silent_port


class Node:
    def __init__(self, name, **data):
        self.name, self.data = name, data


@pytest.fixture
def listener():
    """A loopback port that accepts connections and sends what the test sets (or nothing)."""
    server = socket.create_server(("127.0.0.1", 0))
    sent = {"banner": None}
    held = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            held.append(connection)
            if sent["banner"]:
                connection.sendall(sent["banner"])

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname(), sent
    server.close()
    for connection in held:
        connection.close()


def test_a_port_that_accepts_but_sends_no_banner_is_named(listener):
    address, _ = listener
    message = silent_port(address, seconds=0.3)
    assert message == (
        f"127.0.0.1:{address[1]} accepts connections but sends no SSH banner within 0.3 s: "
        "the host is hung or overloaded, or that port is not sshd"
    )


def test_an_sshd_or_a_closed_port_is_left_to_pyinfras_message(listener):
    address, sent = listener
    sent["banner"] = b"SSH-2.0-OpenSSH_9.6\r\n"
    assert silent_port(address, seconds=2) is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()  # bound, not listening: refused
        assert silent_port(closed, seconds=0.3) is None


def test_the_address_is_the_inventorys_ssh_hostname_and_port():
    assert address_of(Node("worker1", ssh_hostname="10.0.0.5", ssh_port=2201)) == ("10.0.0.5", 2201)
    assert address_of(Node("10.0.0.6")) == ("10.0.0.6", 22)
    assert address_of(Node("@local")) is None
