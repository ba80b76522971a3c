"""A small but valid Helm chart archive named jupyterhub, standing in for Zero to JupyterHub.

It has the real chart's name and version and the real values keys for the
images (hub.image, proxy.chp.image, singleuser.image), so whatever reads the
chart's images (the deploy, the K3s stand-in) sees what it would see in the
real one. It renders nothing: its only template is a NOTES.txt.

It ships a values.schema.json, as the real chart does, at least as strict as
Zero to JupyterHub 4.4.0's (docs/contracts.md section 3) for every key the
deploy or the lab's values set, and stricter elsewhere: a key it does not
list is refused (the real schema lists many more). Its values.yaml carries
the upstream defaults the schema requires (userScheduler's plugins,
cloudMetadata's ip).
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import yaml

from tests.standins.padding import PaddingReader

# Where each image asset of the lock file sits in the real chart's values.yaml.
VALUES_KEYS = {
    "jupyterhub-hub": ("hub", "image"),
    "jupyterhub-proxy": ("proxy", "chp", "image"),
    "jupyterhub-singleuser": ("singleuser", "image"),
}
APP_VERSION = {"4.4.0": "5.5.0"}  # chart version -> JupyterHub version it ships


def _closed(properties: dict, required: tuple = ()) -> dict:
    """An object schema that allows no other keys (additionalProperties: false)."""
    schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


_IMAGE = _closed(
    {
        "name": {"type": "string"},
        "tag": {"type": "string"},
        "pullPolicy": {"enum": [None, "", "IfNotPresent", "Always", "Never"]},
        "pullSecrets": {"type": "array"},
    },
    required=("name", "tag"),
)
_ENABLED = _closed({"enabled": {"type": "boolean"}}, required=("enabled",))

# Zero to JupyterHub 4.4.0's jupyterhub/values.schema.yaml, for the keys the
# deploy and the lab set (each type, enum and requirement as upstream's).
VALUES_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    **_closed(
        {
            "hub": _closed({"config": {"type": "object"}, "baseUrl": {"type": "string"}, "image": _IMAGE}),
            "proxy": _closed(
                {
                    "service": _closed({"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]}}),
                    "https": _closed({"enabled": {"type": ["boolean", "null"]}}),
                    "chp": _closed({"image": _IMAGE, "resources": {"type": "object"}}),
                }
            ),
            "singleuser": _closed(
                {
                    "image": _IMAGE,
                    "cloudMetadata": _closed(
                        {"blockWithIptables": {"type": "boolean"}, "ip": {"type": "string"}},
                        required=("blockWithIptables", "ip"),
                    ),
                    "profileList": {"type": "array"},
                }
            ),
            "prePuller": _closed({"hook": _ENABLED, "continuous": _ENABLED}),
            "scheduling": _closed(
                {
                    "userScheduler": _closed(
                        {
                            "enabled": {"type": "boolean"},
                            "plugins": {"type": "object"},
                            "pluginConfig": {"type": "array"},
                            "logLevel": {"type": "integer"},
                        },
                        required=("enabled", "plugins", "pluginConfig", "logLevel"),
                    )
                }
            ),
            "ingress": _closed(
                {
                    "enabled": {"type": "boolean"},
                    "ingressClassName": {"type": ["string", "null"]},
                    "tls": {"type": "array"},
                    "hosts": {"type": "array"},
                    "annotations": {"type": "object"},
                },
                required=("enabled",),
            ),
        }
    ),
}


def chart_values(images: dict[str, str]) -> dict:
    """values.yaml content: asset name -> 'repository:tag' placed at the real keys."""
    values: dict = {
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        # Upstream's defaults for what its schema requires (values.yaml, 4.4.0).
        "scheduling": {"userScheduler": {"enabled": False, "plugins": {}, "pluginConfig": [], "logLevel": 4}},
        "singleuser": {"cloudMetadata": {"blockWithIptables": True, "ip": "169.254.169.254"}},
        "ingress": {"enabled": False},
    }
    for asset_name, keys in VALUES_KEYS.items():
        if asset_name not in images:
            continue
        repository, tag = images[asset_name].rsplit(":", 1)
        node = values
        for key in keys:
            node = node.setdefault(key, {})
        node.update({"name": repository, "tag": tag})
    return values


def write_standin_chart(path: str | Path, *, version: str, images: dict[str, str], padding: int = 0) -> Path:
    """Write jupyterhub-<version>.tgz; `padding` bytes of filler go in files/standin-padding.bin."""
    path = Path(path)
    chart_yaml = {
        "apiVersion": "v2",
        "name": "jupyterhub",
        "version": version,
        "appVersion": APP_VERSION.get(version, "0.0.0-standin"),
        "description": "STANDIN: a test stand-in for the Zero to JupyterHub chart; it deploys nothing.",
        "kubeVersion": ">=1.28.0-0",
        "annotations": {"convecthub/standin": "true"},
    }
    members = {
        "jupyterhub/Chart.yaml": yaml.safe_dump(chart_yaml, sort_keys=False).encode(),
        "jupyterhub/values.yaml": (
            "# STANDIN values: the image keys of the real chart, nothing else.\n"
            + yaml.safe_dump(chart_values(images), sort_keys=False)
        ).encode(),
        "jupyterhub/values.schema.json": json.dumps(VALUES_SCHEMA, indent=2).encode(),
        "jupyterhub/templates/NOTES.txt": b"STANDIN chart: nothing was deployed.\n",
        "jupyterhub/STANDIN": b"This chart is a test stand-in made by tests/standins/chart.py.\n",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0 and fixed member times: the same inputs give the same bytes.
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(
            fileobj=raw,
            mode="wb",
            mtime=0,
            compresslevel=1,  # filler does not compress
        ) as zipped,
    ):
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for name, data in members.items():
                _add(archive, name, len(data), io.BytesIO(data))
            if padding:
                _add(archive, "jupyterhub/files/standin-padding.bin", padding, PaddingReader(padding))
    return path


def _add(archive: tarfile.TarFile, name: str, size: int, stream) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    archive.addfile(info, stream)
