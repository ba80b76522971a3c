"""The generated cluster token and the sudo password: where they come from, how they are kept."""

import json
import stat
from pathlib import Path

import pytest
from pyinfra.api import Inventory

from convecthub.cluster.state import (
    apply_secrets,
    load_or_create_token,
    state_file_path,
)
from convecthub.problems import InventoryError
from convecthub.pyinfra_fixes.sudo import SUDO_PASSWORD_ENV


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_host(**data):
    inventory = Inventory((["node"], {}), driver=([("node", data)], {}))
    return inventory.get_host("node")


def test_state_file_default_is_dot_convecthub_in_the_run_directory(tmp_path):
    assert state_file_path(None, tmp_path) == tmp_path / ".convecthub" / "state.json"
    assert state_file_path("clusters/b", tmp_path) == tmp_path / "clusters" / "b" / "state.json"
    assert state_file_path("/srv/state", tmp_path) == Path("/srv/state/state.json")


def test_token_is_generated_once_private_and_reused(tmp_path):
    path = tmp_path / ".convecthub" / "state.json"

    first = load_or_create_token(path)
    second = load_or_create_token(path)

    assert first == second
    assert len(first) >= 43
    # Lowercase hex: never the K10 prefix K3s parses as a full token.
    assert set(first) <= set("0123456789abcdef")
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == {"convect_token": first}
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_two_state_directories_get_different_tokens(tmp_path):
    assert load_or_create_token(tmp_path / "a" / "state.json") != load_or_create_token(
        tmp_path / "b" / "state.json",
    )


def test_a_loose_state_file_is_made_private_again(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"convect_token": "kept-token"}))
    path.chmod(0o644)

    assert load_or_create_token(path) == "kept-token"
    assert mode(path) == 0o600


def test_other_state_is_kept_when_a_token_is_added(tmp_path):
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"other": 1}))

    token = load_or_create_token(path)

    assert json.loads(path.read_text()) == {"other": 1, "convect_token": token}


def test_a_corrupt_state_file_is_reported_not_replaced(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{not json")

    with pytest.raises(InventoryError) as raised:
        load_or_create_token(path)

    assert [problem.text for problem in raised.value.problems] == [
        f"{path}: convect_token cannot be read from the state file, which is not a JSON object. "
        "Fix: restore the file from a backup; delete it only for a new cluster (a new token "
        "cannot join the existing nodes).",
    ]
    assert path.read_text() == "{not json"


def test_apply_secrets_fills_only_what_the_inventory_left_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    environ = {SUDO_PASSWORD_ENV: "env-sudo-Secret"}

    bare = make_host(convect_token=None)
    apply_secrets(bare, environ=environ)
    stored = json.loads((tmp_path / ".convecthub" / "state.json").read_text())["convect_token"]
    assert bare.data.convect_token == stored
    assert bare.data._sudo_password == "env-sudo-Secret"

    given = make_host(convect_token="inventory-token-" + "x" * 32, _sudo_password="inv-sudo-Secret")
    apply_secrets(given, environ=environ)
    assert given.data.convect_token == "inventory-token-" + "x" * 32
    assert given.data._sudo_password == "inv-sudo-Secret"

    captured = capsys.readouterr()
    for secret in (stored, "env-sudo-Secret", "inv-sudo-Secret"):
        assert secret not in captured.out + captured.err


def test_apply_secrets_for_reset_creates_no_token(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    host = make_host()

    apply_secrets(host, cluster_token=False, environ={})

    assert host.data.get("convect_token") is None
    assert host.data.get("_sudo_password") is None
    assert not (tmp_path / ".convecthub").exists()


def test_state_dir_comes_from_the_inventory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    host = make_host(convecthub_state_dir="cluster-b")

    apply_secrets(host, environ={})

    assert (tmp_path / "cluster-b" / "state.json").exists()
    assert not (tmp_path / ".convecthub").exists()
