"""K3s servers on the `driver` hosts: one driver is a single server; three or
more are an HA control plane with embedded etcd, the first started with
`cluster-init`, the others joining it one at a time (quorum)."""

from typing import Any

from pyinfra.api import deploy

from convecthub import footprint as fp
from convecthub.cluster.plan import ClusterPlan, NodePlan
from operations import k3s

from .k3s_node import join_token_written, k3s_config_yaml, k3s_service

API_TIMEOUT = 300


def server_config(
    token: str, node_ip: str, iface: str, tls_sans: list, labels: list, join_url: str | None, cluster_init: bool
) -> str:
    """The first server holds the cluster's secret (`token`); a joining one
    takes the full token from a file, which pins the CA of the server it
    joins (join_token_written)."""
    credentials: dict[str, object] = (
        {"token-file": fp.K3S_JOIN_TOKEN_FILE, "server": join_url} if join_url else {"token": token}
    )
    config: dict[str, object] = {
        **credentials,
        "node-ip": node_ip,
        "flannel-iface": iface,
        "tls-san": tls_sans,
        "write-kubeconfig-mode": "0600",
        # Air-gapped: a pull that fails on our mirror reports the mirror's
        # error, not containerd's from the public registry it would try next.
        "disable-default-registry-endpoint": True,
    }
    if labels:
        config["node-label"] = labels
    if cluster_init:
        config["cluster-init"] = True
    return k3s_config_yaml(config, "deploys/k3s_server.py")


@deploy("K3s server")
def k3s_server(plan: ClusterPlan, node: NodePlan, token: str, restart_on: list, staging_dir: str):
    """
    The node's K3s server: its configuration from the plan (the first
    server alone, or with cluster-init in an HA set; the others join the
    first), its unit, then a start in the order quorum needs.

    + restart_on: operations after whose change K3s must restart (k3s_node_files)
    """
    is_first = node.is_first_driver
    config_text = server_config(
        token=token,
        node_ip=node.address,
        iface=node.iface,
        tls_sans=list(plan.driver_addresses),
        labels=list(node.labels),
        join_url=None if is_first else plan.api_url,
        cluster_init=plan.ha and is_first,
    )
    started = k3s_service("server", fp.K3S_SERVER_UNIT, config_text, restart_on, staging_dir)
    ready: dict[str, Any] = dict(
        unit=fp.K3S_SERVER_UNIT,
        ready_check="k3s kubectl get --raw /readyz >/dev/null 2>&1",
        timeout=API_TIMEOUT,
        fix=f"look at `journalctl -u {fp.K3S_SERVER_UNIT}` on this host",
    )
    # Every driver walks through both operations (a no-op where it is not
    # its turn), which orders the first server before the joining ones.
    k3s.restarted_and_ready(name="Start the first K3s server", **ready, _if=lambda: is_first and started())
    restart = started
    if not is_first:
        token_file = join_token_written(plan, token, staging_dir)

        def restart() -> bool:
            return started() or token_file.did_change()

    k3s.restarted_and_ready(
        name="Start the other K3s servers, one at a time",
        **ready,
        _serial=True,
        _if=lambda: not is_first and restart(),
    )
