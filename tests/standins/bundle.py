"""A STAND-IN bundle: the real bundle's layout and manifest, with test contents.

For tests and off-line trials where the real K3s, chart and images cannot be
downloaded. Every entry of its bundle.json carries `"standin": true` (and so
does the manifest itself); the contents say so too:

    files/k3s (k3s-arm64)   the K3s stand-in program given as k3s_executable,
                            else a placeholder script that prints STANDIN and fails
    files/k3s-airgap-...    a text placeholder marked STANDIN (+ filler)
    files/jupyterhub-*.tgz  a valid Helm chart named jupyterhub whose values list
                            the lock file's hub, proxy and user images
    images/<name>.<arch>.tar  real `docker save` archives of tiny busybox images
                            tagged with the real image names (needs Docker)

`sizes` (asset name -> bytes) pads files with generated filler, for
benchmarks that want realistic sizes (e.g. 70 MB, 200 MB, 1 GB).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from convecthub.bundle.checksums import sha256_of_file
from convecthub.bundle.images import write_image_archive
from convecthub.bundle.lock import BundleItem, load_lock
from convecthub.bundle.manifest import Manifest, ManifestEntry, write_manifest
from convecthub.bundle.progress import NullProgress
from tests.standins.chart import VALUES_KEYS, write_standin_chart
from tests.standins.images import build_standin_image
from tests.standins.k3s.build import K3S_STANDIN, write_k3s_standin
from tests.standins.padding import write_padding

REPO_LOCK = Path(__file__).resolve().parents[2] / "bundle.lock.yaml"
CHART_ASSET = "jupyterhub-chart"


def build_standin_bundle(
    out_dir: str | Path,
    *,
    k3s_executable: str | Path | None = None,
    arches: tuple[str, ...] = ("amd64",),
    sizes: dict[str, int] | None = None,
    include_images: bool = True,
    docker_client=None,
    lock_path: str | Path = REPO_LOCK,
    progress=None,
) -> Manifest:
    """Write a stand-in bundle to out_dir and return its manifest (written last).

    include_images=False leaves the image entries out (for checks without
    Docker); such a bundle no longer has the full layout.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = dict(sizes or {})
    progress = progress or NullProgress()
    lock = load_lock(lock_path)
    items = [item for item in lock.items_for(arches) if include_images or item.asset.kind == "file"]
    client = _docker(docker_client) if any(item.asset.kind == "image" for item in items) else None

    entries = []
    for item in items:
        destination = out_dir / item.path
        destination.parent.mkdir(parents=True, exist_ok=True)
        padding = sizes.get(item.asset.name, 0)
        if item.asset.kind == "image":
            build_standin_image(client, item.asset.image, padding=padding)
            write_image_archive(client, item.asset.image, destination, progress=progress, label=item.asset.name)
        elif item.asset.name == CHART_ASSET:
            images = {asset.name: asset.image for asset in lock.assets if asset.name in VALUES_KEYS}
            write_standin_chart(destination, version=item.asset.version, images=images, padding=padding)
        elif _is_k3s_binary(item):
            _write_k3s(destination, item, k3s_executable, padding)
        else:
            _write_placeholder(destination, item, padding)
        entries.append(_entry(item, destination))

    manifest = Manifest(
        release=f"{lock.release}-standin",
        arches=tuple(arches),
        entries=tuple(entries),
        lock_sha256=lock.sha256,
        standin=True,
    )
    write_manifest(out_dir, manifest)
    return manifest


def _docker(client):
    if client is not None:
        return client
    import docker

    return docker.from_env()


def _is_k3s_binary(item: BundleItem) -> bool:
    return item.asset.kind == "file" and item.asset.filename in ("k3s", "k3s-arm64")


def _write_k3s(destination: Path, item: BundleItem, executable, padding: int) -> None:
    if executable is None:
        _write_placeholder(destination, item, padding, script=True)
        return
    if Path(executable).resolve() == K3S_STANDIN:
        # Self-contained, as the real static binary: nodes need no PyYAML.
        write_k3s_standin(destination, size=padding or None)
        return
    shutil.copyfile(executable, destination)
    if padding:
        _pad_executable(destination, padding)
    os.chmod(destination, 0o755)


def _pad_executable(path: Path, target_size: int) -> None:
    """Trailing filler is harmless only after an ELF program's last section."""
    with open(path, "rb") as stream:
        if stream.read(4) != b"\x7fELF":
            raise ValueError(
                f"cannot pad {path}: only an ELF program ignores trailing bytes; leave"
                " sizes[k3s-...] out for a script stand-in, or give an ELF build"
            )
    with open(path, "ab") as stream:
        write_padding(stream, max(0, target_size - path.stat().st_size))


def _write_placeholder(destination: Path, item: BundleItem, padding: int, *, script: bool = False) -> None:
    asset = item.asset
    text = (
        f"STANDIN placeholder for {asset.name} {asset.version} ({item.arch}),"
        f" standing in for {asset.url}; made by tests/standins/bundle.py\n"
    )
    if script:
        text = (
            "#!/bin/sh\n"
            f"# {text}"
            'echo "STANDIN: this is a placeholder, not K3s (tests/standins/bundle.py)" >&2\n'
            "exit 1\n"
        )
    header = text.encode()
    with open(destination, "wb") as stream:
        stream.write(header)
        if padding:
            write_padding(stream, max(0, padding - len(header)))
    os.chmod(destination, 0o755 if script else 0o644)


def _entry(item: BundleItem, path: Path) -> ManifestEntry:
    asset = item.asset
    real = asset.url if asset.kind == "file" else asset.pull_reference
    return ManifestEntry(
        name=asset.name,
        kind=asset.kind,
        path=item.path,
        size=path.stat().st_size,
        sha256=sha256_of_file(path),
        roles=asset.roles,
        arch=item.arch,
        version=asset.version,
        source=f"STANDIN for {real}",
        image=asset.image if asset.kind == "image" else None,
        pinned=False,
        standin=True,
    )
