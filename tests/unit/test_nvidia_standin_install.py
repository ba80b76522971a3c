"""The NVIDIA stand-ins installed: through apt from the repository, with dpkg into
a throwaway root, and their scripts run against a fake sysfs and boot_id through
the test-only NVIDIA_STANDIN_* variables. No Docker, no network."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.standins.nvidia import apt_source_line, build_nvidia_standin_repo

DRIVER = "nvidia-headless-550-server"
ALL_PACKAGES = [DRIVER, "nvidia-utils-550-server", "nvidia-container-toolkit"]
NO_DRIVER = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return build_nvidia_standin_repo(tmp_path_factory.mktemp("nvidia-repo"))


class Node:
    """A throwaway dpkg root with a fake boot_id and PCI device directory."""

    def __init__(self, root):
        self.root = root
        self.boot_id = root / "proc/sys/kernel/random/boot_id"
        self.pci = root / "sys/bus/pci/devices"
        for directory in (root / "var/lib/dpkg/updates", root / "var/lib/dpkg/info", self.boot_id.parent, self.pci):
            directory.mkdir(parents=True)
        (root / "var/lib/dpkg/status").touch()
        self.boot_id.write_text("boot-1\n")

    def env(self, **extra):
        return {
            **os.environ,
            "NVIDIA_STANDIN_BOOT_ID_FILE": str(self.boot_id),
            "NVIDIA_STANDIN_STATE_DIR": str(self.root / "var/lib/nvidia-standin"),
            "NVIDIA_STANDIN_RUN_DIR": str(self.root / "run/nvidia-standin"),
            "NVIDIA_STANDIN_PCI_DEVICES": str(self.pci),
            **extra,
        }

    def dpkg(self, *args):
        # Chrootless: the maintainer scripts run here with DPKG_ROOT set.
        return subprocess.run(
            ["dpkg", f"--root={self.root}", "--force-script-chrootless", "--force-not-root", "--log=/dev/null", *args],
            check=True,
            capture_output=True,
            text=True,
            env=self.env(),
        )

    def reboot(self, new_boot_id=True, empty_run=True):
        """A machine gets both; a container keeps its host's boot_id, gets a fresh /run."""
        if new_boot_id:
            self.boot_id.write_text("boot-2\n")
        if empty_run:
            shutil.rmtree(self.root / "run", ignore_errors=True)

    def add_pci_function(self, address, vendor, pci_class):
        device = self.pci / address
        device.mkdir()
        (device / "vendor").write_text(vendor + "\n")
        (device / "class").write_text(pci_class + "\n")

    def run(self, program, *args, **env):
        return subprocess.run(
            ["/bin/sh", str(self.root / "usr/bin" / program), *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
        )


@pytest.fixture
def node(tmp_path, repo):
    installed = Node(tmp_path / "root")
    installed.dpkg("--install", *map(str, sorted(repo.glob("*.deb"))))
    return installed


def test_driver_install_records_the_boot_and_asks_for_a_reboot_like_ubuntu(node):
    assert (node.root / "var/lib/nvidia-standin/installed-boot-id").read_text() == "boot-1\n"
    assert (node.root / "run/nvidia-standin/installed-this-boot").is_file()
    assert (node.root / "var/run/reboot-required").is_file()
    assert (node.root / "var/run/reboot-required.pkgs").read_text() == f"{DRIVER}\n"


def test_configuring_the_driver_again_lists_it_once(node):
    postinst = node.root / f"var/lib/dpkg/info/{DRIVER}.postinst"
    subprocess.run(["/bin/sh", str(postinst), "configure"], check=True, env=node.env(DPKG_ROOT=str(node.root)))

    assert (node.root / "var/run/reboot-required.pkgs").read_text() == f"{DRIVER}\n"


def test_nvidia_smi_fails_until_the_node_reboots(node):
    node.add_pci_function("0000:00:1e.0", "0x10de", "0x030200")

    run = node.run("nvidia-smi", "-L")

    assert run.returncode == 9 and NO_DRIVER in run.stdout


def test_nvidia_smi_fails_without_the_driver_package(tmp_path, repo):
    bare = Node(tmp_path / "root")
    bare.dpkg("--install", str(next(repo.glob("nvidia-utils-550-server_*.deb"))))
    bare.add_pci_function("0000:00:1e.0", "0x10de", "0x030200")
    bare.reboot()

    run = bare.run("nvidia-smi", "-L")

    assert run.returncode == 9 and NO_DRIVER in run.stdout


@pytest.mark.parametrize(
    "new_boot_id, empty_run", [(True, False), (False, True)], ids=["new boot_id", "emptied /run as in a container"]
)
def test_either_sign_of_a_reboot_loads_the_driver(node, new_boot_id, empty_run):
    node.add_pci_function("0000:01:00.0", "0x10de", "0x030200")
    node.reboot(new_boot_id=new_boot_id, empty_run=empty_run)

    run = node.run("nvidia-smi", "-L")

    assert (run.returncode, run.stdout) == (0, "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-standin-0000-01-00-0)\n")


def test_after_a_reboot_nvidia_smi_lists_each_nvidia_display_function(node):
    node.add_pci_function("0000:00:1e.0", "0x10de", "0x030200")  # 3D controller
    node.add_pci_function("0000:00:1f.0", "0x10de", "0x030000")  # VGA
    node.add_pci_function("0000:00:1e.1", "0x10de", "0x040300")  # its HDMI audio: not a GPU
    node.add_pci_function("0000:00:02.0", "0x8086", "0x030000")  # another vendor's VGA
    node.reboot()

    run = node.run("nvidia-smi", "-L")

    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines() == [
        "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-standin-0000-00-1e-0)",
        "GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-standin-0000-00-1f-0)",
    ]


def test_after_a_reboot_without_an_nvidia_gpu_no_devices_are_found(node):
    node.add_pci_function("0000:00:1e.1", "0x10de", "0x040300")
    node.add_pci_function("0000:00:02.0", "0x8086", "0x030000")
    node.reboot()

    run = node.run("nvidia-smi", "-L")

    assert run.returncode == 6 and run.stdout.strip() == "No devices were found"


def test_nvidia_smi_refuses_what_it_does_not_implement(node):
    node.add_pci_function("0000:00:1e.0", "0x10de", "0x030200")
    node.reboot()

    run = node.run("nvidia-smi", "--query-gpu=name", "--format=csv")

    assert run.returncode == 2 and "STAND-IN" in run.stderr


def test_removing_the_driver_makes_nvidia_smi_fail_again(node):
    node.add_pci_function("0000:00:1e.0", "0x10de", "0x030200")
    node.reboot()

    node.dpkg("--remove", DRIVER)

    assert NO_DRIVER in node.run("nvidia-smi", "-L").stdout
    assert not (node.root / "var/lib/nvidia-standin").exists()


@pytest.mark.parametrize("program", ["nvidia-container-runtime", "nvidia-container-runtime.cdi"])
def test_the_container_runtime_hands_over_to_runc(node, tmp_path, program):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "runc").write_text('#!/bin/sh\necho "runc $*"\n')
    (bin_dir / "runc").chmod(0o755)

    run = node.run(program, "--root", "/run/runc", "create", "c1", PATH=f"{bin_dir}:/bin:/usr/bin")

    assert (run.returncode, run.stdout) == (0, "runc --root /run/runc create c1\n")


@pytest.mark.parametrize("program", ["nvidia-container-runtime", "nvidia-container-runtime.cdi"])
def test_the_container_runtime_without_runc_fails_saying_so(node, tmp_path, program):
    run = node.run(program, "create", "c1", PATH=str(tmp_path))  # an empty directory: no runc

    assert run.returncode == 1
    assert run.stderr == f"{program} (STAND-IN, not NVIDIA software): runc not found on PATH\n"


def test_nvidia_ctk_answers_its_version_and_nothing_else(node):
    version = node.run("nvidia-ctk", "--version")
    configure = node.run("nvidia-ctk", "runtime", "configure", "--runtime=containerd")

    assert (version.returncode, version.stdout) == (0, "nvidia-ctk version 1.17.8 (STAND-IN, not NVIDIA software)\n")
    assert configure.returncode == 1 and "not implemented" in configure.stderr


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_apt_installs_from_the_repository_served_over_http(repo, tmp_path):
    with _serve(repo) as port:
        apt = _apt(tmp_path, apt_source_line("127.0.0.1", port))
        apt("update")
        simulation = apt("install", "--simulate", *ALL_PACKAGES)
        apt("install", "--download-only", "--yes", *ALL_PACKAGES)  # checks each .deb's hash

    installs = sorted(line.split()[1] for line in simulation.splitlines() if line.startswith("Inst "))
    assert installs == sorted(ALL_PACKAGES + ["nvidia-container-toolkit-base"])
    downloaded = sorted(p.name for p in (tmp_path / "cache/archives").glob("*.deb"))
    assert downloaded == sorted(p.name for p in repo.glob("*.deb"))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _serve:
    """Serve a directory on 127.0.0.1 for the length of a with block."""

    def __init__(self, directory):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self._server.server_address[1]

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def _apt(state, source_line):
    """apt-get confined to `state`: its own sources, lists, cache and empty dpkg status."""
    for directory in ("etc/sources.list.d", "etc/preferences.d", "lists/partial", "cache/archives/partial"):
        (state / directory).mkdir(parents=True)
    (state / "etc/sources.list").write_text(source_line + "\n")
    (state / "status").touch()
    options = [
        f"-oDir::Etc={state}/etc",
        f"-oDir::State::Lists={state}/lists",
        f"-oDir::Cache={state}/cache",
        f"-oDir::State::status={state}/status",
        "-oDebug::NoLocking=1",
        "-oAPT::Sandbox::User=root",
        "-oAcquire::Languages=none",
    ]

    def apt(*args):
        run = subprocess.run(["apt-get", *options, *args], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
        return run.stdout

    return apt
