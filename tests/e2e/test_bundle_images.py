"""Image assets end to end: pulled by digest from a real registry on loopback, saved, loaded back.

Needs a Docker engine (the tier's `docker_client` fixture skips without one, and
fails in CI) and Debian's `docker-registry` package (the distribution registry,
run here on 127.0.0.1 with a temporary config).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from convecthub.bundle.manifest import load_manifest
from convecthub.bundle.verify import verify_bundle
from tests.standins.bundle import build_standin_bundle
from tests.standins.images import STANDIN_LABEL, build_standin_image

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Debian's distribution registry on 127.0.0.1:<free port>, plain HTTP (Docker trusts loopback)."""
    binary = shutil.which("docker-registry")
    assert binary, "the image tests need Debian's registry: apt-get install docker-registry"
    workdir = tmp_path_factory.mktemp("registry")
    port = free_port()
    config = workdir / "config.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 0.1,
                "log": {"level": "warn"},
                "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
                "http": {"addr": f"127.0.0.1:{port}"},
            }
        )
    )
    with open(workdir / "registry.log", "wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/v2/", process, workdir / "registry.log")
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_serving(url: str, process, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited: {log.read_text()}")
        try:
            with opener.open(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"docker-registry did not answer on {url}: {log.read_text()}")


@pytest.fixture
def pushed_image(docker_client, registry):
    """A tiny image pushed to the loopback registry, then removed locally: (reference, digest)."""
    reference = f"{registry}/convecthub-test/tiny-{uuid.uuid4().hex[:8]}:1.0"
    repository, tag = reference.rsplit(":", 1)
    build_standin_image(docker_client, reference)
    for line in docker_client.images.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in line, line
    digest = docker_client.images.get(reference).attrs["RepoDigests"][0].split("@", 1)[1]
    docker_client.images.remove(reference, force=True)  # the build must really pull it
    yield reference, digest
    for name in (reference, f"{repository}@{digest}"):
        try:
            docker_client.images.remove(name, force=True)
        except Exception:
            pass


def write_lock(path: Path, reference: str, digest: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "schema": 1,
                "release": "e2e",
                "assets": [
                    {
                        "name": "tiny",
                        "kind": "image",
                        "version": "1.0",
                        "arch": ["amd64"],
                        "image": reference,
                        "digest": digest,
                        "roles": ["registry"],
                    }
                ],
            }
        )
    )
    return path


def run_in(docker_client, image: str, *command: str) -> bytes:
    """Output of a command in a throw-away container, removed even when it fails to start."""
    container = docker_client.containers.create(image, list(command))
    try:
        container.start()
        container.wait(timeout=60)
        return container.logs()
    finally:
        container.remove(force=True)


def bundle_command(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "convecthub.bundle", *arguments], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_build_pulls_by_digest_and_the_archive_loads_back(docker_client, pushed_image, tmp_path):
    reference, digest = pushed_image
    lock = write_lock(tmp_path / "lock.yaml", reference, digest)

    built = bundle_command("build", "--lock", str(lock), str(tmp_path / "bundle"))

    assert built.returncode == 0, built.stderr
    entry = load_manifest(tmp_path / "bundle").entry("tiny")
    assert (entry.path, entry.image, entry.roles) == ("images/tiny.amd64.tar", reference, ("registry",))
    assert entry.source == f"{reference.rsplit(':', 1)[0]}@{digest}"
    verify_bundle(tmp_path / "bundle")

    docker_client.images.remove(reference, force=True)
    loaded = subprocess.run(
        ["docker", "load", "-i", str(tmp_path / "bundle" / entry.path)], capture_output=True, text=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    assert f"Loaded image: {reference}" in loaded.stdout
    assert run_in(docker_client, reference, "/bin/busybox", "cat", "/STANDIN").startswith(
        b"STANDIN: test stand-in for " + reference.encode()
    )


def test_second_build_pulls_and_saves_nothing(docker_client, pushed_image, tmp_path):
    reference, digest = pushed_image
    lock = write_lock(tmp_path / "lock.yaml", reference, digest)
    assert bundle_command("build", "--lock", str(lock), str(tmp_path / "bundle")).returncode == 0
    archive = tmp_path / "bundle/images/tiny.amd64.tar"
    first_write = archive.stat().st_mtime_ns

    again = bundle_command("build", "--lock", str(lock), str(tmp_path / "bundle"))

    assert again.returncode == 0, again.stderr
    assert "reused 1, made 0" in again.stderr
    assert archive.stat().st_mtime_ns == first_write


def test_a_digest_the_registry_does_not_have_is_refused_naming_asset_and_reference(pushed_image, tmp_path):
    reference, _ = pushed_image
    wrong = "sha256:" + "0" * 64
    lock = write_lock(tmp_path / "lock.yaml", reference, wrong)

    failed = bundle_command("build", "--lock", str(lock), str(tmp_path / "bundle"))

    assert failed.returncode == 1
    assert f"asset tiny: Docker could not pull {reference.rsplit(':', 1)[0]}@{wrong} for linux/amd64" in failed.stderr
    assert not (tmp_path / "bundle/bundle.json").exists()


def test_standin_bundle_images_are_real_archives_under_the_real_names(docker_client, tmp_path):
    manifest = build_standin_bundle(tmp_path, docker_client=docker_client, sizes={"jupyterhub-hub": 2_000_000})

    verify_bundle(tmp_path)
    hub = manifest.entry("jupyterhub-hub")
    assert hub.standin and hub.image == "quay.io/jupyterhub/k8s-hub:4.4.0"
    assert hub.size > 2_000_000
    docker_client.images.remove(hub.image, force=True)
    loaded = subprocess.run(
        ["docker", "load", "-i", str(tmp_path / hub.path)], capture_output=True, text=True, timeout=120
    )
    assert f"Loaded image: {hub.image}" in loaded.stdout, loaded.stderr
    assert docker_client.images.get(hub.image).labels.get(STANDIN_LABEL) == "true"


def test_unpinned_image_is_pulled_by_tag_and_its_digest_reported(pushed_image, tmp_path):
    reference, digest = pushed_image
    lock = write_lock(tmp_path / "lock.yaml", reference, None)

    refused = bundle_command("build", "--lock", str(lock), str(tmp_path / "bundle"))
    built = bundle_command("build", "--allow-unpinned", "--lock", str(lock), str(tmp_path / "bundle"))

    assert refused.returncode == 1 and "have no digest in the lock file: tiny." in refused.stderr
    assert built.returncode == 0, built.stderr
    pinned_form = f"{reference.rsplit(':', 1)[0]}@{digest}"
    assert "UNPINNED: check these against the publisher" in built.stderr
    assert f"  tiny (amd64): {pinned_form}" in built.stderr
    entry = load_manifest(tmp_path / "bundle").entry("tiny")
    assert (entry.source, entry.pinned) == (pinned_form, False)
