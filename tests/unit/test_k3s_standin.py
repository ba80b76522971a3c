"""The K3s stand-in (tests/standins/k3s/k3s) as processes on 127.0.0.1.

A server and agents run unprivileged under temporary roots (K3S_STANDIN_ROOT,
no host side effects, short timings; tests/standins/k3s/harness.py). A small
loopback registry (harness.FakeRegistry) serves the chart's images: fine for
these tests of the stand-in, never for the end-to-end tier.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tarfile

import pytest
import yaml

from tests.standins.chart import write_standin_chart
from tests.standins.k3s.harness import (
    STANDIN,
    FakeRegistry,
    StandinNode,
    free_port,
    load_standin_module,
    make_ca,
    make_leaf,
    wait_until,
)

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

TOKEN = "unit-test-token"
CHART_IMAGES = {
    "jupyterhub-hub": "quay.io/jupyterhub/k8s-hub:4.4.0",
    "jupyterhub-proxy": "quay.io/jupyterhub/configurable-http-proxy:5.2.0",
    "jupyterhub-singleuser": "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0",
}
IMPORTED_IMAGE = "quay.io/jupyterhub/k8s-network-tools:4.4.0"


# -- building blocks -------------------------------------------------------------


def server_config(port, **extra):
    return {
        "token": TOKEN,
        "node-name": "master",
        "node-ip": "127.0.0.1",
        "bind-address": "127.0.0.1",
        "https-listen-port": port,
        **extra,
    }


def start_server(root, port=None, abstract_notify=False, **extra):
    node = StandinNode(root, abstract_notify=abstract_notify)
    node.port = port or free_port()
    node.write_config(server_config(node.port, **extra))
    node.add_airgap_images()
    return node.start("server").wait_ready()


def agent_node(root, server, name, token=None, labels=()):
    node = StandinNode(root)
    node.write_config(
        {
            "server": f"https://127.0.0.1:{server.port}",
            "token": token or server.token,
            "node-name": name,
            "node-ip": "127.0.0.1",
            "node-label": list(labels),
        }
    )
    return node


def registries_for(registry):
    return {
        "mirrors": {
            "quay.io": {"endpoint": [f"https://{registry.host}"], "rewrite": {"^jupyterhub/(.*)": "convecthub/$1"}}
        },
        "configs": {
            registry.host: {
                "auth": {"username": "puller", "password": "s3cret"},
                "tls": {"ca_file": str(registry.ca[0])},
            }
        },
    }


def docker_save_archive(path, image):
    """A minimal `docker save` archive: just manifest.json naming the image."""
    data = json.dumps([{"Config": "c.json", "RepoTags": [image], "Layers": []}]).encode()
    with tarfile.open(path, "w") as archive:
        member = tarfile.TarInfo("manifest.json")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))


def chart_content(tmp_path, images=CHART_IMAGES):
    return base64.b64encode(
        write_standin_chart(tmp_path / "jupyterhub-4.4.0.tgz", version="4.4.0", images=images).read_bytes()
    ).decode()


def helm_chart(name, content, values=None, namespace=None, create_namespace=False):
    spec = {"chartContent": content, "failurePolicy": "abort", "timeout": "1200s"}
    if values is not None:
        spec["valuesContent"] = values if isinstance(values, str) else yaml.safe_dump(values)
    if namespace:
        spec.update(targetNamespace=namespace, createNamespace=create_namespace)
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": name, "namespace": "kube-system"},
        "spec": spec,
    }


HUB_VALUES = {
    "proxy": {"service": {"type": "ClusterIP"}, "https": {"enabled": False}},
    "ingress": {"enabled": True, "ingressClassName": "traefik"},
}


def traefik_config(web, websecure, secret="convecthub-tls"):
    values = {
        "ports": {
            "web": {
                "exposedPort": web,
                "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}},
            },
            "websecure": {"exposedPort": websecure},
        },
        "tlsStore": {"default": {"defaultCertificate": {"secretName": secret}}},
    }
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": yaml.safe_dump(values)},
    }


def tls_secret(name, cert, key):
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": "kube-system"},
        "data": {
            "tls.crt": base64.b64encode(cert.read_bytes()).decode(),
            "tls.key": base64.b64encode(key.read_bytes()).decode(),
        },
    }


def job(node, name):
    result = node.kubectl("-n", "kube-system", "get", "job", name, "-o", "json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def job_finished(node, name):
    found = job(node, name)
    status = (found or {}).get("status", {})
    return found if status.get("succeeded") or status.get("failed") else None


def nodes_by_name(node):
    return {item["metadata"]["name"]: item for item in node.kubectl_json("get", "nodes")["items"]}


def ready(node_object):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node_object["status"]["conditions"])


def port_open(port):
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


# -- one cluster for the read-mostly tests: server + GPU-labelled agent ----------


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    registry = FakeRegistry(tmp_path_factory.mktemp("registry"))
    for image in CHART_IMAGES.values():
        name, tag = image.split("/", 1)[1].rsplit(":", 1)
        registry.add_image(name.replace("jupyterhub/", "convecthub/"), tag)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("cluster")
    server = StandinNode(root / "server")
    server.port = free_port()
    server.write_config(
        server_config(
            server.port,
            **{"cluster-init": True, "write-kubeconfig-mode": "0640", "node-label": ["convecthub/role=driver"]},
        )
    )
    server.write_registries(registries_for(registry))
    server.add_airgap_images()
    server.start("server").wait_ready()
    agent = agent_node(root / "worker1", server, "worker1", labels=["nvidia.com/gpu.present=true", "site=lab"])
    agent.write_registries(registries_for(registry))
    agent.add_airgap_images()
    docker_save_archive(agent.data_dir / "agent/images/network-tools.tar", IMPORTED_IMAGE)
    agent.start("agent").wait_ready()
    server.root_dir = root
    yield server, agent
    agent.close()
    server.close()


@pytest.fixture(scope="module")
def jupyterhub(cluster, tmp_path_factory):
    """The deploy's manifests: the chart with ingress values, Traefik's ports and TLS secret."""
    server, _ = cluster
    pki = tmp_path_factory.mktemp("pki")
    front_cert = make_leaf(pki, "front", make_ca(pki, "site-ca"))
    web, websecure = free_port(), free_port()
    server.write_manifest("convecthub-tls.yaml", tls_secret("convecthub-tls", *front_cert))
    server.write_manifest("traefik-config.yaml", traefik_config(web, websecure))
    server.write_manifest("jupyterhub.yaml", helm_chart("jupyterhub", chart_content(pki), HUB_VALUES, "jhub", True))
    wait_until(lambda: job_finished(server, "helm-install-jupyterhub"), 20, what="helm-install-jupyterhub")
    return {"web": web, "websecure": websecure, "cert": front_cert[0]}


def test_version_is_the_pinned_release_and_says_stand_in():
    result = subprocess.run([sys.executable, str(STANDIN), "--version"], capture_output=True, text=True)

    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "k3s version v1.36.4+k3s1 (stand-in)",
        "go version go1.24 (stand-in: not the real K3s)",
    ]


def test_token_files_carry_the_ca_hash_and_are_private(cluster):
    server, _ = cluster
    ca_pem = (server.data_dir / "server/tls/server-ca.crt").read_bytes()

    for name in ("token", "node-token"):
        path = server.data_dir / "server" / name
        assert path.read_text().strip() == f"K10{hashlib.sha256(ca_pem).hexdigest()}::server:{TOKEN}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_cacerts_is_the_ca_the_token_hashes(cluster):
    server, _ = cluster
    context = ssl.create_default_context(cafile=str(server.data_dir / "server/tls/server-ca.crt"))
    connection = http.client.HTTPSConnection("127.0.0.1", server.port, context=context)
    connection.request("GET", "/cacerts")

    body = connection.getresponse().read()

    assert f"K10{hashlib.sha256(body).hexdigest()}::" in server.token


def test_kubeconfig_points_at_loopback_with_the_configured_mode(cluster):
    server, _ = cluster
    config = yaml.safe_load(server.kubeconfig.read_text())

    assert config["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{server.port}"
    assert (
        base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        == (server.data_dir / "server/tls/server-ca.crt").read_bytes()
    )
    assert stat.S_IMODE(server.kubeconfig.stat().st_mode) == 0o640


def test_readyz_and_the_kubectl_symlink(cluster, tmp_path):
    server, _ = cluster
    kubectl = tmp_path / "kubectl"
    kubectl.symlink_to(STANDIN)

    result = subprocess.run(
        [str(kubectl), "get", "--raw", "/readyz"],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(server.kubeconfig)},
    )

    assert (result.returncode, result.stdout) == (0, "ok\n")


def test_agent_registers_with_its_labels_and_the_server_is_a_control_plane_node(cluster):
    server, _ = cluster

    nodes = wait_until(lambda: (found := nodes_by_name(server)) and len(found) == 2 and found, 10, what="two nodes")

    worker, master = nodes["worker1"]["metadata"]["labels"], nodes["master"]["metadata"]["labels"]
    assert worker["nvidia.com/gpu.present"] == "true" and worker["site"] == "lab"
    assert "node-role.kubernetes.io/control-plane" not in worker
    for role in ("control-plane", "master", "etcd"):
        assert master[f"node-role.kubernetes.io/{role}"] == "true"
    assert master["convecthub/role"] == "driver"
    assert all(ready(node) for node in nodes.values())
    internal = [a for a in nodes["worker1"]["status"]["addresses"] if a["type"] == "InternalIP"]
    assert internal == [{"type": "InternalIP", "address": "127.0.0.1"}]


def test_get_nodes_table_and_wide(cluster):
    server, _ = cluster

    table = server.kubectl("get", "nodes").stdout.splitlines()
    wide = server.kubectl("get", "nodes", "-o", "wide").stdout.splitlines()

    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert any(line.split()[:3] == ["master", "Ready", "control-plane,etcd,master"] for line in table)
    assert "INTERNAL-IP" in wide[0] and any("127.0.0.1" in line for line in wide[1:])


def test_single_node_by_name_and_not_found(cluster):
    server, _ = cluster

    node = server.kubectl_json("get", "node", "worker1")
    missing = server.kubectl("get", "node", "nope")

    assert node["kind"] == "Node" and node["metadata"]["name"] == "worker1"
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): nodes "nope" not found'


def test_wrong_token_is_refused_with_401_and_never_ready(cluster, tmp_path):
    server, _ = cluster
    hash_part = server.token.split("::")[0]
    intruder = agent_node(tmp_path / "intruder", server, "intruder", token=f"{hash_part}::server:wrong")
    try:
        intruder.start("agent")
        intruder.wait_log("401 Unauthorized")

        assert not intruder.ready()
        assert "intruder" not in nodes_by_name(server)
    finally:
        intruder.close()


def test_token_with_another_ca_hash_is_refused(cluster, tmp_path):
    server, _ = cluster
    impostor = agent_node(tmp_path / "impostor", server, "impostor", token=f"K10{'0' * 64}::server:{TOKEN}")
    try:
        impostor.start("agent")
        impostor.wait_log("token CA hash does not match the Cluster CA certificate hash")

        assert not impostor.ready()
    finally:
        impostor.close()


def test_same_node_name_with_another_password_is_rejected(cluster, tmp_path):
    server, _ = cluster
    twin = agent_node(tmp_path / "twin", server, "worker1")  # a fresh /etc/rancher/node/password
    try:
        twin.start("agent")
        twin.wait_log("Node password rejected")

        assert not twin.ready()
    finally:
        twin.close()


def test_node_password_file_is_private(cluster):
    _, agent = cluster
    path = agent.path("/etc/rancher/node/password")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(path.read_text().strip()) >= 32


def test_label_node_needs_overwrite_to_change_a_label(cluster):
    server, _ = cluster

    refused = server.kubectl("label", "node", "worker1", "site=lab2")
    changed = server.kubectl("label", "node", "worker1", "site=lab2", "--overwrite")

    assert refused.returncode == 1 and "already has a value (lab), and --overwrite is false" in refused.stderr
    assert (changed.returncode, changed.stdout.strip()) == (0, "node/worker1 labeled")
    assert server.kubectl_json("get", "node", "worker1")["metadata"]["labels"]["site"] == "lab2"
    server.kubectl("label", "node", "worker1", "site=lab", "--overwrite")


@pytest.mark.parametrize(
    "arguments",
    [
        ("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"),
        ("delete", "pod", "hub"),
        ("apply", "-f", "x.yaml"),
    ],
)
def test_unimplemented_kubectl_says_so_and_fails(cluster, arguments):
    server, _ = cluster

    result = server.kubectl(*arguments)

    assert result.returncode == 1
    assert "stand-in kubectl does not implement: kubectl " in result.stderr


def test_garbage_chart_content_fails_the_helm_job(cluster):
    server, _ = cluster
    garbage = base64.b64encode(b"this is not a chart").decode()
    server.write_manifest("bad-chart.yaml", helm_chart("bad-chart", garbage))

    failed = wait_until(lambda: job_finished(server, "helm-install-bad-chart"), 10, what="the bad chart's job")

    assert failed["status"].get("failed") == 1 and not failed["status"].get("succeeded")
    message = failed["status"]["conditions"][0]["message"]
    assert message.startswith("Error: INSTALLATION FAILED:") and "gzip" in message


def test_values_content_that_is_not_a_mapping_fails_the_helm_job(cluster, tmp_path):
    server, _ = cluster
    server.write_manifest("list-values.yaml", helm_chart("list-values", chart_content(tmp_path), "- a\n- list\n"))

    failed = wait_until(lambda: job_finished(server, "helm-install-list-values"), 10, what="the job")

    assert failed["status"].get("failed") == 1
    assert "not a YAML mapping" in failed["status"]["conditions"][0]["message"]


def test_manifest_file_names_must_be_rfc1123(cluster):
    server, _ = cluster
    server.write_manifest(
        "bad_name.yaml", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "underscored"}}
    )

    server.wait_log('Addon.k3s.cattle.io \\"bad_name\\" is invalid')

    assert server.kubectl("get", "namespace", "underscored").returncode == 1


def test_good_chart_installs_and_its_images_come_through_the_mirror(cluster, jupyterhub, registry):
    server, _ = cluster

    completed = job(server, "helm-install-jupyterhub")
    rollouts = [
        server.kubectl("-n", "jhub", "rollout", "status", f"deployment/{name}", "--timeout=30s")
        for name in ("hub", "proxy")
    ]

    assert completed["status"]["succeeded"] == 1
    assert [(r.returncode, r.stdout.strip().splitlines()[-1]) for r in rollouts] == [
        (0, 'deployment "hub" successfully rolled out'),
        (0, 'deployment "proxy" successfully rolled out'),
    ]
    assert "/v2/convecthub/k8s-hub/manifests/4.4.0" in registry.paths()
    assert any(auth.startswith("Basic ") for _, path, auth in registry.requests if "k8s-hub/manifests" in path)
    chart = server.kubectl_json("-n", "kube-system", "get", "helmchart", "jupyterhub")
    assert chart["spec"]["failurePolicy"] == "abort" and chart["status"]["jobName"] == "helm-install-jupyterhub"


def test_hub_and_proxy_run_on_the_server_node(cluster, jupyterhub):
    server, _ = cluster

    pods = server.kubectl_json("-n", "jhub", "get", "pods")["items"]

    placed = {p["metadata"]["labels"]["component"]: (p["spec"]["nodeName"], p["status"]["phase"]) for p in pods}
    assert placed == {"hub": ("master", "Running"), "proxy": ("master", "Running")}
    table = server.kubectl("get", "pods", "-A").stdout.splitlines()
    assert table[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]
    assert any(line.split()[0] == "jhub" and line.split()[3] == "Running" for line in table[1:])


def test_every_node_pulls_the_user_image_and_keeps_imported_ones(cluster, jupyterhub):
    server, _ = cluster
    user_image = CHART_IMAGES["jupyterhub-singleuser"]

    def images_on(name):
        node = server.kubectl_json("get", "node", name)
        return {n for image in node["status"]["images"] for n in image["names"]}

    wait_until(lambda: all(user_image in images_on(n) for n in ("master", "worker1")), 15, what="user image pulls")
    assert IMPORTED_IMAGE in images_on("worker1")
    assert IMPORTED_IMAGE not in images_on("master")
    assert "Imported images from" in cluster[1].log()


def test_pull_failure_shows_in_pods_and_fails_the_rollout(cluster, tmp_path):
    server, _ = cluster
    images = {**CHART_IMAGES, "jupyterhub-proxy": "quay.io/jupyterhub/configurable-http-proxy:9.9.9"}
    server.write_manifest(
        "broken-hub.yaml", helm_chart("broken-hub", chart_content(tmp_path, images), HUB_VALUES, "jhub-broken", True)
    )
    wait_until(lambda: job_finished(server, "helm-install-broken-hub"), 20, what="the broken hub's job")

    rollout = server.kubectl("-n", "jhub-broken", "rollout", "status", "deployment/proxy", "--timeout=4s")
    pods = server.kubectl_json("-n", "jhub-broken", "get", "pods")["items"]

    assert rollout.returncode == 1
    assert "error: timed out waiting for the condition" in rollout.stderr
    assert 'failed to pull and unpack image "quay.io/jupyterhub/configurable-http-proxy:9.9.9"' in rollout.stderr
    proxy = next(p for p in pods if p["metadata"]["labels"]["component"] == "proxy")
    waiting = proxy["status"]["containerStatuses"][0]["state"]["waiting"]
    assert proxy["status"]["phase"] == "Pending"
    assert waiting["reason"] in ("ErrImagePull", "ImagePullBackOff")
    # The mirror has no such tag, so containerd falls back to quay.io itself: unreachable here.
    assert 'failed to pull and unpack image "quay.io/jupyterhub/configurable-http-proxy:9.9.9"' in waiting["message"]
    assert "lookup quay.io: no such host" in waiting["message"]


def test_traefik_front_redirects_web_and_serves_the_login_page(cluster, jupyterhub):
    web, websecure = jupyterhub["web"], jupyterhub["websecure"]
    wait_until(lambda: port_open(websecure), 20, what="the websecure entrypoint")

    plain = http.client.HTTPConnection("127.0.0.1", web, timeout=5)
    plain.request("GET", "/hub/login")
    redirect = plain.getresponse()
    context = ssl.create_default_context(cafile=str(jupyterhub["cert"].with_name("site-ca.crt")))
    secure = http.client.HTTPSConnection("127.0.0.1", websecure, context=context, timeout=5)
    secure.request("GET", "/hub/login")
    login = secure.getresponse()
    login_body = login.read().decode()
    secure.request("GET", "/elsewhere")
    elsewhere = secure.getresponse()

    assert redirect.status in (301, 308)
    assert redirect.getheader("Location") == f"https://127.0.0.1:{websecure}/hub/login"
    assert login.status == 200 and "STAND-IN" in login_body and "<form" in login_body
    assert elsewhere.status == 404


def test_helmchartconfig_and_tls_secret_are_recorded(cluster, jupyterhub):
    server, _ = cluster

    config = server.kubectl_json("-n", "kube-system", "get", "helmchartconfig", "traefik")
    secret = server.kubectl_json("-n", "kube-system", "get", "secret", "convecthub-tls")

    values = yaml.safe_load(config["spec"]["valuesContent"])
    assert values["ports"]["websecure"]["exposedPort"] == jupyterhub["websecure"]
    assert secret["type"] == "kubernetes.io/tls" and set(secret["data"]) == {"tls.crt", "tls.key"}


# -- separate servers: restart, front shutdown, SIGTERM, HA ---------------------


def test_restart_keeps_state_and_removing_a_manifest_deletes_nothing(tmp_path):
    server = start_server(tmp_path / "server")
    try:
        server.write_manifest(
            "kept.yaml",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "kept", "namespace": "default"},
                "stringData": {"greeting": "hello"},
            },
        )
        wait_until(lambda: server.kubectl("get", "secret", "kept").returncode == 0, 10, what="the secret")
        token = server.token
        (server.manifests / "kept.yaml").unlink()
        assert server.stop() == 0
        server.start("server")
        wait_until(lambda: server.kubectl("get", "secret", "kept").returncode == 0, 10, what="the secret again")

        secret = server.kubectl_json("get", "secret", "kept")
        assert base64.b64decode(secret["data"]["greeting"]) == b"hello"
        assert server.token == token
        assert "master" in nodes_by_name(server)
    finally:
        server.close()


def test_restart_with_another_token_is_refused(tmp_path):
    server = start_server(tmp_path / "server")
    try:
        server.stop()
        server.write_config(server_config(server.port, token="another-token"))
        server.start("server")

        assert server.wait_exit() == 1
        assert "bootstrap data already found and encrypted with different token" in server.log()
    finally:
        server.close()


def test_front_stops_when_ingress_is_turned_off(tmp_path):
    server = start_server(tmp_path / "server")
    registry = FakeRegistry(tmp_path / "registry")
    try:
        for image in CHART_IMAGES.values():
            name, tag = image.split("/", 1)[1].rsplit(":", 1)
            registry.add_image(name.replace("jupyterhub/", "convecthub/"), tag)
        server.stop()
        server.write_registries(registries_for(registry))
        server.start("server").wait_ready()
        web, websecure = free_port(), free_port()
        server.write_manifest(
            "traefik-config.yaml",
            {
                **traefik_config(web, websecure),
                "spec": {
                    "valuesContent": yaml.safe_dump(
                        {"ports": {"web": {"exposedPort": web}, "websecure": {"exposedPort": websecure}}}
                    )
                },
            },
        )
        content = chart_content(tmp_path)
        server.write_manifest("jupyterhub.yaml", helm_chart("jupyterhub", content, HUB_VALUES, "jhub", True))
        wait_until(lambda: port_open(websecure), 25, what="the front")
        # Without a redirection, web serves the same routes over HTTP.
        plain = http.client.HTTPConnection("127.0.0.1", web, timeout=5)
        plain.request("GET", "/hub/login")
        assert plain.getresponse().status == 200

        off = {**HUB_VALUES, "ingress": {"enabled": False}}
        server.write_manifest("jupyterhub.yaml", helm_chart("jupyterhub", content, off, "jhub", True))

        wait_until(lambda: not port_open(websecure) and not port_open(web), 15, what="the front to close")
    finally:
        server.close()
        registry.close()


def test_deleting_the_node_lets_a_reinstalled_agent_join_again(tmp_path):
    server = start_server(tmp_path / "server")
    first = agent_node(tmp_path / "first", server, "worker9")
    reinstalled = agent_node(tmp_path / "reinstalled", server, "worker9")  # another node password
    try:
        first.start("agent").wait_ready()
        first.stop()
        reinstalled.start("agent")
        reinstalled.wait_log("Node password rejected")

        deleted = server.kubectl("delete", "node", "worker9")

        assert (deleted.returncode, deleted.stdout.strip()) == (0, 'node "worker9" deleted')
        reinstalled.wait_ready()
        assert "worker9" in nodes_by_name(server)
    finally:
        for node in (first, reinstalled, server):
            node.close()


def test_sigterm_closes_the_api_and_exits_cleanly(tmp_path):
    server = start_server(tmp_path / "server", abstract_notify=True)
    try:
        assert port_open(server.port)

        assert server.stop() == 0
        assert not port_open(server.port)
        assert "STOPPING=1" in "\n".join(server.notify.messages) or server.notify.received("STOPPING=1")
    finally:
        server.close()


@pytest.fixture
def first_server(tmp_path):
    server = start_server(tmp_path / "first", **{"cluster-init": True, "disable": ["traefik"]})
    yield server
    server.close()


def joining_server(root, first, name, **overrides):
    node = StandinNode(root)
    node.port = free_port()
    settings = {
        **server_config(node.port),
        "node-name": name,
        "server": f"https://127.0.0.1:{first.port}",
        "token": first.token,
        "disable": ["traefik"],
        **overrides,
    }
    node.write_config(settings)
    node.add_airgap_images()
    return node


def test_second_server_joins_as_control_plane_and_sees_the_same_cluster(first_server, tmp_path):
    second = joining_server(tmp_path / "second", first_server, "master2")
    try:
        second.start("server").wait_ready()

        nodes = wait_until(lambda: (found := nodes_by_name(second)) and len(found) == 2 and found, 10, what="2 nodes")
        assert nodes["master2"]["metadata"]["labels"]["node-role.kubernetes.io/etcd"] == "true"
        assert nodes["master2"]["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == "true"
        assert set(nodes_by_name(first_server)) == {"master", "master2"}
        assert (second.data_dir / "server/tls/server-ca.crt").read_bytes() == (
            first_server.data_dir / "server/tls/server-ca.crt"
        ).read_bytes()
        assert second.token == first_server.token
    finally:
        second.close()


def test_joining_with_a_wrong_token_exits_nonzero(first_server, tmp_path):
    second = joining_server(tmp_path / "second", first_server, "master2", token="wrong-token")
    try:
        second.start("server")

        assert second.wait_exit() != 0
        assert "401 Unauthorized" in second.log() and "level=fatal" in second.log()
        assert not second.ready()
    finally:
        second.close()


def test_joining_with_another_disable_list_is_a_critical_mismatch(first_server, tmp_path):
    second = joining_server(tmp_path / "second", first_server, "master2", disable=["traefik", "servicelb"])
    try:
        second.start("server")

        assert second.wait_exit() != 0
        assert "critical configuration value mismatch" in second.log()
    finally:
        second.close()


def test_joining_a_server_without_embedded_etcd_is_refused(tmp_path):
    single = start_server(tmp_path / "single", disable=["traefik"])
    second = joining_server(tmp_path / "second", single, "master2")
    try:
        second.start("server")

        assert second.wait_exit() != 0
        assert "not running embedded etcd" in second.log()
    finally:
        second.close()
        single.close()


# -- configuration, in process ----------------------------------------------------


def test_config_dropins_append_and_flags_win(tmp_path, monkeypatch, capsys):
    k3s = load_standin_module()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "token": "from-file",
                "node-label": ["a=1"],
                "tls-san": ["one"],
                "write-kubeconfig-mode": "0644",
                "no-such-key": 1,
            }
        )
    )
    dropins = tmp_path / "config.yaml.d"
    dropins.mkdir()
    (dropins / "10-more.yaml").write_text(yaml.safe_dump({"node-label+": ["b=2"], "tls-san": ["two"]}))
    (dropins / "20-last.yaml").write_text(yaml.safe_dump({"node-name": "from-dropin", "disable": "traefik,servicelb"}))
    monkeypatch.delenv("K3S_TOKEN", raising=False)

    settings = k3s.load_settings(
        "server",
        [
            "--config",
            str(config),
            "--node-name=from-flag",
            "--token",
            "from-flag",
            "--node-ip",
            "10.0.0.9",
            "--cluster-init",
            "--node-label",
            "c=3",
        ],
    )

    assert (settings.token, settings.node_name, settings.node_ips) == ("from-flag", "from-flag", ["10.0.0.9"])
    assert settings.node_labels == {"a": "1", "b": "2", "c": "3"}
    assert settings.tls_sans == ["two"]
    assert settings.disable == ["servicelb", "traefik"] and settings.cluster_init
    assert settings.kubeconfig_mode == 0o644
    assert "Unknown flag --no-such-key found in config.yaml, skipping" in capsys.readouterr().err


def test_agent_config_refuses_server_only_keys(tmp_path):
    # K3s strips unknown config keys for `server` and `etcd-snapshot` only
    # (k3s-io/k3s#4464); an agent's flag parser refuses them, as
    # "flag provided but not defined: -<key>" (docs/contracts.md 1.3).
    k3s = load_standin_module()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"server": "https://10.0.0.1:6443", "token": "t", "cluster-init": True, "node-ip": "10.0.0.2"})
    )

    with pytest.raises(k3s.Fatal, match="flag provided but not defined: -cluster-init"):
        k3s.load_settings("agent", ["-c", str(config)])
