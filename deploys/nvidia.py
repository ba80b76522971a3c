"""NVIDIA on `has_gpu` hosts: the driver (when `install_nvidia_driver`) and
nvidia-container-toolkit from the node's APT sources, before K3s starts: the
K3s agent looks for nvidia-container-runtime on PATH when it starts and then
offers the `nvidia` runtime class."""

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.facts.files import File
from pyinfra.operations import server

from convecthub import footprint as fp
from convecthub.problems import Problem, Refused
from facts.gpu import NvidiaGpus
from operations import system

TOOLKIT_PACKAGES = ["nvidia-container-toolkit"]


def driver_packages(version: str) -> list:
    """Ubuntu's headless server driver and its utilities (nvidia-smi)."""
    return [f"nvidia-headless-{version}-server", f"nvidia-utils-{version}-server"]


@deploy("NVIDIA driver and container toolkit")
def nvidia(has_gpu: bool, install_driver: bool, driver_version: str, reboot: bool):
    if not has_gpu:
        # No round trip: the preflight has warned about GPUs on such a host.
        return
    gpus = host.get_fact(NvidiaGpus)
    if not gpus:
        no_gpu = Problem(
            host.name,
            "has_gpu",
            "is true but no NVIDIA GPU is on its PCI bus "
            "(no device with vendor 0x10de and a display class under /sys/bus/pci/devices)",
            "set has_gpu=false for this host, or check the card is seated and passed through",
        )
        raise Refused([no_gpu])
    packages = (driver_packages(driver_version) if install_driver else []) + TOOLKIT_PACKAGES
    installed = system.packages_installed(name="NVIDIA packages", packages=packages)
    # Ubuntu's driver packages ask for a reboot this way; the driver is not
    # loaded before it.
    if host.get_fact(File, path=fp.REBOOT_REQUIRED_FILE) or installed.will_change:
        if reboot:
            server.reboot(name="Reboot to load the NVIDIA driver", delay=10, reboot_timeout=600)
        else:
            logger.warning(
                f"{host.name}: the NVIDIA driver needs a reboot before GPUs can be used: reboot it, "
                "or set nvidia_reboot=true to let the deploy do it"
            )
