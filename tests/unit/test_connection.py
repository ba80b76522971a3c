"""A dropped SSH connection (paramiko's EOFError) fails its host, not the run."""

import pytest
from pyinfra.connectors.ssh import SSHConnector

from convecthub.pyinfra_fixes.connection import (
    _closed_connection_is_an_oserror,
    dropped_connections_fail_only_their_host,
)


def raiser_from_module(module_name: str):
    """A function that raises EOFError from code whose module is `module_name`."""
    namespace = {"__name__": module_name}
    exec("def write_all(self, *args, **kwargs):\n    raise EOFError()\n", namespace)
    return namespace["write_all"]


class Connector:
    host = type("Host", (), {"name": "worker1"})()


def test_paramikos_eof_becomes_the_oserror_pyinfra_fails_one_host_on():
    wrapped = _closed_connection_is_an_oserror(raiser_from_module("paramiko.packet"))
    with pytest.raises(OSError, match=r"^the SSH connection to worker1 was closed \(EOF from the node\)$"):
        wrapped(Connector())


def test_any_other_eof_is_left_alone():
    # getpass raises EOFError when sudo asks for a password and there is no
    # terminal: the preflight reports that as the sudo row.
    wrapped = _closed_connection_is_an_oserror(raiser_from_module("getpass"))
    with pytest.raises(EOFError):
        wrapped(Connector())


def test_installing_twice_wraps_once():
    dropped_connections_fail_only_their_host()
    once = SSHConnector.run_shell_command
    dropped_connections_fail_only_their_host()
    assert SSHConnector.run_shell_command is once and once.convecthub_wrapped
    assert SSHConnector.put_file.convecthub_wrapped and SSHConnector.get_file.convecthub_wrapped
