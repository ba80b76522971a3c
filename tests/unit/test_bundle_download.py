"""Downloads of file assets from a real HTTP server on 127.0.0.1 (no Docker, no internet)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tracemalloc

import pytest

from convecthub.bundle.download import fetch_file
from convecthub.bundle.errors import ChecksumMismatch, DownloadError
from convecthub.bundle.lock import parse_lock
from convecthub.bundle.progress import Progress
from tests.unit.bundle_http import RangeServer

PAYLOAD = os.urandom(3 * 1024 * 1024 + 12345)  # several chunks, not a multiple of one
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    with RangeServer({"k3s": PAYLOAD}) as running:
        yield running


PAYLOAD_SIZE = len(PAYLOAD)


def file_asset(url, *, sha256=PAYLOAD_SHA256, size=PAYLOAD_SIZE, name="k3s-amd64"):
    document = {
        "schema": 1,
        "release": "test",
        "assets": [
            {
                "name": name,
                "kind": "file",
                "version": "v1",
                "arch": "amd64",
                "url": url,
                "sha256": sha256,
                "size": size,
                "roles": ["driver", "worker"],
            }
        ],
    }
    return parse_lock(document).assets[0]


def test_download_writes_the_file_and_reports_its_digest(server, tmp_path):
    result = fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s")

    assert (tmp_path / "k3s").read_bytes() == PAYLOAD
    assert result.sha256 == PAYLOAD_SHA256
    assert result.transferred == len(PAYLOAD) == server.bytes_served
    assert not (tmp_path / "k3s.part").exists()


def test_interrupted_download_keeps_the_part_file_and_resumes_with_range(server, tmp_path):
    half = len(PAYLOAD) // 2
    server.cut_after["k3s"] = half
    asset = file_asset(server.url("k3s"))

    with pytest.raises(DownloadError) as cut:
        fetch_file(asset, tmp_path / "k3s", retries=0)
    assert "cut off" in str(cut.value) and "run build again to resume" in str(cut.value)
    assert (tmp_path / "k3s.part").stat().st_size == half
    assert not (tmp_path / "k3s").exists()

    result = fetch_file(asset, tmp_path / "k3s")

    assert (tmp_path / "k3s").read_bytes() == PAYLOAD
    assert result.transferred == len(PAYLOAD) - half
    assert server.requests[-1] == ("k3s", f"bytes={half}-", 206)
    assert server.bytes_served == len(PAYLOAD)  # every byte crossed the wire exactly once


def test_a_cut_off_is_resumed_within_the_same_run(server, tmp_path):
    server.cut_after["k3s"] = 1000
    result = fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s", retries=2)

    assert (tmp_path / "k3s").read_bytes() == PAYLOAD
    assert [status for _, _, status in server.requests] == [200, 206]
    assert server.bytes_served == len(PAYLOAD)
    assert result.transferred == len(PAYLOAD)


def test_server_ignoring_range_restarts_from_byte_zero(server, tmp_path):
    (tmp_path / "k3s.part").write_bytes(PAYLOAD[:5000])
    server.ignore_range = True

    fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s")

    assert (tmp_path / "k3s").read_bytes() == PAYLOAD


def test_checksum_mismatch_removes_the_partial_file_and_names_everything(server, tmp_path):
    wrong = "0" * 64
    url = server.url("k3s")

    with pytest.raises(ChecksumMismatch) as mismatch:
        fetch_file(file_asset(url, sha256=wrong), tmp_path / "k3s")

    message = str(mismatch.value)
    assert "asset k3s-amd64" in message
    assert url in message
    assert f"expected sha256 {wrong}" in message
    assert f"got {PAYLOAD_SHA256}" in message
    assert not (tmp_path / "k3s.part").exists()
    assert not (tmp_path / "k3s").exists()


def test_corrupt_part_from_an_earlier_run_is_caught_by_the_checksum(server, tmp_path):
    (tmp_path / "k3s.part").write_bytes(b"X" * 1000)  # not the first 1000 bytes of the file

    with pytest.raises(ChecksumMismatch):
        fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s")
    assert not (tmp_path / "k3s.part").exists()  # so the next run starts clean

    fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s")
    assert (tmp_path / "k3s").read_bytes() == PAYLOAD


def test_server_announcing_another_size_fails_before_the_transfer(server, tmp_path):
    with pytest.raises(ChecksumMismatch) as wrong_size:
        fetch_file(file_asset(server.url("k3s"), size=len(PAYLOAD) + 1), tmp_path / "k3s")

    assert f"serves {len(PAYLOAD)} bytes but the lock file says {len(PAYLOAD) + 1}" in str(wrong_size.value)
    assert not (tmp_path / "k3s.part").exists() and not (tmp_path / "k3s").exists()
    assert len(server.requests) == 1  # no retry of a file that is not the pinned one


def test_404_names_the_asset_and_the_url(server, tmp_path):
    url = server.url("k3s-v9.9.9")

    with pytest.raises(DownloadError) as missing:
        fetch_file(file_asset(url), tmp_path / "k3s")

    assert str(missing.value) == (
        f"asset k3s-amd64: {url} answered HTTP 404 Not Found: check its url and version in the lock file"
    )
    assert not (tmp_path / "k3s").exists()


def test_unreachable_host_names_the_asset_and_the_url(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/k3s"

    with pytest.raises(DownloadError) as unreachable:
        fetch_file(file_asset(url), tmp_path / "k3s", timeout=5)

    message = str(unreachable.value)
    assert message.startswith(f"asset k3s-amd64: cannot reach {url} (")
    assert "check the provisioner's network" in message


def test_second_run_transfers_nothing(server, tmp_path):
    asset = file_asset(server.url("k3s"))
    fetch_file(asset, tmp_path / "k3s")
    server.reset_counts()

    again = fetch_file(asset, tmp_path / "k3s")

    assert again.reused and again.transferred == 0
    assert server.bytes_served == 0 and server.requests == []


def test_a_corrupted_destination_is_fetched_again(server, tmp_path):
    asset = file_asset(server.url("k3s"))
    fetch_file(asset, tmp_path / "k3s")
    damaged = bytearray(PAYLOAD)
    damaged[100] ^= 0xFF
    (tmp_path / "k3s").write_bytes(bytes(damaged))

    result = fetch_file(asset, tmp_path / "k3s")

    assert not result.reused
    assert (tmp_path / "k3s").read_bytes() == PAYLOAD


def test_memory_stays_constant_whatever_the_size(tmp_path):
    big = os.urandom(48 * 1024 * 1024)
    with RangeServer({"big": big}) as running:
        asset = file_asset(running.url("big"), sha256=hashlib.sha256(big).hexdigest(), size=len(big))
        del big
        tracemalloc.start()
        fetch_file(asset, tmp_path / "big")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a 48 MiB download"


def test_progress_shows_the_file_and_the_overall_bar(server, tmp_path):
    stream = io.StringIO()
    progress = Progress(len(PAYLOAD), stream=stream, interactive=False)

    fetch_file(file_asset(server.url("k3s")), tmp_path / "k3s", progress=progress)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 4  # past 25, 50 and 75%, then the end: a log stays short
    assert lines[0].startswith("k3s-amd64") and " 33% 1.0 MB / 3.2 MB" in lines[0]
    assert "[####################] 100%" in lines[-1]
    assert "| all [####################] 100%" in lines[-1]
    assert lines[-1].endswith("ok")
