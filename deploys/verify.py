"""Verification at the end of a deploy that changed something, on the first
driver: every node Ready, the chart installed, hub and proxy rolled out, and
the login page answering over HTTPS with the cluster's certificate."""

from pyinfra import logger
from pyinfra.api import deploy
from pyinfra.operations import python

from operations import k3s

from .jupyterhub import NAMESPACE, RELEASE
from .k3s_node import CLUSTER_CA_FILE


def _announce(url: str) -> None:
    logger.info(f"ConvectHub is up: {url}")


@deploy("Verify the cluster")
def verify(node_names: list, login_url: str, timeout: int = 600, **condition):
    """`condition`: ``_if=...``, when to verify (after a run that changed something)."""
    k3s.nodes_ready(name="Every node is Ready", names=node_names, timeout=timeout, **condition)
    k3s.wait_until(
        name="The JupyterHub chart is installed",
        check=f"k3s kubectl -n kube-system get job helm-install-{RELEASE} -o json 2>/dev/null "
        "| grep -Eq '\"succeeded\": *1'",
        timeout=timeout,
        failure=f"job helm-install-{RELEASE} did not complete: look at `k3s kubectl -n kube-system logs "
        f"job/helm-install-{RELEASE}` and `k3s kubectl -n kube-system get helmchart {RELEASE} -o yaml`",
        **condition,
    )
    for deployment in ("hub", "proxy"):
        k3s.wait_until(
            name=f"JupyterHub's {deployment} is rolled out",
            check=f"k3s kubectl -n {NAMESPACE} rollout status deployment/{deployment} --timeout=20s >/dev/null 2>&1",
            timeout=timeout,
            failure=f"deployment/{deployment} did not roll out: look at `k3s kubectl -n {NAMESPACE} get pods` "
            "(ImagePullBackOff: check the registry and /etc/rancher/k3s/registries.yaml on the node)",
            **condition,
        )
    k3s.wait_until(
        name="The login page answers over HTTPS",
        check=f"curl -fsS -o /dev/null --max-time 10 --cacert {CLUSTER_CA_FILE} {login_url}",
        timeout=120,
        failure=f"{login_url} does not answer: look at `k3s kubectl -n kube-system get pods` (Traefik) "
        f"and `k3s kubectl -n {NAMESPACE} get ingress`",
        **condition,
    )
    python.call(name="Say where ConvectHub answers", function=_announce, url=login_url, **condition)
