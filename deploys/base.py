"""What every K3s node needs from the OS: kernel modules and parameters
(persisted across reboots) and a few packages from the node's APT sources."""

from pyinfra.api import deploy

from convecthub import footprint as fp
from operations import files, system

K3S_MODULES = ("overlay", "br_netfilter")
K3S_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
BASE_PACKAGES = ["ca-certificates", "curl", "iptables"]


@deploy("Base system for K3s")
def base_system(staging_dir: str):
    files.content(
        name="Kernel modules K3s needs, loaded at boot",
        dest=fp.MODULES_LOAD_FILE,
        text="".join(f"{module}\n" for module in K3S_MODULES),
        staging_dir=staging_dir,
    )
    system.modules_loaded(name="Kernel modules K3s needs, loaded now", names=list(K3S_MODULES))
    files.content(
        name="Kernel parameters K3s needs, set at boot",
        dest=fp.SYSCTL_FILE,
        text="".join(f"{key} = {value}\n" for key, value in K3S_SYSCTLS.items()),
        staging_dir=staging_dir,
    )
    system.sysctls_applied(name="Kernel parameters K3s needs, set now", values=K3S_SYSCTLS)
    system.packages_installed(name="Base packages", packages=BASE_PACKAGES)
