"""
A node whose SSH connection drops fails alone.

pyinfra 3.10 fails one host when its connection breaks during a command
(OSError, SSHException: "[node] Command socket/SSH error"), but paramiko
reports a connection the peer closed, while a command or transfer starts, as
a bare EOFError (pyinfra issue #1220). pyinfra takes that for an internal
error: it prints a traceback and ends the run of every host. Here the SSH
connector's EOFError from paramiko becomes the OSError pyinfra handles: the
node that went down is named and failed, the other nodes go on.

Upstream: pyinfra-dev/pyinfra#1220. Pinned: pyinfra 3.10 (config.py).
Can go when pyinfra fails only the host on paramiko's EOFError itself.
"""

from __future__ import annotations

import functools

from pyinfra.connectors.ssh import SSHConnector

# What this fix is written against (pyinfra 3.10): each patched symbol and
# its signature. tests/unit/test_pyinfra_fixes.py compares them with the
# pyinfra installed, so an upgrade that changes one fails in the unit tier.
CONTRACT = {
    "pyinfra.connectors.ssh.SSHConnector.run_shell_command": "(self, command: 'StringCommand', print_output: 'bool' = False, print_input: 'bool' = False, **arguments: 'Unpack[ConnectorArguments]') -> 'tuple[bool, CommandOutput]'",
    "pyinfra.connectors.ssh.SSHConnector.put_file": "(self, filename_or_io, remote_filename, remote_temp_filename=None, print_output: 'bool' = False, print_input: 'bool' = False, **arguments: 'Unpack[ConnectorArguments]') -> 'bool'",
    "pyinfra.connectors.ssh.SSHConnector.get_file": "(self, remote_filename: 'str', filename_or_io, remote_temp_filename=None, print_output: 'bool' = False, print_input: 'bool' = False, **arguments: 'Unpack[ConnectorArguments]') -> 'bool'",
}


def raised_by_paramiko(error: BaseException) -> bool:
    """An EOFError from paramiko's transport, not, say, getpass's (no terminal)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("paramiko.")


def _closed_connection_is_an_oserror(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except EOFError as error:
            if not raised_by_paramiko(error):
                raise
            raise OSError(f"the SSH connection to {self.host.name} was closed (EOF from the node)") from error

    wrapper.convecthub_wrapped = True
    return wrapper


def dropped_connections_fail_only_their_host() -> None:
    for name in ("run_shell_command", "put_file", "get_file"):
        method = getattr(SSHConnector, name)
        if not getattr(method, "convecthub_wrapped", False):
            setattr(SSHConnector, name, _closed_connection_is_an_oserror(method))
