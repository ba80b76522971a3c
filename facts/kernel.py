"""Read-only facts about the running kernel."""

import shlex

from pyinfra.api import FactBase

# What a module does shows even where it is built into the kernel (no
# /sys/module entry): overlay registers a filesystem, br_netfilter the
# net.bridge sysctls.
MODULE_EVIDENCE = {
    "overlay": "grep -qw overlay /proc/filesystems",
    "br_netfilter": "[ -d /proc/sys/net/bridge ]",
}


class LoadedKernelModules(FactBase[list[str]]):
    """
    Which of the given kernel modules are loaded or built in:
    ``["overlay", "br_netfilter"]``.
    """

    default = list

    def command(self, names: list) -> str:
        checks = []
        for name in names:
            quoted = shlex.quote(name)
            evidence = MODULE_EVIDENCE.get(name, "false")
            checks.append(f"{{ [ -d /sys/module/{quoted} ] || {evidence}; }} && echo {quoted};")
        return " ".join(checks) + " true"

    def process(self, output):
        return [line.strip() for line in output if line.strip()]


class SysctlValues(FactBase[dict[str, str]]):
    """
    The current values of the given sysctl keys: ``{"net.ipv4.ip_forward": "1"}``;
    a key the kernel does not have is absent.
    """

    default = dict

    def command(self, keys: list) -> str:
        return (
            " ".join(
                f"printf '%s=%s\\n' {shlex.quote(key)} \"$(sysctl -n {shlex.quote(key)} 2>/dev/null)\";" for key in keys
            )
            + " true"
        )

    def process(self, output):
        values = {}
        for line in output:
            key, _, value = line.partition("=")
            if value:
                values[key] = value.strip()
        return values
