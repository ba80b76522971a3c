"""`verify`: a bundle with a missing or damaged file is refused, naming the file."""

from __future__ import annotations

import hashlib
import json

import pytest

from convecthub.bundle import cli
from convecthub.bundle.errors import ManifestError, VerifyError
from convecthub.bundle.lock import parse_lock
from convecthub.bundle.manifest import MANIFEST_NAME, Manifest, ManifestEntry, write_manifest
from convecthub.bundle.verify import verify_bundle

FILES = {  # path -> (asset name, content, roles, arch)
    "files/k3s": ("k3s", b"k3s binary " * 1000, ("driver", "worker"), "amd64"),
    "files/jupyterhub-4.4.0.tgz": ("jupyterhub-chart", b"chart " * 500, ("driver",), "any"),
    "images/registry.amd64.tar": ("registry", b"image archive " * 800, ("registry",), "amd64"),
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def bundle(tmp_path):
    entries = []
    for path, (name, data, roles, arch) in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
        entries.append(
            ManifestEntry(
                name=name,
                kind="image" if path.startswith("images") else "file",
                path=path,
                size=len(data),
                sha256=sha(data),
                roles=roles,
                arch=arch,
                version="1",
                source=f"https://example.invalid/{name}",
            )
        )
    write_manifest(tmp_path, Manifest(release="r1", arches=("amd64",), entries=tuple(entries)))
    return tmp_path


def refusal(bundle_dir, **options) -> list[str]:
    with pytest.raises(VerifyError) as refused:
        verify_bundle(bundle_dir, **options)
    return [str(problem) for problem in refused.value.problems]  # as the bundle CLI prints them


def test_intact_bundle_passes(bundle):
    manifest = verify_bundle(bundle)
    assert [entry.path for entry in manifest.entries] == list(FILES)


def test_missing_file_is_refused_naming_it(bundle):
    (bundle / "files/k3s").unlink()

    assert refusal(bundle) == [
        f"files/k3s (k3s) is missing: run `python -m convecthub.bundle build {bundle}` to fetch it again"
    ]


def test_corrupted_file_of_the_right_size_is_refused_naming_it_and_both_digests(bundle):
    data = bytearray(FILES["files/k3s"][1])
    data[5] ^= 0x01
    (bundle / "files/k3s").write_bytes(bytes(data))

    (problem,) = refusal(bundle)

    assert problem.startswith(f"files/k3s (k3s) is corrupted: sha256 {sha(bytes(data))},")
    assert f"the manifest says {sha(FILES['files/k3s'][1])}" in problem
    assert problem.endswith(f"delete it and run `python -m convecthub.bundle build {bundle}`")


def test_truncated_file_is_refused_by_its_size(bundle):
    (bundle / "images/registry.amd64.tar").write_bytes(b"short")

    (problem,) = refusal(bundle)

    assert problem.startswith(
        f"images/registry.amd64.tar (registry) is corrupted: 5 bytes, the manifest says"
        f" {len(FILES['images/registry.amd64.tar'][1])}"
    )


def test_every_bad_file_is_listed_at_once(bundle):
    (bundle / "files/k3s").unlink()
    (bundle / "files/jupyterhub-4.4.0.tgz").write_bytes(b"x")

    with pytest.raises(VerifyError) as refused:
        verify_bundle(bundle)

    assert len(refused.value.problems) == 2
    assert str(refused.value).startswith(f"bundle {bundle} is refused: 2 problem(s):\n  - files/k3s")


def test_a_bundle_without_manifest_is_not_a_bundle(tmp_path):
    with pytest.raises(ManifestError) as refused:
        verify_bundle(tmp_path)
    assert f"{tmp_path / MANIFEST_NAME} is missing: {tmp_path} is not a finished bundle" in str(refused.value)


def test_a_manifest_path_leaving_the_bundle_is_refused(bundle):
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    manifest["files"][0]["path"] = "../../etc/passwd"
    (bundle / MANIFEST_NAME).write_text(json.dumps(manifest))

    with pytest.raises(ManifestError) as refused:
        verify_bundle(bundle)
    assert "path '../../etc/passwd' must stay inside the bundle" in str(refused.value)


def test_role_selection_checks_only_what_those_hosts_get(bundle):
    (bundle / "images/registry.amd64.tar").unlink()

    verify_bundle(bundle, roles=["worker"], arch="amd64")  # workers do not need the registry image
    assert refusal(bundle, roles=["registry"], arch="amd64")[0].startswith("images/registry.amd64.tar")


def test_bundle_built_from_other_pins_than_the_lock_is_refused(bundle):
    lock = parse_lock(
        {
            "schema": 1,
            "release": "r2",
            "assets": [
                {
                    "name": "k3s",
                    "kind": "file",
                    "version": "2",
                    "arch": "amd64",
                    "url": "https://example.invalid/k3s",
                    "size": None,
                    "sha256": "c" * 64,
                    "roles": ["driver"],
                },
            ],
        },
        path="bundle.lock.yaml",
    )

    problems = refusal(bundle, lock=lock)

    assert (
        f"files/k3s: sha256 {sha(FILES['files/k3s'][1])} is not the lock's {'c' * 64}:"
        " rebuild the bundle from the current lock file" in problems
    )
    assert (
        "files/jupyterhub-4.4.0.tgz: jupyterhub-chart is not in bundle.lock.yaml:"
        " rebuild the bundle from the current lock file" in problems
    )


def test_cli_verify_exits_non_zero_and_names_the_file(bundle, capsys):
    (bundle / "files/k3s").unlink()

    status = cli.main(["verify", str(bundle)])

    assert status == 1
    assert "files/k3s (k3s) is missing" in capsys.readouterr().err
