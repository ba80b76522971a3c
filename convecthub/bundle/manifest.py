"""bundle.json: what a built bundle holds, written last and atomically.

Its presence means "every file below was complete and checked when it was
written"; a build that stops half-way leaves none. The deploy reads it to
send each node only the files its roles need (`Manifest.for_host`).
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ManifestError
from .lock import ANY_ARCH, ROLES

MANIFEST_NAME = "bundle.json"
FORMAT = "convecthub-bundle/1"


@dataclass(frozen=True)
class ManifestEntry:
    name: str  # the lock file's asset name
    kind: str  # file | image
    path: str  # relative to the bundle directory, '/'-separated
    size: int
    sha256: str  # of the file in the bundle (for images: of the docker save archive)
    roles: tuple[str, ...]  # driver / worker / registry: who needs this file
    arch: str  # amd64 | arm64 | any
    version: str
    source: str  # URL, or image reference pinned by digest
    image: str | None = None  # images: the repository:tag the archive loads as
    pinned: bool = True  # False: built with --allow-unpinned, digest not from the lock
    standin: bool = False  # a test stand-in, never a real release asset

    def needed_by(self, roles, arch: str | None = None) -> bool:
        if not set(roles) & set(self.roles):
            return False
        return arch is None or self.arch in (arch, ANY_ARCH)


# The files the deploy looks up by what they are: their asset names in
# bundle.lock.yaml (tests/unit/test_bundle_lock.py keeps the lock in step).
K3S_BINARY = "k3s-{arch}"
K3S_AIRGAP_IMAGES = "k3s-airgap-images-{arch}"
JUPYTERHUB_CHART = "jupyterhub-chart"


@dataclass(frozen=True)
class Manifest:
    release: str
    arches: tuple[str, ...]
    entries: tuple[ManifestEntry, ...]
    lock_sha256: str = ""
    standin: bool = False
    format: str = field(default=FORMAT)

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.entries)

    def entry(self, name: str, arch: str | None = None) -> ManifestEntry:
        for entry in self.entries:
            if entry.name == name and (arch is None or entry.arch in (arch, ANY_ARCH)):
                return entry
        raise KeyError(name)

    def k3s_binary(self, arch: str) -> ManifestEntry:
        return self.entry(K3S_BINARY.format(arch=arch), arch)

    def k3s_airgap_images(self, arch: str) -> ManifestEntry:
        return self.entry(K3S_AIRGAP_IMAGES.format(arch=arch), arch)

    def jupyterhub_chart(self) -> ManifestEntry:
        return self.entry(JUPYTERHUB_CHART)

    def for_roles(self, roles) -> list[ManifestEntry]:
        """Files any of these roles needs (a host with several roles gets the union)."""
        return [entry for entry in self.entries if entry.needed_by(roles)]

    def for_host(self, roles, arch: str | None) -> list[ManifestEntry]:
        """Files a host with these roles and this architecture needs."""
        return [entry for entry in self.entries if entry.needed_by(roles, arch)]

    def to_json(self) -> str:
        document = {
            "format": self.format,
            "release": self.release,
            "arches": list(self.arches),
            "lock_sha256": self.lock_sha256,
            "standin": self.standin,
            "files": [_entry_to_dict(entry) for entry in self.entries],
        }
        return json.dumps(document, indent=2) + "\n"


def _entry_to_dict(entry: ManifestEntry) -> dict:
    data = asdict(entry)
    data["roles"] = list(entry.roles)
    if data["image"] is None:
        del data["image"]
    return data


def write_manifest(bundle_dir: str | Path, manifest: Manifest) -> Path:
    """Write bundle.json atomically: readers see the old file or the new one, never half."""
    bundle_dir = Path(bundle_dir)
    target = bundle_dir / MANIFEST_NAME
    descriptor, temporary = tempfile.mkstemp(dir=bundle_dir, prefix=".bundle.json.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(manifest.to_json())
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(bundle_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def load_manifest(bundle_dir: str | Path) -> Manifest:
    path = Path(bundle_dir) / MANIFEST_NAME
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"{path} is missing: {bundle_dir} is not a finished bundle; run"
            " `python -m convecthub.bundle build` on it (it resumes where it stopped)"
        ) from None
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path} cannot be read ({error}): rebuild the bundle") from None
    return parse_manifest(document, path)


def parse_manifest(document, path: Path | str = MANIFEST_NAME) -> Manifest:
    problems: list[str] = []
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ManifestError(f"{path}: not a {FORMAT} manifest: rebuild the bundle with this version")
    files = document.get("files")
    if not isinstance(files, list):
        raise ManifestError(f"{path}: 'files' must be a list: rebuild the bundle")
    entries = []
    for index, item in enumerate(files, start=1):
        entry = _parse_entry(item, index, problems)
        if entry:
            entries.append(entry)
    paths = [entry.path for entry in entries]
    for duplicate in sorted({p for p in paths if paths.count(p) > 1}):
        problems.append(f"file {duplicate!r} is listed twice")
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise ManifestError(f"{path}: malformed, rebuild the bundle:\n{listed}")
    return Manifest(
        release=str(document.get("release", "")),
        arches=tuple(document.get("arches", ())),
        entries=tuple(entries),
        lock_sha256=str(document.get("lock_sha256", "")),
        standin=bool(document.get("standin", False)),
    )


_TYPE_NAMES = {int: "a whole number", str: "a string", list: "a list"}
_REQUIRED = {
    "name": str,
    "kind": str,
    "path": str,
    "size": int,
    "sha256": str,
    "roles": list,
    "arch": str,
    "version": str,
    "source": str,
}


def _parse_entry(item, index: int, problems: list[str]) -> ManifestEntry | None:
    if not isinstance(item, dict):
        problems.append(f"entry #{index} is not an object")
        return None
    label = f"entry #{index} ({item.get('name', '?')})"
    before = len(problems)
    for key, kind in _REQUIRED.items():
        if not isinstance(item.get(key), kind) or isinstance(item.get(key), bool):
            problems.append(f"{label}: {key} must be {_TYPE_NAMES[kind]}")
    if len(problems) > before:
        return None
    if not is_safe_relative_path(item["path"]):
        problems.append(f"{label}: path {item['path']!r} must stay inside the bundle")
        return None
    if any(role not in ROLES for role in item["roles"]):
        problems.append(f"{label}: roles {item['roles']!r} must be among {', '.join(ROLES)}")
        return None
    return ManifestEntry(
        name=item["name"],
        kind=item["kind"],
        path=item["path"],
        size=item["size"],
        sha256=item["sha256"],
        roles=tuple(item["roles"]),
        arch=item["arch"],
        version=item["version"],
        source=item["source"],
        image=item.get("image"),
        pinned=bool(item.get("pinned", True)),
        standin=bool(item.get("standin", False)),
    )


def is_safe_relative_path(path: str) -> bool:
    """A '/'-separated path that cannot leave the bundle directory."""
    if not path or path.startswith("/") or "\\" in path:
        return False
    normalized = posixpath.normpath(path)
    return normalized == path and not normalized.startswith("..") and normalized != "."
