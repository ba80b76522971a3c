"""JupyterHub through K3s's Helm controller: the chart from the bundle as a
HelmChart (chartContent: no chart repository needed), the operator's values
merged over ours, and Traefik serving it on http_port/https_port with a
certificate from the cluster's CA. Manifests go to the first driver's
auto-deploy directory; they hold a private key, so they are 0600."""

import base64

import yaml
from pyinfra.api import deploy

from convecthub import footprint as fp
from convecthub.cluster.jupyterhub_values import HELM_TIMEOUT, NAMESPACE, RELEASE, TLS_SECRET
from operations import files


def _tls_secret(namespace: str, cert_pem: str, key_pem: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": TLS_SECRET, "namespace": namespace},
        "data": {
            "tls.crt": base64.b64encode(cert_pem.encode()).decode(),
            "tls.key": base64.b64encode(key_pem.encode()).decode(),
        },
    }


def _documents(*documents) -> str:
    header = "# Written by ConvectHub Deploy (deploys/jupyterhub.py). Holds a private key: 0600.\n"
    return header + yaml.safe_dump_all(documents, sort_keys=False)


def jupyterhub_manifest(chart: bytes, values: dict, cert_pem: str, key_pem: str) -> str:
    return _documents(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        _tls_secret(NAMESPACE, cert_pem, key_pem),
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": RELEASE, "namespace": "kube-system"},
            "spec": {
                "chartContent": base64.b64encode(chart).decode(),
                "targetNamespace": NAMESPACE,
                "createNamespace": True,
                "valuesContent": yaml.safe_dump(values, sort_keys=False),
                "timeout": HELM_TIMEOUT,
                # The default, reinstall, can uninstall the release (and strand
                # the hub's database volume) after an upgrade timed out.
                "failurePolicy": "abort",
            },
        },
    )


def traefik_manifest(http_port: int, https_port: int, cert_pem: str, key_pem: str) -> str:
    values = {
        "ports": {
            "web": {
                "exposedPort": http_port,
                # Traefik chart >= 39 (K3s v1.36 packages 40.1): under `http`.
                "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "permanent": True}}},
            },
            "websecure": {"exposedPort": https_port},
        },
        # Browsers that connect by bare IP send no SNI: they get this one.
        "tlsStore": {"default": {"defaultCertificate": {"secretName": TLS_SECRET}}},
    }
    return _documents(
        _tls_secret("kube-system", cert_pem, key_pem),
        {
            "apiVersion": "helm.cattle.io/v1",
            "kind": "HelmChartConfig",
            "metadata": {"name": "traefik", "namespace": "kube-system"},
            "spec": {"valuesContent": yaml.safe_dump(values, sort_keys=False)},
        },
    )


def device_plugin_manifest(image: str) -> str:
    """NVIDIA's device plugin on nodes labelled as having a GPU, itself run
    with the nvidia runtime (it must see the driver). fail-on-init-error is
    left at upstream's default (true): on a node whose driver does not work
    the plugin crash-loops, visibly, rather than offering no GPU in silence."""
    labels = {"app.kubernetes.io/name": "nvidia-device-plugin"}
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "nvidia-device-plugin", "namespace": "kube-system"},
        "spec": {
            "selector": {"matchLabels": labels},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "runtimeClassName": "nvidia",
                    "nodeSelector": {"nvidia.com/gpu.present": "true"},
                    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": "nvidia-device-plugin",
                            "image": image,
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                            "volumeMounts": [{"name": "device-plugin", "mountPath": fp.DEVICE_PLUGINS_DIR}],
                        }
                    ],
                    # Upstream's type: the kubelet's directory must already be there.
                    "volumes": [
                        {"name": "device-plugin", "hostPath": {"path": fp.DEVICE_PLUGINS_DIR, "type": "Directory"}}
                    ],
                },
            },
        },
    }
    return "# Written by ConvectHub Deploy (deploys/jupyterhub.py).\n" + yaml.safe_dump(daemonset, sort_keys=False)


@deploy("JupyterHub")
def jupyterhub(
    chart: bytes,
    values: dict,
    http_port: int,
    https_port: int,
    cert_pem: str,
    key_pem: str,
    device_plugin_image: str | None,
    staging_dir: str,
):
    manifests = {
        "JupyterHub chart and values (HelmChart)": (
            "convecthub-jupyterhub.yaml",
            jupyterhub_manifest(chart, values, cert_pem, key_pem),
        ),
        "Traefik ports and certificate (HelmChartConfig)": (
            "convecthub-traefik.yaml",
            traefik_manifest(http_port, https_port, cert_pem, key_pem),
        ),
    }
    if device_plugin_image:
        manifests["NVIDIA device plugin"] = (
            "convecthub-nvidia-device-plugin.yaml",
            device_plugin_manifest(device_plugin_image),
        )
    for name, (filename, text) in manifests.items():
        files.content(
            name=name, dest=f"{fp.K3S_MANIFESTS_DIR}/{filename}", text=text, mode="600", staging_dir=staging_dir
        )
