"""`videolake serve`: download links for local storage, with HTTP Range so players can seek.

Only ``GET``/``HEAD /d/<token>`` exist. The token's HMAC and expiry are checked first (403 when
tampered with or expired); the key is then resolved inside the storage root only.
"""

from __future__ import annotations

import mimetypes
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from videolake.links.tokens import TokenError, verify
from videolake.storage import InvalidKey
from videolake.storage.local_backend import LocalBackend

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1024 * 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for one satisfiable range; None without a range; "invalid" otherwise."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (match.group(1) == "" and match.group(2) == ""):
        return "invalid"
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0:
            return "invalid"
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return "invalid"
    return start, min(end, size - 1)


def make_handler(storage: LocalBackend, secret: bytes) -> type[BaseHTTPRequestHandler]:
    class LinkHandler(BaseHTTPRequestHandler):
        server_version = "videolake"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:  # quiet by default
            pass

        def _fail(self, status: HTTPStatus, message: str) -> None:
            body = f"{status.value} {status.phrase}: {message}\n".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
            self.do_GET()

        def do_GET(self) -> None:  # noqa: N802
            if not self.path.startswith("/d/"):
                return self._fail(HTTPStatus.NOT_FOUND, "no such page")
            token = self.path[3:].split("?", 1)[0]
            try:
                grant = verify(secret, token)
            except TokenError as exc:
                return self._fail(HTTPStatus.FORBIDDEN, str(exc))
            try:
                path = storage.local_path(grant.key)
            except InvalidKey:
                return self._fail(HTTPStatus.FORBIDDEN, "that object is not served")
            if not path.is_file() or path.is_symlink():
                return self._fail(HTTPStatus.NOT_FOUND, "the file is gone (expired exports are deleted)")
            size = path.stat().st_size
            wanted = parse_range(self.headers.get("Range"), size)
            if wanted == "invalid":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
            length = last - first + 1 if size else 0
            self.send_response(HTTPStatus.PARTIAL_CONTENT if isinstance(wanted, tuple) else HTTPStatus.OK)
            self.send_header("Content-Type", mimetypes.guess_type(grant.filename)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Cache-Control", "private, no-store")
            self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(grant.filename)}")
            if isinstance(wanted, tuple):
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if self.command == "HEAD" or length == 0:
                return
            with open(path, "rb") as fh:
                fh.seek(first)
                remaining = length
                try:
                    while remaining > 0:
                        chunk = fh.read(min(CHUNK, remaining))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        remaining -= len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the player moved on (seeking); nothing to do

    return LinkHandler


def make_server(storage: LocalBackend, secret: bytes, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), make_handler(storage, secret))
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="videolake-serve", daemon=True)
    thread.start()
    return thread


__all__ = ["make_server", "parse_range", "serve_in_thread"]
