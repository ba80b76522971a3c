"""The K3s stand-in refuses what the pinned releases refuse (docs/contracts.md
sections 1 and 4), at least as strictly: a HelmChart helm-controller's CRD
would refuse, an agent config key its flag parser refuses, a flannel-iface
that does not exist or does not carry node-ip. The expected refusals are
upstream's; the HelmChart the deploy writes passes."""

import base64

import pytest
import yaml

from deploys.jupyterhub import jupyterhub_manifest
from tests.standins.k3s.harness import load_standin_module

k3s = load_standin_module()


def helm_chart(**spec):
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": "jupyterhub", "namespace": "kube-system"},
        "spec": {"chartContent": base64.b64encode(b"tgz").decode(), **spec},
    }


def test_the_helmchart_the_deploy_writes_passes():
    documents = yaml.safe_load_all(jupyterhub_manifest(b"\x1f\x8b" * 1000, {"hub": {}}, "CERT", "KEY"))
    (chart,) = [document for document in documents if document["kind"] == "HelmChart"]
    assert k3s.validate_object(chart) is None


@pytest.mark.parametrize(
    "spec, refusal",
    [
        ({"failurePolicy": "rollback"}, 'spec.failurePolicy: Unsupported value: "rollback"'),
        # retry exists from helm-controller v0.17.6 only; the pinned K3s may ship v0.17.1.
        ({"failurePolicy": "retry"}, 'spec.failurePolicy: Unsupported value: "retry"'),
        ({"timeout": "30 minutes"}, 'spec.timeout: time: invalid duration "30 minutes"'),
        ({"createNamespace": "true"}, "spec.createNamespace in body must be of type boolean"),
        ({"valuesContent": {"hub": {}}}, "spec.valuesContent in body must be of type string"),
        ({"targetNamespce": "convecthub"}, "spec.targetNamespce: field not declared in schema"),
        # helm-controller hands the chart to its job in a ConfigMap: 1 MiB at most.
        ({"chartContent": "A" * (1024 * 1024 + 4)}, "Too long: must have at most 1048576 bytes"),
    ],
    ids=["policy", "retry", "timeout", "createNamespace", "valuesContent", "misspelt field", "chart size"],
)
def test_helm_specs_that_helm_controller_refuses_are_refused(spec, refusal):
    problem = k3s.validate_object(helm_chart(**spec))
    assert problem is not None and refusal in problem, problem


def test_a_helmchartconfig_takes_only_its_own_fields():
    config = {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChartConfig",
        "metadata": {"name": "traefik", "namespace": "kube-system"},
        "spec": {"valuesContent": "{}", "targetNamespace": "kube-system"},
    }
    assert "spec.targetNamespace: field not declared" in k3s.validate_object(config)


def write_config(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return ["--config", str(path)]


def test_a_server_skips_an_unknown_config_key_with_upstreams_warning(tmp_path, capsys):
    settings = k3s.load_settings("server", write_config(tmp_path, "node-ip: 127.0.0.1\nflanel-iface: eth1\n"))
    assert settings.flannel_iface == ""
    assert "Unknown flag --flanel-iface found in config.yaml, skipping" in capsys.readouterr().err


def test_an_agent_refuses_an_unknown_config_key(tmp_path):
    with pytest.raises(k3s.Fatal, match="flag provided but not defined: -flanel-iface"):
        k3s.load_settings("agent", write_config(tmp_path, "node-ip: 127.0.0.1\nflanel-iface: eth1\n"))


def test_a_server_only_key_on_an_agent_is_refused(tmp_path):
    with pytest.raises(k3s.Fatal, match="flag provided but not defined: -tls-san"):
        k3s.load_settings("agent", write_config(tmp_path, "node-ip: 127.0.0.1\ntls-san: [10.0.0.1]\n"))


def test_flannel_iface_must_exist_even_when_node_ip_is_given(tmp_path):
    with pytest.raises(k3s.Fatal, match="unable to find interface eth9 \\(flannel-iface\\)"):
        k3s.load_settings("agent", write_config(tmp_path, "node-ip: 127.0.0.1\nflannel-iface: eth9\n"))


def test_flannel_iface_must_carry_node_ip(tmp_path):
    with pytest.raises(k3s.Fatal, match="flannel-iface lo does not carry node-ip 10.9.9.9"):
        k3s.load_settings("agent", write_config(tmp_path, "node-ip: 10.9.9.9\nflannel-iface: lo\n"))
    settings = k3s.load_settings("agent", write_config(tmp_path, "node-ip: 127.0.0.1\nflannel-iface: lo\n"))
    assert settings.node_ips == ["127.0.0.1"]


class CacertsAnswer:
    status, reason, body = 200, "OK", b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def test_a_bare_token_is_warned_about_as_k3s_does_and_a_full_one_is_checked(monkeypatch, capsys):
    monkeypatch.setattr(k3s, "http_request", lambda *arguments, **options: CacertsAnswer())
    k3s.fetch_cluster_ca("https://10.0.0.1:6443", k3s.parse_token("a-bare-secret"))
    assert "the token does not include a CA hash" in capsys.readouterr().err

    full = k3s.full_token(CacertsAnswer.body, "a-bare-secret")
    assert k3s.fetch_cluster_ca("https://10.0.0.1:6443", k3s.parse_token(full)) == CacertsAnswer.body
    assert "CA hash" not in capsys.readouterr().err
    with pytest.raises(PermissionError, match="token CA hash does not match"):
        k3s.fetch_cluster_ca("https://10.0.0.1:6443", k3s.parse_token("K10" + "0" * 64 + "::server:a-bare-secret"))
