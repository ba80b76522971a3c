"""K3s agents on the `worker` hosts: each joins the first driver at its
private (`my_iface`) address with the cluster token."""

from pyinfra.api import deploy

from operations import k3s

from .k3s_node import k3s_config_yaml, k3s_service

JOIN_TIMEOUT = 180


def agent_config(token: str, server_url: str, node_ip: str, iface: str, labels: list) -> str:
    config = {"token": token, "server": server_url, "node-ip": node_ip, "flannel-iface": iface}
    if labels:
        config["node-label"] = labels
    return k3s_config_yaml(config, "deploys/k3s_agent.py")


@deploy("K3s agent")
def k3s_agent(config_text: str, server_address: str, restart_on: list, staging_dir: str):
    """Returns the start operation (the first driver waits for the nodes it started)."""
    restart = k3s_service("agent", "k3s-agent", config_text, restart_on, staging_dir)
    k3s.wait_until(
        name="The first driver's API is reachable from this agent",
        check=f"curl -ks --max-time 5 -o /dev/null https://{server_address}:6443/cacerts",
        timeout=60,
        failure=f"cannot reach https://{server_address}:6443 over the private network: check the firewall "
        "(TCP 6443 from the workers to the drivers) and my_iface",
        _if=restart,
    )
    return k3s.restarted_and_ready(
        name="Start the K3s agent",
        unit="k3s-agent",
        # Active only once K3s said READY, i.e. the server accepted the node.
        ready_check="systemctl is-active --quiet k3s-agent",
        timeout=JOIN_TIMEOUT,
        failure_hint="look at `journalctl -u k3s-agent` on this host (a wrong token reads 401 Unauthorized)",
        _if=restart,
    )
