"""The lock file: the repository's own must load; broken ones are refused, every problem named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from convecthub.bundle.errors import LockError
from convecthub.bundle.lock import load_lock, parse_lock
from convecthub.bundle.manifest import JUPYTERHUB_CHART, K3S_AIRGAP_IMAGES, K3S_BINARY

REPO_LOCK = Path(__file__).resolve().parents[2] / "bundle.lock.yaml"
SHA = "a" * 64
DIGEST = "sha256:" + "b" * 64

VALID = {
    "schema": 1,
    "release": "2026.11.0",
    "assets": [
        {
            "name": "k3s-amd64",
            "kind": "file",
            "version": "v1.36.4+k3s1",
            "arch": "amd64",
            "url": "https://example.invalid/v1.36.4%2Bk3s1/k3s",
            "size": 10,
            "sha256": SHA,
            "roles": ["driver", "worker"],
        },
        {
            "name": "chart",
            "kind": "file",
            "version": "4.4.0",
            "arch": "any",
            "url": "https://example.invalid/jupyterhub-4.4.0.tgz",
            "size": None,
            "sha256": None,
            "roles": ["driver"],
        },
        {
            "name": "hub",
            "kind": "image",
            "version": "4.4.0",
            "arch": ["amd64", "arm64"],
            "image": "quay.io/jupyterhub/k8s-hub:4.4.0",
            "digest": DIGEST,
            "roles": ["registry"],
        },
    ],
}


def problems_of(document) -> list[str]:
    with pytest.raises(LockError) as refused:
        parse_lock(document, path="bundle.lock.yaml")
    return refused.value.problems


def with_asset(index: int, **changes):
    document = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is DELETE:
            del document["assets"][index][key]
        else:
            document["assets"][index][key] = value
    return document


DELETE = object()


def test_the_repository_lock_file_is_valid_and_complete():
    lock = load_lock(REPO_LOCK)
    names = {asset.name for asset in lock.assets}

    assert {
        "k3s-amd64",
        "k3s-arm64",
        "k3s-airgap-images-amd64",
        "k3s-airgap-images-arm64",
        "jupyterhub-chart",
        "jupyterhub-hub",
        "jupyterhub-proxy",
        "jupyterhub-singleuser",
        "registry",
        "nvidia-device-plugin",
    } <= names
    for asset in lock.assets:
        assert asset.roles, asset.name
        if asset.kind == "image":
            assert asset.digest is None or asset.pull_reference == f"{asset.repository}@{asset.digest}"


def test_the_lock_names_every_file_the_deploy_looks_up_by_what_it_is():
    lock = load_lock(REPO_LOCK)
    names = {asset.name for asset in lock.assets if asset.kind == "file"}
    for arch in ("amd64", "arm64"):
        assert {K3S_BINARY.format(arch=arch), K3S_AIRGAP_IMAGES.format(arch=arch)} <= names
    assert JUPYTERHUB_CHART in names


def test_repository_lock_pins_k3s_to_the_published_checksums():
    lock = load_lock(REPO_LOCK)
    k3s = lock.asset("k3s-amd64")

    assert k3s.url == "https://github.com/k3s-io/k3s/releases/download/v1.36.4%2Bk3s1/k3s"
    assert k3s.sha256 == "835873f37245fc615f547a2fe2af9402a347875f13fa64a1f136de644955ea3f"
    assert k3s.filename == "k3s"


def test_items_for_one_arch_take_arch_files_once_and_images_per_arch():
    lock = parse_lock(VALID)

    amd64 = [(item.asset.name, item.arch, item.path) for item in lock.items_for(("amd64",))]
    both = [(item.asset.name, item.arch) for item in lock.items_for(("amd64", "arm64"))]

    assert amd64 == [
        ("k3s-amd64", "amd64", "files/k3s"),
        ("chart", "any", "files/jupyterhub-4.4.0.tgz"),
        ("hub", "amd64", "images/hub.amd64.tar"),
    ]
    assert both == [("k3s-amd64", "amd64"), ("chart", "any"), ("hub", "amd64"), ("hub", "arm64")]


def test_image_reference_with_registry_port_is_split_at_the_last_colon():
    lock = parse_lock(with_asset(2, image="127.0.0.1:5000/team/app:1.0"))
    hub = lock.asset("hub")

    assert (hub.repository, hub.tag) == ("127.0.0.1:5000/team/app", "1.0")
    assert hub.pull_reference == f"127.0.0.1:5000/team/app@{DIGEST}"


def test_missing_lock_file_says_how_to_point_at_one(tmp_path):
    with pytest.raises(LockError) as refused:
        load_lock(tmp_path / "nope.yaml")
    assert "file not found: pass --lock PATH" in str(refused.value)


def test_invalid_yaml_is_refused(tmp_path):
    broken = tmp_path / "bundle.lock.yaml"
    broken.write_text("assets: [\n")
    with pytest.raises(LockError) as refused:
        load_lock(broken)
    assert "not valid YAML" in str(refused.value)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({**VALID, "schema": 2}, "schema must be 1 (found 2)"),
        ({**VALID, "release": ""}, 'release must be a non-empty string, e.g. release: "2026.11.0"'),
        ({**VALID, "assets": []}, "assets must be a non-empty list"),
        ({**VALID, "asets": []}, "unknown top-level key 'asets': expected schema, release, assets"),
        (with_asset(0, kind="binary"), "asset 'k3s-amd64': kind must be 'file' or 'image' (found 'binary')"),
        (
            with_asset(0, name="K3s AMD64"),
            "asset 'K3s AMD64': name must be lower-case letters, digits, '.', '_' or '-' (found 'K3s AMD64')",
        ),
        (
            with_asset(0, sha256="ABC"),
            "asset 'k3s-amd64': sha256 must be 64 lower-case hex digits or null (found 'ABC')",
        ),
        (
            with_asset(0, sha256=DELETE),
            "asset 'k3s-amd64': sha256 is missing: write the publisher's digest, or null if unresolved",
        ),
        (
            with_asset(0, sha265=SHA),
            "asset 'k3s-amd64': unknown key 'sha265' for a file asset: expected arch, file, kind, name,"
            " roles, sha256, size, url, version",
        ),
        (with_asset(0, size=-1), "asset 'k3s-amd64': size must be a positive number of bytes or null (found -1)"),
        (
            with_asset(0, url="ftp://example.invalid/k3s"),
            "asset 'k3s-amd64': url must be an http(s) URL (found 'ftp://example.invalid/k3s')",
        ),
        (
            with_asset(0, url="https://example.invalid/"),
            "asset 'k3s-amd64': cannot name the file from the URL (got ''): add file: NAME",
        ),
        (
            with_asset(0, arch="x86_64"),
            "asset 'k3s-amd64': arch must be one of amd64, arm64, any or a list of them (found 'x86_64')",
        ),
        (with_asset(2, arch="any"), "asset 'hub': arch must be one of amd64, arm64 or a list of them (found 'any')"),
        (
            with_asset(0, roles=["server"]),
            "asset 'k3s-amd64': roles must be a non-empty list of driver, worker, registry (found ['server'])",
        ),
        (
            with_asset(0, roles=[]),
            "asset 'k3s-amd64': roles must be a non-empty list of driver, worker, registry (found [])",
        ),
        (
            with_asset(1, version=4.4),
            "asset 'chart': version must be a string (found 4.4); quote numbers: version: \"4.4\"",
        ),
        (
            with_asset(2, image=f"quay.io/jupyterhub/k8s-hub@{DIGEST}"),
            f"asset 'hub': image must be repository:tag without @digest (found 'quay.io/jupyterhub/k8s-hub@{DIGEST}');"
            " the digest goes in digest:",
        ),
        (
            with_asset(2, image="quay.io/jupyterhub/k8s-hub"),
            "asset 'hub': image 'quay.io/jupyterhub/k8s-hub' needs a tag, e.g. quay.io/jupyterhub/k8s-hub:1.0",
        ),
        (
            with_asset(2, image="quay.io/JupyterHub/k8s-hub:4.4.0"),
            "asset 'hub': image repository 'quay.io/JupyterHub/k8s-hub' is not a valid name",
        ),
        (
            with_asset(2, digest="b" * 64),
            f"asset 'hub': digest must be sha256: and 64 lower-case hex digits, or null (found '{'b' * 64}')",
        ),
        (
            with_asset(2, digest=DELETE),
            "asset 'hub': digest is missing: write sha256:... from the registry, or null if unresolved",
        ),
        (
            with_asset(2, url="https://example.invalid/x"),
            "asset 'hub': unknown key 'url' for an image asset: expected arch, digest, image, kind, name, roles, version",
        ),
        (with_asset(1, name="k3s-amd64"), "asset 'k3s-amd64': the name is used twice; names must be unique"),
        (
            with_asset(1, url="https://example.invalid/other/k3s"),
            "asset 'chart': file name 'k3s' is also 'k3s-amd64''s: add file: NAME to one of them",
        ),
    ],
)
def test_invalid_lock_is_refused_with_a_precise_message(document, expected):
    assert expected in problems_of(document)


def test_every_problem_is_reported_at_once():
    document = copy.deepcopy(VALID)
    document["assets"][0]["sha256"] = "nope"
    document["assets"][1]["roles"] = ["everyone"]
    document["assets"][2]["digest"] = "latest"

    problems = problems_of(document)

    assert len(problems) == 3
    assert [problem.split(":")[0] for problem in problems] == ["asset 'k3s-amd64'", "asset 'chart'", "asset 'hub'"]


def test_the_error_text_names_the_lock_file_and_counts_the_problems():
    with pytest.raises(LockError) as refused:
        parse_lock({**VALID, "schema": 3, "release": None}, path="site/bundle.lock.yaml")
    assert str(refused.value).startswith("site/bundle.lock.yaml: 2 problem(s):\n  - schema must be 1")
