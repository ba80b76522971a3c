"""
The sudo password, kept off remote command lines.

pyinfra gives sudo its password through the environment of every sudo
command: ``env SUDO_ASKPASS=<script> PYINFRA_SUDO_PASSWORD=<password> sudo -A
-k ...``. That command line is readable by every local user of the node (ps,
/proc/PID/cmdline) while each command starts.

Instead the password is kept here, per host, and the host's
``_sudo_password`` becomes a placeholder (pyinfra only uses askpass, ``sudo
-A``, for a non-empty one): the placeholder is all a command line shows.
Where pyinfra would write its askpass script (the first sudo command of a
connection, again after ``server.reboot``, and for each temp directory),
``pyinfra.connectors.util._ensure_sudo_askpass_set_for_host`` writes ours
instead: it holds the password itself, is created by ``mktemp`` (0600: only
the login user can open it), filled over SFTP (no command line), then made
0700. pyinfra registers it and removes it when it disconnects, as its own.

Hosts without a password from the inventory, CONVECTHUB_SUDO_PASSWORD or
``--same-sudo-password`` are asked here, before any sudo command, when
``sudo -n`` says it needs one: pyinfra's own prompt would retry the command
with the password on its command line.

The hook relies on pyinfra 3.10's connector internals; config.py pins
pyinfra to 3.10 and tests/unit/test_sudo_askpass.py checks the contract.

Upstream: the environment design is pyinfra-dev/pyinfra#305 and #1094; no
issue found about the password on command lines (searched December 2026).
Can go when pyinfra hands sudo its password without a command line.
"""

from __future__ import annotations

import io
import os
import shlex
from getpass import getpass
from weakref import WeakKeyDictionary, WeakSet

import greenlet
from gevent.lock import BoundedSemaphore
from pyinfra.api import Host, StringCommand
from pyinfra.api.command import QuoteString
from pyinfra.api.exceptions import PyinfraError
from pyinfra.connectors import util as connector_util

SUDO_PASSWORD_ENV = "CONVECTHUB_SUDO_PASSWORD"

# What this fix is written against (pyinfra 3.10): see connection.CONTRACT.
CONTRACT = {
    "pyinfra.connectors.util._ensure_sudo_askpass_set_for_host": "(host: 'Host', temp_dir: 'str | None' = None) -> 'str'",
    "pyinfra.connectors.util.SUDO_PASSWORD_REQUIRED_LINES": "('sudo: a password is required', 'sudo-rs: interactive authentication is required')",
    "pyinfra.connectors.util.ASKPASS_PATH_KEYS": "('sudo_askpass_path', 'su_askpass_path')",
}

# What `_sudo_password` reads once the password is kept here.
PLACEHOLDER = "(in-convecthub-askpass-script)"
ASKPASS_NAME = "convecthub-sudo-askpass-XXXXXXXXXXXX"

_passwords: WeakKeyDictionary = WeakKeyDictionary()  # Host -> its sudo password
_locks: WeakKeyDictionary = WeakKeyDictionary()  # Host -> one question at a time
_passwordless: WeakSet = WeakSet()  # hosts whose sudo wants no password
_no_terminal: WeakSet = WeakSet()  # hosts asked for a password with no terminal to ask on
_prompt = BoundedSemaphore()  # one password prompt on the terminal at a time
prompting = None  # the greenlet blocked reading a password (convecthub/pyinfra_fixes/interrupt.py)


def sudo_password_from_env(environ=os.environ) -> str | None:
    return environ.get(SUDO_PASSWORD_ENV) or None


def askpass_script(password: str) -> bytes:
    # printf is a shell builtin: the password is in no process's argv.
    return f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(password)}\n".encode()


def sudo_password_of(host: Host, environ=None) -> str | None:
    """The host's sudo password, first found: the inventory,
    CONVECTHUB_SUDO_PASSWORD, ``--same-sudo-password``."""
    if host in _passwords:
        return _passwords[host]
    given = host.data.get("_sudo_password")
    return (
        given
        or (sudo_password_from_env() if environ is None else sudo_password_from_env(environ))
        or host.state.config.SUDO_PASSWORD
    )


def keep_sudo_password_off_command_lines(host: Host, environ=None) -> bool:
    """Find the host's sudo password (given, or asked for on the terminal
    when ``sudo -n`` says it wants one), keep it for the host's askpass
    script and leave only the placeholder in its data. True if it has one;
    EOFError when sudo wants one and there is no terminal to ask on (again
    on later calls).

    Call it before the host enters any @deploy (apply_secrets does): a
    @deploy keeps the global arguments, ``_sudo_password`` too, it began with.
    One question per host, whichever greenlet asks first; the others wait."""
    with _locks.setdefault(host, BoundedSemaphore()):
        password = sudo_password_of(host, environ) or _ask_if_sudo_wants_one(host)
        if not password:
            return False
        _install_askpass_hook()
        _passwords[host] = password
        host.data._sudo_password = PLACEHOLDER
        return True


def _ask_if_sudo_wants_one(host: Host) -> str | None:
    if host in _passwordless:
        return None
    if host in _no_terminal:
        raise EOFError("no terminal to ask for the sudo password on")
    # Through a pipe, so the command succeeds: on sudo's "a password is
    # required" pyinfra would otherwise prompt and retry by itself.
    _, output = host.run_shell_command(StringCommand("sudo -n true 2>&1 | sed 's/^/sudo -n: /'"))
    said = {line.line.strip().removeprefix("sudo -n: ") for line in output.combined_lines}
    if said.isdisjoint(connector_util.SUDO_PASSWORD_REQUIRED_LINES):
        _passwordless.add(host)  # or a failure the sudo fact will report
        return None
    password = _prompt_for_password(host)
    if not password:
        _no_terminal.add(host)
        raise EOFError("no sudo password given")
    return password


def _prompt_for_password(host: Host) -> str:
    global prompting
    with _prompt:
        prompting = greenlet.getcurrent()
        try:
            return getpass(f"{host.print_prefix}sudo password: ")
        except EOFError:
            _no_terminal.add(host)
            raise
        finally:
            prompting = None


def _install_askpass_hook() -> None:
    if not getattr(connector_util._ensure_sudo_askpass_set_for_host, "convecthub", False):
        connector_util._ensure_sudo_askpass_set_for_host = _ours_or_pyinfras(
            connector_util._ensure_sudo_askpass_set_for_host
        )


def _ours_or_pyinfras(pyinfras):
    def ensure_sudo_askpass(host: Host, temp_dir: str | None = None) -> str:
        if host not in _passwords:
            return pyinfras(host, temp_dir=temp_dir)
        temp_dir = temp_dir or host.get_temp_dir_config()
        key = f"sudo_askpass_path__{temp_dir}"  # pyinfra's: its disconnect removes what it names
        if not host.connector_data.get(key):
            host.connector_data[key] = _write_askpass_script(host, _passwords[host], temp_dir)
        return host.connector_data[key]

    ensure_sudo_askpass.convecthub = True
    ensure_sudo_askpass.__wrapped__ = pyinfras
    return ensure_sudo_askpass


def _write_askpass_script(host: Host, password: str, temp_dir: str) -> str:
    # As the login user, without sudo (no _sudo argument: not host data).
    ok, output = host.run_shell_command(StringCommand("mktemp", QuoteString(f"{temp_dir}/{ASKPASS_NAME}")))
    path = output.stdout_lines[0].strip() if ok and output.stdout_lines else ""
    if not path:
        raise PyinfraError(
            f"{host.name}: could not create the sudo askpass script in {temp_dir} ({output.stderr.strip()}). "
            f"Fix: make {temp_dir} writable for the SSH user, or give it sudo without a password (NOPASSWD)"
        )
    reason = "the upload or chmod failed"
    try:
        # mktemp made it 0600 and SFTP keeps the mode of a file it overwrites.
        written = host.put_file(io.BytesIO(askpass_script(password)), path)
        written = written and host.run_shell_command(StringCommand("chmod", "700", QuoteString(path)))[0]
    except Exception as error:  # e.g. SFTP's OSError on a full /tmp
        written, reason = False, repr(error)
    if not written:
        host.run_shell_command(StringCommand("rm", "-f", QuoteString(path)))
        raise PyinfraError(f"{host.name}: could not write the sudo askpass script {path} ({reason})")
    return path
