"""Read-only facts about a node's GPUs, found without any driver installed."""

from pyinfra.api import FactBase

NVIDIA_VENDOR = "0x10de"
# PCI base class 0x03 is "display controller": 0x0300 VGA, 0x0302 3D (the
# data-centre cards). NVIDIA's HDMI audio (0x0403) and USB-C (0x0c03)
# functions on the same card are not GPUs.
DISPLAY_CLASS_PREFIX = "0x03"


class NvidiaGpus(FactBase[list[dict[str, str]]]):
    """
    NVIDIA GPUs on the PCI bus, read from ``/sys/bus/pci/devices/*/`` (works
    before the driver is installed, and on a stand-in directory mounted there):

    .. code:: python

        [{"address": "0000:01:00.0", "device": "0x20b0", "class": "0x030200"}]

    ``[]`` when there is none.
    """

    # One line per PCI device: "<address> <vendor> <device> <class>".
    def command(self) -> str:
        return (
            "for d in /sys/bus/pci/devices/*; do "
            '[ -r "$d/vendor" ] || continue; '
            'echo "${d##*/} $(cat "$d/vendor") $(cat "$d/device" 2>/dev/null || echo unknown) $(cat "$d/class")"; '
            "done; true"
        )

    default = list

    def process(self, output):
        gpus = []
        for line in output:
            fields = line.split()
            if len(fields) != 4:
                continue
            address, vendor, device, pci_class = (field.lower() for field in fields)
            if vendor == NVIDIA_VENDOR and pci_class.startswith(DISPLAY_CLASS_PREFIX):
                gpus.append({"address": address, "device": device, "class": pci_class})
        return sorted(gpus, key=lambda gpu: gpu["address"])
