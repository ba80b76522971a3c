"""Read-only facts about K3s on a node, asked through its own kubectl."""

import json

from pyinfra.api import FactBase


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
