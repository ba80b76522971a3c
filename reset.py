"""pyinfra INVENTORY reset.py: uninstall ConvectHub from the inventory's servers.

Agents before servers; then processes, mounts, network namespaces,
interfaces, firewall rules and files; ends with the audit (audit.py), which
fails if anything of ours is left. What came from APT (Docker, the NVIDIA
driver, the registry package) stays unless `reset_remove_packages=true`;
the registry's images stay with `keep_registry_data=true`.
"""

from pyinfra import host, state

from convecthub.cluster.check import require_valid_inventory
from convecthub.cluster.state import apply_secrets
from convecthub.pyinfra_fixes.changes import run_changed_something
from deploys.reset import reset, service_ports

require_valid_inventory()
apply_secrets(cluster_token=False)

reset(ports=service_ports(host.data), changed_condition=run_changed_something(state))
