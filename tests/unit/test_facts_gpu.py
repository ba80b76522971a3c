"""facts/gpu.py: NVIDIA GPUs from PCI sysfs, on outputs and on a stand-in
directory laid out like the lab's worker2 (tests/lab/lab.py)."""

import subprocess

from facts.gpu import NvidiaGpus

# The lab's stand-in for worker2: a 3D controller, its HDMI audio function,
# and a virtio NIC.
LAB_WORKER2 = {
    "0000:01:00.0": {"vendor": "0x10de", "device": "0x20b0", "class": "0x030200"},
    "0000:01:00.1": {"vendor": "0x10de", "device": "0x1aef", "class": "0x040300"},
    "0000:00:02.0": {"vendor": "0x1af4", "device": "0x1041", "class": "0x020000"},
}


def test_only_nvidia_display_functions_count():
    output = [
        "0000:00:00.0 0x8086 0x1237 0x060000",
        "0000:00:02.0 0x1af4 0x1041 0x020000",
        "0000:01:00.0 0x10de 0x20b0 0x030200",  # A100: 3D controller
        "0000:01:00.1 0x10de 0x1aef 0x040300",  # its HDMI audio
        "0000:02:00.0 0x10DE 0x1EB8 0x030000",  # T4 as a VGA controller, upper case
        "0000:02:00.2 0x10de 0x1ad8 0x0c0330",  # Turing USB-C controller
        "0000:03:00.0 0x1002 0x73bf 0x030000",  # AMD VGA
    ]
    assert NvidiaGpus().process(output) == [
        {"address": "0000:01:00.0", "device": "0x20b0", "class": "0x030200"},
        {"address": "0000:02:00.0", "device": "0x1eb8", "class": "0x030000"},
    ]


def test_no_nvidia_device_is_an_empty_list():
    assert NvidiaGpus().process(["0000:00:02.0 0x1af4 0x1041 0x020000"]) == []
    assert NvidiaGpus().default() == []


def test_command_reads_a_stand_in_pci_directory(tmp_path):
    for address, attributes in LAB_WORKER2.items():
        (tmp_path / address).mkdir()
        for name, value in attributes.items():
            (tmp_path / address / name).write_text(value + "\n")
    command = NvidiaGpus().command().replace("/sys/bus/pci/devices", str(tmp_path))
    assert command != NvidiaGpus().command()
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    assert NvidiaGpus().process(result.stdout.splitlines()) == [
        {"address": "0000:01:00.0", "device": "0x20b0", "class": "0x030200"}
    ]


def test_command_on_an_empty_directory_prints_nothing_and_succeeds(tmp_path):
    command = NvidiaGpus().command().replace("/sys/bus/pci/devices", str(tmp_path))
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "")
