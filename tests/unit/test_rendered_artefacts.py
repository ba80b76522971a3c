"""Every file and manifest the deploy renders, against the upstream contract
of the release pinned in bundle.lock.yaml (docs/contracts.md). The expected
keys, types and values below are upstream's, written down from its sources at
that version; none is taken from the deploy's own constants. The Traefik
HelmChartConfig has its own module (test_traefik_front.py)."""

import base64
import configparser
import re

import yaml

from deploys.jupyterhub import device_plugin_manifest, jupyterhub_manifest
from deploys.k3s_agent import agent_config
from deploys.k3s_node import registries_yaml
from deploys.k3s_server import server_config
from deploys.templating import render

# -- K3s v1.36.4 flags, as config.yaml keys (docs/contracts.md 1.2) --------------
# key -> the flag's type: str (string), list (string slice: a YAML list, or one
# scalar), bool. A server drops any other key with a warning; an agent hands
# it to its CLI parser.
K3S_SHARED_FLAGS = {
    "token": str, "token-file": str, "server": str, "node-ip": list, "flannel-iface": str, "node-label": list,
    "disable-default-registry-endpoint": bool, "default-runtime": str, "node-name": str, "with-node-id": bool,
    "private-registry": str,
}  # fmt: skip
K3S_SERVER_FLAGS = {
    **K3S_SHARED_FLAGS,
    "cluster-init": bool, "tls-san": list, "write-kubeconfig-mode": str, "disable": list, "embedded-registry": bool,
}  # fmt: skip
K3S_AGENT_FLAGS = K3S_SHARED_FLAGS

# The URL a node joins: the supervisor and the API share TCP 6443 on a
# server (docs.k3s.io, "Inbound rules").
K3S_URL = re.compile(r"^https://\d{1,3}(\.\d{1,3}){3}:6443$")


def k3s_config(text: str) -> dict:
    config = yaml.safe_load(text)
    assert isinstance(config, dict)
    return config


def assert_flag_types(config: dict, flags: dict) -> None:
    for key, value in config.items():
        assert key in flags, f"{key} is not a flag of this K3s command"
        kind = flags[key]
        if kind is list:  # a slice takes a list or one scalar
            items = value if isinstance(value, list) else [value]
            assert all(isinstance(item, str) for item in items), (key, value)
        else:
            assert isinstance(value, kind), (key, value)


def server(join_url=None, cluster_init=False, labels=()):
    return k3s_config(
        server_config(
            token="s" * 43,
            node_ip="10.1.0.11",
            iface="eth1",
            tls_sans=["10.1.0.11", "10.1.0.12", "10.1.0.13"],
            labels=list(labels),
            join_url=join_url,
            cluster_init=cluster_init,
        )
    )


def test_a_single_server_config_is_k3s_server_flags_with_their_types():
    config = server()
    assert_flag_types(config, K3S_SERVER_FLAGS)
    # Alone it neither starts etcd (cluster-init) nor joins (server).
    assert "cluster-init" not in config and "server" not in config
    assert config["node-ip"] == "10.1.0.11" and config["flannel-iface"] == "eth1"


def test_the_first_ha_server_starts_embedded_etcd_and_the_others_join_it():
    first = server(cluster_init=True)
    joining = server(join_url="https://10.1.0.11:6443")
    for config in (first, joining):
        assert_flag_types(config, K3S_SERVER_FLAGS)
    assert first["cluster-init"] is True and "server" not in first
    assert K3S_URL.match(joining["server"]) and "cluster-init" not in joining
    # The first server holds the secret; a joining one reads the full token
    # (K10<CA hash>::server:<secret>) from a file, which pins the CA.
    assert first["token"] == "s" * 43 and "token" not in joining
    assert joining["token-file"].startswith("/")


def test_the_kubeconfig_mode_is_an_octal_string_k3s_can_parse():
    # The server parses write-kubeconfig-mode with strconv.ParseUint(.., 8, 32).
    mode = server()["write-kubeconfig-mode"]
    assert isinstance(mode, str) and int(mode, 8) == 0o600


def test_no_node_falls_back_from_the_mirror_to_a_public_registry():
    # K3s: "Disables containerd's fallback default registry endpoint when a
    # mirror is configured for that registry" (server and agent flag, 1.2).
    agent = k3s_config(agent_config("https://10.1.0.11:6443", "10.1.0.21", "eth1", []))
    for config in (server(), server(cluster_init=True), server(join_url="https://10.1.0.11:6443"), agent):
        assert config["disable-default-registry-endpoint"] is True


def test_the_api_certificate_names_every_server_address():
    assert server()["tls-san"] == ["10.1.0.11", "10.1.0.12", "10.1.0.13"]


def test_an_agent_config_uses_only_agent_flags():
    config = k3s_config(
        agent_config(
            server_url="https://10.1.0.11:6443",
            node_ip="10.1.0.21",
            iface="eth1",
            labels=["nvidia.com/gpu.present=true"],
        )
    )
    # An agent does not strip unknown keys (docs/contracts.md 1.3): a server
    # flag here (tls-san, embedded-registry) would stop it.
    assert_flag_types(config, K3S_AGENT_FLAGS)
    assert K3S_URL.match(config["server"])
    assert "token" not in config and config["token-file"].startswith("/")  # the full token, 0600
    assert config["node-label"] == ["nvidia.com/gpu.present=true"]


# -- registries.yaml, rancher/wharfie v0.7.1 pkg/registries/types.go (1.5) -------
WHARFIE_TOP = {"mirrors", "configs", "auths"}
WHARFIE_MIRROR = {"endpoint", "rewrite"}
WHARFIE_CONFIG = {"auth", "tls"}
WHARFIE_AUTH = {"username", "password", "auth", "identity_token"}
WHARFIE_TLS = {"ca_file", "cert_file", "key_file", "insecure_skip_verify"}


def test_registries_yaml_has_only_the_fields_wharfie_reads():
    # wharfie unmarshals non-strictly: a misspelt key would be ignored in
    # silence, so each level is checked against its Go struct here.
    document = yaml.safe_load(registries_yaml("10.1.0.11:5000", ["docker.io", "quay.io"], "pw"))
    assert set(document) <= WHARFIE_TOP
    assert set(document["mirrors"]) == {"docker.io", "quay.io"}
    for mirror in document["mirrors"].values():
        assert set(mirror) <= WHARFIE_MIRROR
        assert mirror["endpoint"] == ["https://10.1.0.11:5000"]
    # configs is keyed by the registry's host (and port), as the endpoint names it.
    assert set(document["configs"]) == {"10.1.0.11:5000"}
    config = document["configs"]["10.1.0.11:5000"]
    assert set(config) <= WHARFIE_CONFIG
    assert set(config["auth"]) <= WHARFIE_AUTH and set(config["tls"]) <= WHARFIE_TLS
    assert all(isinstance(value, str) for value in (*config["auth"].values(), *config["tls"].values()))


# -- HelmChart, k3s-io/helm-controller v0.17.x types.go (section 4) --------------
HELMCHART_SPEC_FIELDS = {
    "chart", "version", "repo", "repoCA", "repoCAConfigMap", "helmVersion", "bootstrap", "takeOwnership", "jobImage",
    "backOffLimit", "timeout", "failurePolicy", "authSecret", "authPassCredentials", "insecureSkipTLSVerify",
    "plainHTTP", "dockerRegistrySecret", "podSecurityContext", "securityContext", "targetNamespace",
    "createNamespace", "chartContent", "values", "valuesContent", "valuesSecrets", "set",
}  # fmt: skip
# The enum of every v0.17.x between the two the pinned K3s may ship.
FAILURE_POLICIES = {"abort", "reinstall"}
# A Go time.ParseDuration string (metav1.Duration).
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


def helm_chart(chart=b"\x1f\x8b chart bytes"):
    documents = list(yaml.safe_load_all(jupyterhub_manifest(chart, {"hub": {}}, "CERT", "KEY")))
    (chart_document,) = [d for d in documents if d["kind"] == "HelmChart"]
    return chart_document


def test_the_jupyterhub_helmchart_has_only_helm_controller_fields_with_their_types():
    document = helm_chart()
    assert document["apiVersion"] == "helm.cattle.io/v1"
    spec = document["spec"]
    assert set(spec) <= HELMCHART_SPEC_FIELDS, set(spec) - HELMCHART_SPEC_FIELDS
    assert spec["failurePolicy"] in FAILURE_POLICIES
    assert GO_DURATION.match(spec["timeout"]), spec["timeout"]
    assert isinstance(spec["createNamespace"], bool) and isinstance(spec["targetNamespace"], str)
    assert isinstance(yaml.safe_load(spec["valuesContent"]), dict)


def test_the_chart_travels_as_base64_of_the_tgz_itself():
    chart = bytes(range(256)) * 4
    assert base64.b64decode(helm_chart(chart)["spec"]["chartContent"], validate=True) == chart


# -- NVIDIA k8s-device-plugin v0.20.0 deployments/static (section 5) -------------
DEVICE_PLUGINS_PATH = "/var/lib/kubelet/device-plugins"


def test_the_device_plugin_daemonset_keeps_upstreams_contract():
    daemonset = yaml.safe_load(device_plugin_manifest("nvcr.io/nvidia/k8s-device-plugin:v0.20.0"))
    assert (daemonset["apiVersion"], daemonset["kind"]) == ("apps/v1", "DaemonSet")
    assert daemonset["metadata"]["namespace"] == "kube-system"
    pod = daemonset["spec"]["template"]["spec"]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    assert pod["priorityClassName"] == "system-node-critical"
    (container,) = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    [volume] = pod["volumes"]
    assert volume["hostPath"] == {"path": DEVICE_PLUGINS_PATH, "type": "Directory"}
    assert [mount["mountPath"] for mount in container["volumeMounts"]] == [DEVICE_PLUGINS_PATH]
    # fail-on-init-error defaults to true: a node whose driver does not work
    # crash-loops the plugin, visibly, instead of offering no GPU in silence.
    env = {item["name"]: item["value"] for item in container.get("env", [])}
    assert env.get("FAIL_ON_INIT_ERROR", "true") == "true"


# -- systemd units, K3s's install.sh create_systemd_service_file (1.6) -----------
INSTALL_SH_SERVICE = {
    "Type": "notify", "KillMode": "process", "Delegate": "yes", "LimitNOFILE": "1048576", "LimitNPROC": "infinity",
    "LimitCORE": "infinity", "TasksMax": "infinity", "TimeoutStartSec": "0", "Restart": "always", "RestartSec": "5s",
}  # fmt: skip


def unit(mode: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(render("k3s.service.j2", mode=mode, binary="/usr/local/bin/k3s"))
    return parser


def test_the_k3s_units_carry_the_install_scripts_service_settings():
    for mode in ("server", "agent"):
        parsed = unit(mode)
        service = dict(parsed["Service"])
        assert {key: service.get(key) for key in INSTALL_SH_SERVICE} == INSTALL_SH_SERVICE, mode
        assert service["ExecStart"] == f"/usr/local/bin/k3s {mode}"
        assert (parsed["Unit"]["Wants"], parsed["Unit"]["After"]) == ("network-online.target",) * 2
        assert parsed["Install"]["WantedBy"] == "multi-user.target"


def test_the_units_load_the_modules_k3s_needs_before_it_starts():
    text = render("k3s.service.j2", mode="server", binary="/usr/local/bin/k3s")
    pre = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStartPre=")]
    assert pre == ["-/sbin/modprobe br_netfilter", "-/sbin/modprobe overlay"]
