"""Plain-text progress on stderr: one bar for the current file, one for all.

On a terminal the line is redrawn in place (throttled); in a log (CI, a pipe)
a line is printed at 25, 50 and 75% of a file and when it ends, so logs stay short.
"""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 20
LABEL_WIDTH = 38


def human_bytes(count: float) -> str:
    """Decimal units, as download sizes are usually quoted: 78991522 -> '79.0 MB'."""
    if abs(count) < 1000:
        return f"{count:.0f} B"
    for unit in ("KB", "MB"):
        count /= 1000
        if abs(count) < 1000:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} GB"


def bar(done: int, total: int | None) -> str:
    if not total:
        return "[" + "?" * BAR_WIDTH + "]"
    filled = min(BAR_WIDTH, BAR_WIDTH * done // total)
    return "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "]"


def percent(done: int, total: int | None) -> str:
    return f"{min(100, 100 * done // total):3d}%" if total else "  ?%"


class Progress:
    """Reports bytes done per file and overall. Not thread-safe: one file at a time."""

    def __init__(
        self,
        total_bytes: int = 0,
        stream=None,
        *,
        interactive: bool | None = None,
        min_interval: float = 0.2,
        clock=time.monotonic,
    ):
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = (
            interactive if interactive is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        )
        self.total = total_bytes
        self.done = 0
        self.min_interval = min_interval
        self.clock = clock
        self._label = ""
        self._size: int | None = None
        self._file_done = 0
        self._last_draw = 0.0
        self._last_quarter = 0

    def add_to_total(self, count: int) -> None:
        """Grow the overall total when a size becomes known (e.g. a saved image)."""
        self.total += count

    def begin(self, label: str, size: int | None, already: int = 0) -> None:
        self._label, self._size, self._file_done = label, size, already
        self.done += already
        self._last_quarter = 0
        self._draw(force=True)

    def advance(self, count: int) -> None:
        self._file_done += count
        self.done += count
        self._draw()

    def end(self, note: str = "done") -> None:
        self._draw(force=True, note=note, final=True)

    def skip(self, label: str, size: int, note: str) -> None:
        """A file that needs no work: count it as done at once."""
        self.begin(label, size, already=size)
        self.end(note)

    def message(self, text: str) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def line(self, note: str = "") -> str:
        size_text = human_bytes(self._file_done) + (f" / {human_bytes(self._size)}" if self._size else "")
        overall = (
            f"all {bar(self.done, self.total)} {percent(self.done, self.total)}"
            f" {human_bytes(self.done)} / {human_bytes(self.total)}"
        )
        this_file = f"{bar(self._file_done, self._size)} {percent(self._file_done, self._size)}"
        text = f"{self._label:<{LABEL_WIDTH}} {this_file} {size_text:<21} | {overall}"
        return f"{text}  {note}" if note else text

    def _draw(self, *, force: bool = False, note: str = "", final: bool = False) -> None:
        now = self.clock()
        if self.interactive:
            if not force and now - self._last_draw < self.min_interval:
                return
            self.stream.write("\r\033[K" + self.line(note) + ("\n" if final else ""))
        else:
            quarter = min(3, 4 * self._file_done // self._size) if self._size else 0
            if not (final or quarter > self._last_quarter):
                return
            self.stream.write(self.line(note) + "\n")
            self._last_quarter = quarter
        self._last_draw = now
        self.stream.flush()


class NullProgress(Progress):
    """Progress that prints nothing (library use, tests)."""

    def __init__(self):
        super().__init__(0, stream=_Discard(), interactive=False)


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
