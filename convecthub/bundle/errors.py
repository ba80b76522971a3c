"""Errors of the bundle tool.

Each message names what failed (asset, URL or file) and how to fix it, so the
CLI can print it as it is and exit non-zero.
"""

from __future__ import annotations

from typing import NamedTuple


class BundleError(Exception):
    """Base class: anything the bundle tool refuses or cannot do."""


class LockError(BundleError):
    """The lock file is missing, unreadable or invalid (lists every problem)."""

    def __init__(self, path, problems: list[str]):
        self.path = path
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{path}: {len(self.problems)} problem(s):\n{lines}")


class DownloadError(BundleError):
    """A file asset could not be fetched (unreachable, HTTP error, cut off)."""


class ChecksumMismatch(DownloadError):
    """A downloaded file is not the one the lock file pins."""


class ImageError(BundleError):
    """An image asset could not be pulled or saved through Docker."""


class ManifestError(BundleError):
    """bundle.json is missing or malformed."""


class FileProblem(NamedTuple):
    """One bad file of a bundle: what is wrong with it, and the fix."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}: {self.fix}"


class VerifyError(BundleError):
    """A bundle failed its off-line check (lists every bad file)."""

    def __init__(self, bundle_dir, problems: list[FileProblem]):
        self.bundle_dir = bundle_dir
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"bundle {bundle_dir} is refused: {len(self.problems)} problem(s):\n{lines}")
