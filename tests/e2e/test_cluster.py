"""The product, end to end, in the manual's topology: master (driver +
registry), worker1, worker2 with a stand-in NVIDIA GPU and packages, served
on http_port=9000 / https_port=9443. Then the uninstall, on the same nodes.

K3s and the chart's images are stand-ins (tests/standins/, docs/standins.md):
what is checked here is what the deploy does on real nodes (SSH, sudo,
systemd, apt, the real registry, TLS) and what a K3s honouring the contracts
would see. The tests of this module run in order on one lab.
"""

import json
import time

import pytest

from tests.lab.lab import topology

from .conftest import deploy_totals, exec_on, k3s_warnings, run_pyinfra

pytestmark = pytest.mark.e2e

PORTS = {"http_port": 9000, "https_port": 9443}
CHART_IMAGES = (
    "quay.io/jupyterhub/k8s-hub:4.4.0",
    "quay.io/jupyterhub/configurable-http-proxy:5.2.0",
    "quay.io/jupyterhub/k8s-singleuser-sample:4.4.0",
)
DEVICE_PLUGIN = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0"


@pytest.fixture(scope="module")
def lab(lab_factory):
    nodes = topology(port_offset=700)
    return lab_factory("convecthub-e2e-cluster", nodes, "10.213.70.0/24", data=PORTS)


def kubectl_json(lab, *arguments):
    code, output = exec_on(lab, "master", ["k3s", "kubectl", *arguments, "-o", "json"])
    assert code == 0, output
    return json.loads(output)


def address(lab, name):
    return next(node.private_ip for node in lab.nodes if node.spec.name == name)


def test_deploy_builds_the_cluster(lab):
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["error"] == 0 and totals["success"] > 0, totals

    nodes = {item["metadata"]["name"]: item for item in kubectl_json(lab, "get", "nodes")["items"]}
    assert sorted(nodes) == ["master", "worker1", "worker2"]
    for name, node in nodes.items():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", name


def test_no_k3s_logged_a_warning_real_k3s_would_only_warn_with(lab):
    # Among them: a bare token (agents would trust any CA), a skipped key.
    assert k3s_warnings(lab, ("master", "worker1", "worker2")) == []


def test_agents_joined_the_masters_private_address(lab):
    master = address(lab, "master")
    for worker in ("worker1", "worker2"):
        code, config = exec_on(lab, worker, ["cat", "/etc/rancher/k3s/config.yaml"])
        assert code == 0
        assert f"server: https://{master}:6443" in config
        assert f"node-ip: {address(lab, worker)}" in config
        code, mode = exec_on(lab, worker, ["stat", "-c", "%a %U", "/etc/rancher/k3s/config.yaml"])
        assert mode.strip() == "600 root", "the token's file is readable by others"
    node = kubectl_json(lab, "get", "node", "worker1")
    assert node["metadata"]["annotations"]["k3s.io/internal-ip"] == address(lab, "worker1")


def test_only_the_gpu_node_is_labelled_and_has_the_nvidia_stack(lab):
    labels = {
        item["metadata"]["name"]: item["metadata"]["labels"] for item in kubectl_json(lab, "get", "nodes")["items"]
    }
    assert labels["worker2"].get("nvidia.com/gpu.present") == "true"
    assert "nvidia.com/gpu.present" not in labels["worker1"]
    assert exec_on(lab, "worker2", ["dpkg-query", "-W", "nvidia-container-toolkit"])[0] == 0
    assert exec_on(lab, "worker2", ["sh", "-c", "command -v nvidia-container-runtime"])[0] == 0
    assert exec_on(lab, "worker1", ["dpkg-query", "-W", "nvidia-container-toolkit"])[0] != 0
    plugin = kubectl_json(lab, "-n", "kube-system", "get", "daemonset", "nvidia-device-plugin")
    assert plugin["spec"]["template"]["spec"]["runtimeClassName"] == "nvidia"


def image_pulls(lab) -> dict:
    pulls = {}
    for item in kubectl_json(lab, "get", "nodes")["items"]:
        recorded = json.loads(item["metadata"]["annotations"].get("k3s-standin.convecthub/image-pulls", "{}"))
        pulls[item["metadata"]["name"]] = recorded
    return pulls


def test_every_image_was_pulled_from_the_private_registry_through_the_mirrors(lab):
    registry = f"{address(lab, 'master')}:5000"
    # The user image is pulled once the chart is installed, and a node
    # reports its pulls at its next heartbeat: maybe after the deploy ended.
    deadline = time.monotonic() + 30
    while True:
        pulls = image_pulls(lab)
        recorded = set(pulls.get("master", {})) | {f"worker2:{image}" for image in pulls.get("worker2", {})}
        expected = {*CHART_IMAGES, f"worker2:{DEVICE_PLUGIN}"}
        if expected <= recorded or time.monotonic() > deadline:
            break
        time.sleep(1)
    for image in CHART_IMAGES:
        assert pulls["master"][image]["ok"], pulls["master"][image]
        assert pulls["master"][image]["endpoint"] == f"https://{registry}/v2"
    assert pulls["worker2"][DEVICE_PLUGIN]["ok"], pulls["worker2"]
    # And the real registry saw them asked for, with the deploy's user.
    code, log = exec_on(lab, "master", ["journalctl", "-u", "docker-registry", "--no-pager"])
    for image in CHART_IMAGES:
        repository, tag = image.split("/", 1)[1].rsplit(":", 1)
        assert f"GET /v2/{repository}/manifests/{tag}" in log, image
    assert "auth.user.name=convecthub" in log


def test_jupyterhub_answers_on_the_configured_ports(lab):
    master = address(lab, "master")
    config = kubectl_json(lab, "-n", "kube-system", "get", "helmchartconfig", "traefik")
    assert "exposedPort: 9000" in config["spec"]["valuesContent"]
    assert "exposedPort: 9443" in config["spec"]["valuesContent"]
    login = (
        f"curl -sS -o /dev/null -w '%{{http_code}}' --cacert /etc/rancher/k3s/convecthub-ca.crt "
        f"https://{master}:9443/hub/login"
    )
    assert exec_on(lab, "worker1", ["sh", "-c", login]) == (0, "200")
    # ServiceLB answers on every node (docs/inventory.md), agents too, with
    # the front certificate (it names every node's address).
    for node in ("worker1", "worker2"):
        on_agent = login.replace(f"https://{master}:", f"https://{address(lab, node)}:")
        assert exec_on(lab, "master", ["sh", "-c", on_agent]) == (0, "200"), node
    redirect = f"curl -sS -o /dev/null -w '%{{http_code}} %{{redirect_url}}' http://{master}:9000/hub/login"
    code, output = exec_on(lab, "worker1", ["sh", "-c", redirect])
    assert code == 0 and output.split()[1].startswith(f"https://{master}:9443/"), output


def test_second_run_reports_zero_changes(lab):
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["success"] == 0 and totals["error"] == 0, totals


def test_dry_run_after_changing_https_port_lists_exactly_what_would_change(lab):
    result = run_pyinfra(lab.inventory, "--dry", "--json", "--data", "https_port=9444", "deploy.py")
    plan = json.loads(result.stdout)["plan"]
    changing = {op["name"]: op["hosts_with_change"] for op in plan if op["hosts_with_change"]}
    assert changing == {"JupyterHub | Traefik ports and certificate (HelmChartConfig)": ["master"]}
    # Nothing was applied: the cluster still serves 9443.
    config = kubectl_json(lab, "-n", "kube-system", "get", "helmchartconfig", "traefik")
    assert "exposedPort: 9443" in config["spec"]["valuesContent"]


# -- The uninstall, on the same nodes -----------------------------------------


def audit(lab):
    return run_pyinfra(lab.inventory, "-y", "audit.py", check=False)


def test_reset_leaves_nothing_and_a_second_reset_changes_nothing(lab):
    first = deploy_totals(lab.inventory, "reset.py")
    assert first["error"] == 0 and first["success"] > 0

    result = audit(lab)
    assert result.returncode == 0, result.stderr[-3000:]
    for node in ("master", "worker1", "worker2"):
        assert f"audit: nothing of ConvectHub on {node}" in result.stderr
        code, output = exec_on(
            lab, node, ["sh", "-c", "ip -o link; ip netns list; iptables-save; cat /proc/self/mounts"]
        )
        for trace in ("cni0", "flannel.1", "cni-", "KUBE-", "FLANNEL", "/run/k3s", "/var/lib/kubelet"):
            assert trace not in output, (node, trace)
        assert exec_on(lab, node, ["test", "-e", "/etc/rancher/node"])[0] != 0, "a re-join would be refused"

    second = deploy_totals(lab.inventory, "reset.py")
    assert second["success"] == 0 and second["error"] == 0, second


@pytest.mark.parametrize(
    "kind, plant, named, remove",
    [
        ("interface", "ip link add cni0 type bridge", "interface: cni0", "ip link delete cni0"),
        ("iptables rule", "iptables -N KUBE-LEFTOVER", "KUBE-LEFTOVER", "iptables -X KUBE-LEFTOVER"),
        (
            "mount",
            "mkdir -p /run/k3s/leftover && mount -t tmpfs leftover /run/k3s/leftover",
            "mount: /run/k3s/leftover",
            "umount /run/k3s/leftover && rm -rf /run/k3s",
        ),
        (
            "file",
            "mkdir -p /etc/rancher/node && touch /etc/rancher/node/password",
            "file: /etc/rancher",
            "rm -rf /etc/rancher",
        ),
    ],
)
def test_the_audit_names_each_kind_of_leftover(lab, kind, plant, named, remove):
    assert exec_on(lab, "worker1", ["sh", "-c", plant])[0] == 0, kind
    try:
        result = audit(lab)
        assert result.returncode != 0, f"the audit missed a leftover {kind}"
        assert named in result.stderr
        assert "audit: worker1 still holds" in result.stderr
        assert "master still holds" not in result.stderr
    finally:
        exec_on(lab, "worker1", ["sh", "-c", remove])
    assert audit(lab).returncode == 0


def test_deploy_again_after_reset_and_agents_rejoin(lab):
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["error"] == 0

    nodes = kubectl_json(lab, "get", "nodes")["items"]
    assert sorted(item["metadata"]["name"] for item in nodes) == ["master", "worker1", "worker2"]
    code, log = exec_on(lab, "worker1", ["journalctl", "-u", "k3s-agent", "--no-pager"])
    assert "Node password rejected" not in log


def test_no_secret_is_on_a_command_line_or_in_a_world_readable_file(lab):
    state = json.loads((lab.state_dir / "state.json").read_text())
    secrets = "".join(f"{value}\n" for key, value in state.items() if key != "registry_htpasswd")
    # The patterns go in a root-only file: on a command line they would find themselves.
    patterns = "/root/.secrets-to-look-for"
    search = (
        f"ps -eo args | grep -F -f {patterns}; "
        "find / -xdev -type f -perm -o+r -size -2M 2>/dev/null | grep -v -E '^/(proc|sys)/' "
        f"| xargs -r grep -l -F -f {patterns} 2>/dev/null; true"
    )
    for node in ("master", "worker1", "worker2"):
        container = lab.client.containers.get(f"{lab.spec.name}-{node}")
        container.put_archive("/root", _single_file_tar(".secrets-to-look-for", secrets.encode()))
        try:
            code, output = exec_on(lab, node, ["sh", "-c", search])
        finally:
            exec_on(lab, node, ["rm", "-f", patterns])
        assert output.strip() == "", f"a secret is visible on {node}: {output[:300]}"


# K3s reads every /etc/rancher/k3s/config.yaml.d/*.yaml after config.yaml
# (docs/contracts.md 1.3). A server skips a key it does not know with
# "Unknown flag --<key> found in config.yaml, skipping"; an agent's flag
# parser refuses it; flannel-iface must name an interface that exists.
DROP_IN = "/etc/rancher/k3s/config.yaml.d/50-operator.yaml"


@pytest.mark.parametrize(
    "node, text, named",
    [
        ("master", "kubelet-arg+:\n  - max-pods=120\nflanel-iface: eth1\n", "Unknown flag --flanel-iface"),
        ("worker1", "flanel-iface: eth1\n", "flag provided but not defined: -flanel-iface"),
        ("worker1", "flannel-iface: eth9\n", "unable to find interface eth9 (flannel-iface)"),
    ],
    ids=["misspelt key on a server", "misspelt key on an agent", "flannel-iface naming a missing interface"],
)
def test_a_bad_k3s_config_drop_in_fails_the_run_naming_the_host_and_the_key(lab, node, text, named):
    plant = f"mkdir -p {DROP_IN.rsplit('/', 1)[0]} && printf '%s' '{text}' > {DROP_IN}"
    assert exec_on(lab, node, ["sh", "-c", plant])[0] == 0
    try:
        result = run_pyinfra(lab.inventory, "--json", "-y", "deploy.py", check=False)
        assert result.returncode != 0, "a bad drop-in passed the deploy"
        failing = [line for line in result.stderr.splitlines() if f"[{node}]" in line]
        assert any(named in line for line in failing), "\n".join(failing[-30:])
    finally:
        exec_on(lab, node, ["rm", "-f", DROP_IN])
    # Without it, the next deploy restarts K3s with the right settings.
    totals = deploy_totals(lab.inventory, "deploy.py")
    assert totals["error"] == 0


def _single_file_tar(name: str, content: bytes) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(content), 0o600
        tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()
