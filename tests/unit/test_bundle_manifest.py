"""bundle.json: round trip, atomic write, and which files each role gets."""

from __future__ import annotations

import json
import os

import pytest

from convecthub.bundle.errors import ManifestError
from convecthub.bundle.lock import load_lock
from convecthub.bundle.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    load_manifest,
    parse_manifest,
    write_manifest,
)
from tests.unit.test_bundle_lock import REPO_LOCK


def manifest_like_the_repository_lock(arches=("amd64", "arm64")) -> Manifest:
    """The manifest a real build of the repository's lock would write (fake digests)."""
    lock = load_lock(REPO_LOCK)
    entries = tuple(
        ManifestEntry(
            name=item.asset.name,
            kind=item.asset.kind,
            path=item.path,
            size=1,
            sha256="0" * 64,
            roles=item.asset.roles,
            arch=item.arch,
            version=item.asset.version,
            source="x",
        )
        for item in lock.items_for(arches)
    )
    return Manifest(release=lock.release, arches=arches, entries=entries)


def names(entries) -> set[str]:
    return {f"{entry.name}@{entry.arch}" for entry in entries}


def test_workers_get_k3s_and_its_images_for_their_arch_only():
    manifest = manifest_like_the_repository_lock()

    assert names(manifest.for_host(["worker"], "arm64")) == {"k3s-arm64@arm64", "k3s-airgap-images-arm64@arm64"}


def test_drivers_also_get_the_chart():
    manifest = manifest_like_the_repository_lock()

    assert names(manifest.for_host(["driver"], "amd64")) == {
        "k3s-amd64@amd64",
        "k3s-airgap-images-amd64@amd64",
        "jupyterhub-chart@any",
    }


def test_the_registry_gets_every_image_and_no_k3s():
    manifest = manifest_like_the_repository_lock()

    assert names(manifest.for_host(["registry"], "amd64")) == {
        "jupyterhub-hub@amd64",
        "jupyterhub-proxy@amd64",
        "jupyterhub-singleuser@amd64",
        "registry@amd64",
        "nvidia-device-plugin@amd64",
    }


def test_a_host_with_two_roles_gets_the_union():
    manifest = manifest_like_the_repository_lock()

    both = names(manifest.for_host(["driver", "registry"], "amd64"))

    assert both == names(manifest.for_host(["driver"], "amd64")) | names(manifest.for_host(["registry"], "amd64"))


def test_round_trip_keeps_every_field(tmp_path):
    manifest = Manifest(
        release="r",
        arches=("amd64",),
        lock_sha256="f" * 64,
        standin=True,
        entries=(
            ManifestEntry(
                name="hub",
                kind="image",
                path="images/hub.amd64.tar",
                size=3,
                sha256="a" * 64,
                roles=("registry",),
                arch="amd64",
                version="4.4.0",
                source="quay.io/x@sha256:" + "b" * 64,
                image="quay.io/x:4.4.0",
                pinned=False,
                standin=True,
            ),
        ),
    )

    write_manifest(tmp_path, manifest)

    assert load_manifest(tmp_path) == manifest
    assert json.loads((tmp_path / MANIFEST_NAME).read_text())["files"][0]["roles"] == ["registry"]


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    write_manifest(tmp_path, Manifest(release="old", arches=("amd64",), entries=()))
    write_manifest(tmp_path, Manifest(release="new", arches=("amd64",), entries=()))

    assert os.listdir(tmp_path) == [MANIFEST_NAME]
    assert load_manifest(tmp_path).release == "new"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(format="other/9"), "not a convecthub-bundle/1 manifest"),
        (lambda d: d["files"][0].update(size="3"), "entry #1 (hub): size must be a whole number"),
        (lambda d: d["files"][0].update(roles=["master"]), "roles ['master'] must be among driver, worker, registry"),
        (lambda d: d["files"][0].update(path="/etc/passwd"), "path '/etc/passwd' must stay inside the bundle"),
        (lambda d: d["files"].append(dict(d["files"][0])), "file 'images/hub.tar' is listed twice"),
    ],
)
def test_malformed_manifest_is_refused(change, expected):
    document = {
        "format": "convecthub-bundle/1",
        "release": "r",
        "arches": ["amd64"],
        "files": [
            {
                "name": "hub",
                "kind": "image",
                "path": "images/hub.tar",
                "size": 3,
                "sha256": "a" * 64,
                "roles": ["registry"],
                "arch": "amd64",
                "version": "1",
                "source": "x",
            }
        ],
    }
    change(document)

    with pytest.raises(ManifestError) as refused:
        parse_manifest(document)
    assert expected in str(refused.value)
