"""Hostile input that needs no lab (issue 7, docs/troubleshooting.md): the
operator's JupyterHub values against the deploy's own settings, and the
preflight's disk message for small quantities. The lab's cases are in
tests/e2e/test_faults.py."""

import dataclasses
import subprocess
from types import SimpleNamespace

import pytest

from convecthub.cluster.jupyterhub_values import our_values
from convecthub.cluster.provisioner import JupyterHubValuesRefused, operator_values
from deploys.preflight import GB, HostFacts, check_host
from tests.standins.chart import write_standin_chart

OURS = our_values({"jupyterhub-hub": "quay.io/jupyterhub/k8s-hub:4.4.0"}, gpu=False)


def values_from(tmp_path, text):
    path = tmp_path / "jupyterhub.yaml"
    path.write_text(text)
    chart = write_standin_chart(tmp_path / "jupyterhub-4.4.0.tgz", version="4.4.0", images={}).read_bytes()
    data = SimpleNamespace(jhub_config_path=str(path))
    return operator_values(data, SimpleNamespace(cwd=str(tmp_path)), OURS, chart)


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
        resources={
            "cpus": 4,
            "memory_bytes": 8 * GB,
            "path": "/srv",
            "filesystem": "ext4",
            "mount": "/srv",
            "free_bytes": free_bytes,
        },
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


# -- the room check before each bundle upload (operations/bundle.py) ----------


def run_room_check(tmp_path, free_bytes: int | None, size: int, partial: bytes = b""):
    """The check's shell, run here with a `df` that reports `free_bytes` (None: a df that fails)."""
    from operations.bundle import BundleFile, _room_for

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    df = (
        "echo 'df: cannot read table of mounted file systems' >&2; exit 1"
        if free_bytes is None
        else f"echo '   Avail'; echo ' {free_bytes}'"
    )
    (bin_dir / "df").write_text(f"#!/bin/sh\n{df}\n")
    (bin_dir / "df").chmod(0o755)
    bundle = tmp_path / "bundle"
    (bundle / ".incoming" / "images").mkdir(parents=True)
    if partial:
        (bundle / ".incoming" / "images" / "hub.tar").write_bytes(partial)
    check = _room_for(BundleFile("images/hub.tar", "0" * 64, size), str(bundle))
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    return subprocess.run(["sh", "-c", check], capture_output=True, text=True, env=env), bundle


def test_an_upload_without_room_fails_before_it_starts_naming_file_directory_and_space(tmp_path):
    result, bundle = run_room_check(tmp_path, free_bytes=5_000_000, size=12_000_000)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"no room for bundle file images/hub.tar (12.0 MB) in {bundle}: 5 MB free there. Fix: free space on that "
        "filesystem or set convect_workdir to a larger one, then run the deploy again."
    )


def test_an_upload_with_room_or_replacing_a_partial_copy_goes_ahead(tmp_path):
    result, _ = run_room_check(tmp_path, free_bytes=12_000_000, size=12_000_000)
    assert result.returncode == 0, result.stderr
    (tmp_path / "again").mkdir()
    result, _ = run_room_check(tmp_path / "again", free_bytes=5_000_000, size=12_000_000, partial=b"x" * 7_000_000)
    assert result.returncode == 0, result.stderr


def test_a_df_that_fails_stops_the_upload_with_its_own_words_not_a_room_figure(tmp_path):
    result, _ = run_room_check(tmp_path, free_bytes=None, size=12_000_000)
    assert result.returncode != 0
    assert "df: cannot read table of mounted file systems" in result.stderr and "no room" not in result.stderr
