"""The sudo password reaches sudo through an askpass script, never a command line."""

import subprocess

import pytest
from pyinfra.api import Config, Inventory, State, StringCommand
from pyinfra.api.exceptions import PyinfraError
from pyinfra.connectors.util import CommandOutput, OutputLine, make_unix_command_for_host

from convecthub.sudo import PLACEHOLDER, askpass_cache_key, askpass_script, keep_sudo_password_off_command_lines

PASSWORD = "it's a \"long\" $(secret) `pass` word\\ 1"


class RecordingNode:
    """Stands in for the SSH connection: records commands and uploads; mktemp answers a path."""

    def __init__(self, host, mktemp_works=True):
        self.commands, self.uploads = [], {}
        self.mktemp_works = mktemp_works
        host.run_shell_command = self.run_shell_command
        host.put_file = self.put_file

    def run_shell_command(self, command, **arguments):
        assert not arguments, f"run with {arguments}: the askpass script is the login user's"
        raw = command.get_raw_value()
        self.commands.append(raw)
        if raw.startswith("mktemp"):
            if not self.mktemp_works:
                return False, CommandOutput([OutputLine("stderr", "mktemp: failed to create file: Read-only file system")])
            return True, CommandOutput([OutputLine("stdout", "/tmp/convecthub-sudo-askpass-abc")])
        return True, CommandOutput([])

    def put_file(self, file_io, path, **arguments):
        assert not arguments
        self.uploads[path] = file_io.read()
        return True


def make_host(**data):
    inventory = Inventory((["node"], data))
    State(inventory, Config())
    return inventory.get_host("node")


def test_the_askpass_script_prints_the_password_exactly(tmp_path):
    script = tmp_path / "askpass"
    script.write_bytes(askpass_script(PASSWORD))
    assert subprocess.run(["sh", str(script)], capture_output=True, text=True, check=True).stdout == PASSWORD + "\n"


def test_the_password_goes_into_the_script_and_the_host_keeps_only_the_placeholder():
    host = make_host(_sudo_password=PASSWORD)
    node = RecordingNode(host)

    assert keep_sudo_password_off_command_lines(host, environ={})

    assert host.data._sudo_password == PLACEHOLDER
    assert node.uploads == {"/tmp/convecthub-sudo-askpass-abc": askpass_script(PASSWORD)}
    assert node.commands[0].startswith("mktemp /tmp/convecthub-sudo-askpass-")
    assert node.commands[1] == "chmod 700 /tmp/convecthub-sudo-askpass-abc"
    assert not any(PASSWORD in command for command in node.commands)
    assert host.connector_data[askpass_cache_key(host)] == "/tmp/convecthub-sudo-askpass-abc"


def test_pyinfra_uses_our_script_and_puts_only_the_placeholder_on_the_command_line():
    # The contract with pyinfra 3.10 the module relies on: a registered path is
    # used as it is (pyinfra writes no script of its own), and the command line
    # carries whatever `_sudo_password` holds.
    host = make_host(_sudo_password=PASSWORD)
    node = RecordingNode(host)
    keep_sudo_password_off_command_lines(host, environ={})
    node.commands.clear()

    command = make_unix_command_for_host(
        host.state, host, StringCommand("id", "-u"), _sudo=True, _sudo_password=host.data._sudo_password
    ).get_raw_value()

    assert node.commands == []
    assert "SUDO_ASKPASS=/tmp/convecthub-sudo-askpass-abc" in command
    assert "sudo -H -A -k" in command
    assert PASSWORD not in command and "PLACEHOLDER" not in command


@pytest.mark.parametrize("source", ["environment", "prompt"])
def test_a_password_from_the_environment_or_pyinfras_prompt_goes_the_same_way(source):
    host = make_host()
    node = RecordingNode(host)
    environ = {"CONVECTHUB_SUDO_PASSWORD": PASSWORD} if source == "environment" else {}
    if source == "prompt":
        host.connector_data["prompted_sudo_password"] = PASSWORD

    assert keep_sudo_password_off_command_lines(host, environ=environ)

    assert host.data._sudo_password == PLACEHOLDER
    assert "prompted_sudo_password" not in host.connector_data
    assert list(node.uploads.values()) == [askpass_script(PASSWORD)]


def test_a_second_call_and_a_host_without_password_change_nothing():
    host = make_host(_sudo_password=PASSWORD)
    node = RecordingNode(host)
    keep_sudo_password_off_command_lines(host, environ={})
    assert keep_sudo_password_off_command_lines(host, environ={})
    assert len(node.uploads) == 1

    bare = make_host()
    bare_node = RecordingNode(bare)
    assert not keep_sudo_password_off_command_lines(bare, environ={})
    assert bare_node.commands == [] and bare.data.get("_sudo_password") is None


def test_a_script_that_cannot_be_written_names_the_host_and_leaves_no_password_to_fall_back_on():
    host = make_host(_sudo_password=PASSWORD)
    RecordingNode(host, mktemp_works=False)

    with pytest.raises(PyinfraError, match=r"^node: could not create the sudo askpass script in /tmp .*Read-only"):
        keep_sudo_password_off_command_lines(host, environ={})
    assert host.data._sudo_password == PLACEHOLDER
