"""Generated filler that makes stand-in files as large as a benchmark needs.

One pseudo-random MiB, repeated with a block counter in front: deterministic
(same size, same bytes, same sha256), fast to make, and not shrunk by the
zlib compression SSH may use (its window is far smaller than a block).
"""

from __future__ import annotations

import io
import random
import struct

BLOCK = 1024 * 1024
_PATTERN = random.Random(20261126).randbytes(BLOCK)


def padding_chunks(count: int):
    """Yield `count` bytes of filler in blocks of at most 1 MiB."""
    index = 0
    while count > 0:
        block = struct.pack(">Q", index) + _PATTERN[8:]
        yield block[:count]
        count -= len(block[:count])
        index += 1


def write_padding(stream, count: int) -> None:
    for chunk in padding_chunks(count):
        stream.write(chunk)


class PaddingReader(io.RawIOBase):
    """A file-like reader of `count` bytes of filler (for tarfile.addfile)."""

    def __init__(self, count: int):
        self._chunks = padding_chunks(count)
        self._current = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            if self._position >= len(self._current):
                self._current, self._position = next(self._chunks, b""), 0
                if not self._current:
                    break
            wanted = len(self._current) if size is None or size < 0 else size - len(out)
            piece = self._current[self._position : self._position + wanted]
            out += piece
            self._position += len(piece)
        return bytes(out)
