"""The lock file (bundle.lock.yaml): model, loading and validation.

Validation reports every problem at once, each naming the asset and the fix,
because an operator editing pins wants one round trip, not one per typo.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from .errors import LockError

SCHEMA = 1
ARCHES = ("amd64", "arm64")
ANY_ARCH = "any"
ROLES = ("driver", "worker", "registry")
KINDS = ("file", "image")

_COMMON_KEYS = {"name", "kind", "version", "arch", "roles"}
_FILE_KEYS = _COMMON_KEYS | {"url", "size", "sha256", "file"}
_IMAGE_KEYS = _COMMON_KEYS | {"image", "digest"}

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


@dataclass(frozen=True)
class Asset:
    """What both kinds share."""

    name: str
    kind: str
    version: str
    arches: tuple[str, ...]  # ("any",) for arch-independent files
    roles: tuple[str, ...]

    def wanted_for(self, arch: str) -> bool:
        return ANY_ARCH in self.arches or arch in self.arches


@dataclass(frozen=True)
class FileAsset(Asset):
    url: str
    sha256: str | None
    size: int | None
    filename: str

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def bundle_path(self, arch: str) -> str:
        return f"files/{self.filename}"


@dataclass(frozen=True)
class ImageAsset(Asset):
    image: str  # repository:tag, the name the archive loads as
    digest: str | None  # sha256:..., of the manifest list where there is one

    @property
    def pinned(self) -> bool:
        return self.digest is not None

    @property
    def repository(self) -> str:
        return split_image_reference(self.image)[0]

    @property
    def tag(self) -> str:
        return split_image_reference(self.image)[1]

    @property
    def pull_reference(self) -> str:
        """By digest when pinned: a moved tag then cannot change the bundle."""
        return f"{self.repository}@{self.digest}" if self.digest else self.image

    def bundle_path(self, arch: str) -> str:
        return f"images/{self.name}.{arch}.tar"


@dataclass(frozen=True)
class BundleItem:
    """One file of a bundle: an asset built for one architecture."""

    asset: FileAsset | ImageAsset
    arch: str  # "any" for arch-independent files
    path: str  # relative to the bundle directory


@dataclass(frozen=True)
class Lock:
    path: Path
    release: str
    assets: tuple[FileAsset | ImageAsset, ...]
    sha256: str  # of the lock file's bytes, recorded in bundle.json

    def asset(self, name: str) -> FileAsset | ImageAsset:
        for asset in self.assets:
            if asset.name == name:
                return asset
        raise KeyError(name)

    def items_for(self, arches: list[str] | tuple[str, ...]) -> list[BundleItem]:
        """The bundle's files for these architectures, in lock-file order."""
        unknown = [arch for arch in arches if arch not in ARCHES]
        if unknown:
            raise LockError(
                self.path,
                [f"architecture {unknown[0]!r} is not one of {', '.join(ARCHES)}"],
            )
        items = []
        for asset in self.assets:
            if asset.kind == "file" and ANY_ARCH in asset.arches:
                items.append(BundleItem(asset, ANY_ARCH, asset.bundle_path(ANY_ARCH)))
                continue
            for arch in arches:
                if asset.wanted_for(arch):
                    items.append(BundleItem(asset, arch, asset.bundle_path(arch)))
        return items


def split_image_reference(reference: str) -> tuple[str, str]:
    """'quay.io/a/b:1.0' -> ('quay.io/a/b', '1.0'); the tag is after the last '/'."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon <= slash:
        return reference, ""
    return reference[:colon], reference[colon + 1 :]


def load_lock(path: str | Path) -> Lock:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LockError(path, ["file not found: pass --lock PATH to the lock file"]) from None
    except OSError as error:
        raise LockError(path, [f"cannot read it: {error.strerror}"]) from None
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as error:
        raise LockError(path, [f"not valid YAML: {error}"]) from None
    return parse_lock(document, path=path, sha256=hashlib.sha256(raw).hexdigest())


def parse_lock(document, *, path: Path | str = "bundle.lock.yaml", sha256: str = "") -> Lock:
    """Validate a loaded YAML document; raise LockError listing every problem."""
    path = Path(path)
    problems: list[str] = []
    if not isinstance(document, dict):
        raise LockError(path, ["the top level must be a mapping with schema, release, assets"])

    for key in sorted(set(document) - {"schema", "release", "assets"}):
        problems.append(f"unknown top-level key {key!r}: expected schema, release, assets")
    if document.get("schema") != SCHEMA:
        problems.append(f"schema must be {SCHEMA} (found {document.get('schema')!r})")
    release = document.get("release")
    if not isinstance(release, str) or not release.strip():
        problems.append('release must be a non-empty string, e.g. release: "2026.11.0"')
        release = ""

    entries = document.get("assets")
    if not isinstance(entries, list) or not entries:
        problems.append("assets must be a non-empty list")
        entries = []

    assets = []
    for index, entry in enumerate(entries, start=1):
        asset = _parse_asset(entry, index, problems)
        if asset is not None:
            assets.append(asset)
    _check_unique(assets, problems)

    if problems:
        raise LockError(path, problems)
    return Lock(path=path, release=release, assets=tuple(assets), sha256=sha256)


def _parse_asset(entry, index: int, problems: list[str]):
    if not isinstance(entry, dict):
        problems.append(f"asset #{index}: must be a mapping (name, kind, version, ...)")
        return None
    name = entry.get("name")
    label = f"asset {name!r}" if isinstance(name, str) else f"asset #{index}"
    before = len(problems)

    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{label}: name must be lower-case letters, digits, '.', '_' or '-' (found {name!r})")
    kind = entry.get("kind")
    if kind not in KINDS:
        problems.append(f"{label}: kind must be 'file' or 'image' (found {kind!r})")
        return None

    allowed = _FILE_KEYS if kind == "file" else _IMAGE_KEYS
    for key in sorted(set(entry) - allowed):
        problems.append(
            f"{label}: unknown key {key!r} for {'an image' if kind == 'image' else 'a file'} asset:"
            f" expected {', '.join(sorted(allowed))}"
        )

    version = entry.get("version")
    if not isinstance(version, str) or not version:
        problems.append(f'{label}: version must be a string (found {version!r}); quote numbers: version: "4.4"')
    arches = _parse_arches(entry.get("arch"), kind, label, problems)
    roles = _parse_roles(entry.get("roles"), label, problems)

    if kind == "file":
        fields = _parse_file_fields(entry, label, problems)
    else:
        fields = _parse_image_fields(entry, label, problems)
    if len(problems) > before or fields is None:
        return None
    common = dict(name=name, kind=kind, version=version, arches=arches, roles=roles)
    if kind == "file":
        return FileAsset(**common, **fields)
    return ImageAsset(**common, **fields)


def _parse_arches(value, kind: str, label: str, problems: list[str]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    allowed = ARCHES + ((ANY_ARCH,) if kind == "file" else ())
    if not values or any(item not in allowed for item in values):
        problems.append(f"{label}: arch must be one of {', '.join(allowed)} or a list of them (found {value!r})")
        return ()
    if ANY_ARCH in values and len(values) > 1:
        problems.append(f"{label}: arch 'any' cannot be combined with others")
    return tuple(dict.fromkeys(values))


def _parse_roles(value, label: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or any(role not in ROLES for role in value):
        problems.append(f"{label}: roles must be a non-empty list of {', '.join(ROLES)} (found {value!r})")
        return ()
    return tuple(dict.fromkeys(value))


def _parse_file_fields(entry: dict, label: str, problems: list[str]) -> dict | None:
    url = entry.get("url")
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
        problems.append(f"{label}: url must be an http(s) URL (found {url!r})")
        return None

    sha256 = entry.get("sha256", "missing")
    if sha256 == "missing":
        problems.append(f"{label}: sha256 is missing: write the publisher's digest, or null if unresolved")
    elif sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
        problems.append(f"{label}: sha256 must be 64 lower-case hex digits or null (found {sha256!r})")

    size = entry.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
        problems.append(f"{label}: size must be a positive number of bytes or null (found {size!r})")

    filename = entry.get("file") or unquote(posixpath.basename(urlparse(url).path))
    if not isinstance(filename, str) or not _FILENAME.match(filename):
        problems.append(f"{label}: cannot name the file from the URL (got {filename!r}): add file: NAME")
    if sha256 == "missing":
        return None
    return dict(url=url, sha256=sha256, size=size, filename=filename)


def _parse_image_fields(entry: dict, label: str, problems: list[str]) -> dict | None:
    image = entry.get("image")
    if not isinstance(image, str) or "@" in image:
        problems.append(
            f"{label}: image must be repository:tag without @digest (found {image!r}); the digest goes in digest:"
        )
        return None
    repository, tag = split_image_reference(image)
    if not tag or not _TAG.match(tag):
        problems.append(f"{label}: image {image!r} needs a tag, e.g. {repository}:1.0")
    if not _REPOSITORY.match(_without_registry_host(repository)):
        problems.append(f"{label}: image repository {repository!r} is not a valid name")

    digest = entry.get("digest", "missing")
    if digest == "missing":
        problems.append(f"{label}: digest is missing: write sha256:... from the registry, or null if unresolved")
        return None
    if digest is not None and not (isinstance(digest, str) and _DIGEST.match(digest)):
        problems.append(f"{label}: digest must be sha256: and 64 lower-case hex digits, or null (found {digest!r})")
    return dict(image=image, digest=digest)


def _without_registry_host(repository: str) -> str:
    """'quay.io/jupyterhub/k8s-hub' -> 'jupyterhub/k8s-hub' (a host has a '.', a ':' or is localhost)."""
    first, _, rest = repository.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return repository


def _check_unique(assets: list, problems: list[str]) -> None:
    seen_names: set[str] = set()
    seen_files: dict[str, str] = {}
    for asset in assets:
        if asset.name in seen_names:
            problems.append(f"asset {asset.name!r}: the name is used twice; names must be unique")
        seen_names.add(asset.name)
        if asset.kind == "file":
            other = seen_files.get(asset.filename)
            if other:
                problems.append(
                    f"asset {asset.name!r}: file name {asset.filename!r} is also {other!r}'s:"
                    " add file: NAME to one of them"
                )
            seen_files[asset.filename] = asset.name
