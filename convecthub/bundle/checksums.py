"""sha256 of files in fixed-size chunks: memory stays constant whatever the size."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_of_file(
    path: str | Path,
    *,
    hasher=None,
    on_chunk: Callable[[int], None] | None = None,
) -> str:
    """Hex sha256 of a file; pass `hasher` to keep feeding it afterwards."""
    hasher = hasher if hasher is not None else hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            hasher.update(chunk)
            if on_chunk:
                on_chunk(len(chunk))
    return hasher.hexdigest()
