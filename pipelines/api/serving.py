"""Objects over HTTP from any backend: Range (one range, or several as multipart/byteranges),
If-Range, a strong ETag from the content's SHA-256, If-None-Match (304), HEAD.

Bytes are read with the storage contract's ``open_range`` in a worker thread, a megabyte at a
time, so a player seeking in a 2 GB video on S3 reads only what it shows.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from videolake.links.ranges import parse_ranges
from videolake.storage import StorageBackend

CHUNK = 1024 * 1024


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _read(backend: StorageBackend, key: str, start: int, length: int) -> Iterator[bytes]:
    with backend.open_range(key, start, length) as stream:
        left = length
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{backend.url}: {key} ended {left} bytes early")
            left -= len(chunk)
            yield chunk


def object_response(request: Request, backend: StorageBackend, key: str, *, size: int, sha256: str | None,
                    filename: str, content_type: str | None = None, attachment: bool = False,
                    cache_control: str = "private, max-age=3600") -> Response:
    etag = f'"{sha256}"' if sha256 else None
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    headers = {"Accept-Ranges": "bytes", "Cache-Control": cache_control,
               "Content-Disposition": f"{'attachment' if attachment else 'inline'}; filename*=UTF-8''{quote(filename)}"}
    if etag:
        headers["ETag"] = etag
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
    range_header = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if range_header and if_range and (etag is None or if_range.strip() != etag):
        range_header = None  # the client's copy is another version: the whole object
    wanted = parse_ranges(range_header, size)
    if wanted == "invalid":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    head = request.method == "HEAD"
    if isinstance(wanted, list) and len(wanted) > 1:
        return _multipart(backend, key, size, wanted, content_type, headers, head)
    first, last = wanted[0] if isinstance(wanted, list) else (0, size - 1)
    length = last - first + 1 if size else 0
    headers["Content-Length"] = str(length)
    status = 200
    if isinstance(wanted, list):
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    if head or length == 0:
        return Response(status_code=status, headers=headers, media_type=content_type)
    return StreamingResponse(iterate_in_threadpool(_read(backend, key, first, length)), status_code=status,
                             headers=headers, media_type=content_type)


def _multipart(backend: StorageBackend, key: str, size: int, spans: list[tuple[int, int]], content_type: str,
               headers: dict[str, str], head: bool) -> Response:
    boundary = uuid.uuid4().hex
    heads = [(f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {a}-{b}/{size}\r\n\r\n").encode()
             for a, b in spans]
    tail = f"\r\n--{boundary}--\r\n".encode()
    total = sum(len(h) for h in heads) + sum(b - a + 1 for a, b in spans) + len(tail)
    headers = {**headers, "Content-Length": str(total)}
    media_type = f"multipart/byteranges; boundary={boundary}"
    if head:
        return Response(status_code=206, headers=headers, media_type=media_type)

    def parts() -> Iterator[bytes]:
        for part_head, (a, b) in zip(heads, spans):
            yield part_head
            yield from _read(backend, key, a, b - a + 1)
        yield tail

    async def body() -> AsyncIterator[bytes]:
        async for chunk in iterate_in_threadpool(parts()):
            yield chunk

    return StreamingResponse(body(), status_code=206, headers=headers, media_type=media_type)


def get_and_head(router: Any, path: str, **options: Any) -> Any:
    """Register a byte-serving route for GET and HEAD, each with its own OpenAPI operation id."""

    def register(fn: Any) -> Any:
        name = options.pop("name", fn.__name__)
        router.add_api_route(path, fn, methods=["GET"], name=name, operation_id=name, **options)
        router.add_api_route(path, fn, methods=["HEAD"], name=f"{name}_head", operation_id=f"{name}_head", **options)
        return fn

    return register
