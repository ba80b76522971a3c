"""Off-line re-check of a built bundle, before any host is touched.

Every file bundle.json lists must be there, with its size and sha256. All
problems are reported at once, each naming the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

from .checksums import sha256_of_file
from .errors import FileProblem, VerifyError
from .lock import FileAsset, ImageAsset, Lock
from .manifest import Manifest, ManifestEntry, is_safe_relative_path, load_manifest
from .progress import NullProgress, Progress


def verify_bundle(
    bundle_dir: str | Path,
    *,
    roles=None,
    arch: str | None = None,
    lock: Lock | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Return the manifest if every (selected) file is intact, else raise VerifyError.

    roles/arch: check only what a host with these roles (and this arch) needs.
    lock: also refuse a bundle built from other pins than this lock file's.
    """
    bundle_dir = Path(bundle_dir)
    progress = progress or NullProgress()
    manifest = load_manifest(bundle_dir)
    entries = manifest.for_host(roles, arch) if roles else list(manifest.entries)
    progress.add_to_total(sum(entry.size for entry in entries))

    problems = []
    for entry in entries:
        problem = _check_file(bundle_dir, entry, progress)
        if problem:
            problems.append(problem)
    if lock is not None:
        problems.extend(_compare_with_lock(manifest, lock))
    if problems:
        raise VerifyError(bundle_dir, problems)
    return manifest


def _check_file(bundle_dir: Path, entry: ManifestEntry, progress: Progress) -> FileProblem | None:
    build = f"`python -m convecthub.bundle build {bundle_dir}`"
    if not is_safe_relative_path(entry.path):
        return FileProblem(
            f"{entry.path}: path leaves the bundle directory; the manifest is not trustworthy", "rebuild"
        )
    path = bundle_dir / entry.path
    label = f"{entry.path} ({entry.name})"
    if not path.exists():
        return FileProblem(f"{label} is missing", f"run {build} to fetch it again")
    if not path.is_file():
        return FileProblem(f"{label} is not a regular file", f"remove it and run {build}")
    size = path.stat().st_size
    if size != entry.size:
        progress.skip(entry.path, entry.size, "WRONG SIZE")
        return FileProblem(
            f"{label} is corrupted: {size} bytes, the manifest says {entry.size}", f"delete it and run {build}"
        )
    progress.begin(entry.path, entry.size)
    actual = sha256_of_file(path, on_chunk=progress.advance)
    if actual != entry.sha256:
        progress.end("CORRUPTED")
        return FileProblem(
            f"{label} is corrupted: sha256 {actual}, the manifest says {entry.sha256}", f"delete it and run {build}"
        )
    progress.end("ok")
    return None


def _compare_with_lock(manifest: Manifest, lock: Lock) -> list[FileProblem]:
    """A bundle is only current if each of its files is what the lock pins now."""
    problems = []
    rebuild = "rebuild the bundle from the current lock file"
    for entry in manifest.entries:
        if entry.standin:
            continue  # stand-ins replace the real bytes on purpose
        try:
            asset = lock.asset(entry.name)
        except KeyError:
            problems.append(FileProblem(f"{entry.path}: {entry.name} is not in {lock.path}", rebuild))
            continue
        if isinstance(asset, FileAsset) and asset.sha256 and entry.sha256 != asset.sha256:
            problems.append(
                FileProblem(f"{entry.path}: sha256 {entry.sha256} is not the lock's {asset.sha256}", rebuild)
            )
        if isinstance(asset, ImageAsset) and asset.digest and entry.source != asset.pull_reference:
            problems.append(
                FileProblem(f"{entry.path}: made from {entry.source}, the lock pins {asset.pull_reference}", rebuild)
            )
    return problems
