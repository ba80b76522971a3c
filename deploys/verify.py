"""Verification at the end of a deploy that changed something, on the first
driver: every node Ready, the chart installed, hub and proxy rolled out, and
the login page answering over HTTPS with the cluster's certificate."""

from pyinfra import host, logger
from pyinfra.api import deploy
from pyinfra.operations import python

from convecthub import footprint as fp
from convecthub.cluster.jupyterhub_values import NAMESPACE, RELEASE
from operations import k3s

# Seconds the registry gets to answer: longer than systemd's RestartSec.
REGISTRY_TIMEOUT = 30


def _announce(url: str) -> None:
    failed = sorted(node.name for node in host.state.failed_hosts)
    if failed:
        # The run still fails on them; say so next to the good news.
        logger.warning(
            f"ConvectHub is up without {', '.join(failed)} (failed above; fix, then run the deploy again): {url}"
        )
    else:
        logger.info(f"ConvectHub is up: {url}")


@deploy("Verify the cluster")
def verify(nodes: dict, login_url: str, registry_address: str, registry_host: str, timeout: int = 600):
    """
    + nodes: K3s node name -> its pyinfra host (hosts that fail during the
      run are not waited for)
    + login_url: JupyterHub's login page
    + registry_address, registry_host: the private registry (host:port) and
      the inventory name of the host it runs on

    Call it with ``_if=...`` (when to verify: after a run that changed
    something); @deploy applies it to every operation here.
    """
    k3s.nodes_ready(name="Every node is Ready", nodes=nodes, timeout=timeout)
    # Every image pull needs the registry, users' notebook images long after
    # this run: it must answer now (401: it wants our credentials), not only
    # when its own steps ran. systemd restarts it within seconds if it died.
    k3s.wait_until(
        name="The private registry answers",
        check=f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 --cacert {fp.CLUSTER_CA_FILE} "
        f"https://{registry_address}/v2/ 2>/dev/null | grep -qx 401",
        timeout=REGISTRY_TIMEOUT,
        what=f"the registry https://{registry_address}/v2/ does not answer",
        fix=f"look at `systemctl status {fp.REGISTRY_UNIT}` and `journalctl -u {fp.REGISTRY_UNIT}` on {registry_host}, "
        "then run the deploy again",
    )
    k3s.wait_until(
        name="The JupyterHub chart is installed",
        check=f"k3s kubectl -n kube-system get job helm-install-{RELEASE} -o json 2>/dev/null "
        "| grep -Eq '\"succeeded\": *1'",
        timeout=timeout,
        what=f"job helm-install-{RELEASE} did not complete",
        fix=f"look at `k3s kubectl -n kube-system logs job/helm-install-{RELEASE}` and `k3s kubectl -n kube-system get helmchart {RELEASE} -o yaml`",
    )
    for deployment in ("hub", "proxy"):
        k3s.wait_until(
            name=f"JupyterHub's {deployment} is rolled out",
            check=f"k3s kubectl -n {NAMESPACE} rollout status deployment/{deployment} --timeout=20s >/dev/null 2>&1",
            timeout=timeout,
            what=f"deployment/{deployment} did not roll out",
            fix=f"look at `k3s kubectl -n {NAMESPACE} get pods` (ImagePullBackOff: check the registry and {fp.K3S_REGISTRIES_FILE} on the node)",
        )
    k3s.wait_until(
        name="The login page answers over HTTPS",
        check=f"curl -fsS -o /dev/null --max-time 10 --cacert {fp.CLUSTER_CA_FILE} {login_url}",
        timeout=120,
        what=f"{login_url} does not answer",
        fix=f"look at `k3s kubectl -n kube-system get pods` (Traefik) and `k3s kubectl -n {NAMESPACE} get ingress`",
    )
    python.call(name="Say where ConvectHub answers", function=_announce, url=login_url)
