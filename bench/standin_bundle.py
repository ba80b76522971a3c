"""The benchmark's stand-in bundle: tests/standins/bundle.py's layout and
manifest, padded to the sizes of a real release.

tests/standins/bundle.py pads only an ELF K3s (trailing bytes are harmless
after an ELF program's last section). The K3s stand-in is a Python script, so
the padded copy is made here as a *zipapp-style* file:

    #!/usr/bin/env python3          <- all the kernel reads (execve)
    # comment naming this file a padded STAND-IN
    <generated filler>              <- never read
    <zip archive: __main__.py = tests/standins/k3s/k3s, unchanged>

``python3 FILE`` recognises a zip archive from its end (the central directory
records where each member is, filler before it is allowed: the same rule that
lets a zipapp carry a shebang line), and runs its ``__main__.py`` with
``sys.argv[0]`` = the file, so ``k3s server`` and the ``kubectl -> k3s``
link behave exactly as the plain script does. The deploy moves, hashes and
hard-links the file like the real 70 MB binary.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
import zipfile
from pathlib import Path

from tests.lab.lab import K3S_STANDIN
from tests.standins.bundle import build_standin_bundle
from tests.standins.padding import write_padding

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

HEADER = (
    b"#!/usr/bin/env python3\n"
    b"# K3s STAND-IN (tests/standins/k3s/k3s), NOT K3s: padded to a real binary's size by\n"
    b"# bench/standin_bundle.py. Filler follows; the program is the zip archive at the end.\n"
)


def padded_k3s_standin(destination: Path, size: int, source: Path = K3S_STANDIN) -> Path:
    """Write the K3s stand-in as a zipapp-style file of exactly `size` bytes."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("__main__.py", source.read_bytes())
    program = archive.getvalue()
    filler = size - len(HEADER) - len(program)
    if filler < 0:
        raise ValueError(f"the K3s stand-in needs at least {len(HEADER) + len(program)} bytes, not {size}")
    with open(destination, "wb") as stream:
        stream.write(HEADER)
        write_padding(stream, filler)
        stream.write(program)
    os.chmod(destination, 0o755)
    return destination


def build_bench_bundle(out_dir: Path, profile: str, docker_client, work_dir: Path):
    """Build the padded stand-in bundle in `out_dir`; return its manifest.
    The padded stand-in images are removed from the Docker engine afterwards
    (their archives are in the bundle)."""
    sizes = dict(PROFILES[profile])
    k3s = padded_k3s_standin(work_dir / "k3s-standin-padded", sizes.pop(K3S_ASSET))
    try:
        manifest = build_standin_bundle(out_dir, k3s_executable=k3s, sizes=sizes, docker_client=docker_client)
    finally:
        k3s.unlink(missing_ok=True)
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
