"""Progress text: what an operator sees on a terminal and in a CI log."""

from __future__ import annotations

import io

from convecthub.bundle.progress import Progress, human_bytes


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_human_bytes_uses_decimal_units():
    assert [human_bytes(n) for n in (999, 1500, 78_991_522, 1_200_000_000)] == ["999 B", "1.5 KB", "79.0 MB", "1.2 GB"]


def test_terminal_redraws_one_line_in_place_and_throttles():
    stream, clock = io.StringIO(), FakeClock()
    progress = Progress(1000, stream=stream, interactive=True, min_interval=0.2, clock=clock)

    progress.begin("k3s-amd64", 1000)
    for _ in range(9):  # all within one throttle interval: no redraw
        progress.advance(100)
    clock.now = 1.0
    progress.advance(100)
    progress.end("ok")

    output = stream.getvalue()
    assert output.count("\r\033[K") == 3  # begin, the one allowed redraw, end
    assert output.endswith("100% 1.0 KB / 1.0 KB       | all [####################] 100% 1.0 KB / 1.0 KB  ok\n")


def test_log_gets_a_line_per_quarter_and_one_at_the_end():
    stream = io.StringIO()
    progress = Progress(400, stream=stream, interactive=False)

    progress.begin("chart", 400)
    for _ in range(40):
        progress.advance(10)
    progress.end("ok")

    lines = stream.getvalue().splitlines()
    assert [line.split("]")[1].split()[0] for line in lines] == ["25%", "50%", "75%", "100%"]


def test_a_skipped_file_counts_towards_the_overall_total():
    stream = io.StringIO()
    progress = Progress(300, stream=stream, interactive=False)

    progress.skip("k3s-amd64", 100, "already there, checksum ok")

    assert (
        stream.getvalue()
        .strip()
        .endswith("| all [######--------------]  33% 100 B / 300 B  already there, checksum ok")
    )
