"""`videolake serve`: download links for local storage, with HTTP Range so players can seek.

Only ``GET``/``HEAD /d/<token>`` exist. The token's HMAC and expiry are checked first (403 when
tampered with or expired); the key is then resolved inside the storage root only.

Bounded under load: a fixed pool of threads serves the connections (never one thread per client),
at most ``max_connections`` are open at once (the next ones get a short 503 with Retry-After),
a client idle for ``idle_timeout`` seconds is disconnected, and the listen backlog absorbs bursts.
"""

from __future__ import annotations

import mimetypes
import re
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import quote

from videolake.links.tokens import TokenError, verify
from videolake.storage import InvalidKey
from videolake.storage.local_backend import LocalBackend

_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
CHUNK = 1024 * 1024
MAX_POSITION_DIGITS = 19  # any byte position past 10**19 lies beyond every file
MAX_RANGES = 16  # more ranges than this in one request: the whole file is sent instead (RFC 9110 14.2 allows it)
DEFAULT_THREADS = 32
DEFAULT_MAX_CONNECTIONS = 1024
DEFAULT_IDLE_TIMEOUT = 15.0
LISTEN_BACKLOG = 4096

Span = tuple[int, int]  # first and last byte, inclusive


def parse_ranges(header: str | None, size: int) -> list[Span] | None | str:
    """The satisfiable ranges of a ``Range`` header (RFC 9110 14.1.2): None without one (or with one
    to ignore: another unit, too many ranges), "invalid" when none can be satisfied (416)."""
    if not header:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None if unit.strip().lower() != "bytes" else "invalid"
    parts = specs.split(",")
    if len(parts) > MAX_RANGES:
        return None
    spans: list[Span] = []
    for part in parts:
        match = _RANGE_SPEC.match(part)
        if not match or (match.group(1) == "" and match.group(2) == ""):
            return "invalid"  # a malformed range set: answered as unsatisfiable, never a dropped connection
        first, last = match.group(1), match.group(2)
        if first == "":  # the last N bytes
            length = size if len(last) > MAX_POSITION_DIGITS else int(last)
            if length > 0 and size > 0:
                spans.append((max(0, size - length), size - 1))
            continue
        if len(first) > MAX_POSITION_DIGITS:
            continue  # starts past the end
        start = int(first)
        end = size - 1 if last == "" or len(last) > MAX_POSITION_DIGITS else int(last)
        if end < start:
            return "invalid"
        if start < size:
            spans.append((start, min(end, size - 1)))
    return spans or "invalid"


def parse_range(header: str | None, size: int) -> Span | None | str:
    """The first satisfiable range (see ``parse_ranges``)."""
    spans = parse_ranges(header, size)
    return spans[0] if isinstance(spans, list) else spans


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
            wanted = parse_ranges(self.headers.get("Range"), size)
            if wanted == "invalid":
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            content_type = mimetypes.guess_type(grant.filename)[0] or "application/octet-stream"
            if isinstance(wanted, list) and len(wanted) > 1:
                return self._send_multipart(path, size, wanted, content_type, grant.filename)
            first, last = wanted[0] if isinstance(wanted, list) else (0, size - 1)
            length = last - first + 1 if size else 0
            self.send_response(HTTPStatus.PARTIAL_CONTENT if isinstance(wanted, list) else HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(length))
            self._common_headers(grant.filename)
            if isinstance(wanted, list):
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if self.command == "HEAD" or length == 0:
                return
            with open(path, "rb") as fh:
                self._copy(fh, first, length)

        def _common_headers(self, filename: str) -> None:
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Cache-Control", "private, no-store")
            self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(filename)}")

        def _send_multipart(self, path, size: int, spans: list[Span], content_type: str, filename: str) -> None:  # type: ignore[no-untyped-def]
            """Several ranges: one multipart/byteranges body (RFC 9110 14.6), its length known up front."""
            boundary = uuid.uuid4().hex
            heads = [(f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                      f"Content-Range: bytes {a}-{b}/{size}\r\n\r\n").encode() for a, b in spans]
            tail = f"\r\n--{boundary}--\r\n".encode()
            total = sum(len(h) for h in heads) + sum(b - a + 1 for a, b in spans) + len(tail)
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Type", f"multipart/byteranges; boundary={boundary}")
            self.send_header("Content-Length", str(total))
            self._common_headers(filename)
            self.end_headers()
            if self.command == "HEAD":
                return
            with open(path, "rb") as fh:
                for head, (a, b) in zip(heads, spans):
                    if not self._write(head) or not self._copy(fh, a, b - a + 1):
                        return
                self._write(tail)

        def _write(self, data: bytes) -> bool:
            try:
                self.wfile.write(data)
                return True
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True
                return False  # the player moved on (seeking); nothing to do

        def _copy(self, fh, first: int, length: int) -> bool:  # type: ignore[no-untyped-def]
            fh.seek(first)
            remaining = length
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk or not self._write(chunk):
                    return False
                remaining -= len(chunk)
            return True

    return LinkHandler


class BoundedHTTPServer(HTTPServer):
    """An HTTP server whose connections are served by a fixed pool of threads, capped in number."""

    request_queue_size = LISTEN_BACKLOG
    allow_reuse_address = True

    def __init__(self, address, handler, *, threads: int = DEFAULT_THREADS,  # type: ignore[no-untyped-def]
                 max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        # Before binding: a port that cannot be bound makes the base class call server_close() at once.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="videolake-serve")
        self._slots = threading.BoundedSemaphore(max_connections)
        super().__init__(address, handler)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not self._slots.acquire(blocking=False):
            try:  # over the cap: a short answer instead of a connection that waits without end
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            self._pool.submit(self._serve, request, client_address)
        except RuntimeError:  # shutting down
            self._slots.release()
            self.shutdown_request(request)

    def _serve(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            self.finish_request(request, client_address)
        except (OSError, TimeoutError):
            pass  # the client went away or idled out
        except Exception:  # noqa: BLE001
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_server(storage: LocalBackend, secret: bytes, host: str = "127.0.0.1", port: int = 8080, *,
                threads: int = DEFAULT_THREADS, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> BoundedHTTPServer:
    handler = make_handler(storage, secret)
    handler.timeout = idle_timeout  # a client silent this long (between or inside requests) is disconnected
    server = BoundedHTTPServer((host, port), handler, threads=threads, max_connections=max_connections)
    server.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server


def serve_in_thread(server: HTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="videolake-serve", daemon=True)
    thread.start()
    return thread


__all__ = ["BoundedHTTPServer", "make_server", "parse_range", "parse_ranges", "serve_in_thread"]
