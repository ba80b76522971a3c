"""pyinfra INVENTORY audit.py: list anything of ConvectHub still on each node
(processes, units, mounts, interfaces, network namespaces, iptables rules,
files, listening ports) and fail if there is any.

It reads only: a node with leftovers gets one operation that changes nothing
and fails naming them, so every node is reported in one run and the exit
code says whether the audit passed."""

from pyinfra import host, logger
from pyinfra.operations import server

from convecthub.cluster.check import require_valid_inventory
from convecthub.cluster.state import apply_secrets
from deploys.reset import describe, leftovers_on, service_ports
from operations.failure import failure

require_valid_inventory()
apply_secrets(cluster_token=False)  # the sudo password, off command lines

leftovers = leftovers_on(host.data, service_ports(host.data))
if leftovers:
    found = f"audit: {host.name} still holds {describe(leftovers)}"
    server.shell(
        name="Audit: leftovers of ConvectHub",
        commands=[failure(found, "run `pyinfra <inventory> reset.py`, then this audit again")],
    )
else:
    logger.info(f"audit: nothing of ConvectHub on {host.name}")
