"""The benchmark's stand-in bundle: tests/standins/bundle.py's layout and
manifest, padded to the sizes of a real release.

The K3s stand-in is padded by tests/standins/k3s/build.py (a self-contained
zipapp: filler before the zip archive is never read), so the deploy moves,
hashes and hard-links it like the real 70 MB binary. Other files and images
are padded by tests/standins/bundle.py.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from pathlib import Path

from tests.lab.lab import K3S_STANDIN
from tests.standins.bundle import build_standin_bundle

K3S_ASSET = "k3s-amd64"
MB = 1_000_000

# Sizes of a release (bytes), asset name -> size: K3s ~70 MB, its air-gap
# images ~200 MB, the chart's and the cluster's images ~1 GB together.
PROFILES = {
    "realistic": {
        K3S_ASSET: 70 * MB,
        "k3s-airgap-images-amd64": 200 * MB,
        "jupyterhub-hub": 300 * MB,
        "jupyterhub-proxy": 100 * MB,
        "jupyterhub-singleuser": 550 * MB,
        "registry": 20 * MB,
        "nvidia-device-plugin": 30 * MB,
    },
    # For developing the benchmark: the same flow in a few minutes.
    "small": {
        K3S_ASSET: 4 * MB,
        "k3s-airgap-images-amd64": 8 * MB,
        "jupyterhub-hub": 6 * MB,
        "jupyterhub-proxy": 2 * MB,
        "jupyterhub-singleuser": 10 * MB,
        "registry": 1 * MB,
        "nvidia-device-plugin": 1 * MB,
    },
}


def build_bench_bundle(out_dir: Path, profile: str, docker_client):
    """Build the padded stand-in bundle in `out_dir`; return its manifest.
    The padded stand-in images are removed from the Docker engine afterwards
    (their archives are in the bundle)."""
    sizes = dict(PROFILES[profile])
    # The K3s stand-in is padded to its size by tests/standins/k3s/build.py.
    manifest = build_standin_bundle(out_dir, k3s_executable=K3S_STANDIN, sizes=sizes, docker_client=docker_client)
    _remove_images(docker_client, [out_dir / entry.path for entry in manifest.entries if entry.kind == "image"])
    return manifest


def _remove_images(client, archives: list) -> None:
    """Remove the padded images this build saved, by the image id recorded in
    each archive: a name that another build has tagged since keeps its image."""
    import docker.errors

    for archive in archives:
        with tarfile.open(archive) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
        for image in manifest:
            image_id = "sha256:" + posixpath.basename(image["Config"]).removesuffix(".json")
            try:
                client.images.remove(image_id, force=True, noprune=False)
            except docker.errors.APIError:
                pass  # gone already, or in use: leave it
