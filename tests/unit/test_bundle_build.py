"""Building a bundle of file assets from a loopback HTTP server (images need Docker: see e2e)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from convecthub.bundle import cli
from convecthub.bundle.build import PREVIOUS_MANIFEST, build_bundle
from convecthub.bundle.errors import BundleError, DownloadError, ImageError
from convecthub.bundle.lock import parse_lock
from convecthub.bundle.manifest import MANIFEST_NAME, Manifest, ManifestEntry, load_manifest, write_manifest
from tests.unit.bundle_http import RangeServer

K3S = os.urandom(2 * 1024 * 1024 + 7)
AIRGAP = os.urandom(3 * 1024 * 1024 + 11)
CHART = os.urandom(40_000)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server():
    files = {"k3s": K3S, "k3s-airgap-images-amd64.tar.zst": AIRGAP, "jupyterhub-4.4.0.tgz": CHART}
    with RangeServer(files) as running:
        yield running


def lock_document(server, *, chart_sha256=None):
    def file_entry(name, path, data, roles, pinned=True, arch="amd64"):
        return {
            "name": name,
            "kind": "file",
            "version": "1",
            "arch": arch,
            "url": server.url(path),
            "size": len(data) if pinned else None,
            "sha256": sha(data) if pinned else None,
            "roles": roles,
        }

    chart = file_entry("jupyterhub-chart", "jupyterhub-4.4.0.tgz", CHART, ["driver"], pinned=False, arch="any")
    chart["sha256"] = chart_sha256
    return {
        "schema": 1,
        "release": "test-1",
        "assets": [
            file_entry("k3s-amd64", "k3s", K3S, ["driver", "worker"]),
            file_entry("k3s-airgap-images-amd64", "k3s-airgap-images-amd64.tar.zst", AIRGAP, ["driver", "worker"]),
            chart,
        ],
    }


def test_build_writes_files_and_a_manifest_naming_each(server, tmp_path):
    lock = parse_lock(lock_document(server, chart_sha256=sha(CHART)), path="lock.yaml")

    report = build_bundle(lock, tmp_path)

    manifest = load_manifest(tmp_path)
    assert [(e.name, e.path, e.size, e.sha256, e.roles) for e in manifest.entries] == [
        ("k3s-amd64", "files/k3s", len(K3S), sha(K3S), ("driver", "worker")),
        (
            "k3s-airgap-images-amd64",
            "files/k3s-airgap-images-amd64.tar.zst",
            len(AIRGAP),
            sha(AIRGAP),
            ("driver", "worker"),
        ),
        ("jupyterhub-chart", "files/jupyterhub-4.4.0.tgz", len(CHART), sha(CHART), ("driver",)),
    ]
    assert (tmp_path / "files/k3s").read_bytes() == K3S
    assert report.transferred == len(K3S) + len(AIRGAP) + len(CHART)
    assert not (tmp_path / PREVIOUS_MANIFEST).exists()


def test_second_build_transfers_zero_bytes(server, tmp_path):
    lock = parse_lock(lock_document(server, chart_sha256=sha(CHART)))
    build_bundle(lock, tmp_path)
    server.reset_counts()

    again = build_bundle(lock, tmp_path)

    assert server.bytes_served == 0 and server.requests == []
    assert again.transferred == 0 and again.made == []
    assert len(again.reused) == 3


def test_unpinned_asset_is_refused_without_the_flag(server, tmp_path):
    lock = parse_lock(lock_document(server))

    with pytest.raises(BundleError) as refused:
        build_bundle(lock, tmp_path)

    assert "1 asset(s) have no digest in the lock file: jupyterhub-chart." in str(refused.value)
    assert "--allow-unpinned" in str(refused.value)
    assert server.requests == []  # refused before any download


def test_unpinned_asset_is_recorded_as_such_and_not_fetched_twice(server, tmp_path):
    lock = parse_lock(lock_document(server))
    first = build_bundle(lock, tmp_path, allow_unpinned=True)
    chart = load_manifest(tmp_path).entry("jupyterhub-chart")
    server.reset_counts()

    build_bundle(lock, tmp_path, allow_unpinned=True)

    assert [entry.name for entry in first.unpinned] == ["jupyterhub-chart"]
    assert chart.pinned is False and chart.sha256 == sha(CHART)
    assert server.bytes_served == 0  # recognised through the previous bundle.json


def test_manifest_is_written_last_so_a_failed_build_leaves_none(server, tmp_path):
    lock = parse_lock(lock_document(server, chart_sha256=sha(CHART)))
    build_bundle(lock, tmp_path)
    del server.files["jupyterhub-4.4.0.tgz"]
    (tmp_path / "files/jupyterhub-4.4.0.tgz").unlink()

    with pytest.raises(DownloadError):
        build_bundle(lock, tmp_path)

    assert not (tmp_path / MANIFEST_NAME).exists()  # verify and the deploy refuse it
    assert (tmp_path / PREVIOUS_MANIFEST).exists()  # kept so the next run can reuse files


def test_an_interrupted_build_still_reuses_what_the_previous_bundle_had(server, tmp_path):
    lock = parse_lock(lock_document(server))
    build_bundle(lock, tmp_path, allow_unpinned=True)
    server.cut_after["k3s"] = 1000
    (tmp_path / "files/k3s").unlink()
    with pytest.raises(DownloadError):
        build_bundle(lock, tmp_path, allow_unpinned=True, retries=0)
    server.reset_counts()

    build_bundle(lock, tmp_path, allow_unpinned=True)

    # Only the rest of k3s comes again: not the unpinned chart, not the airgap tarball.
    assert [(path, status) for path, _, status in server.requests] == [("k3s", 206)]
    assert server.bytes_served == len(K3S) - 1000
    assert (tmp_path / MANIFEST_NAME).exists()


def test_cli_build_and_verify_round_trip(server, tmp_path, capsys):
    lock_file = tmp_path / "lock.yaml"
    lock_file.write_text(json.dumps(lock_document(server, chart_sha256=sha(CHART))))
    out = tmp_path / "bundle"

    assert cli.main(["build", "--lock", str(lock_file), str(out)]) == 0
    built = capsys.readouterr().err
    assert cli.main(["verify", "--lock", str(lock_file), str(out)]) == 0
    verified = capsys.readouterr().err

    assert f"bundle {out}: 3 files" in built and "reused 0, made 3" in built
    assert "| all [" in built  # the overall bar
    assert f"bundle {out} is intact: 3 files" in verified


def test_cli_reports_errors_without_a_traceback(server, tmp_path, capsys):
    lock_file = tmp_path / "lock.yaml"
    lock_file.write_text(json.dumps(lock_document(server)))

    status = cli.main(["build", "--lock", str(lock_file), str(tmp_path / "bundle")])

    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith("error: 1 asset(s) have no digest in the lock file: jupyterhub-chart.")
    assert "Traceback" not in error


IMAGE_DIGEST = "sha256:" + "d" * 64
IMAGE_LOCK = {
    "schema": 1,
    "release": "test-1",
    "assets": [
        {
            "name": "hub",
            "kind": "image",
            "version": "1",
            "arch": "amd64",
            "image": "quay.io/x/hub:1",
            "digest": IMAGE_DIGEST,
            "roles": ["registry"],
        }
    ],
}


@pytest.fixture
def no_docker(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/convecthub-test/docker.sock")


def test_rebuild_reusing_every_image_archive_needs_no_docker(no_docker, tmp_path):
    archive = b"what docker save wrote"
    (tmp_path / "images").mkdir()
    (tmp_path / "images/hub.amd64.tar").write_bytes(archive)
    write_manifest(
        tmp_path,
        Manifest(
            release="test-0",
            arches=("amd64",),
            entries=(
                ManifestEntry(
                    name="hub",
                    kind="image",
                    path="images/hub.amd64.tar",
                    size=len(archive),
                    sha256=sha(archive),
                    roles=("registry",),
                    arch="amd64",
                    version="1",
                    source=f"quay.io/x/hub@{IMAGE_DIGEST}",
                    image="quay.io/x/hub:1",
                ),
            ),
        ),
    )

    report = build_bundle(parse_lock(IMAGE_LOCK), tmp_path)

    assert report.reused == ["images/hub.amd64.tar"] and report.made == []
    assert load_manifest(tmp_path).release == "test-1"


def test_an_image_to_pull_without_docker_says_how_to_get_one(no_docker, tmp_path):
    with pytest.raises(ImageError) as refused:
        build_bundle(parse_lock(IMAGE_LOCK), tmp_path)

    assert str(refused.value).startswith("cannot reach the provisioner's Docker (")
    assert "start dockerd, or set DOCKER_HOST" in str(refused.value)
    assert not (tmp_path / MANIFEST_NAME).exists()
