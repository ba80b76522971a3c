"""
Secrets the inventory does not give: the cluster token and the sudo password.

+ convect_token: when unset, one strong token is generated (``secrets``), kept
  in ``<convecthub_state_dir>/state.json`` (default ``.convecthub/state.json``
  in the directory pyinfra runs in; the directory is created 0700, the file
  0600) and reused on every later run, so re-runs never change the cluster's
  token. One state directory is one cluster: give a second cluster its own
  ``convecthub_state_dir``.
+ registry_password: the private registry's password (user ``convecthub``),
  generated once and kept in the same state file.
+ sudo password, first found wins: the inventory (``_sudo_password``, or
  ``ansible_sudo_pass``/``ansible_become_pass`` in an INI file), then the
  CONVECTHUB_SUDO_PASSWORD environment variable, then ``--same-sudo-password``,
  then a prompt when sudo wants one. Never a command-line argument, locally or
  on the nodes: convecthub/pyinfra_fixes/sudo.py hands it to sudo through an askpass script.

Nothing here prints or logs a secret.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import bcrypt
from pyinfra.context import ctx_host, ctx_state

from convecthub.problems import InventoryError, Problem
from convecthub.pyinfra_fixes.sudo import (
    keep_sudo_password_off_command_lines,
    sudo_password_from_env,
)

DEFAULT_STATE_DIR = ".convecthub"
STATE_FILE_NAME = "state.json"
# token_hex(32): 64 characters, 256 bits. Hex, so it never starts with K10,
# which K3s would parse as a full token and refuse ("invalid token format").
TOKEN_BYTES = 32


def state_file_path(state_dir: str | None = None, cwd: str | os.PathLike | None = None) -> Path:
    """The state file; a relative state_dir is relative to cwd (default: the current directory)."""

    directory = Path(state_dir or DEFAULT_STATE_DIR).expanduser()
    if not directory.is_absolute():
        directory = Path(cwd or Path.cwd()) / directory
    return directory / STATE_FILE_NAME


def load_or_create_secret(path: Path, name: str) -> str:
    """The secret `name` kept in the state file, generating and storing one the first time."""
    state = _read_state(path)
    value = state.get(name)
    if isinstance(value, str) and value:
        return value
    state[name] = secrets.token_hex(TOKEN_BYTES)
    _write_state(path, state)
    return state[name]


def load_or_create_token(path: Path) -> str:
    """The cluster token kept in the state file, generating and storing one the first time."""
    return load_or_create_secret(path, "convect_token")


def _read_state(path: Path) -> dict:
    try:
        _tighten(path, 0o600)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        state = json.loads(text)
    except ValueError:
        state = None
    if not isinstance(state, dict):
        raise InventoryError(
            [
                Problem(
                    str(path),
                    "convect_token",
                    "cannot be read from the state file, which is not a JSON object",
                    "restore the file from a backup; delete it only for a new cluster "
                    "(a new token cannot join the existing nodes)",
                ),
            ],
        )
    return state


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _tighten(path.parent, 0o700)

    # Write a new file created 0600 (never readable by others, not even for a
    # moment), then rename it over the old one.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(state, file, indent=2, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _tighten(path: Path, mode: int) -> None:
    # A state file copied around with a looser mode is put back to ours.
    if path.exists() and path.stat().st_mode & 0o777 != mode:
        path.chmod(mode)


def apply_secrets(host=None, cluster_token: bool = True, environ=os.environ) -> None:
    """
    Give the current host (deploy-time, once per host) the secrets its
    inventory left out: ``convect_token`` from the state file (skipped with
    ``cluster_token=False``, e.g. for reset) and ``_sudo_password`` from the
    environment. Values set by the inventory are never replaced.
    """

    at_deploy_time = host is None
    if at_deploy_time:
        host = ctx_host.get()
        cwd = ctx_state.get().cwd
    else:
        cwd = None

    path = state_file_path(host.data.get("convecthub_state_dir"), cwd)
    if cluster_token and host.data.get("convect_token") is None:
        host.data.convect_token = load_or_create_token(path)
    if cluster_token:
        # The registry's htpasswd user password: nodes pull with it.
        host.data.registry_password = load_or_create_secret(path, "registry_password")

    if not host.data.get("_sudo_password"):
        password = sudo_password_from_env(environ)
        if password:
            host.data._sudo_password = password
    if at_deploy_time:
        try:
            keep_sudo_password_off_command_lines(host, environ)
        except EOFError:
            pass  # sudo wants a password and there is no terminal: the preflight's table says so


def load_or_create_htpasswd(path: Path, user: str, password: str) -> str:
    """The registry's htpasswd line for `user`, a bcrypt hash of `password`.

    Kept in the state file beside the password: bcrypt salts every hash anew,
    and a file that changed on each run would restart the registry each run.
    """
    state = _read_state(path)
    line = state.get("registry_htpasswd")
    if isinstance(line, str) and line.startswith(f"{user}:"):
        if bcrypt.checkpw(password.encode(), line.split(":", 1)[1].encode()):
            return line
    line = f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()}"
    state["registry_htpasswd"] = line
    _write_state(path, state)
    return line
