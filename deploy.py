"""pyinfra INVENTORY deploy.py: turn the inventory's servers into a ConvectHub cluster.

For now it checks what every later step relies on: SSH, sudo and the private
interface of every node. Later steps (bundle, registry, K3s, JupyterHub) plug
in here, in the order of the manual's flow.
"""

from deploys.connectivity import check_connectivity

check_connectivity()
