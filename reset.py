"""pyinfra INVENTORY reset.py: uninstall ConvectHub from the inventory's servers.

Nothing is installed by deploy.py yet, so there is nothing to remove; the
connectivity check runs so that the command already proves it reaches every node.
"""

from deploys.connectivity import check_connectivity

check_connectivity()
