"""The GPU nodes labelled for NVIDIA's device plugin, on the first driver:
K3s applies `node-label` only when a node registers, so a node that was
already in the cluster when it got `has_gpu` gets its label here."""

from pyinfra.api import deploy

from convecthub.cluster.plan import GPU_NODE_LABEL
from operations import k3s


@deploy("GPU nodes labelled for the device plugin")
def gpu_nodes_labelled(node_names: dict):
    """
    + node_names: ``{host: K3s node name}`` of the hosts in the run; those
      with ``has_gpu`` are labelled.
    """
    for node, name in node_names.items():
        if node.data.get("has_gpu"):
            k3s.node_labelled(
                name="GPU node labelled for the device plugin", node=name, label=GPU_NODE_LABEL, value="true"
            )
