"""The K3s stand-in resolves images through registries.yaml as containerd does.

In-process, against a small /v2/ registry on loopback (tests/standins/k3s/harness.py):
mirrors, the "*" wildcard, docker.io defaults, rewrite, endpoint order, Basic
and Bearer auth, ca_file / client certificates / insecure_skip_verify, and the
error messages a real pull failure shows.
"""

from __future__ import annotations

import shutil

import pytest

from tests.standins.k3s.harness import FakeRegistry, free_port, load_standin_module, make_ca, make_leaf

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

k3s = load_standin_module()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    registry = FakeRegistry(tmp_path_factory.mktemp("registry"))
    registry.add_image("convecthub/k8s-hub", "4.4.0")
    registry.add_image("library/busybox", "1.36", index=True)
    registry.add_image("convecthub/broken", "1.0", missing_blob=True)
    yield registry
    registry.close()


def mirrored(registry, *, auth=None, tls=None, rewrite=None, endpoints=None, key="quay.io"):
    mirror = {"endpoint": endpoints or [f"https://{registry.host}"]}
    if rewrite:
        mirror["rewrite"] = rewrite
    config = {
        "auth": auth or {"username": "puller", "password": "s3cret"},
        "tls": tls if tls is not None else {"ca_file": str(registry.ca[0])},
    }
    return {"mirrors": {key: mirror}, "configs": {registry.host: config}}


def pull(image, registries, disable_default=False):
    return k3s.pull_image(image, registries, "amd64", disable_default)


def test_mirror_rewrite_basic_auth_and_ca_file(registry):
    registry.requests.clear()
    registries = mirrored(registry, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries)

    assert result["ok"], result["message"]
    assert result["endpoint"] == f"https://{registry.host}/v2"
    manifest_requests = [r for r in registry.requests if r[1] == "/v2/convecthub/k8s-hub/manifests/4.4.0"]
    # containerd sends credentials only after the registry's 401 challenge.
    assert [bool(auth) for _, _, auth in manifest_requests] == [False, True]
    assert manifest_requests[1][2].startswith("Basic ")
    assert len(registry.paths("HEAD")) == 2  # config + layer blobs exist


def test_wrong_password_fails_like_containerd(registry):
    registries = mirrored(
        registry, auth={"username": "puller", "password": "wrong"}, rewrite={"^jupyterhub/(.*)": "convecthub/$1"}
    )

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries, disable_default=True)

    assert not result["ok"]
    assert result["message"].startswith('failed to pull and unpack image "quay.io/jupyterhub/k8s-hub:4.4.0": ')
    assert "401 Unauthorized" in result["message"]


def test_unknown_ca_is_an_x509_error(registry):
    registries = mirrored(registry, tls={}, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries, disable_default=True)

    assert "x509: certificate signed by unknown authority" in result["message"]


def test_insecure_skip_verify_accepts_the_unknown_ca(registry):
    registries = mirrored(registry, tls={"insecure_skip_verify": True}, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    assert pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries)["ok"]


def test_endpoints_are_tried_in_order(registry):
    dead = f"https://127.0.0.1:{free_port()}"
    registries = mirrored(
        registry, endpoints=[dead, f"https://{registry.host}"], rewrite={"^jupyterhub/(.*)": "convecthub/$1"}
    )

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries)

    assert result["ok"], result["message"]
    assert result["endpoint"] == f"https://{registry.host}/v2"


def test_only_failing_endpoints_report_the_first_error(registry):
    dead = f"https://127.0.0.1:{free_port()}"
    registries = mirrored(registry, endpoints=[dead], rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries, disable_default=True)

    assert "connect: connection refused" in result["message"]
    assert 'failed to resolve reference "quay.io/jupyterhub/k8s-hub:4.4.0"' in result["message"]


def test_wildcard_mirror_serves_docker_hub_short_names_and_picks_the_platform(registry):
    registry.requests.clear()
    registries = mirrored(registry, key="*")

    result = pull("busybox:1.36", registries)

    assert result["ok"], result["message"]
    assert "/v2/library/busybox/manifests/1.36" in registry.paths()
    assert any(path.startswith("/v2/library/busybox/manifests/sha256:") for path in registry.paths())


def test_registry_without_mirror_is_not_contacted(registry):
    registry.requests.clear()

    result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", {})

    assert not result["ok"]
    assert "dial tcp: lookup quay.io: no such host" in result["message"]
    assert registry.requests == []


def test_missing_tag_is_not_found(registry):
    registries = mirrored(registry, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    result = pull("quay.io/jupyterhub/k8s-hub:9.9.9", registries, disable_default=True)

    assert result["message"] == (
        'failed to pull and unpack image "quay.io/jupyterhub/k8s-hub:9.9.9": failed to '
        'resolve reference "quay.io/jupyterhub/k8s-hub:9.9.9": '
        "quay.io/jupyterhub/k8s-hub:9.9.9: not found"
    )


def test_missing_blob_fails_the_copy(registry):
    registries = mirrored(registry, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

    result = pull("quay.io/jupyterhub/broken:1.0", registries, disable_default=True)

    assert "failed to copy" in result["message"] and "not found" in result["message"]


def test_bearer_token_challenge(tmp_path):
    registry = FakeRegistry(tmp_path, mode="bearer")
    try:
        registry.add_image("convecthub/k8s-hub", "4.4.0")
        registries = mirrored(registry, rewrite={"^jupyterhub/(.*)": "convecthub/$1"})

        result = pull("quay.io/jupyterhub/k8s-hub:4.4.0", registries)

        assert result["ok"], result["message"]
        token_requests = [r for r in registry.requests if r[1].startswith("/token?")]
        assert token_requests and "service=fake-registry" in token_requests[0][1]
        assert token_requests[0][2].startswith("Basic ")
    finally:
        registry.close()


def test_client_certificate_from_cert_file_and_key_file(tmp_path):
    client_ca = make_ca(tmp_path / "clients", "client-ca")
    client = make_leaf(tmp_path / "clients", "node", client_ca)
    registry = FakeRegistry(tmp_path / "registry", client_ca=client_ca[0])
    try:
        registry.add_image("convecthub/k8s-hub", "4.4.0")
        with_cert = {"ca_file": str(registry.ca[0]), "cert_file": str(client[0]), "key_file": str(client[1])}
        rewrite = {"^jupyterhub/(.*)": "convecthub/$1"}

        refused = pull("quay.io/jupyterhub/k8s-hub:4.4.0", mirrored(registry, rewrite=rewrite), disable_default=True)
        accepted = pull("quay.io/jupyterhub/k8s-hub:4.4.0", mirrored(registry, tls=with_cert, rewrite=rewrite))

        assert not refused["ok"]
        assert accepted["ok"], accepted["message"]
    finally:
        registry.close()


@pytest.mark.parametrize(
    "image, expected",
    [
        ("traefik:v3.6.12", ("docker.io", "library/traefik", "v3.6.12")),
        ("jupyterhub/k8s-hub", ("docker.io", "jupyterhub/k8s-hub", "latest")),
        ("quay.io/jupyterhub/k8s-hub:4.4.0", ("quay.io", "jupyterhub/k8s-hub", "4.4.0")),
        ("10.0.0.5:5000/hub@sha256:abc", ("10.0.0.5:5000", "hub", "sha256:abc")),
        ("localhost/x:1", ("localhost", "x", "1")),
    ],
)
def test_image_names_are_normalised_like_containerd(image, expected):
    ref = k3s.parse_image(image)

    assert (ref.registry, ref.repository, ref.reference) == expected


def test_endpoint_paths_schemes_and_default_endpoint():
    registries = {"mirrors": {"docker.io": {"endpoint": ["http://10.0.0.5:5000", "https://m.example:443/custom/v2"]}}}

    endpoints = k3s.endpoints_for(k3s.parse_image("busybox"), registries)

    assert [e.api_root for e in endpoints] == [
        "http://10.0.0.5:5000/v2",
        "https://m.example:443/custom/v2",
        "https://registry-1.docker.io/v2",
    ]
    assert [e.upstream for e in endpoints] == [False, False, True]
    assert [e.api_root for e in k3s.endpoints_for(k3s.parse_image("busybox"), registries, True)][
        -1
    ] == "https://m.example:443/custom/v2"
