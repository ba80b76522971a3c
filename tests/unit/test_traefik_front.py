"""The Traefik HelmChartConfig the deploy writes, against the Traefik chart
that K3s v1.36.4+k3s1 packages (40.1.x+up40.1.0; docs/contracts.md section
2): the expected values come from that chart's values.schema.json and
templates, not from the deploy's constants; and the calibrated stand-in
refuses what the chart refuses."""

import base64

import yaml

from deploys.jupyterhub import traefik_manifest
from tests.standins.k3s.harness import load_standin_module

# traefik-helm-chart v40.1.0, traefik/values.schema.json: the only keys an
# entry of `ports` may have (additionalProperties: false).
UPSTREAM_PORT_KEYS = {
    "allowACMEByPass", "appProtocol", "asDefault", "containerPort", "expose", "exposedPort", "forwardedHeaders",
    "hostIP", "hostPort", "http", "http3", "nodePort", "observability", "port", "protocol", "proxyProtocol",
    "targetPort", "transport", "uplink",
}  # fmt: skip


def rendered(http_port=9000, https_port=9443):
    documents = list(yaml.safe_load_all(traefik_manifest(http_port, https_port, "CERT", "KEY")))
    (config,) = [d for d in documents if d["kind"] == "HelmChartConfig"]
    return config, yaml.safe_load(config["spec"]["valuesContent"])


def test_the_config_targets_k3s_traefik_release():
    config, _ = rendered()
    # K3s installs Traefik as HelmChart kube-system/traefik; a HelmChartConfig
    # of the same name and namespace is merged into it (helm-controller).
    assert (config["apiVersion"], config["metadata"]) == (
        "helm.cattle.io/v1",
        {"name": "traefik", "namespace": "kube-system"},
    )


def test_every_port_entry_keeps_to_the_charts_schema():
    _, values = rendered()

    for name, port in values["ports"].items():
        assert set(port) <= UPSTREAM_PORT_KEYS, (name, set(port) - UPSTREAM_PORT_KEYS)
        assert isinstance(port["exposedPort"], int)
    assert values["ports"]["web"]["exposedPort"] == 9000 and values["ports"]["websecure"]["exposedPort"] == 9443


def test_http_redirects_to_the_websecure_entry_point_under_http():
    _, values = rendered()

    # Chart >= 39.0.0: ports.<name>.http.redirections.entryPoint; `to` is
    # the name of another entry of `ports` (the template fails otherwise).
    redirect = values["ports"]["web"]["http"]["redirections"]["entryPoint"]
    assert redirect["to"] in values["ports"] and redirect["to"] == "websecure"
    assert redirect["scheme"] == "https"


def test_the_default_certificate_is_the_tls_store_default():
    documents = list(yaml.safe_load_all(traefik_manifest(80, 443, "CERT", "KEY")))
    _, values = rendered()

    secret_name = values["tlsStore"]["default"]["defaultCertificate"]["secretName"]
    # The chart makes TLSStore `default` in its own namespace: the secret must be there.
    (secret,) = [d for d in documents if d["kind"] == "Secret"]
    assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (secret_name, "kube-system")
    assert base64.b64decode(secret["data"]["tls.crt"]) == b"CERT"


def test_the_calibrated_standin_refuses_the_pre_39_key_and_accepts_ours():
    k3s = load_standin_module()
    old = {"ports": {"web": {"exposedPort": 9000,
                             "redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}}}}  # fmt: skip

    refused = k3s.traefik_values_problems(k3s.deep_merge(k3s.TRAEFIK_DEFAULT_VALUES, old))
    assert refused and "ports.web: Additional property redirections is not allowed" in refused[0]

    _, ours = rendered()
    assert k3s.traefik_values_problems(k3s.deep_merge(k3s.TRAEFIK_DEFAULT_VALUES, ours)) == []


def test_the_standin_refuses_a_redirect_to_a_port_number():
    k3s = load_standin_module()
    numbered = {"ports": {"web": {"http": {"redirections": {"entryPoint": {"to": ":9443"}}}}}}

    (problem,) = k3s.traefik_values_problems(k3s.deep_merge(k3s.TRAEFIK_DEFAULT_VALUES, numbered))
    assert "Cannot redirect web to :9443: entryPoint not found" in problem
