"""The air-gap bundle: every asset of a release, pinned, checked and saved to one directory.

    lock      bundle.lock.yaml: what a release is made of (load_lock)
    build     download files, save images, write bundle.json last (build_bundle)
    verify    re-check a bundle off-line (verify_bundle)
    manifest  bundle.json, and which files each role needs (load_manifest, Manifest.for_host)

The command line is `python -m convecthub.bundle build|verify OUT_DIR`.
"""

from .build import BuildReport, build_bundle
from .errors import (
    BundleError,
    ChecksumMismatch,
    DownloadError,
    ImageError,
    LockError,
    ManifestError,
    VerifyError,
)
from .lock import Lock, load_lock
from .manifest import MANIFEST_NAME, Manifest, ManifestEntry, load_manifest, write_manifest
from .verify import verify_bundle

__all__ = [
    "BuildReport",
    "BundleError",
    "ChecksumMismatch",
    "DownloadError",
    "ImageError",
    "Lock",
    "LockError",
    "MANIFEST_NAME",
    "Manifest",
    "ManifestEntry",
    "ManifestError",
    "VerifyError",
    "build_bundle",
    "load_lock",
    "load_manifest",
    "verify_bundle",
    "write_manifest",
]
