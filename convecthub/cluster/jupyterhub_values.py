"""The JupyterHub chart's values: ours (what the deploy is built on), the
operator's merged over them, and the check that refuses operator values that
would undo ours. Pure data: computed on the provisioner, before any host."""

import copy
import io
import json
import tarfile
from typing import Any

import yaml

from convecthub.cluster.json_schema import schema_errors

NAMESPACE = "convecthub"
RELEASE = "jupyterhub"
TLS_SECRET = "convecthub-tls"
HELM_TIMEOUT = "30m"
# Bundle entries -> the chart's value keys for their image.
IMAGE_VALUE_KEYS = {
    "jupyterhub-hub": ("hub", "image"),
    "jupyterhub-proxy": ("proxy", "chp", "image"),
    "jupyterhub-singleuser": ("singleuser", "image"),
}
# What this deploy is built on: an operator's values may not change these.
PROTECTED_VALUES = {
    ("proxy", "service", "type"): "ClusterIP",
    ("proxy", "https", "enabled"): False,
    ("ingress", "enabled"): True,
    ("ingress", "ingressClassName"): "traefik",
}
GPU_PROFILES = [
    {"display_name": "CPU", "description": "A notebook server without a GPU.", "default": True},
    {
        "display_name": "GPU",
        "description": "A notebook server with one NVIDIA GPU.",
        "kubespawner_override": {
            "extra_resource_limits": {"nvidia.com/gpu": "1"},
            "extra_pod_config": {"runtimeClassName": "nvidia"},
        },
    },
]


def _set(tree: dict, keys: tuple, value) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def image_value(reference: str) -> dict:
    name, _, tag = reference.rpartition(":")
    return {"name": name, "tag": tag}


def our_values(images: dict, gpu: bool) -> dict:
    """`images`: bundle entry name -> image reference."""
    values: dict[str, Any] = {
        "proxy": {"service": {"type": "ClusterIP"}, "https": {"enabled": False}},
        "ingress": {"enabled": True, "ingressClassName": "traefik", "tls": [{"secretName": TLS_SECRET}]},
        # Off-line: only hub, proxy and the user image are in the registry.
        "prePuller": {"hook": {"enabled": False}, "continuous": {"enabled": False}},
        "scheduling": {"userScheduler": {"enabled": False}},
        "singleuser": {"cloudMetadata": {"blockWithIptables": False}},
    }
    for entry_name, keys in IMAGE_VALUE_KEYS.items():
        if entry_name in images:
            _set(values, keys, image_value(images[entry_name]))
    if gpu:
        values["singleuser"]["profileList"] = copy.deepcopy(GPU_PROFILES)
    return values


def protected_overrides(operator_values: dict) -> list[tuple[str, str]]:
    """The operator's values that would undo what the deploy relies on, as
    (dotted key, what is wrong): a protected key set to something else, or a
    null or non-mapping on its path (Helm deletes a key whose user value is
    null: an empty `proxy:` would bring the chart's LoadBalancer back)."""
    problems: list[tuple[str, str]] = []
    for keys, wanted in PROTECTED_VALUES.items():
        tree = operator_values
        for depth, key in enumerate(keys):
            if key not in tree:
                break
            value = tree[key]
            path = ".".join(keys[: depth + 1])
            if depth == len(keys) - 1:
                if value != wanted:
                    problems.append((path, f"{value!r} (the deploy needs {wanted!r})"))
            elif not isinstance(value, dict):
                problem = (path, f"{value!r} (a mapping is needed: it would drop the deploy's settings under it)")
                if problem not in problems:
                    problems.append(problem)
                break
            else:
                tree = value
    return problems


def chart_defaults_and_schema(chart: bytes) -> tuple[dict, dict | None]:
    """The chart archive's own values.yaml and values.schema.json (None when
    it ships no schema: Helm then checks nothing either)."""
    defaults: dict = {}
    schema = None
    with tarfile.open(fileobj=io.BytesIO(chart), mode="r:gz") as archive:
        for member in archive.getmembers():
            parts = member.name.split("/")
            if len(parts) != 2 or not member.isfile():
                continue  # only the chart's own files, not its subcharts'
            stream = archive.extractfile(member)
            if stream is None:
                continue
            if parts[1] == "values.yaml":
                defaults = yaml.safe_load(stream) or {}
            elif parts[1] == "values.schema.json":
                schema = json.load(stream)
    return defaults, schema


def schema_problems(values: dict, chart: bytes) -> list[tuple[str, str]]:
    """What `helm install` would refuse: the chart's defaults with ``values``
    over them, against the chart's values.schema.json; every error at once."""
    defaults, schema = chart_defaults_and_schema(chart)
    if schema is None:
        return []
    return list(schema_errors(merged(defaults, values), schema))


def merged(ours: dict, theirs: dict) -> dict:
    """Deep merge: the operator's values win wherever they set something."""
    result = copy.deepcopy(ours)
    for key, value in theirs.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result
