"""
First contact with a host, as OpenSSH's ``StrictHostKeyChecking=accept-new``.

pyinfra 3.10 (``pyinfra.connectors.sshuserclient.client``) appends a new
host key to the known_hosts file with ``open(..., "a")``: without ``~/.ssh``
every host fails with "No such file or directory", and a new file gets the
umask's mode. Its messages name the address, not the host, and give no
fingerprint; a changed key is refused without either fingerprint.

Here, installed by config.py:

+ group_data/all.py makes ``accept-new`` the default of
  ``ssh_strict_host_key_checking`` (``yes`` accepts known keys only);
+ a missing known_hosts file, and its directory, are created 0600 / 0700
  just before the first key is saved;
+ each new key is saved and announced once: ``added host key for worker1
  (ED25519 SHA256:...) to ~/.ssh/known_hosts``;
+ a changed key refuses the host (before any operation: pyinfra connects
  to every host first) with both fingerprints and the ``ssh-keygen -R`` fix.

Upstream: accept-new is pyinfra-dev/pyinfra#789, appending #1209; no issue
found for a missing ~/.ssh (searched December 2026). Pinned: pyinfra 3.10.
Can go when pyinfra creates the file and names the host and fingerprints.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import gevent
from paramiko import BadHostKeyException, MissingHostKeyPolicy, PKey
from pyinfra import logger
from pyinfra.api.exceptions import ConnectError
from pyinfra.connectors.ssh import SSHConnector
from pyinfra.connectors.sshuserclient import client as ssh_client

POLICY = "accept-new"

# What this fix is written against (pyinfra 3.10): see connection.CONTRACT.
CONTRACT = {
    "pyinfra.connectors.sshuserclient.client.get_missing_host_key_policy": "(policy)",
    "pyinfra.connectors.sshuserclient.client.append_hostkey": "(client, hostname, key)",
    "pyinfra.connectors.sshuserclient.client.SSHClient.connect": "(self, hostname, _pyinfra_ssh_forward_agent=None, _pyinfra_ssh_config_file=None, _pyinfra_ssh_known_hosts_file=None, _pyinfra_ssh_strict_host_key_checking=None, _pyinfra_ssh_paramiko_connect_kwargs=None, **kwargs)",
    "pyinfra.connectors.ssh.SSHConnector._connect": "(self) -> 'None'",
}

# The host each connecting greenlet is for: paramiko's callbacks only get an
# address ("[127.0.0.1]:2200"), the operator knows the host by its name.
_connecting: dict = {}


def describe(key: PKey) -> str:
    """A key as ``ssh-keygen -l`` shows it: ``ED25519 SHA256:...``."""
    return f"{key.algorithm_name} {key.fingerprint}"


def _host_name(address: str) -> str:
    host = _connecting.get(gevent.getcurrent())
    return host.name if host is not None else address


def ensure_known_hosts_file(path: str) -> None:
    """Create the file 0600 (and its directory 0700) if missing; never
    change one that exists."""
    file = Path(path).expanduser()
    if not file.parent.exists():
        file.parent.mkdir(mode=0o700, parents=True)
    if not file.exists():
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class AcceptNewNamed(MissingHostKeyPolicy):
    """Save an unknown host's key and say so, with its fingerprint."""

    def missing_host_key(self, client, hostname, key):
        filename = client._host_keys_filename
        if filename:
            ensure_known_hosts_file(filename)
        ssh_client.append_hostkey(client, hostname, key)  # under pyinfra's lock
        logger.warning(f"added host key for {_host_name(hostname)} ({describe(key)}) to {filename}")


def _policy(original):
    @functools.wraps(original)
    def get_missing_host_key_policy(policy):
        return AcceptNewNamed() if policy == POLICY else original(policy)

    return get_missing_host_key_policy


def _refuse_changed_keys(connect):
    @functools.wraps(connect)
    def wrapper(self, hostname, *args, **kwargs):
        try:
            return connect(self, hostname, *args, **kwargs)
        except BadHostKeyException as error:
            port = self._ssh_config.get("port", 22)
            entry = error.hostname if port == 22 else f"[{error.hostname}]:{port}"
            known_hosts = self._host_keys_filename or "~/.ssh/known_hosts"
            raise ConnectError(
                f"SSH host key changed: {known_hosts} holds {describe(error.expected_key)} for {entry}, "
                f"the host now offers {describe(error.key)}. Someone may be intercepting the connection; "
                f"if the host was reinstalled, remove the old key with `ssh-keygen -f {known_hosts} -R '{entry}'` "
                "and run again"
            ) from None

    return wrapper


def _naming_the_host(connect):
    @functools.wraps(connect)
    def wrapper(self):
        me = gevent.getcurrent()
        _connecting[me] = self.host
        try:
            return connect(self)
        finally:
            _connecting.pop(me, None)

    return wrapper


def accept_new_host_keys_by_name() -> None:
    """Install the three hooks (once)."""
    patches = (
        (ssh_client, "get_missing_host_key_policy", _policy),
        (ssh_client.SSHClient, "connect", _refuse_changed_keys),
        (SSHConnector, "_connect", _naming_the_host),
    )
    for owner, name, make in patches:
        current = getattr(owner, name)
        if not getattr(current, "convecthub_wrapped", False):
            wrapped = make(current)
            wrapped.convecthub_wrapped = True
            setattr(owner, name, wrapped)
