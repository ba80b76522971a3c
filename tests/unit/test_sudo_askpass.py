"""The sudo password reaches sudo through an askpass script, never a command line."""

import subprocess

import pytest
from pyinfra.api import Config, Inventory, State, StringCommand
from pyinfra.api.exceptions import PyinfraError
from pyinfra.connectors.util import CommandOutput, OutputLine, clear_askpass_cache, make_unix_command_for_host

import convecthub.pyinfra_fixes.sudo as sudo
from convecthub.pyinfra_fixes.sudo import PLACEHOLDER, askpass_script, keep_sudo_password_off_command_lines

SUDO_PROBE = "sudo -n true 2>&1 | sed 's/^/sudo -n: /'"
PASSWORD = 'it\'s a "long" $(secret) `pass` word\\ 1'


class RecordingNode:
    """Stands in for the SSH connection: records commands and uploads;
    mktemp answers a new path each time, `sudo -n true` as `sudo` says."""

    def __init__(self, host, mktemp_works=True, sudo_wants_a_password=False):
        self.commands, self.uploads = [], {}
        self.mktemp_works = mktemp_works
        self.sudo_wants_a_password = sudo_wants_a_password
        host.run_shell_command = self.run_shell_command
        host.put_file = self.put_file

    def run_shell_command(self, command, **arguments):
        assert not arguments, f"run with {arguments}: these are the login user's commands"
        raw = command.get_raw_value()
        self.commands.append(raw)
        if raw.startswith("mktemp"):
            if not self.mktemp_works:
                return False, CommandOutput(
                    [OutputLine("stderr", "mktemp: failed to create file: Read-only file system")]
                )
            directory = raw.split()[1].rsplit("/", 1)[0]
            return True, CommandOutput(
                [OutputLine("stdout", f"{directory}/convecthub-sudo-askpass-{len(self.commands)}")]
            )
        if raw == SUDO_PROBE and self.sudo_wants_a_password:
            return True, CommandOutput([OutputLine("stdout", "sudo -n: sudo: a password is required")])
        return True, CommandOutput([])

    def put_file(self, file_io, path, **arguments):
        assert not arguments
        self.uploads[path] = file_io.read()
        return True


def make_host(config=None, **data):
    inventory = Inventory((["node"], data))
    State(inventory, config or Config())
    return inventory.get_host("node")


def sudo_command(host, **arguments) -> str:
    """What pyinfra runs on the node for a sudo command of this host."""
    arguments = {"_sudo": True, "_sudo_password": host.data.get("_sudo_password"), **arguments}
    return make_unix_command_for_host(host.state, host, StringCommand("id", "-u"), **arguments).get_raw_value()


def test_the_askpass_script_prints_the_password_exactly(tmp_path):
    script = tmp_path / "askpass"
    script.write_bytes(askpass_script(PASSWORD))
    assert subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True).stdout == PASSWORD + "\n"


def test_the_host_keeps_only_the_placeholder_and_pyinfra_runs_sudo_with_our_script():
    host = make_host(_sudo_password=PASSWORD)
    node = RecordingNode(host)

    assert keep_sudo_password_off_command_lines(host, environ={})
    assert host.data._sudo_password == PLACEHOLDER
    assert node.commands == []  # the script is written when pyinfra first needs it

    first, second = sudo_command(host), sudo_command(host)

    (path,) = node.uploads
    assert node.uploads[path] == askpass_script(PASSWORD)
    assert node.commands == ["mktemp /tmp/convecthub-sudo-askpass-XXXXXXXXXXXX", f"chmod 700 {path}"]
    assert first == second and f"SUDO_ASKPASS={path} " in first and "sudo -H -A -k" in first
    assert PASSWORD not in first and not any(PASSWORD in command for command in node.commands)


def test_after_a_reboot_or_with_another_temp_dir_the_script_is_ours_again():
    # server.reboot clears pyinfra's askpass cache; pyinfra's own script would
    # print the placeholder and sudo would fail.
    host = make_host(_sudo_password=PASSWORD)
    node = RecordingNode(host)
    keep_sudo_password_off_command_lines(host, environ={})
    sudo_command(host)
    clear_askpass_cache(host)

    after_reboot = sudo_command(host)
    in_var_tmp = sudo_command(host, _temp_dir="/var/tmp")

    assert list(node.uploads.values()) == [askpass_script(PASSWORD)] * 3
    assert "SUDO_ASKPASS=/var/tmp/convecthub-sudo-askpass-" in in_var_tmp
    assert "SUDO_ASKPASS=/tmp/convecthub-sudo-askpass-" in after_reboot


@pytest.mark.parametrize("source", ["environment", "--same-sudo-password"])
def test_a_password_from_the_environment_or_the_cli_goes_the_same_way(source):
    config = Config()
    environ = {}
    if source == "environment":
        environ = {"CONVECTHUB_SUDO_PASSWORD": PASSWORD}
    else:
        config.SUDO_PASSWORD = PASSWORD  # what `--same-sudo-password` sets
    host = make_host(config)
    node = RecordingNode(host)

    assert keep_sudo_password_off_command_lines(host, environ=environ)

    assert host.data._sudo_password == PLACEHOLDER
    assert PASSWORD not in sudo_command(host)
    assert list(node.uploads.values()) == [askpass_script(PASSWORD)]


def test_a_host_sudo_wants_a_password_for_is_asked_before_any_sudo_command(monkeypatch):
    host = make_host()
    node = RecordingNode(host, sudo_wants_a_password=True)
    monkeypatch.setattr(sudo, "getpass", lambda prompt: PASSWORD)

    assert keep_sudo_password_off_command_lines(host, environ={})

    assert node.commands == [SUDO_PROBE]
    assert host.data._sudo_password == PLACEHOLDER
    assert PASSWORD not in sudo_command(host)


def test_a_passwordless_sudo_is_not_asked_and_no_terminal_is_an_eoferror(monkeypatch):
    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr(sudo, "getpass", no_terminal)
    nopasswd = make_host()
    node = RecordingNode(nopasswd)
    assert not keep_sudo_password_off_command_lines(nopasswd, environ={})
    assert not keep_sudo_password_off_command_lines(nopasswd, environ={})
    assert node.commands == [SUDO_PROBE]  # asked once
    assert nopasswd.data.get("_sudo_password") is None

    wants = make_host()
    RecordingNode(wants, sudo_wants_a_password=True)
    for _ in range(2):  # the second time without asking again
        with pytest.raises(EOFError):
            keep_sudo_password_off_command_lines(wants, environ={})


def test_a_script_that_cannot_be_written_names_the_host_and_leaves_no_password_to_fall_back_on():
    host = make_host(_sudo_password=PASSWORD)
    RecordingNode(host, mktemp_works=False)
    keep_sudo_password_off_command_lines(host, environ={})

    with pytest.raises(PyinfraError, match=r"^node: could not create the sudo askpass script in /tmp .*Read-only"):
        sudo_command(host)
    assert host.data._sudo_password == PLACEHOLDER
