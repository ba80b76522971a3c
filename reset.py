"""pyinfra INVENTORY reset.py: uninstall ConvectHub from the inventory's servers.

For now it checks the inventory and that every node is reachable; the steps
that remove what deploy.py installs come with them.
"""

from convecthub.check import require_valid_inventory
from convecthub.secrets import apply_secrets
from deploys.connectivity import check_connectivity

require_valid_inventory()
apply_secrets(cluster_token=False)

check_connectivity()
