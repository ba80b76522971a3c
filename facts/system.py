"""Read-only facts about a node's system, for the preflight and the steps after it.

pyinfra keeps no fact cache: every ``host.get_fact`` is a round trip. Each fact
here gathers all it needs in one shell command, and every command exits 0 on a
healthy host, so that a failure means the command could not run at all (e.g.
sudo refused it).
"""

import re
import shlex
from typing import Any

from pyinfra.api import FactBase
from pyinfra.api.exceptions import FactProcessError

from convecthub import footprint as fp


class SudoWorks(FactBase[int]):
    """
    The uid the deploy's commands run as: ``0`` when sudo works (config.SUDO),
    ``None`` when the command could not run. Ask for it with
    ``_ignore_errors=True`` to get ``None`` instead of a failed host.
    """

    def command(self) -> str:
        return "id -u"

    def process(self, output):
        try:
            return int(output[-1].strip())
        except ValueError:
            raise FactProcessError(f"id -u printed {output[-1]!r}") from None


class OsRelease(FactBase[dict[str, str]]):
    """
    The fields of ``/etc/os-release`` (``/usr/lib/os-release`` when the first is
    missing), values unquoted:

    .. code:: python

        {"ID": "ubuntu", "VERSION_ID": "22.04", "PRETTY_NAME": "Ubuntu 22.04.4 LTS", ...}

    ``{}`` when neither file exists.
    """

    def command(self) -> str:
        return f"cat {fp.OS_RELEASE_FILES[0]} 2>/dev/null || cat {fp.OS_RELEASE_FILES[1]} 2>/dev/null || true"

    default = dict

    def process(self, output):
        fields = {}
        for line in output:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            try:
                # Values are shell-quoted (os-release(5)): "..." or '...'.
                words = shlex.split(value)
            except ValueError:
                words = [value]
            fields[key.strip()] = " ".join(words)
        return fields


class Resources(FactBase[dict[str, Any]]):
    """
    CPUs, memory, and the filesystem that holds ``path`` (or its nearest
    existing parent, when ``path`` is not created yet), in one round trip:

    .. code:: python

        {
            "cpus": 2,                      # nproc: the CPUs this host may use
            "memory_bytes": 25214345216,    # MemTotal
            "path": "/var/lib",             # the existing directory measured
            "filesystem": "ext4",           # e.g. tmpfs, overlay, xfs
            "mount": "/",
            "free_bytes": 83886080000,      # available to non-root users too
        }
    """

    def command(self, path: str):
        command = (
            "echo cpus=$(nproc); "
            "sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/memory_kb=\\1/p' /proc/meminfo; "
            f"p={shlex.quote(path)}; "
            'while [ ! -e "$p" ]; do p=$(dirname "$p"); done; '
            'echo "path=$p"; '
            'df -B1 --output=fstype,avail,target "$p" | tail -n 1 | '
            '{ read -r fs avail target; echo "filesystem=$fs"; echo "free_bytes=$avail"; echo "mount=$target"; }'
        )
        return command

    def process(self, output):
        raw = dict(line.split("=", 1) for line in output if "=" in line)
        missing = {"cpus", "memory_kb", "path", "filesystem", "free_bytes"} - {k for k, v in raw.items() if v}
        if missing:
            # e.g. df failed: better no answer than a wrong one.
            raise FactProcessError(f"no {', '.join(sorted(missing))} in the output: {output!r}")
        return {
            "cpus": int(raw["cpus"]),
            "memory_bytes": int(raw["memory_kb"]) * 1024,
            "path": raw["path"],
            "filesystem": raw["filesystem"],
            "mount": raw["mount"],
            "free_bytes": int(raw["free_bytes"]),
        }


# `users:(("k3s-server",pid=812,fd=7),("nginx",pid=9,fd=6))` in `ss -p` output.
_SS_USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)')
_TCP_LISTEN = "0A"  # the `st` column of /proc/net/tcp{,6}


class ListeningTcpPorts(FactBase[dict[int, list[dict[str, Any]]]]):
    """
    TCP ports something listens on (any address, IPv4 or IPv6), each with what
    holds it:

    .. code:: python

        {22: [{"process": "sshd", "pid": 601, "unit": "ssh.service"}],
         6443: [{"process": "k3s-server", "pid": 812, "unit": "k3s.service"}]}

    ``unit`` is the systemd service the process runs in (from its cgroup), or
    ``None``. Without ``ss`` (iproute2), the ports come from /proc/net/tcp and
    /proc/net/tcp6 and their holders are unknown (``[]``). ``port in fact``
    answers "is it taken".
    """

    # The holder's cgroup names its unit: `0::/system.slice/k3s.service`.
    def command(self) -> str:
        return (
            "if command -v ss >/dev/null 2>&1; then "
            "listening=$(ss -Htlnp); "
            "printf '%s\\n' \"$listening\" | sed 's/^/ss /'; "
            "for pid in $(printf '%s\\n' \"$listening\" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un); do "
            "echo \"unit $pid $(grep -o '[^/]*\\.service$' /proc/$pid/cgroup 2>/dev/null | head -n 1)\"; "
            "done; "
            "else cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | sed 's/^/proc /'; fi"
        )

    default = dict

    def process(self, output):
        ports: dict = {}
        units = {}
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "unit":
                pid, _, unit = rest.strip().partition(" ")
                units[int(pid)] = unit.strip() or None
        for line in output:
            kind, _, rest = line.partition(" ")
            if kind == "ss":
                port = _ss_local_port(rest)
                if port is None:
                    continue
                holders = ports.setdefault(port, [])
                for process, pid in _SS_USER.findall(rest):
                    holder = {"process": process, "pid": int(pid), "unit": units.get(int(pid))}
                    if holder not in holders:
                        holders.append(holder)
            elif kind == "proc":
                port = _proc_listen_port(rest)
                if port is not None:
                    ports.setdefault(port, [])
        return ports


def _ss_local_port(line: str) -> int | None:
    # State, Recv-Q and Send-Q have no colon: the first field with one is the
    # local address (`0.0.0.0:22`, `[::]:22`, `*:6443`, `127.0.0.53%lo:53`).
    for field in line.split():
        if ":" in field:
            port = field.rsplit(":", 1)[1]
            return int(port) if port.isdigit() else None
    return None


def _proc_listen_port(line: str) -> int | None:
    # `0: 00000000:1F90 00000000:0000 0A ...`; the header line has no `N:`.
    fields = line.split()
    if len(fields) < 4 or not fields[0].rstrip(":").isdigit() or fields[3] != _TCP_LISTEN:
        return None
    return int(fields[1].rsplit(":", 1)[1], 16)


class AptWorks(FactBase[dict[str, Any]]):
    """
    Whether APT is usable, probed read-only (no lock taken, no cache written,
    nothing downloaded):

    .. code:: python

        {
            "apt_get": True,     # apt-get is installed
            "sources": 3,        # repositories `apt-get update` would fetch
            "lists": 3,          # package lists already fetched
            "errors": [],        # E: lines about the sources configuration
            "audit": [],         # `dpkg --audit`: half-installed packages
            "check_status": 0,   # exit status of `apt-get check` (broken dependencies)
            "check": [],         # its output
        }

    ``{"apt_get": False}`` on a host without apt-get.
    """

    _NO_LOCK = "-o Debug::NoLocking=1"
    # Empty cache file names: apt builds its cache in memory only.
    _NO_CACHE = "-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="

    def command(self) -> str:
        return (
            "command -v apt-get >/dev/null 2>&1 || { echo apt-get=missing; exit 0; }; "
            "export LC_ALL=C; echo apt-get=present; "
            f"uris=$(apt-get {self._NO_LOCK} --print-uris update 2>&1); "
            'echo sources=$(printf \'%s\\n\' "$uris" | grep -c "Release\' "); '
            "printf '%s\\n' \"$uris\" | sed -n 's/^E: /error /p'; "
            f"echo lists=$(ls {fp.APT_LISTS_DIR} 2>/dev/null | grep -c '_Packages'); "
            "dpkg --audit 2>&1 | sed 's/^/audit /'; "
            f"checked=$(apt-get {self._NO_LOCK} {self._NO_CACHE} -qq check 2>&1); "
            "echo check_status=$?; "
            "printf '%s\\n' \"$checked\" | sed '/^$/d; s/^/check /'"
        )

    def process(self, output):
        result = {"apt_get": False, "sources": 0, "lists": 0, "errors": [], "audit": [], "check_status": 0, "check": []}
        for line in output:
            if line.startswith("apt-get="):
                result["apt_get"] = line == "apt-get=present"
            elif "=" in line and line.split("=", 1)[0] in ("sources", "lists", "check_status"):
                key, value = line.split("=", 1)
                result[key] = int(value or 0)
            else:
                kind, _, text = line.partition(" ")
                if kind == "error":
                    result["errors"].append(text)
                elif kind in ("audit", "check") and text.strip():
                    result[kind].append(text.rstrip())
        return result
