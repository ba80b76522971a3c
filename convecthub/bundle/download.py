"""Resumable, checksummed downloads of the lock file's `file` assets.

Bytes go to `<name>.part` next to the destination, hashed as they arrive, and
the part file becomes the real name only once size and sha256 match the lock.
A cut-off download keeps its part file and resumes with an HTTP Range request,
so a slow VPN never pays twice for the same bytes. Memory use is one chunk.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .checksums import CHUNK, sha256_of_file
from .errors import ChecksumMismatch, DownloadError
from .lock import FileAsset
from .progress import NullProgress, Progress

USER_AGENT = "convecthub-bundle/1"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    sha256: str
    size: int
    transferred: int  # bytes received over the network by this call
    reused: bool  # the destination was already there and correct


class _CutOff(Exception):
    """The connection ended before the body did; the part file is kept."""


class _PartFile:
    """The `.part` file and a sha256 that always covers exactly its bytes."""

    def __init__(self, path: Path):
        self.path = path
        self.hasher = hashlib.sha256()
        self.size = 0
        self.received = 0  # bytes that came over the network, across attempts

    def load(self) -> None:
        """Hash what an earlier run left, so the digest covers the whole file."""
        self.hasher = hashlib.sha256()
        self.size = 0
        if self.path.exists():
            sha256_of_file(self.path, hasher=self.hasher, on_chunk=self._count)

    def _count(self, count: int) -> None:
        self.size += count

    def restart(self) -> None:
        self.path.unlink(missing_ok=True)
        self.hasher = hashlib.sha256()
        self.size = 0

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def fetch_file(
    asset: FileAsset,
    destination: str | Path,
    *,
    progress: Progress | None = None,
    known_sha256: str | None = None,
    known_size: int | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    opener: urllib.request.OpenerDirector | None = None,
) -> DownloadResult:
    """Make `destination` hold the asset's bytes, downloading only what is missing.

    `known_sha256`/`known_size` (from an earlier bundle.json) let an unpinned
    asset already on disk be recognised without a download.
    """
    destination = Path(destination)
    progress = progress or NullProgress()
    opener = opener or urllib.request.build_opener()
    expected_sha256 = asset.sha256 or known_sha256
    expected_size = asset.size or known_size

    reused = _already_there(destination, expected_sha256, expected_size)
    if reused:
        if asset.size is None:
            progress.add_to_total(reused.size)  # not counted in the build's total
        progress.skip(asset.name, reused.size, "already there, checksum ok")
        return reused
    destination.unlink(missing_ok=True)  # stale or corrupt: replaced below
    destination.parent.mkdir(parents=True, exist_ok=True)

    part = _PartFile(destination.with_name(destination.name + ".part"))
    part.load()
    progress.add_to_total(0 if asset.size is not None else part.size)
    progress.begin(asset.name, asset.size, already=part.size)
    for attempt in range(retries + 1):
        try:
            _transfer(asset, part, opener, timeout, progress)
            break
        except _CutOff as cut:
            if attempt == retries:
                progress.end("cut off")
                raise DownloadError(
                    f"asset {asset.name}: the download of {asset.url} was cut off after"
                    f" {part.size} bytes ({cut}); the partial file {part.path} is kept:"
                    " run build again to resume"
                ) from None
            progress.message(f"{asset.name}: connection cut off ({cut}), resuming at byte {part.size}")
    actual = part.hasher.hexdigest()
    _check_complete(asset, part, actual, progress)
    _publish(part.path, destination)
    progress.end("ok" if asset.pinned else f"UNPINNED, sha256 {actual}")
    return DownloadResult(destination, actual, part.size, part.received, reused=False)


def _already_there(path: Path, sha256: str | None, size: int | None) -> DownloadResult | None:
    if not sha256 or not path.is_file():
        return None
    if size is not None and path.stat().st_size != size:
        return None
    if sha256_of_file(path) != sha256:
        return None
    return DownloadResult(path, sha256, path.stat().st_size, transferred=0, reused=True)


def _transfer(asset: FileAsset, part: _PartFile, opener, timeout: float, progress: Progress) -> None:
    """One HTTP request: append the rest of the body to the part file."""
    offset = part.size
    if asset.size is not None and offset == asset.size:
        return  # an earlier run got every byte; only the checks are left
    if asset.size is not None and offset > asset.size:
        _restart(part, progress, size_known=True)
        offset = 0
    response = _open(asset, opener, timeout, offset)
    if response is None:  # 416: the server has nothing after `offset`
        return
    with response:
        if offset and response.status != 206:
            _restart(part, progress, asset.size is not None)  # Range ignored: from byte 0
        _check_announced_size(asset, part, response)
        body_length = _body_length(response)
        received = 0
        with open(part.path, "ab") as stream:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as error:
                    raise _CutOff(_describe(error)) from None
                if not chunk:
                    break
                stream.write(chunk)
                part.hasher.update(chunk)
                part.size += len(chunk)
                part.received += len(chunk)
                received += len(chunk)
                if asset.size is None:
                    progress.add_to_total(len(chunk))  # an unknown size is learnt as bytes come
                progress.advance(len(chunk))
                if asset.size is not None and part.size > asset.size:
                    break  # more than the lock says: fails the size check below
            stream.flush()
            os.fsync(stream.fileno())
    if body_length is not None and received < body_length:
        raise _CutOff(f"got {received} of {body_length} bytes")


def _restart(part: _PartFile, progress: Progress, size_known: bool) -> None:
    progress.advance(-part.size)
    if not size_known:
        progress.add_to_total(-part.size)
    part.restart()


def _open(asset: FileAsset, opener, timeout: float, offset: int):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(asset.url, headers=headers)
    try:
        return opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 416 and offset:
            return None
        hint = (
            "check its url and version in the lock file"
            if error.code in (403, 404, 410)
            else "the server failed: try again later"
        )
        raise DownloadError(
            f"asset {asset.name}: {asset.url} answered HTTP {error.code} {error.reason}: {hint}"
        ) from None
    except urllib.error.URLError as error:
        raise DownloadError(
            f"asset {asset.name}: cannot reach {asset.url} ({_describe(error.reason)}):"
            " check the provisioner's network and proxy settings (https_proxy), then run build again"
        ) from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(
            f"asset {asset.name}: cannot reach {asset.url} ({_describe(error)}):"
            " check the provisioner's network, then run build again"
        ) from None


def _check_announced_size(asset: FileAsset, part: _PartFile, response) -> None:
    """Fail before the transfer when the server announces another size."""
    total = _announced_total(response)
    if asset.size is None or total is None or total == asset.size:
        return
    part.remove()
    raise ChecksumMismatch(
        f"asset {asset.name}: {asset.url} serves {total} bytes but the lock file says"
        f" {asset.size}: the file changed upstream or the lock is wrong; check the"
        " publisher's checksums before changing the pin"
    )


def _announced_total(response) -> int | None:
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match and match.group(3) != "*":
            return int(match.group(3))
        return None
    return _body_length(response)


def _body_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _check_complete(asset: FileAsset, part: _PartFile, actual: str, progress: Progress) -> None:
    if asset.size is not None and part.size != asset.size:
        part.remove()
        progress.end("wrong size")
        raise ChecksumMismatch(
            f"asset {asset.name}: {asset.url} gave {part.size} bytes, the lock file expects"
            f" {asset.size}; the partial file was removed: check the publisher's checksums"
            " before changing the pin"
        )
    if asset.sha256 is not None and actual != asset.sha256:
        part.remove()
        progress.end("CHECKSUM MISMATCH")
        raise ChecksumMismatch(
            f"asset {asset.name}: checksum mismatch for {asset.url}: expected sha256"
            f" {asset.sha256}, got {actual}; the partial file was removed. The download was"
            " corrupted or the file changed upstream: run build again, and if it persists"
            " compare with the publisher's checksums before changing the pin"
        )


def _publish(part: Path, destination: Path) -> None:
    os.replace(part, destination)
    directory = os.open(destination.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _describe(error) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
