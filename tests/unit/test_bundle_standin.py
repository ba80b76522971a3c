"""The stand-in bundle's files (images need Docker: tests/e2e/test_bundle_images.py)."""

from __future__ import annotations

import shutil
import subprocess
import tarfile

import pytest
import yaml

from convecthub.bundle.lock import load_lock
from convecthub.bundle.verify import verify_bundle
from tests.standins.bundle import REPO_LOCK, build_standin_bundle


@pytest.fixture
def standin(tmp_path):
    manifest = build_standin_bundle(tmp_path, include_images=False)
    return tmp_path, manifest


def test_same_layout_and_roles_as_a_real_build_and_marked_standin(standin):
    bundle_dir, manifest = standin
    real_items = [item for item in load_lock(REPO_LOCK).items_for(("amd64",)) if item.asset.kind == "file"]

    assert [(e.name, e.path, e.roles, e.arch) for e in manifest.entries] == [
        (i.asset.name, i.path, i.asset.roles, i.arch) for i in real_items
    ]
    assert manifest.standin and all(entry.standin for entry in manifest.entries)
    assert all(entry.source.startswith("STANDIN for ") for entry in manifest.entries)
    verify_bundle(bundle_dir)


def test_k3s_placeholder_says_it_is_a_standin_and_fails(standin):
    bundle_dir, _ = standin

    run = subprocess.run(["sh", str(bundle_dir / "files/k3s"), "--version"], capture_output=True, text=True)

    assert run.returncode == 1
    assert "STANDIN: this is a placeholder, not K3s" in run.stderr


def test_chart_is_a_valid_helm_archive_listing_the_lock_images(standin):
    bundle_dir, _ = standin
    lock = load_lock(REPO_LOCK)

    with tarfile.open(bundle_dir / "files/jupyterhub-4.4.0.tgz", "r:gz") as chart:
        chart_yaml = yaml.safe_load(chart.extractfile("jupyterhub/Chart.yaml"))
        values = yaml.safe_load(chart.extractfile("jupyterhub/values.yaml"))

    assert (chart_yaml["apiVersion"], chart_yaml["name"], chart_yaml["version"]) == ("v2", "jupyterhub", "4.4.0")
    assert chart_yaml["description"].startswith("STANDIN")
    listed = {
        f"{values['hub']['image']['name']}:{values['hub']['image']['tag']}",
        f"{values['proxy']['chp']['image']['name']}:{values['proxy']['chp']['image']['tag']}",
        f"{values['singleuser']['image']['name']}:{values['singleuser']['image']['tag']}",
    }
    assert listed == {
        lock.asset(name).image for name in ("jupyterhub-hub", "jupyterhub-proxy", "jupyterhub-singleuser")
    }


def test_sizes_pad_files_to_the_requested_size(tmp_path):
    manifest = build_standin_bundle(
        tmp_path,
        include_images=False,
        sizes={"k3s-amd64": 3_000_000, "k3s-airgap-images-amd64": 5_000_000, "jupyterhub-chart": 2_000_000},
    )

    sizes = {entry.name: entry.size for entry in manifest.entries}
    assert sizes["k3s-amd64"] == 3_000_000
    assert sizes["k3s-airgap-images-amd64"] == 5_000_000
    assert 2_000_000 < sizes["jupyterhub-chart"] < 2_100_000  # filler does not compress
    verify_bundle(tmp_path)


def test_a_given_k3s_standin_program_is_included_and_still_runs_when_padded(tmp_path):
    program = shutil.which("true")

    manifest = build_standin_bundle(
        tmp_path, include_images=False, k3s_executable=program, sizes={"k3s-amd64": 4_000_000}
    )

    assert manifest.entry("k3s-amd64").size == 4_000_000
    assert subprocess.run([str(tmp_path / "files/k3s")]).returncode == 0


def test_padding_a_script_standin_is_refused(tmp_path):
    script = tmp_path / "k3s-standin"
    script.write_text("#!/usr/bin/env python3\nprint('k3s stand-in')\n")

    with pytest.raises(ValueError) as refused:
        build_standin_bundle(
            tmp_path / "bundle", include_images=False, k3s_executable=script, sizes={"k3s-amd64": 1_000_000}
        )
    assert "only an ELF program ignores trailing bytes" in str(refused.value)


def test_arm64_standin_has_the_arm64_names(tmp_path):
    manifest = build_standin_bundle(tmp_path, include_images=False, arches=("arm64",))

    assert [entry.path for entry in manifest.entries] == [
        "files/k3s-arm64",
        "files/k3s-airgap-images-arm64.tar.zst",
        "files/jupyterhub-4.4.0.tgz",
    ]
