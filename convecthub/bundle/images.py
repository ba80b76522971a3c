"""Image assets: pulled by digest through the provisioner's Docker, saved as archives.

The archive is what `docker save` produces for the image's repository:tag (the
name pods ask for), so `docker load` and `k3s ctr images import` restore it
under that name. It streams to a `.part` file, hashed as it goes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .checksums import CHUNK, sha256_of_file
from .errors import ImageError
from .lock import ImageAsset
from .progress import NullProgress, Progress


@dataclass(frozen=True)
class SavedImage:
    path: Path
    sha256: str  # of the archive
    size: int
    reference: str  # repository@sha256:..., what was pulled
    reused: bool


class LazyDocker:
    """Connects to Docker on first use: a rebuild that reuses every archive needs no engine."""

    def __init__(self, client=None):
        self._client = client

    def __getattr__(self, name):
        if self._client is None:
            self._client = connect_docker()
        return getattr(self._client, name)


def connect_docker(client=None):
    """The provisioner's Docker, or an error that says how to get one."""
    if client is not None:
        return client
    try:
        import docker

        client = docker.from_env()
        client.ping()
        return client
    except ImportError:
        raise ImageError(
            "the Python package 'docker' is missing: pip install docker (it is in the test extras)"
        ) from None
    except Exception as error:  # docker raises several unrelated types here
        raise ImageError(
            f"cannot reach the provisioner's Docker ({error}): start dockerd, or set DOCKER_HOST;"
            " images are pulled and saved through it"
        ) from None


def save_image(
    asset: ImageAsset,
    arch: str,
    destination: str | Path,
    *,
    client,
    progress: Progress | None = None,
    known_sha256: str | None = None,
    known_size: int | None = None,
    known_reference: str | None = None,
) -> SavedImage:
    """Make `destination` hold `docker save` of the asset for linux/`arch`.

    known_*: what an earlier bundle.json says about this archive; if the file
    still matches it and was made from the same reference, nothing is pulled.
    """
    destination = Path(destination)
    progress = progress or NullProgress()
    if _still_valid(asset, destination, known_sha256, known_size, known_reference):
        assert known_sha256 and known_size and known_reference  # _still_valid checked them
        progress.add_to_total(known_size)
        progress.skip(f"{asset.name} ({arch})", known_size, "already there, checksum ok")
        return SavedImage(destination, known_sha256, known_size, known_reference, reused=True)

    image = _pull(asset, arch, client, progress)
    reference = _pinned_reference(asset, image)
    _tag(asset, image)
    estimate = int(image.attrs.get("Size") or 0)
    progress.add_to_total(estimate)
    progress.begin(f"{asset.name} ({arch})", estimate or None)
    sha256, size = write_image_archive(client, asset.image, destination, progress=progress, label=asset.name)
    progress.add_to_total(size - estimate)
    progress.end("ok" if asset.pinned else f"UNPINNED, pulled {reference}")
    return SavedImage(destination, sha256, size, reference, reused=False)


def _still_valid(asset, destination: Path, sha256, size, reference) -> bool:
    if not (sha256 and size and reference) or not destination.is_file():
        return False
    if asset.pinned and reference != asset.pull_reference:
        return False  # the lock moved to another digest
    if destination.stat().st_size != size:
        return False
    return sha256_of_file(destination) == sha256


def _pull(asset: ImageAsset, arch: str, client, progress: Progress):
    import docker.errors

    platform = f"linux/{arch}"
    progress.message(f"{asset.name} ({arch}): pulling {asset.pull_reference} for {platform}")
    try:
        # Read the pull's event stream: a registry error arrives there, not as an exception.
        events = client.api.pull(
            asset.repository, tag=asset.digest or asset.tag, platform=platform, stream=True, decode=True
        )
        for event in events:
            if "error" in event:
                raise _pull_failed(asset, platform, event["error"])
        image = client.images.get(asset.pull_reference)
    except docker.errors.APIError as error:
        raise _pull_failed(asset, platform, error.explanation or error) from None
    except docker.errors.DockerException as error:
        raise ImageError(f"asset {asset.name}: Docker failed while pulling {asset.pull_reference} ({error})") from None
    pulled_arch = image.attrs.get("Architecture")
    if pulled_arch and pulled_arch != arch:
        raise ImageError(
            f"asset {asset.name}: {asset.pull_reference} gave a {pulled_arch} image, not {arch}:"
            " the digest names one platform's image; pin the multi-arch index digest instead"
        )
    return image


def _pull_failed(asset: ImageAsset, platform: str, reason) -> ImageError:
    return ImageError(
        f"asset {asset.name}: Docker could not pull {asset.pull_reference} for {platform}"
        f" ({reason}): check the image and digest in the lock file and that the provisioner"
        " reaches the registry (docker login if it needs credentials)"
    )


def _pinned_reference(asset: ImageAsset, image) -> str:
    """repository@digest actually pulled; for a pinned asset it must be the lock's."""
    digests = [entry.rsplit("@", 1)[1] for entry in image.attrs.get("RepoDigests") or [] if "@" in entry]
    if asset.digest:
        if asset.digest not in digests:
            raise ImageError(
                f"asset {asset.name}: Docker returned an image whose digests {digests} do not"
                f" include the pinned {asset.digest}; remove the local image and build again"
            )
        return asset.pull_reference
    if not digests:
        raise ImageError(
            f"asset {asset.name}: {asset.image} has no registry digest in Docker; pull it from"
            " its registry (not a local build) or pin digest: in the lock file"
        )
    return f"{asset.repository}@{digests[0]}"


def _tag(asset: ImageAsset, image) -> None:
    """Give the image the name pods use, so the archive carries it."""
    if not image.tag(asset.repository, asset.tag):
        raise ImageError(f"asset {asset.name}: Docker refused to tag the image as {asset.image}")


def write_image_archive(
    client, image: str, destination: str | Path, *, progress: Progress, label: str
) -> tuple[str, int]:
    """`docker save image` streamed to destination (via a .part file); returns (sha256, size)."""
    import docker.errors

    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    part = destination.with_name(destination.name + ".part")
    hasher = hashlib.sha256()
    size = 0
    try:
        with open(part, "wb") as stream:
            for chunk in client.api.get_image(image, chunk_size=CHUNK):
                stream.write(chunk)
                hasher.update(chunk)
                size += len(chunk)
                progress.advance(len(chunk))
            stream.flush()
            os.fsync(stream.fileno())
    except (docker.errors.DockerException, OSError) as error:
        part.unlink(missing_ok=True)
        raise ImageError(
            f"asset {label}: docker save of {image} to {destination} failed ({error}):"
            " check free disk space and run build again"
        ) from None
    os.replace(part, destination)
    return hasher.hexdigest(), size
