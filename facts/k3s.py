"""Read-only facts about K3s on a node: through its own kubectl, and its
unit's state and log."""

import json
import shlex

from pyinfra.api import FactBase

from convecthub import footprint as fp


class K3sNodes(FactBase[dict[str, dict[str, str]] | None]):
    """
    The cluster's nodes and their labels, as a K3s server sees them; ``None``
    where no K3s API answers (K3s not installed or not running):

    .. code:: python

        {"master": {"node-role.kubernetes.io/control-plane": "true", ...}, "worker2": {...}}
    """

    def command(self) -> str:
        return "k3s kubectl get nodes -o json 2>/dev/null || true"

    def process(self, output):
        text = "\n".join(output).strip()
        if not text:
            return None
        try:
            items = json.loads(text).get("items", [])
        except ValueError:
            return None
        return {item["metadata"]["name"]: item["metadata"].get("labels", {}) for item in items}


# What K3s's server logs for a config key it skips (docs/contracts.md 1.3).
SKIPPED_KEY = "Unknown flag --"


def invocation_log(unit: str) -> str:
    """Shell: the log of the unit's current run only (nothing when it is not running)."""
    return (
        f"id=$(systemctl show -p InvocationID --value {shlex.quote(unit)} 2>/dev/null); "
        '[ -z "$id" ] || journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID="$id" 2>/dev/null'
    )


class K3sSkippedConfigKeys(FactBase[list[str]]):
    """
    The config keys the running K3s unit skipped as unknown (a server logs
    ``Unknown flag --<key> found in config.yaml, skipping`` and runs on
    without them); ``[]`` when none or not running:

    .. code:: python

        ["flanel-iface"]
    """

    default = list

    def command(self, unit: str) -> str:
        return f"{{ {invocation_log(unit)}; }} | grep -o '{SKIPPED_KEY}[^ ]* found in config' | sort -u; true"

    def process(self, output):
        return [line.split("--", 1)[1].split(" ", 1)[0] for line in output if "--" in line]


class K3sConfigChangedSinceStart(FactBase[bool]):
    """
    Whether a file in K3s's drop-in directory (``config.yaml.d``), or the
    directory itself (a file removed), is newer than the unit's start: K3s
    reads it only when it starts. False when the unit is not running.
    """

    def command(self, unit: str) -> str:
        return (
            f"start=$(systemctl show -p ActiveEnterTimestamp --value --timestamp=unix {shlex.quote(unit)} "
            '2>/dev/null); [ -n "$start" ] && '
            f'find {fp.K3S_CONFIG_DROPIN_DIR} -maxdepth 1 -newermt "$start" 2>/dev/null | head -n 1; true'
        )

    def process(self, output):
        return any(line.strip() for line in output)


class K3sClusterCaHash(FactBase[str | None]):
    """
    The sha256 of the cluster CA, from the full token K3s's server writes
    (``K10<hash>::server:<secret>``); None where there is none yet. Only the
    hash leaves the node: it is public (anyone can hash ``/cacerts``), the
    secret is not read.

    + when: any word; a new one asks again instead of taking the answer
      cached earlier in the run (before the server had started)
    """

    def command(self, when: str = "planned") -> str:
        return (
            f"sed -n 's/^K10\\([0-9a-f]\\{{64\\}}\\)::.*/\\1/p' {fp.K3S_SERVER_TOKEN_FILE} 2>/dev/null "
            "| head -n 1; true"
        )

    def process(self, output):
        value = "".join(output).strip()
        return value or None
