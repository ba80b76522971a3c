"""
The sudo password, kept off remote command lines.

pyinfra gives sudo its password through the environment of every sudo
command: ``env SUDO_ASKPASS=<script> PYINFRA_SUDO_PASSWORD=<password> sudo -A
-k ...``. That command line is readable by every local user of the node (ps,
/proc/PID/cmdline) while each command starts.

Instead each host gets an askpass script of our own that holds the password:
created by ``mktemp`` (0600: only the login user can open it), filled over
SFTP (no command line), then made 0700. It is registered where pyinfra keeps
the path of its own askpass script, so pyinfra uses it and removes it when it
disconnects, as it does its own. pyinfra only uses askpass (``sudo -A``) for a
host with a non-empty ``_sudo_password``: that becomes a placeholder, which
is all a command line then shows.

The registration relies on pyinfra 3.10's connector cache key
(``sudo_askpass_path__<temp dir>``); config.py pins pyinfra to 3.10 and
tests/unit/test_sudo_askpass.py checks the contract.
"""

from __future__ import annotations

import io
import shlex
from weakref import WeakKeyDictionary

from gevent.lock import BoundedSemaphore
from pyinfra.api import Host, StringCommand
from pyinfra.api.command import QuoteString
from pyinfra.api.exceptions import PyinfraError

from .secrets import sudo_password_from_env

# What `_sudo_password` reads once the password is in the host's askpass script.
PLACEHOLDER = "(in-convecthub-askpass-script)"
ASKPASS_NAME = "convecthub-sudo-askpass-XXXXXXXXXXXX"

_locks: WeakKeyDictionary = WeakKeyDictionary()


def askpass_cache_key(host: Host) -> str:
    """Where pyinfra 3.10 looks up (and, on disconnect, removes) the host's askpass script."""
    return f"sudo_askpass_path__{host.get_temp_dir_config()}"


def askpass_script(password: str) -> bytes:
    # printf is a shell builtin: the password is in no process's argv.
    return f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(password)}\n".encode()


def sudo_password_of(host: Host, environ=None) -> str | None:
    """The host's sudo password, first found: the inventory, the password
    pyinfra prompted for, CONVECTHUB_SUDO_PASSWORD."""
    given = host.data.get("_sudo_password")
    if given == PLACEHOLDER:
        return None
    return (
        given
        or host.connector_data.get("prompted_sudo_password")
        or (sudo_password_from_env() if environ is None else sudo_password_from_env(environ))
    )


def keep_sudo_password_off_command_lines(host: Host, environ=None) -> bool:
    """Put the host's sudo password (if it has one) into its own askpass
    script and leave only the placeholder in its data. Safe to call for the
    same host from several greenlets and several times; True once done."""
    with _locks.setdefault(host, BoundedSemaphore()):
        password = sudo_password_of(host, environ)
        if not password:
            return host.data.get("_sudo_password") == PLACEHOLDER
        # First the placeholder: should the script fail, sudo fails (the
        # preflight's sudo row) rather than get the password another way.
        host.data._sudo_password = PLACEHOLDER
        host.connector_data.pop("prompted_sudo_password", None)
        host.connector_data[askpass_cache_key(host)] = _write_askpass_script(host, password)
        return True


def _write_askpass_script(host: Host, password: str) -> str:
    temp_dir = host.get_temp_dir_config()
    # As the login user, without sudo (no _sudo argument: not host data).
    ok, output = host.run_shell_command(StringCommand("mktemp", QuoteString(f"{temp_dir}/{ASKPASS_NAME}")))
    path = output.stdout_lines[0].strip() if ok and output.stdout_lines else ""
    if not path:
        raise PyinfraError(
            f"{host.name}: could not create the sudo askpass script in {temp_dir} ({output.stderr.strip()}). "
            f"Fix: make {temp_dir} writable for the SSH user, or give it sudo without a password (NOPASSWD)"
        )
    # mktemp made it 0600 and SFTP keeps the mode of a file it overwrites.
    if not host.put_file(io.BytesIO(askpass_script(password)), path) or not host.run_shell_command(
        StringCommand("chmod", "700", QuoteString(path))
    )[0]:
        host.run_shell_command(StringCommand("rm", "-f", QuoteString(path)))
        raise PyinfraError(f"{host.name}: could not write the sudo askpass script {path}")
    return path
