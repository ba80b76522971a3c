"""Faults and hostile input (issue 7), in a lab of master (driver, registry)
and worker1 (whose sudo asks for a password), Docker not installed.

Each test backs one row of docs/troubleshooting.md: what the operator sees
(the text asserted here is copied from real runs) and the state the nodes are
left in. The tests run in order on one lab:

1. refusals on fresh nodes: nothing of ours may appear on any node;
2. an undisturbed deploy with -vvv: no secret in the output, on a command
   line or in a world-readable file; its node state is the reference;
3. faults during and between runs (registry, the first driver's K3s, a
   worker stopped halfway, SIGINT during the bundle upload, a disk filling
   up): each re-run must end in the reference state, compared by
   `fingerprint` (our files with mode and sha256, units, processes,
   listeners, the registry's catalog, manifests and blobs, the K3s nodes).

A fault that shows a bug in the deploy is a strict xfail naming the bug.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections import Counter
from pathlib import Path

import docker
import pytest

from tests.lab import keys
from tests.lab.inventory import write_inventory
from tests.lab.lab import K3S_STANDIN, topology
from tests.standins.bundle import build_standin_bundle

from .conftest import REPO

pytestmark = pytest.mark.e2e

LAB = "convecthub-e2e-faults"
PORT_OFFSET = 900
SUBNET = "10.213.90.0/24"
# Nothing listens here (the lab's SSH ports are 3100 and 3122).
CLOSED_PORT = 3150
PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
WORKDIR = "/var/lib/convecthub"
BIG_ENTRY = "k3s-airgap-images-amd64"
BIG_PATH = "files/k3s-airgap-images-amd64.tar.zst"
# Big enough that an upload lasts a few seconds, small enough for a 2-core CI.
BIG_SIZE = 120_000_000
# The paths of ours a deploy creates first; none may exist after a refusal.
OURS = (
    WORKDIR,
    "/etc/rancher",
    "/etc/convecthub",
    "/usr/local/bin/k3s",
    "/etc/docker/registry/htpasswd",
    "/etc/systemd/system/k3s.service",
    "/etc/systemd/system/k3s-agent.service",
)
SSH_FIX = "make the host reachable (ssh_hostname, ssh_port, ssh_user, ssh_key), or leave it out with --limit"
SUDO_FIX = (
    "give the SSH user sudo without a password (NOPASSWD), or set _sudo_password (ansible_become_pass) "
    "for this host to its sudo password"
)
SUDO_ROW = f"sudo: could not run a command as root through sudo (its message is in pyinfra's output above)\n        fix: {SUDO_FIX}"

# Results passed from one test to the next (the module's tests run in order).
RUNS: dict = {}
# Where pyinfra()'s outputs are kept (the lab's work directory).
OUTPUT_DIR: list = []


# -- the lab --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_bundle(docker_client, tmp_path_factory):
    """The stand-in bundle with a 120 MB K3s air-gap archive (files that every node gets)."""
    directory = tmp_path_factory.mktemp("faults-bundle")
    build_standin_bundle(
        directory, docker_client=docker_client, k3s_executable=K3S_STANDIN, sizes={BIG_ENTRY: BIG_SIZE}
    )
    return directory


@pytest.fixture(scope="module")
def lab(lab_factory, big_bundle, tmp_path_factory):
    nodes = topology(workers=1, gpu_workers=(), sudo_password_nodes=("worker1",), port_offset=PORT_OFFSET)
    data = {"install_docker": False, "bundle_dir": str(big_bundle)}
    lab = lab_factory(LAB, nodes, SUBNET, data=data)
    lab.work = tmp_path_factory.mktemp("faults-work")
    OUTPUT_DIR[:] = [lab.work]
    lab.small_bundle = lab.state_root / "standin-bundle"  # built by lab.up
    return lab


def container(lab, node):
    return lab.client.containers.get(f"{lab.spec.name}-{node}")


def sh(lab, node, script, check=True):
    code, output = container(lab, node).exec_run(["sh", "-c", script])
    if check:
        assert code == 0, f"{node}: {script}\n{output.decode(errors='replace')}"
    return output.decode(errors="replace")


def inventory(lab, name, data=None, sudo=None):
    """The lab's inventory with per-node variables changed. `sudo`: node ->
    its sudo password in the inventory (None: none given)."""
    nodes = []
    for node in lab.nodes:
        spec = dataclasses.replace(node.spec, data={**node.spec.data, **(data or {}).get(node.spec.name, {})})
        password_file = node.sudo_password_file
        if sudo and node.spec.name in sudo:
            password_file = None
            if sudo[node.spec.name] is not None:
                password_file = lab.work / f"sudo-password-{name}-{node.spec.name}"
                keys.write_secret(password_file, sudo[node.spec.name])
        nodes.append(dataclasses.replace(node, spec=spec, sudo_password_file=password_file))
    path = lab.work / f"{name}.py"
    key = keys.ensure_ssh_key(lab.state_dir / "id_ed25519")
    write_inventory(path, lab.spec, nodes, key, lab.state_dir / "known_hosts", lab.small_bundle, lab.state_dir)
    return path


DEBUG_LOG = REPO / "pyinfra-debug.log"


def _stat(path):
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None


def keep_debug_log(before, name):
    """pyinfra writes pyinfra-debug.log into the directory it runs in after an
    internal exception: one written by our run moves to the work directory."""
    if OUTPUT_DIR and DEBUG_LOG.exists() and _stat(DEBUG_LOG) != before:
        DEBUG_LOG.replace(OUTPUT_DIR[0] / f"{name}.pyinfra-debug.log")


def operator_environment() -> dict:
    """The environment pyinfra runs with: a sudo password only from the inventory."""
    return {key: value for key, value in os.environ.items() if key != "CONVECTHUB_SUDO_PASSWORD"}


def pyinfra(inventory_path, *arguments, timeout=900) -> subprocess.CompletedProcess:
    """pyinfra as an operator without a terminal runs it (CI, cron): no
    controlling terminal (a sudo prompt cannot block), stdin empty. Its
    output is also kept in the lab's work directory (numbered runs)."""
    before = _stat(DEBUG_LOG)
    result = subprocess.run(
        [PYINFRA, str(inventory_path), *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=operator_environment(),
    )
    keep_debug_log(before, f"run-{Path(str(inventory_path)).stem}")
    if OUTPUT_DIR:
        number = len(list(OUTPUT_DIR[0].glob("run-*.err"))) + 1
        base = OUTPUT_DIR[0] / f"run-{number:02d}-{Path(str(inventory_path)).stem}"
        base.with_suffix(".out").write_text(result.stdout)
        base.with_suffix(".err").write_text(f"{' '.join(arguments)} -> {result.returncode}\n{result.stderr}")
    return result


class Background:
    """pyinfra running while the test disturbs the nodes; output in files."""

    def __init__(self, lab, name, *arguments, inventory_path=None):
        self.name = name
        self.debug_log_before = _stat(DEBUG_LOG)
        self.out_path = lab.work / f"{name}.out"
        self.err_path = lab.work / f"{name}.err"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.process = subprocess.Popen(
                [PYINFRA, str(inventory_path or lab.inventory), *arguments],
                cwd=REPO,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=operator_environment(),
            )

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def wait_until(self, condition, what, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(
                    f"pyinfra ended (rc {self.process.returncode}) before {what}:\n{self.stderr[-3000:]}"
                )
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout}s:\n{self.stderr[-3000:]}")

    def signal(self, number):
        # The whole process group, as a terminal's Ctrl-C would: only ours.
        os.killpg(self.process.pid, number)

    def finish(self, timeout) -> int | None:
        """Its exit code, or None if it was still running after `timeout`
        seconds (then it is killed)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            return None
        finally:
            keep_debug_log(self.debug_log_before, self.name)


def totals(result) -> dict:
    return json.loads(result.stdout)["results"]["totals"]


def changed_operations(output: str) -> dict:
    """Operation name -> hosts it changed, from pyinfra's --json output."""
    operations = json.loads(output)["results"]["operations"]
    return {op["name"]: sorted(op["success"]) for op in operations if op["success"]}


def assert_zero_changes(result):
    assert result.returncode == 0, result.stderr[-3000:]
    counts = totals(result)
    assert counts["success"] == 0 and counts["error"] == 0, (counts, changed_operations(result.stdout))


def ours_on_nodes(lab) -> dict:
    test = "; ".join(f"[ -e {path} ] && echo {path}" for path in OURS) + "; true"
    return {node.spec.name: sh(lab, node.spec.name, test).split() for node in lab.nodes}


def interfaces_text(lab, node, extra=()) -> str:
    """How the preflight lists a node's interfaces: eth0, eth1, lo (+ extra without IPv4)."""
    networks = container(lab, node).attrs["NetworkSettings"]["Networks"]
    listing = {
        "eth0": f"{networks['bridge']['IPAddress']}/{networks['bridge']['IPPrefixLen']}",
        "eth1": f"{networks[lab.spec.name + '-net']['IPAddress']}/{networks[lab.spec.name + '-net']['IPPrefixLen']}",
        "lo": "127.0.0.1/8",
        **{name: "no IPv4" for name in extra},
    }
    return ", ".join(f"{name} ({listing[name]})" for name in sorted(listing))


def refused(lab, result, *rows, hosts=1, traceback_ok=False) -> str:
    """Assert pyinfra refused before any operation, with exactly these
    preflight rows for worker1, and that no node holds anything of ours."""
    stderr = result.stderr
    assert result.returncode == 1, stderr[-3000:]
    assert "Starting operation" not in stderr, "an operation ran"
    assert '"totals"' not in result.stdout
    assert traceback_ok or "Traceback" not in stderr, stderr[-3000:]
    if rows:
        problems = f"{len(rows)} problem{'s' if len(rows) > 1 else ''}"
        table = (
            f"preflight refused the deploy: {problems} on {hosts} host{'s' if hosts > 1 else ''}, "
            "nothing was changed on any host:\n\n    worker1\n"
        )
        table += "\n\n".join(f"        {row}" for row in rows)
        assert table in stderr, stderr[-3000:]
    assert ours_on_nodes(lab) == {"master": [], "worker1": []}
    return stderr


def wait_for_ssh(lab, node):
    container(lab, node).reload()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        code, output = container(lab, node).exec_run(["systemctl", "is-active", "ssh"])
        if output.decode().strip() == "active":
            return
        time.sleep(0.3)
    raise AssertionError(f"{node} did not come back")


def start_listener(lab, node, port):
    """`python3 -m http.server PORT` on a node; returns its pid once it listens."""
    pidfile = f"/run/faults-listener-{port}.pid"
    container(lab, node).exec_run(["sh", "-c", f"echo $$ > {pidfile}; exec python3 -m http.server {port}"], detach=True)
    return int(
        sh(
            lab,
            node,
            f"for i in $(seq 50); do [ -s {pidfile} ] && ss -Htln | grep -q ':{port} ' && break; "
            f"sleep 0.1; done; ss -Htln | grep -q ':{port} ' && cat {pidfile}",
        )
    )


def put_file(lab, node, directory, name, text, mode):
    buffer = io.BytesIO()
    content = text.encode()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), mode
        tar.addfile(info, io.BytesIO(content))
    container(lab, node).put_archive(directory, buffer.getvalue())


ARGV_SHELL = """#!/bin/bash
# The login shell, recording the command line sshd gives it (test only).
umask 077
printf '%s\\n' "$*" >> "$HOME/.faults-argv"
exec /bin/bash "$@"
"""


def stop_listener(lab, node, port):
    sh(lab, node, f"kill $(cat /run/faults-listener-{port}.pid); rm -f /run/faults-listener-{port}.pid")


# -- 1. refused before any host changes ------------------------------------------


def test_a_closed_ssh_port_is_named_and_nothing_runs(lab):
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", CLOSED_PORT)) != 0, f"something listens on {CLOSED_PORT}"
    result = pyinfra(inventory(lab, "closed-port", {"worker1": {"ssh_port": CLOSED_PORT}}), "--json", "-y", "deploy.py")
    stderr = refused(
        lab, result, f"ssh: could not connect (pyinfra's connection error is above)\n        fix: {SSH_FIX}"
    )
    assert f"[worker1] Could not connect ([Errno None] Unable to connect to port {CLOSED_PORT} on 127.0.0.1)" in stderr


def test_a_stopped_host_is_named_and_nothing_runs(lab):
    port = next(n.spec.ssh_port for n in lab.nodes if n.spec.name == "worker1")
    container(lab, "worker1").stop(timeout=20)
    try:
        result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    finally:
        container(lab, "worker1").start()
        wait_for_ssh(lab, "worker1")
    stderr = refused(
        lab, result, f"ssh: could not connect (pyinfra's connection error is above)\n        fix: {SSH_FIX}"
    )
    assert f"[worker1] Could not connect ([Errno None] Unable to connect to port {port} on 127.0.0.1)" in stderr


def test_a_hung_host_is_named_and_nothing_runs(lab):
    """The host accepts TCP on its SSH port but sends no banner (a paused container)."""
    port = next(n.spec.ssh_port for n in lab.nodes if n.spec.name == "worker1")
    container(lab, "worker1").pause()
    try:
        result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    finally:
        container(lab, "worker1").unpause()
    silent = (
        f"127.0.0.1:{port} accepts connections but sends no SSH banner within 5 s: "
        "the host is hung or overloaded, or that port is not sshd"
    )
    stderr = refused(
        lab, result, f"ssh: could not connect: {silent} (pyinfra's connection error is above)\n        fix: {SSH_FIX}"
    )
    assert "[worker1] SSH error (No existing session)" in stderr


def test_a_wrong_key_is_named_and_nothing_runs(lab):
    other = keys.ensure_ssh_key(lab.work / "not-the-lab-key")
    result = pyinfra(
        inventory(lab, "wrong-key", {"worker1": {"ssh_key": str(other.private_path)}}), "--json", "-y", "deploy.py"
    )
    stderr = refused(
        lab, result, f"ssh: could not connect (pyinfra's connection error is above)\n        fix: {SSH_FIX}"
    )
    assert (
        f"[worker1] Authentication error (username=vagrant, key={other.private_path}) (Authentication failed.)"
    ) in stderr


def test_a_wrong_user_is_named_and_nothing_runs(lab):
    result = pyinfra(inventory(lab, "wrong-user", {"worker1": {"ssh_user": "operator"}}), "--json", "-y", "deploy.py")
    stderr = refused(
        lab, result, f"ssh: could not connect (pyinfra's connection error is above)\n        fix: {SSH_FIX}"
    )
    assert f"[worker1] Authentication error (username=operator, key={lab.state_dir / 'id_ed25519'})" in stderr


def test_a_wrong_sudo_password_is_named_and_nothing_runs(lab):
    result = pyinfra(inventory(lab, "wrong-sudo", sudo={"worker1": "not-the-password"}), "--json", "-y", "deploy.py")
    stderr = refused(lab, result, SUDO_ROW)
    assert "[worker1] sudo: 3 incorrect password attempts" in stderr


def test_sudo_needing_a_password_none_was_given_for_stops_before_any_operation(lab):
    result = pyinfra(inventory(lab, "no-sudo-password", sudo={"worker1": None}), "--json", "-y", "deploy.py")
    RUNS["no-sudo-password"] = result.stderr
    assert result.returncode == 1
    assert "Starting operation" not in result.stderr and '"totals"' not in result.stdout
    assert ours_on_nodes(lab) == {"master": [], "worker1": []}
    # The deploy asked (sudo -n said it wants a password), with no terminal to ask on.
    assert "[worker1] sudo password: " in re.sub(r"\x1b\[[0-9;]*m", "", result.stderr)


def test_sudo_needing_a_password_none_was_given_for_is_named_without_a_traceback(lab):
    stderr = RUNS["no-sudo-password"]
    assert "Traceback" not in stderr
    assert (
        "    worker1\n        sudo: sudo wants a password, none was given and there is no terminal to ask on\n"
        f"        fix: {SUDO_FIX}"
    ) in stderr


def test_ctrl_c_at_the_sudo_password_prompt_ends_the_run_with_130_at_once(lab):
    """On a terminal this time: the deploy asks for worker1's sudo password;
    Ctrl-C there (the terminal sends SIGINT) ends the run."""
    path = inventory(lab, "sudo-prompt-tty", sudo={"worker1": None})
    pid, terminal = pty.fork()
    if pid == 0:  # the child: pyinfra, with the pty as its controlling terminal
        os.chdir(REPO)
        os.execve(PYINFRA, [PYINFRA, str(path), "-y", "deploy.py"], operator_environment())
    output = b""
    deadline = time.monotonic() + 120
    while b"sudo password: " not in output and time.monotonic() < deadline:
        if select.select([terminal], [], [], 1)[0]:
            output += os.read(terminal, 4096)
    assert b"sudo password: " in output, output.decode(errors="replace")[-2000:]
    interrupted = time.monotonic()
    os.write(terminal, b"\x03")
    code = None
    while code is None and time.monotonic() - interrupted < 30:
        if select.select([terminal], [], [], 0.2)[0]:
            try:
                output += os.read(terminal, 4096)
            except OSError:  # the child closed the terminal
                pass
        done, status = os.waitpid(pid, os.WNOHANG)
        code = os.waitstatus_to_exitcode(status) if done else None
    if code is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(terminal)
    text = output.decode(errors="replace")
    assert code == 130, text[-2000:]
    assert time.monotonic() - interrupted < 5, "it ended only after the 10 s grace: the disconnect did not run"
    assert "--> Interrupted (Ctrl-C)" in text and "Traceback" not in text
    assert ours_on_nodes(lab) == {"master": [], "worker1": []}


def test_my_iface_missing_on_one_node_is_named_and_nothing_runs(lab):
    result = pyinfra(inventory(lab, "iface-missing", {"worker1": {"my_iface": "eth9"}}), "--json", "-y", "deploy.py")
    refused(
        lab,
        result,
        f"my_iface: eth9 does not exist on this host; its interfaces are {interfaces_text(lab, 'worker1')}"
        "\n        fix: set my_iface to the interface on the private network",
    )


def test_my_iface_without_ipv4_is_named_and_nothing_runs(lab):
    sh(lab, "worker1", "ip link add fault0 type veth peer name fault1 && ip link set fault0 up")
    try:
        result = pyinfra(
            inventory(lab, "iface-no-ipv4", {"worker1": {"my_iface": "fault0"}}), "--json", "-y", "deploy.py"
        )
    finally:
        sh(lab, "worker1", "ip link delete fault0")
    listing = interfaces_text(lab, "worker1", extra=("fault0", "fault1"))
    refused(
        lab,
        result,
        f"my_iface: fault0 has no IPv4 address; its interfaces are {listing}\n        fix: give fault0 "
        "an IPv4 address on the private network, or set my_iface to the interface on the private network",
    )


def _master_table(row: str) -> str:
    return f"preflight refused the deploy: 1 problem on 1 host, nothing was changed on any host:\n\n    master\n        {row}"


def test_port_6443_taken_on_the_first_driver_is_named_and_nothing_runs(lab):
    pid = start_listener(lab, "master", 6443)
    try:
        result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    finally:
        stop_listener(lab, "master", 6443)
    stderr = refused(lab, result)
    assert (
        _master_table(
            f"port 6443: in use by python3 (pid {pid}), but the K3s API server needs it\n        fix: stop that program or "
            "move it to another port (`sudo ss -tlnp 'sport = :6443'` shows it)"
        )
        in stderr
    ), stderr[-2000:]


def test_https_port_taken_on_the_first_driver_is_named_and_nothing_runs(lab):
    pid = start_listener(lab, "master", 9443)
    ports = {"https_port": 9443}
    try:
        result = pyinfra(inventory(lab, "https-port", {"master": ports, "worker1": ports}), "--json", "-y", "deploy.py")
    finally:
        stop_listener(lab, "master", 9443)
    stderr = refused(lab, result)
    assert (
        _master_table(
            f"port 9443 (https_port): in use by python3 (pid {pid}), but JupyterHub's HTTPS entry (Traefik) needs it\n"
            "        fix: stop that program or move it to another port, or set https_port to a free port"
        )
        in stderr
    )


def test_too_little_disk_for_the_bundle_in_convect_workdir_is_named_and_nothing_runs(lab):
    sh(lab, "worker1", "mkdir -p /mnt/faults-small && mount -t tmpfs -o size=1m faults-small /mnt/faults-small")
    try:
        small = pyinfra(
            inventory(lab, "disk-tmpfs", {"worker1": {"convect_workdir": "/mnt/faults-small/convecthub"}}),
            "--json",
            "-y",
            "deploy.py",
        )
    finally:
        sh(lab, "worker1", "umount /mnt/faults-small && rmdir /mnt/faults-small")
    stderr = refused(lab, small)
    assert re.search(
        r"convect_workdir: /mnt/faults-small/convecthub is on /mnt/faults-small \(tmpfs\), in memory and "
        r"emptied at every reboot, with 1\.0 MB free; it needs preflight_min_disk_gb=10 plus [\d.]+ MB of "
        r"bundle files still to arrive\n        fix: set convect_workdir to a directory on a disk, "
        r"e\.g\. /var/lib/convecthub",
        stderr,
    ), stderr[-2000:]
    # On a disk, the other row: here the threshold is what does not fit.
    full = pyinfra(
        inventory(lab, "disk-full", {"worker1": {"preflight_min_disk_gb": 100000}}), "--json", "-y", "deploy.py"
    )
    stderr = refused(lab, full)
    assert re.search(
        r"    worker1\n        disk: /var/lib/convecthub is on / \(\w+\) with [\d.]+ GB free; it needs "
        r"preflight_min_disk_gb=100000 plus [\d.]+ MB of bundle files still to arrive\n        fix: free [\d.]+ GB "
        r"there, or set convect_workdir to a directory on a larger filesystem",
        stderr,
    ), stderr[-2000:]


def test_a_corrupted_bundle_file_on_the_provisioner_is_named_and_nothing_runs(lab, big_bundle):
    corrupted = lab.work / "corrupted-bundle"
    for source in big_bundle.rglob("*"):  # hard links: no second copy of the big file
        target = corrupted / source.relative_to(big_bundle)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)
    victim = corrupted / "files" / "jupyterhub-4.4.0.tgz"
    size = victim.stat().st_size
    victim.unlink()  # a new file: the original (hard-linked) stays intact
    victim.write_bytes(b"\0" * size)  # same size, other bytes: only the sha256 tells
    result = pyinfra(lab.inventory, "--json", "-y", "--data", f"bundle_dir={corrupted}", "deploy.py")
    stderr = refused(lab, result)
    assert (
        "the bundle is refused (1 problem), nothing was changed on any host:\n\n"
        f"    provisioner, bundle_dir={corrupted}\n"
        "        bundle_dir: files/jupyterhub-4.4.0.tgz (jupyterhub-chart) is corrupted: sha256 "
    ) in stderr, stderr[-2000:]
    assert f"        fix: delete it and run `python -m convecthub.bundle build {corrupted}`" in stderr


def test_jupyterhub_values_overriding_the_proxy_service_type_are_refused(lab):
    values = lab.work / "jupyterhub-loadbalancer.yaml"
    values.write_text("hub:\n  baseUrl: /\nproxy:\n  service:\n    type: LoadBalancer\n")
    override = {"jhub_config_path": str(values)}
    result = pyinfra(
        inventory(lab, "jhub-override", {"master": override, "worker1": override}), "--json", "-y", "deploy.py"
    )
    stderr = refused(lab, result)
    assert (
        "the JupyterHub values are refused (1 problem), nothing was changed on any host:\n\n"
        f"    jhub_config_path={values}\n"
        "        proxy.service.type: 'LoadBalancer' (the deploy needs 'ClusterIP')\n"
        "        fix: remove it from the file (the deploy serves JupyterHub through K3s's Traefik on "
        "http_port/https_port)"
    ) in stderr


def test_jupyterhub_values_the_charts_schema_refuses_are_refused_before_any_host_changes(lab):
    # `helm install` would refuse them on the cluster, after every host changed.
    values = lab.work / "jupyterhub-misspelt.yaml"
    values.write_text("hub:\n  baseurl: /jhub/\n")
    override = {"jhub_config_path": str(values)}
    result = pyinfra(
        inventory(lab, "jhub-schema", {"master": override, "worker1": override}), "--json", "-y", "deploy.py"
    )
    stderr = refused(lab, result)
    assert "        hub.baseurl: is not a value the chart knows" in stderr, stderr[-2000:]


# -- 2. an undisturbed deploy: the reference state, and no secret in sight --------


def secrets_of(lab) -> dict:
    state = json.loads((lab.state_dir / "state.json").read_text())
    sudo_password = next(n.sudo_password_file for n in lab.nodes if n.spec.name == "worker1").read_text()
    return {
        "convect_token": state["convect_token"],
        "registry_password": state["registry_password"],
        "sudo password of worker1": sudo_password,
    }


class CommandLineSampler:
    """`ps -eo args` on every node every 0.5 s while pyinfra runs, through
    Docker (the secrets are compared here, in Python, never put on a command line)."""

    def __init__(self, lab):
        self.names = [f"{lab.spec.name}-{node.spec.name}" for node in lab.nodes]
        self.samples: list = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._sample, args=(name,), daemon=True) for name in self.names]

    def _sample(self, name):
        client = docker.from_env(timeout=60)
        target = client.containers.get(name)
        while not self.stop.is_set():
            code, output = target.exec_run(["ps", "-eo", "args"])
            if code == 0:
                self.samples.append((name, output.decode(errors="replace")))
            self.stop.wait(0.5)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def world_readable_files_holding(lab, node, secrets: dict) -> str:
    """Names of world-readable files on the node holding any secret (grep
    reads the patterns from a root-only file, not from its command line)."""
    patterns = "/root/.faults-secrets"
    put_file(lab, node, "/root", ".faults-secrets", "".join(f"{value}\n" for value in secrets.values()), 0o600)
    try:
        return sh(
            lab,
            node,
            f"find / /run /dev/shm -xdev -type f -perm -o+r -size -8M 2>/dev/null "
            f"| grep -v -E '^/(proc|sys)/' | xargs -r grep -l -F -f {patterns} 2>/dev/null; true",
        )
    finally:
        sh(lab, node, f"rm -f {patterns}")


REGISTRY_SCRIPT = r"""
import json, netrc, re, ssl, urllib.request
# The node has no PyYAML (nor does a fresh Ubuntu server): `addr:` under `http:`.
address = re.search(r"^\s+addr:\s*(\S+)", open("/etc/docker/registry/config.yml").read(), re.M).group(1).strip(chr(34) + chr(39))
login, _, password = netrc.netrc("/etc/convecthub/registry-client/netrc").authenticators(address.split(":")[0])
context = ssl.create_default_context(cafile="/etc/convecthub/registry-client/ca.crt")
manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
manager.add_password(None, f"https://{address}/", login, password)
opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                     urllib.request.HTTPBasicAuthHandler(manager))
def get(path, accept=None):
    request = urllib.request.Request(f"https://{address}/v2/{path}", headers={"Accept": accept} if accept else {})
    with opener.open(request, timeout=10) as response:
        return response.headers, json.load(response)
out = {}
for repository in get("_catalog")[1]["repositories"]:
    for tag in get(f"{repository}/tags/list")[1]["tags"]:
        headers, _ = get(f"{repository}/manifests/{tag}", "application/vnd.docker.distribution.manifest.v2+json,"
                         "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json")
        out[f"{repository}:{tag}"] = headers["Docker-Content-Digest"]
print(json.dumps(out, sort_keys=True))
"""

FINGERPRINT_SCRIPT = r"""
workdir=@WORKDIR@
sum() { echo "file $1 $(stat -c '%a %U:%G' "$1") $(sha256sum < "$1" | cut -c1-16)"; }
for p in /etc/rancher/k3s/config.yaml /etc/rancher/k3s/registries.yaml /etc/rancher/k3s/convecthub-ca.crt \
         /etc/systemd/system/k3s.service /etc/systemd/system/k3s-agent.service /usr/local/bin/k3s \
         /etc/modules-load.d/convecthub-k3s.conf /etc/sysctl.d/90-convecthub-k3s.conf \
         /etc/docker/registry/config.yml /etc/docker/registry/htpasswd /etc/docker/registry/registry.crt \
         /etc/docker/registry/registry.key; do
  [ -e "$p" ] && sum "$p"
done
for l in /usr/local/bin/kubectl /usr/local/bin/crictl /usr/local/bin/ctr; do [ -L "$l" ] && echo "link $l $(readlink "$l")"; done
for d in /var/lib/rancher/k3s/agent/images /etc/convecthub "$workdir/bundle"; do
  [ -d "$d" ] && find "$d" -type f -not -path "$workdir/bundle/.verified/*" -not -path "$workdir/bundle/.incoming/*" \
    | sort | while read -r f; do sum "$f"; done
done
for m in /var/lib/rancher/k3s/server/manifests/convecthub-*; do [ -e "$m" ] && sum "$m"; done
[ -d "$workdir/bundle/.incoming" ] && find "$workdir/bundle/.incoming" -type f | sed 's/^/leftover /'
[ -d "$workdir/.staging" ] && find "$workdir/.staging" -mindepth 1 | sed 's/^/leftover /'
ls /etc/systemd/system /etc/systemd/system/*.wants /run/systemd/transient 2>/dev/null \
  | grep -E 'k3s|registry|convecthub' | sort | sed 's/^/unit-file /'
for u in k3s k3s-agent docker-registry convecthub-bundle-peer; do
  echo "unit $u $(systemctl is-active $u) $(systemctl is-enabled $u 2>/dev/null || echo -)"
done
echo "processes docker-registry=$(pgrep -c -x docker-registry) k3s=$(pgrep -c -f '^python3 /usr/local/bin/k3s')"
echo "listening $(ss -Htln | awk '$4 !~ /^127\.0\.0\.11:/ {n=split($4,a,":"); print a[n]}' | sort -un | tr '\n' ' ')"
if [ -d /var/lib/docker-registry/docker ]; then
  echo "registry-blobs $(find /var/lib/docker-registry -path '*/blobs/sha256/*/data' | sort | sha256sum | cut -c1-16)" \
       "$(find /var/lib/docker-registry -path '*/blobs/sha256/*/data' | wc -l)"
fi
"""


def fingerprint(lab) -> dict:
    """What the deploy decides on each node, in one comparable dict: our
    files (mode, owner, sha256), units, processes and listeners, and on the
    master the registry's manifests (by digest and blob list) and the K3s nodes."""
    result = {}
    for node in lab.nodes:
        name = node.spec.name
        result[name] = sh(lab, name, FINGERPRINT_SCRIPT.replace("@WORKDIR@", WORKDIR)).splitlines()
    result["registry"] = json.loads(sh(lab, "master", f"python3 - <<'EOF'\n{REGISTRY_SCRIPT}\nEOF"))
    nodes = json.loads(sh(lab, "master", "k3s kubectl get nodes -o json"))["items"]
    result["k3s-nodes"] = sorted(
        (item["metadata"]["name"], next(c["status"] for c in item["status"]["conditions"] if c["type"] == "Ready"))
        for item in nodes
    )
    return result


def assert_same_state(lab, reference):
    """The node state equals the reference deploy's; the differences are named
    (a line twice, e.g. a second unit file, is a difference)."""
    now = fingerprint(lab)
    differences = {}
    for key in reference:
        if isinstance(reference[key], list):
            was, is_now = Counter(map(str, reference[key])), Counter(map(str, now[key]))
            if was != is_now:
                differences[key] = {
                    "missing": sorted((was - is_now).elements()),
                    "extra": sorted((is_now - was).elements()),
                }
        elif now[key] != reference[key]:
            differences[key] = {"was": reference[key], "now": now[key]}
    assert not differences, json.dumps(differences, indent=1)


def test_undisturbed_deploy_shows_no_secret_in_output_command_lines_or_world_readable_files(lab):
    with CommandLineSampler(lab) as sampler:
        result = pyinfra(lab.inventory, "--json", "-y", "-vvv", "deploy.py")
    assert result.returncode == 0, result.stderr[-4000:]
    assert totals(result)["error"] == 0 and totals(result)["success"] > 0

    secrets = secrets_of(lab)
    assert all(len(value) >= 16 for value in secrets.values())
    output = result.stdout + result.stderr
    assert len(sampler.samples) > 20, "ps was not sampled during the run"
    for what, value in secrets.items():
        assert value not in output, f"the {what} is in pyinfra's -vvv output"
        seen = [
            (node, line.replace(value, f"<{what}>"))
            for node, sample in sampler.samples
            for line in sample.splitlines()
            if value in line
        ]
        assert not seen, f"the {what} was on a command line: {seen[:3]}"
    for node in ("master", "worker1"):
        found = world_readable_files_holding(lab, node, secrets)
        assert found.strip() == "", f"a secret is in a world-readable file on {node}: {found[:500]}"

    reference = fingerprint(lab)
    assert reference["k3s-nodes"] == [("master", "True"), ("worker1", "True")]
    assert len(reference["registry"]) == 5, reference["registry"]
    assert not any(line.startswith("leftover") for node in ("master", "worker1") for line in reference[node])
    RUNS["reference"] = reference


def test_a_second_run_changes_nothing_and_keeps_the_state(lab):
    # worker1's login shell records each command line sshd runs (for the next test).
    put_file(lab, "worker1", "/usr/local/bin", "faults-argv-shell", ARGV_SHELL, 0o755)
    sh(lab, "worker1", "usermod -s /usr/local/bin/faults-argv-shell vagrant")
    try:
        result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    finally:
        RUNS["argv"] = sh(
            lab,
            "worker1",
            "cat /home/vagrant/.faults-argv; rm -f /home/vagrant/.faults-argv; "
            "usermod -s /bin/bash vagrant; rm -f /usr/local/bin/faults-argv-shell",
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert_zero_changes(result)
    assert_same_state(lab, RUNS["reference"])


def test_the_sudo_password_is_on_no_remote_command_line(lab):
    # Every command line sshd ran for worker1 during the plain re-run: the
    # sampler above sees a command only if ps runs while it starts.
    assert RUNS["argv"].count("\n") > 20, "the login shell recorded no commands"
    password = secrets_of(lab)["sudo password of worker1"]
    lines = [line.replace(password, "<sudo password>") for line in RUNS["argv"].splitlines() if password in line]
    assert not lines, f"{len(lines)} command lines, e.g. {lines[0][:160]}"
    assert "SUDO_ASKPASS=/tmp/convecthub-sudo-askpass-" in RUNS["argv"], "sudo did not use our askpass script"
    # pyinfra removed the script when it disconnected.
    assert sh(lab, "worker1", "ls /tmp").count("convecthub-sudo-askpass-") == 0


# -- 3. faults during and between runs ---------------------------------------------


def main_pid(lab, node, unit) -> int:
    return int(sh(lab, node, f"systemctl show -p MainPID --value {unit}").strip() or 0)


def test_the_first_drivers_k3s_stopped_between_runs_is_restarted_and_the_registry_killed_during_the_run_too(lab):
    sh(lab, "master", "systemctl stop k3s")
    registry_before = main_pid(lab, "master", "docker-registry")
    run = Background(lab, "k3s-stopped", "--json", "-y", "deploy.py")
    # The registry's steps come before K3s's: once K3s is back, kill the registry.
    run.wait_until(lambda: main_pid(lab, "master", "k3s") != 0, "K3s restarted by the deploy")
    sh(lab, "master", "systemctl kill -s KILL docker-registry")
    code = run.finish(timeout=300)
    assert code == 0, run.stderr[-3000:]
    assert changed_operations(run.stdout)["K3s server | Start the first K3s server"] == ["master"]
    assert sh(lab, "master", "systemctl is-active k3s").strip() == "active"
    # systemd restarted the registry (Restart=on-failure) before the run verified it.
    assert sh(lab, "master", "systemctl is-active docker-registry").strip() == "active"
    assert main_pid(lab, "master", "docker-registry") not in (0, registry_before)
    assert "Starting operation: Verify the cluster | The private registry answers" in run.stderr
    assert "ConvectHub is up" in run.stderr


def test_a_run_during_which_the_registry_was_stopped_fails_naming_it(lab):
    sh(lab, "master", "systemctl stop k3s")
    run = Background(lab, "registry-stopped", "--json", "-y", "deploy.py")
    run.wait_until(lambda: main_pid(lab, "master", "k3s") != 0, "K3s restarted by the deploy")
    # Stopped, not killed: systemd does not restart it.
    sh(lab, "master", "systemctl stop docker-registry")
    code = run.finish(timeout=300)
    assert code == 1, run.stderr[-3000:]
    assert "ConvectHub is up" not in run.stderr
    assert re.search(
        r"\[master\] .*the registry https://10\.213\.90\.\d+:\d+/v2/ does not answer\. Fix: look at "
        r"`systemctl status docker-registry` and `journalctl -u docker-registry` on master",
        run.stderr,
    ), run.stderr[-3000:]


def test_the_registry_down_between_runs_is_restarted_with_its_data_and_the_state_converges(lab):
    assert sh(lab, "master", "systemctl is-active docker-registry", check=False).strip() != "active"
    result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    assert result.returncode == 0, result.stderr[-3000:]
    changed = changed_operations(result.stdout)
    assert changed["Private image registry | Registry running"] == ["master"]
    assert "Private image registry | Registry seeded with the bundle's images" not in changed, "images pushed again"
    assert_same_state(lab, RUNS["reference"])
    again = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    assert_zero_changes(again)


def test_the_first_drivers_k3s_killed_while_an_agent_joins_the_run_still_succeeds(lab):
    sh(lab, "worker1", "systemctl stop k3s-agent")
    before = main_pid(lab, "master", "k3s")
    run = Background(lab, "k3s-killed", "--json", "-y", "deploy.py")
    run.wait_until(lambda: "The first driver's API is reachable from this agent" in run.stderr, "the agent's join step")
    sh(lab, "master", "systemctl kill -s KILL k3s")
    code = run.finish(timeout=300)
    assert code == 0, run.stderr[-3000:]
    assert changed_operations(run.stdout)["K3s agent | Start the K3s agent"] == ["worker1"]
    after = main_pid(lab, "master", "k3s")
    assert after not in (0, before), "K3s was not restarted (Restart=always)"
    assert_same_state(lab, RUNS["reference"])


def test_reset_keeping_the_registry_data_then_sigint_during_the_bundle_upload_leaves_nothing_half_placed(lab):
    reset = pyinfra(lab.inventory, "--json", "-y", "--data", "keep_registry_data=true", "reset.py")
    assert reset.returncode == 0 and totals(reset)["error"] == 0, reset.stderr[-3000:]

    run = Background(lab, "sigint", "-y", "deploy.py")
    incoming = f"{WORKDIR}/bundle/.incoming/{BIG_PATH}"
    sizes = []

    def flowing():
        output = sh(lab, "master", f"stat -c %s {incoming} 2>/dev/null || true").strip()
        sizes.append(int(output) if output else 0)
        return len(sizes) > 1 and 0 < sizes[-2] < sizes[-1] < BIG_SIZE // 2

    run.wait_until(flowing, "bytes of the big bundle file arriving on master", timeout=120)
    run.signal(signal.SIGINT)
    code = run.finish(timeout=20)
    RUNS["sigint"] = {"code": code, "stdout": run.stdout, "stderr": run.stderr}
    # Nothing half-placed: the partial file is only in the login user's incoming area.
    assert sh(lab, "master", f"test -e {WORKDIR}/bundle/{BIG_PATH} && echo placed || echo absent").strip() == "absent"
    assert 0 < int(sh(lab, "master", f"stat -c %s {incoming}")) < BIG_SIZE
    assert (
        sh(lab, "master", "systemctl is-active convecthub-bundle-peer k3s k3s-agent", check=False).split()
        == ["inactive"] * 3
    )
    assert code == 130, run.stderr[-3000:]
    assert "--> Interrupted (Ctrl-C): the run stopped here. Run the same command again to finish it." in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_sigint_stops_the_run_at_once_with_a_failure_status(lab):
    run = Background(lab, "sigint-local", "-y", "tests/e2e/deploys/faults_long_command.py", inventory_path="@local")
    run.wait_until(
        lambda: "Starting operation: A remote command that takes 10 seconds" in run.stderr,
        "the long command",
        timeout=60,
    )
    time.sleep(1)
    interrupted = time.monotonic()
    run.signal(signal.SIGINT)
    code = run.finish(timeout=30)
    assert time.monotonic() - interrupted < 5, "the operation ran to its end after Ctrl-C"
    assert code == 130, f"exit status {code} after Ctrl-C"


def test_a_worker_stopped_halfway_through_its_steps_fails_that_run(lab):
    """The run after the interrupted one; worker1 is stopped once its bundle
    files are in place (before its base system, K3s files and agent) and
    started again at once."""
    run = Background(lab, "worker-stopped", "--json", "-y", "deploy.py")
    stamp = f"{WORKDIR}/bundle/.verified/{BIG_PATH}"
    run.wait_until(
        lambda: sh(lab, "worker1", f"test -e {stamp} && echo yes || true").strip() == "yes",
        "worker1's bundle files",
        timeout=300,
    )
    container(lab, "worker1").stop(timeout=20)
    container(lab, "worker1").start()
    wait_for_ssh(lab, "worker1")
    assert sh(lab, "worker1", "test -e /etc/rancher/k3s/config.yaml && echo yes || echo no").strip() == "no", (
        "worker1 was not stopped halfway: its K3s files are there"
    )
    # Either pyinfra goes on without worker1 (then the first driver's
    # verification waits for it), or pyinfra itself dies of worker1's EOF.
    marker = "Starting operation: Verify the cluster | Every node is Ready"
    deadline = time.monotonic() + 300
    while marker not in run.stderr and run.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    reached = time.monotonic()
    code = run.finish(timeout=25)
    RUNS["worker-stopped"] = {"code": code, "waited": time.monotonic() - reached, "stderr": run.stderr}
    if code is None:
        # pyinfra was killed; its wait loop on master would poll for 600 s more.
        sh(lab, "master", "for pid in $(pgrep -f '^timeout 600 sh -c until'); do kill $pid; done; true")
    assert code != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("    [worker1]") and "rror" in line]
    internal = "--> An internal exception occurred:" in run.stderr
    assert errors or internal, run.stderr[-3000:]


def test_a_run_with_a_failed_worker_ends_promptly_naming_it_without_a_traceback(lab):
    run = RUNS["worker-stopped"]
    assert run["code"] is not None, f"still waiting for worker1 {run['waited']:.0f}s after it failed"
    assert "An internal exception occurred" not in run["stderr"] and "Traceback" not in run["stderr"]
    if "Verify the cluster | Every node is Ready" in run["stderr"]:
        # pyinfra went on without worker1: the first driver did not wait for it, nor claim a whole cluster.
        assert "[master]  not waiting for worker1: failed earlier in this run" in run["stderr"]
        assert "ConvectHub is up: " not in run["stderr"]
        assert "ConvectHub is up without worker1 (failed above; fix, then run the deploy again): " in run["stderr"]


def test_after_sigint_and_a_stopped_worker_a_re_run_converges_with_the_registry_data_kept(lab):
    result = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    assert result.returncode == 0, result.stderr[-3000:]
    assert totals(result)["error"] == 0
    # Same files, units, one registry with the same manifests and blobs, both nodes Ready.
    assert_same_state(lab, RUNS["reference"])
    again = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    assert_zero_changes(again)


SMALL_DISK = "/mnt/faults-disk"
SMALL_WORKDIR = {"master": {"convect_workdir": f"{SMALL_DISK}/convecthub", "preflight_min_disk_gb": 0}}


def deploy_on_a_small_disk(lab, name, setup):
    """The deploy of the 10 MB stand-in bundle with master's convect_workdir on
    a 12 MB tmpfs, after `setup` (shell on master) has run."""
    mount = f"mkdir -p {SMALL_DISK} && mount -t tmpfs -o size=12m faults-disk {SMALL_DISK}"
    sh(lab, "master", f"{mount} && {{\n{setup}\n}}")  # a group: `setup` may end in `&`
    try:
        return pyinfra(
            inventory(lab, name, SMALL_WORKDIR), "--json", "-y", "--data", f"bundle_dir={lab.small_bundle}", "deploy.py"
        )
    finally:
        sh(lab, "master", f"pkill -f 'until [[] -d {SMALL_DISK}' ; umount {SMALL_DISK} && rmdir {SMALL_DISK}")


def test_an_older_releases_files_in_the_bundle_directory_count_as_used_space(lab):
    """7 MB of an older release's file in bundle/: 5 MB free is too little."""
    result = deploy_on_a_small_disk(
        lab,
        "older-release",
        (
            f"mkdir -p {SMALL_DISK}/convecthub/bundle && "
            f"head -c 7000000 /dev/zero > {SMALL_DISK}/convecthub/bundle/older-release.tar"
        ),
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Starting operation" not in result.stderr
    assert re.search(
        r"\n    master\n        convect_workdir: /mnt/faults-disk/convecthub is on /mnt/faults-disk "
        r"\(tmpfs\), in memory and emptied at every reboot, with 5\.\d MB free; it needs "
        r"preflight_min_disk_gb=0 plus \d+\.\d MB of bundle files still to arrive\n",
        result.stderr,
    ), result.stderr[-3000:]


def test_a_disk_filling_up_during_the_upload_stops_the_run_and_a_normal_run_changes_nothing(lab):
    """An empty disk: the preflight lets the bundle in; a watcher on master
    writes 7 MB there as soon as the run's first step has made its staging
    directory."""
    result = deploy_on_a_small_disk(
        lab,
        "disk-fills",
        (
            f"setsid sh -c 'until [ -d {SMALL_DISK}/convecthub/.staging ]; do sleep 0.01; done; "
            f"head -c 7000000 /dev/zero > {SMALL_DISK}/filler' >/dev/null 2>&1 &"
        ),
    )
    RUNS["disk-fills"] = result.stderr
    assert result.returncode == 1, result.stderr[-3000:]
    assert "size mismatch in put!" not in result.stderr, "the upload began without room for the file"
    # worker1 fetches from master, which failed: it fails too, naming master.
    assert "--> pyinfra error: No hosts remaining!" in result.stderr
    # The real workdir was not touched: a normal run changes nothing.
    again = pyinfra(lab.inventory, "--json", "-y", "deploy.py")
    assert_zero_changes(again)
    assert_same_state(lab, RUNS["reference"])


def test_a_disk_filling_up_during_the_upload_is_named(lab):
    run_output = RUNS["disk-fills"].split("--> Beginning operation run...", 1)[1]
    master = [line for line in run_output.splitlines() if "[master]" in line]
    assert any(
        re.search(
            r"no room for bundle file \S+ \([\d.]+ MB\) in /mnt/faults-disk/convecthub/bundle: "
            r"\d+ MB free there\. Fix: free space on that filesystem or set convect_workdir",
            line,
        )
        for line in master
    ), "\n".join(master)
    worker1 = [line for line in run_output.splitlines() if "[worker1]" in line]
    assert any(
        "master failed earlier in this run (its error is above), so it cannot serve the bundle files" in line
        for line in worker1
    ), "\n".join(worker1)
    assert "is the peer node up" not in run_output
