"""A small HTTP file server on 127.0.0.1 for the bundle download tests.

Serves in-memory files with Range support, counts every body byte it sends,
and can cut a response off part-way (once) to simulate a dropped connection.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class RangeServer:
    def __init__(self, files: dict[str, bytes] | None = None):
        self.files: dict[str, bytes] = dict(files or {})
        self.bytes_served = 0
        self.requests: list[tuple[str, str | None, int]] = []  # (path, Range header, status)
        self.cut_after: dict[str, int] = {}  # path -> body bytes to send before dropping, once
        self.ignore_range = False
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_served = 0
            self.requests.clear()

    def __enter__(self) -> RangeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, path: str, range_header: str | None, status: int) -> None:
        with self._lock:
            self.requests.append((path, range_header, status))

    def _count(self, count: int) -> None:
        with self._lock:
            self.bytes_served += count


def _handler_for(server: RangeServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            range_header = self.headers.get("Range")
            body = server.files.get(path)
            if body is None:
                self._status_only(path, range_header, 404)
                return
            start, end, status = 0, len(body) - 1, 200
            match = _RANGE.match(range_header or "")
            if match and not server.ignore_range:
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else len(body) - 1
                if start >= len(body):
                    self._status_only(path, range_header, 416, {"Content-Range": f"bytes */{len(body)}"})
                    return
                status = 206
            server._record(path, range_header, status)
            self.send_response(status)
            self.send_header("Content-Length", str(end - start + 1))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
            self.end_headers()
            self._send_body(path, body[start : end + 1])

        def _send_body(self, path: str, payload: bytes) -> None:
            limit = server.cut_after.pop(path, None)
            if limit is not None:
                payload = payload[:limit]
                self.close_connection = True  # drop the connection short of Content-Length
            for offset in range(0, len(payload), 64 * 1024):
                piece = payload[offset : offset + 64 * 1024]
                self.wfile.write(piece)
                server._count(len(piece))
            self.wfile.flush()

        def _status_only(self, path, range_header, status: int, headers: dict | None = None) -> None:
            server._record(path, range_header, status)
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
