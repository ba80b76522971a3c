"""Operations on kernel settings and Debian packages, and a read-only check."""

import shlex

from pyinfra import host
from pyinfra.api import StringCommand, operation
from pyinfra.facts.deb import DebPackages

from facts.kernel import LoadedKernelModules, SysctlValues
from operations.failure import failure


@operation(is_idempotent=True)
def modules_loaded(names: list):
    """
    Load the kernel modules that are not loaded yet.

    + names: module names (persist them in /etc/modules-load.d/ separately)
    """
    loaded: list[str] = host.get_fact(LoadedKernelModules, names=list(names))
    missing = [name for name in names if name not in loaded]
    if not missing:
        host.noop(f"kernel modules loaded: {', '.join(names)}")
        return
    for name in missing:
        yield StringCommand("modprobe", shlex.quote(name))


@operation(is_idempotent=True)
def sysctls_applied(values: dict):
    """
    Set the kernel parameters whose running value differs.

    + values: ``{key: value}`` (persist them in /etc/sysctl.d/ separately)

    Only differing keys are written: inside containers /proc/sys is read-only,
    and there the values the cluster needs are already set by the engine.
    """
    current = host.get_fact(SysctlValues, keys=list(values))
    differing = {key: value for key, value in values.items() if current.get(key) != str(value)}
    if not differing:
        host.noop("kernel parameters already set")
        return
    for key, value in differing.items():
        yield StringCommand("sysctl", "-w", shlex.quote(f"{key}={value}"))


@operation(is_idempotent=True)
def packages_installed(packages: list):
    """
    Install Debian packages that are missing, through the node's own APT
    sources (the site's mirror). Refreshes the package lists only when
    something is to be installed, so a re-run touches nothing.

    + packages: package names
    """
    installed = host.get_fact(DebPackages)
    missing = [name for name in packages if name not in installed]
    if not missing:
        host.noop(f"packages installed: {', '.join(packages)}")
        return
    yield "apt-get update -qq"
    yield StringCommand(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends",
        *(shlex.quote(name) for name in missing),
    )


@operation(is_idempotent=False, idempotent_notice="checks each time it runs (changes nothing): guard it with _if")
def prints_nothing(check: str, what: str, fix: str):
    """
    Fail when a read-only shell check prints anything, showing what it printed.

    + check: a shell command that prints one line per thing found
    + what: what failed when it prints something
    + fix: what to do then

    .. code:: python

        system.prints_nothing(check="ls /etc/rancher 2>/dev/null", what="/etc/rancher is not empty", fix="...")
    """
    yield StringCommand(
        f'found=$({check}); [ -z "$found" ] || {{ printf "%s\\n" "$found" >&2; {failure(what, fix)}; }}'
    )
