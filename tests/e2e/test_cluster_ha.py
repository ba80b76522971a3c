"""HA: three drivers (embedded etcd, the first with cluster-init, the others
joining it one at a time) and one worker deploy, and all join."""

import json

import pytest

from tests.lab.lab import topology

from .conftest import deploy_totals, exec_on, k3s_warnings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(lab_factory):
    nodes = topology(drivers=3, workers=1, gpu_workers=(), port_offset=800)
    # Docker on the nodes is not what this test is about; it saves minutes.
    return lab_factory("convecthub-e2e-ha", nodes, "10.213.80.0/24", data={"install_docker": False})


def test_three_servers_and_a_worker_deploy_and_all_join(lab):
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["error"] == 0, totals

    code, output = exec_on(lab, "master", ["k3s", "kubectl", "get", "nodes", "-o", "json"])
    assert code == 0, output
    nodes = {item["metadata"]["name"]: item for item in json.loads(output)["items"]}
    assert sorted(nodes) == ["master", "master2", "master3", "worker1"]
    for name in ("master", "master2", "master3"):
        labels = nodes[name]["metadata"]["labels"]
        assert labels.get("node-role.kubernetes.io/control-plane") == "true", name
        assert labels.get("node-role.kubernetes.io/etcd") == "true", name
    for name, node in nodes.items():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True", name

    first = next(node.private_ip for node in lab.nodes if node.spec.name == "master")
    assert "cluster-init: true" in exec_on(lab, "master", ["cat", "/etc/rancher/k3s/config.yaml"])[1]
    for joining in ("master2", "master3"):
        config = exec_on(lab, joining, ["cat", "/etc/rancher/k3s/config.yaml"])[1]
        assert f"server: https://{first}:6443" in config and "cluster-init" not in config
    # kubectl on a joined server sees the same cluster.
    code, output = exec_on(lab, "master3", ["k3s", "kubectl", "get", "nodes"])
    assert code == 0 and "worker1" in output


def test_joining_servers_and_agents_hold_the_full_token_the_first_server_wrote(lab):
    # K3s's full token, K10<sha256 of the CA served at /cacerts>::server:<secret>,
    # as the first server itself wrote it: the joiners pinned that CA.
    code, written = exec_on(lab, "master", ["cat", "/var/lib/rancher/k3s/server/token"])
    assert code == 0 and written.startswith("K10"), written[:3]
    code, cacerts = exec_on(lab, "master", ["sh", "-c", "curl -ks https://127.0.0.1:6443/cacerts | sha256sum"])
    assert written[3:].split("::", 1)[0] == cacerts.split()[0]
    for joining in ("master2", "master3", "worker1"):
        config = exec_on(lab, joining, ["cat", "/etc/rancher/k3s/config.yaml"])[1]
        token_file = next(line.split(": ", 1)[1] for line in config.splitlines() if line.startswith("token-file:"))
        assert "\ntoken:" not in config, joining
        code, held = exec_on(lab, joining, ["sh", "-c", f"stat -c %a {token_file} && cat {token_file}"])
        mode, token = held.split("\n", 1)
        assert (mode, token.strip()) == ("600", written.strip()), joining
    assert k3s_warnings(lab, ("master", "master2", "master3", "worker1")) == []


def test_second_ha_run_reports_zero_changes(lab):
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["success"] == 0 and totals["error"] == 0, totals
