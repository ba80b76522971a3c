"""K3s agents on the `worker` hosts: each joins the first driver at its
private (`my_iface`) address with the cluster token."""

from pyinfra.api import deploy

from convecthub import footprint as fp
from convecthub.cluster.plan import ClusterPlan, NodePlan
from operations import k3s

from .k3s_node import join_token_written, k3s_config_yaml, k3s_service

JOIN_TIMEOUT = 180


def agent_config(server_url: str, node_ip: str, iface: str, labels: list) -> str:
    config: dict[str, object] = {
        # The full token, which pins the first server's CA (join_token_written).
        "token-file": fp.K3S_JOIN_TOKEN_FILE,
        "server": server_url,
        "node-ip": node_ip,
        "flannel-iface": iface,
        # As on the servers (deploys/k3s_server.py): no public fallback.
        "disable-default-registry-endpoint": True,
    }
    if labels:
        config["node-label"] = labels
    return k3s_config_yaml(config, "deploys/k3s_agent.py")


@deploy("K3s agent")
def k3s_agent(plan: ClusterPlan, node: NodePlan, token: str, restart_on: list, staging_dir: str):
    """
    The node's K3s agent, joining the first driver at its private address:
    configuration from the plan, unit, a check that the API is reachable
    from here, then the start.

    + restart_on: operations after whose change K3s must restart (k3s_node_files)
    """
    config_text = agent_config(
        server_url=plan.api_url, node_ip=node.address, iface=node.iface, labels=list(node.labels)
    )
    # After deploy.py's all_hosts_reached: the first server's token exists.
    token_file = join_token_written(plan, token, staging_dir)
    restart = k3s_service("agent", fp.K3S_AGENT_UNIT, config_text, [*restart_on, token_file], staging_dir)
    api = plan.api_url
    k3s.wait_until(
        name="The first driver's API is reachable from this agent",
        check=f"curl -ks --max-time 5 -o /dev/null {api}/cacerts",
        timeout=60,
        what=f"cannot reach {api} over the private network",
        fix=f"check the firewall (TCP {fp.K3S_API_PORT} from the workers to the drivers) and my_iface",
        _if=restart,
    )
    return k3s.restarted_and_ready(
        name="Start the K3s agent",
        unit=fp.K3S_AGENT_UNIT,
        # Active only once K3s said READY, i.e. the server accepted the node.
        ready_check=f"systemctl is-active --quiet {fp.K3S_AGENT_UNIT}",
        timeout=JOIN_TIMEOUT,
        fix=f"look at `journalctl -u {fp.K3S_AGENT_UNIT}` on this host (a wrong token reads 401 Unauthorized)",
        _if=restart,
    )
