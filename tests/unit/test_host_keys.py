"""First contact with a host (convecthub/pyinfra_fixes/host_keys.py): known_hosts created
0600 in a 0700 directory, a new key saved and announced with the fingerprint
OpenSSH's own ssh-keygen gives it, a changed key refused with both."""

import logging
import shutil
import stat
import subprocess

import paramiko
import pytest
from pyinfra.api.exceptions import ConnectError

from convecthub.pyinfra_fixes import host_keys

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen")


def host_key(tmp_path, name):
    """A fresh ed25519 host key, and its fingerprint as `ssh-keygen -l` prints it."""
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    # "256 SHA256:... comment (ED25519)" -> "ED25519 SHA256:..."
    _bits, fingerprint, *_, kind = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(path) + ".pub"], check=True, capture_output=True, text=True
    ).stdout.split()
    return paramiko.Ed25519Key(filename=str(path)), f"{kind.strip('()')} {fingerprint}"


class FakeClient:
    def __init__(self, filename):
        self._host_keys_filename = str(filename)
        self._ssh_config = {"port": 2200}


def test_a_missing_directory_and_file_are_created_private(tmp_path):
    known_hosts = tmp_path / "home" / ".ssh" / "known_hosts"

    host_keys.ensure_known_hosts_file(str(known_hosts))

    assert stat.S_IMODE(known_hosts.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    assert known_hosts.read_text() == ""


def test_an_existing_file_is_left_as_it_is(tmp_path):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("[10.0.0.1]:22 ssh-ed25519 AAAA\n")
    known_hosts.chmod(0o644)

    host_keys.ensure_known_hosts_file(str(known_hosts))

    assert known_hosts.read_text() == "[10.0.0.1]:22 ssh-ed25519 AAAA\n"
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o644


def test_a_new_key_is_saved_and_announced_with_openssh_fingerprint(tmp_path, caplog):
    key, fingerprint = host_key(tmp_path, "new")
    known_hosts = tmp_path / "no-ssh-dir-yet" / "known_hosts"

    with caplog.at_level(logging.WARNING):
        host_keys.AcceptNewNamed().missing_host_key(FakeClient(known_hosts), "[127.0.0.1]:2200", key)

    assert f"added host key for [127.0.0.1]:2200 ({fingerprint}) to {known_hosts}" in caplog.text
    saved = paramiko.HostKeys(str(known_hosts))
    assert saved.lookup("[127.0.0.1]:2200")["ssh-ed25519"] == key
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600


def test_accept_new_is_ours_and_other_policies_stay_pyinfras():
    policy = host_keys._policy(lambda name: f"pyinfra's {name}")

    assert isinstance(policy("accept-new"), host_keys.AcceptNewNamed)
    assert policy("yes") == "pyinfra's yes"


def test_a_changed_key_is_refused_with_both_fingerprints_and_the_fix(tmp_path):
    old, old_fingerprint = host_key(tmp_path, "old")
    new, new_fingerprint = host_key(tmp_path, "new")
    known_hosts = tmp_path / "known_hosts"

    def connect(self, hostname, **kwargs):
        raise paramiko.BadHostKeyException("127.0.0.1", new, old)

    refusing = host_keys._refuse_changed_keys(connect)
    with pytest.raises(ConnectError) as refused:
        refusing(FakeClient(known_hosts), "127.0.0.1")

    message = str(refused.value)
    assert f"holds {old_fingerprint} for [127.0.0.1]:2200" in message
    assert f"now offers {new_fingerprint}" in message
    assert f"ssh-keygen -f {known_hosts} -R '[127.0.0.1]:2200'" in message


def test_installing_twice_wraps_once():
    host_keys.accept_new_host_keys_by_name()
    once = host_keys.ssh_client.SSHClient.connect
    host_keys.accept_new_host_keys_by_name()
    assert host_keys.ssh_client.SSHClient.connect is once and once.convecthub_wrapped
