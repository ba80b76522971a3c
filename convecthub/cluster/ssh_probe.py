"""
Why a host could not be logged in to, when pyinfra's words do not say.

A host that accepts TCP on its SSH port but never sends the SSH banner (hung,
paused, overloaded, or that port is not sshd) reads in pyinfra as "SSH error
(No existing session)". One look at the port from the provisioner tells that
case apart; the others (refused, unreachable, a wrong key or user) pyinfra
already names.
"""

from __future__ import annotations

import socket

BANNER_SECONDS = 5


def address_of(node) -> tuple[str, int] | None:
    # The inventory's address; a HostName/Port from ~/.ssh/config is not
    # read (a wrong guess only leaves pyinfra's message on its own).
    hostname = node.data.get("ssh_hostname") or node.name
    if hostname.startswith("@"):  # @local, @docker/...: no SSH port
        return None
    return hostname, int(node.data.get("ssh_port") or 22)


def silent_port(address: tuple[str, int] | None, seconds: float = BANNER_SECONDS) -> str | None:
    """A sentence if the port accepts connections but sends no SSH banner in
    `seconds`; None for anything else (pyinfra's message says it)."""
    if address is None:
        return None
    try:
        connection = socket.create_connection(address, timeout=seconds)
    except OSError:
        return None
    with connection:
        try:
            if connection.recv(64).startswith(b"SSH-"):
                return None
        except TimeoutError:
            host, port = address
            return (
                f"{host}:{port} accepts connections but sends no SSH banner within {seconds:g} s: "
                "the host is hung or overloaded, or that port is not sshd"
            )
        except OSError:
            return None
    return None
