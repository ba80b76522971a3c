"""Build a bundle directory from the lock file.

Layout:  OUT/files/<file>              downloaded file assets
         OUT/images/<name>.<arch>.tar  docker save archives
         OUT/bundle.json               the manifest, written last

A rerun reuses every file that is there and matches the lock (or, for
unpinned assets, the previous manifest): it downloads nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .download import DownloadResult, fetch_file
from .errors import BundleError
from .images import LazyDocker, SavedImage, save_image
from .lock import BundleItem, FileAsset, Lock
from .manifest import MANIFEST_NAME, Manifest, ManifestEntry, parse_manifest, write_manifest
from .progress import NullProgress, Progress

# While a build runs, the old manifest waits here: files it describes can be
# reused even if this build is interrupted, yet the bundle has no bundle.json.
PREVIOUS_MANIFEST = ".bundle.json.previous"


@dataclass
class BuildReport:
    manifest: Manifest
    bundle_dir: Path
    transferred: int = 0  # bytes downloaded from the network (file assets)
    reused: list[str] = field(default_factory=list)  # bundle paths kept as they were
    made: list[str] = field(default_factory=list)  # bundle paths (re)made by this run
    unpinned: list[ManifestEntry] = field(default_factory=list)


def build_bundle(
    lock: Lock,
    bundle_dir: str | Path,
    *,
    arches: tuple[str, ...] = ("amd64",),
    allow_unpinned: bool = False,
    progress: Progress | None = None,
    docker_client=None,
    opener=None,
    retries: int = 3,
) -> BuildReport:
    bundle_dir = Path(bundle_dir)
    progress = progress or NullProgress()
    items = lock.items_for(arches)
    _refuse_unpinned(items, allow_unpinned)

    bundle_dir.mkdir(parents=True, exist_ok=True)
    previous = _set_aside_previous_manifest(bundle_dir)
    progress.add_to_total(sum(item.asset.size or 0 for item in items if isinstance(item.asset, FileAsset)))
    client = LazyDocker(docker_client)

    report = BuildReport(manifest=None, bundle_dir=bundle_dir)  # type: ignore[arg-type]
    entries = []
    for item in items:
        known = previous.get((item.asset.name, item.arch))
        entry = _build_item(item, bundle_dir, known, report, progress, client, opener, retries)
        entries.append(entry)
        if not entry.pinned:
            report.unpinned.append(entry)

    report.manifest = Manifest(
        release=lock.release, arches=tuple(arches), entries=tuple(entries), lock_sha256=lock.sha256
    )
    write_manifest(bundle_dir, report.manifest)
    (bundle_dir / PREVIOUS_MANIFEST).unlink(missing_ok=True)
    return report


def _refuse_unpinned(items: list[BundleItem], allow_unpinned: bool) -> None:
    unpinned = sorted({item.asset.name for item in items if not item.asset.pinned})
    if unpinned and not allow_unpinned:
        raise BundleError(
            f"{len(unpinned)} asset(s) have no digest in the lock file: {', '.join(unpinned)}."
            " On a machine with internet access, run build with --allow-unpinned: it prints the"
            " digest of what it fetched; check it against the publisher's, then write it into"
            " the lock file"
        )


def _set_aside_previous_manifest(bundle_dir: Path) -> dict:
    """Move bundle.json aside (the bundle is being changed) and return its entries."""
    current = bundle_dir / MANIFEST_NAME
    aside = bundle_dir / PREVIOUS_MANIFEST
    if current.exists():
        current.replace(aside)
    try:
        manifest = parse_manifest(json.loads(aside.read_text(encoding="utf-8")), aside)
    except (OSError, ValueError, BundleError):
        return {}  # nothing reusable: every file is checked against the lock anyway
    return {(entry.name, entry.arch): entry for entry in manifest.entries if not entry.standin}


def _build_item(
    item: BundleItem, bundle_dir: Path, known, report: BuildReport, progress: Progress, client, opener, retries: int
) -> ManifestEntry:
    asset = item.asset
    destination = bundle_dir / item.path
    known_sha256 = known.sha256 if known else None
    known_size = known.size if known else None
    result: DownloadResult | SavedImage
    if isinstance(asset, FileAsset):
        result = fetch_file(
            asset,
            destination,
            progress=progress,
            known_sha256=known_sha256,
            known_size=known_size,
            retries=retries,
            opener=opener,
        )
        report.transferred += result.transferred
        source, image = asset.url, None
    else:
        result = save_image(
            asset,
            item.arch,
            destination,
            client=client,
            progress=progress,
            known_sha256=known_sha256,
            known_size=known_size,
            known_reference=known.source if known else None,
        )
        source, image = result.reference, asset.image
    (report.reused if result.reused else report.made).append(item.path)
    return ManifestEntry(
        name=asset.name,
        kind=asset.kind,
        path=item.path,
        size=result.size,
        sha256=result.sha256,
        roles=asset.roles,
        arch=item.arch,
        version=asset.version,
        source=source,
        image=image,
        pinned=asset.pinned,
    )
