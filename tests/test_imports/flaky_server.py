"""An HTTP server that serves files the way video providers and old servers do — and the ways they
fail. Started by the tests as a process on a loopback port:

    python -m tests.test_imports.flaky_server --port P --root DIR

Every path is ``/<behaviour>/<file name>``; a behaviour that fails "the first time" counts the
requests per path (``/_reset`` forgets the counts; ``/_ranges`` lists the Range headers asked
for, per path, as JSON):

- ``ok``: the file, with ETag, Last-Modified, Content-Length and Range (206).
- ``fail500``: 500 for the first two requests, then ``ok``.
- ``ratelimit``: 429 with ``Retry-After: 1`` the first time, then ``ok``.
- ``cut``: the first answer stops after a third of the body and closes the connection; then ``ok``.
- ``norange``: like ``cut``, but it never honours Range (every answer is a 200 with the whole file).
- ``trickle``: the body in 64 KB pieces, 50 ms apart.
- ``slow``: the body in 64 KB pieces, 250 ms apart (a fetch long enough to kill mid-way).
- ``silent``: the headers, then nothing for 30 s.
- ``shortlength``: a Content-Length 1,000 bytes larger than the body, then the connection closes.
- ``redirect3`` / ``redirect9``: a chain of 3 (or 9) redirects to ``ok``.
- ``html``: 200 with an HTML error page.
- ``gone``: 404.
- ``signed``: ``?expires=EPOCH`` — the file until then, 403 after (as a provider's signed URL).
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

COUNTS: dict[str, int] = {}
RANGES: dict[str, list[str]] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _count(self) -> int:
        with LOCK:
            COUNTS[self.path.split("?")[0]] = COUNTS.get(self.path.split("?")[0], 0) + 1
            return COUNTS[self.path.split("?")[0]]

    def _plain(self, status: int, body: bytes = b"", content_type: str = "text/plain", extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        parts = urlsplit(self.path)
        if parts.path == "/_reset":
            COUNTS.clear()
            RANGES.clear()
            return self._plain(200, b"reset")
        if parts.path == "/_ranges":
            return self._plain(200, json.dumps(RANGES).encode(), "application/json")
        try:
            _, behaviour, name = parts.path.split("/", 2)
        except ValueError:
            return self._plain(404, b"no such path")
        path = self.root / name
        if not path.is_file():
            return self._plain(404, b"no such file")
        n = self._count()
        if self.headers.get("Range"):
            with LOCK:
                RANGES.setdefault(parts.path, []).append(self.headers["Range"])
        data = path.read_bytes()
        if behaviour == "ok":
            return self._file(data, path)
        if behaviour == "fail500":
            return self._plain(500, b"internal error") if n <= 2 else self._file(data, path)
        if behaviour == "ratelimit":
            return self._plain(429, b"slow down", extra={"Retry-After": "1"}) if n == 1 else self._file(data, path)
        if behaviour in ("cut", "norange"):
            return self._file(data, path, cut=n == 1, ranges=behaviour == "cut")
        if behaviour == "trickle":
            return self._file(data, path, piece_delay=0.05)
        if behaviour == "slow":
            return self._file(data, path, piece_delay=0.25)
        if behaviour == "silent":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(30)
            return None
        if behaviour == "shortlength":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data) + 1000))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return None
        if behaviour.startswith("redirect"):
            hops = int(behaviour.removeprefix("redirect"))
            step = int(parse_qs(parts.query).get("step", ["0"])[0])
            target = f"/ok/{name}" if step + 1 >= hops else f"/{behaviour}/{name}?step={step + 1}"
            return self._plain(302, b"", extra={"Location": target})
        if behaviour == "html":
            return self._plain(200, b"<html><body>This link has expired.</body></html>", "text/html; charset=utf-8")
        if behaviour == "gone":
            return self._plain(404, b"not found")
        if behaviour == "signed":
            expires = float(parse_qs(parts.query).get("expires", ["0"])[0])
            if time.time() > expires:
                return self._plain(403, b"<Error>Request has expired</Error>", "application/xml")
            return self._file(data, path, piece_delay=0.02)
        return self._plain(404, b"unknown behaviour")

    def _file(self, data: bytes, path: Path, *, cut: bool = False, ranges: bool = True,
              piece_delay: float = 0.0) -> None:
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        start = 0
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        status = 200
        if ranges and wanted and wanted.startswith("bytes=") and (if_range is None or if_range == etag):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            status = 206
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes" if ranges else "none")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        piece = 64 * 1024
        for i in range(0, len(body), piece):
            self.wfile.write(body[i:i + piece])
            if piece_delay:
                self.wfile.flush()
                time.sleep(piece_delay)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    args = parser.parse_args()
    Handler.root = Path(args.root)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
