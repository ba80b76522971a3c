"""Hostile input that needs no lab (issue 7, docs/troubleshooting.md): the
operator's JupyterHub values against the deploy's own settings, and the
preflight's disk message for small quantities. The lab's cases are in
tests/e2e/test_faults.py."""

import dataclasses
from types import SimpleNamespace

import pytest

from convecthub.provisioner import JupyterHubValuesRefused, operator_values
from deploys.jupyterhub import our_values
from deploys.preflight import GB, HostFacts, check_host

OURS = our_values({"jupyterhub-hub": "quay.io/jupyterhub/k8s-hub:4.4.0"}, gpu=False)


def values_from(tmp_path, text):
    path = tmp_path / "jupyterhub.yaml"
    path.write_text(text)
    return operator_values(SimpleNamespace(jhub_config_path=str(path)), SimpleNamespace(cwd=str(tmp_path)), OURS)


def test_overriding_the_proxy_service_type_is_refused_naming_the_key(tmp_path):
    with pytest.raises(JupyterHubValuesRefused) as refused:
        values_from(tmp_path, "proxy:\n  service:\n    type: LoadBalancer\n")
    assert "proxy.service.type: 'LoadBalancer' (the deploy needs 'ClusterIP')" in str(refused.value)


def test_values_that_leave_ours_alone_are_merged_over_them(tmp_path):
    values = values_from(tmp_path, "hub:\n  baseUrl: /jhub/\nproxy:\n  chp:\n    resources: {}\n")
    assert values["hub"]["baseUrl"] == "/jhub/"
    assert values["proxy"]["service"] == {"type": "ClusterIP"}
    assert values["ingress"]["enabled"] is True


# Helm deletes a key whose user value is null: `proxy:` left empty (its
# children commented out) drops the deploy's proxy settings, and the chart's
# defaults come back (proxy.service.type LoadBalancer, proxy.https ...).
@pytest.mark.parametrize("text", ["proxy:\n", "ingress: ~\n", "proxy:\n  service: null\n", "proxy:\n  https: []\n"])
def test_a_null_or_non_mapping_above_a_protected_value_is_refused(tmp_path, text):
    with pytest.raises(JupyterHubValuesRefused):
        values_from(tmp_path, text)


def small_disk(free_bytes: int, bundle_bytes: int) -> HostFacts:
    return HostFacts(
        name="worker1",
        roles=frozenset({"worker"}),
        data={"my_iface": "eth1", "convect_workdir": "/srv/convecthub", "preflight_min_disk_gb": 0},
        uid=0,
        os_release={"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
        resources={"cpus": 4, "memory_bytes": 8 * GB, "path": "/srv", "filesystem": "ext4", "mount": "/srv",
                   "free_bytes": free_bytes, "used_bytes": 0},
        ports={},
        apt={"apt_get": True, "sources": 1, "lists": 1, "errors": [], "audit": [], "check_status": 0, "check": []},
        interfaces={"eth1": ["10.0.0.2/24"], "lo": ["127.0.0.1/8"]},
        gpus=[],
        bundle_bytes=bundle_bytes,
    )


def test_too_little_disk_is_a_problem_even_below_one_gb():
    (problem,) = check_host(small_disk(free_bytes=900_000, bundle_bytes=12_000_000)).problems
    assert problem.variable == "disk"
    assert check_host(dataclasses.replace(small_disk(900_000, 12_000_000), bundle_bytes=800_000)).problems == []


def test_the_disk_message_tells_free_space_from_what_is_needed_below_one_gb():
    (problem,) = check_host(small_disk(free_bytes=900_000, bundle_bytes=12_000_000)).problems
    assert "0.0 GB" not in problem.message and "0.0 GB" not in problem.fix, (problem.message, problem.fix)
