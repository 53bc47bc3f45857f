"""An upload body streamed into the spool: multipart/form-data parsed as it arrives (python-multipart),
the file part written and hashed chunk by chunk (never the whole video in memory, never a second
spool copy), limits enforced before reading (Content-Length) and while reading.

Every refusal is a ``Problem`` raised before anything is cataloged, and the bytes written so far
are removed; a client that disconnects leaves nothing behind either.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pipelines.api.problems import Problem
from videolake.ingest.landing import json_depth, MAX_SIDECAR_DEPTH
from videolake.ingest.spool import SpooledFile, SpoolWriter, UploadSpool, UploadTooLarge

FILE_PART = "video"
MAX_FIELD_BYTES = {"metadata": 1024 * 1024, "expiration_hours": 64}
FORM_OVERHEAD_BYTES = sum(MAX_FIELD_BYTES.values()) + 64 * 1024  # headers and boundaries around the parts
MAX_NAME_BYTES = 255
_DIGEST_ITEM = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=\s*:([A-Za-z0-9+/=]*):\s*$")


def check_filename(raw: str | None) -> str:
    """The file name as sent, if it is a plain name this server can keep; else a 400 saying why."""
    if raw is None or not raw.strip():
        raise Problem(400, "the video part has no file name: send it as a file (curl -F video=@clip.mp4)",
                      kind="missing-filename")
    if "\x00" in raw or any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise Problem(400, "the file name holds NUL or control characters", kind="invalid-filename")
    if "/" in raw or "\\" in raw or raw in (".", ".."):
        raise Problem(400, f"the file name {raw[:80]!r} is a path; send the file's own name only", kind="invalid-filename")
    if raw.startswith("."):
        raise Problem(400, f"the file name {raw[:80]!r} starts with a dot (a hidden file)", kind="invalid-filename")
    if len(raw.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise Problem(400, f"the file name is {len(raw.encode('utf-8', 'surrogateescape'))} bytes long; "
                           f"the limit is {MAX_NAME_BYTES}", kind="invalid-filename")
    return raw


def expected_sha256(request: Request) -> bytes | None:
    """The SHA-256 the client declares in ``Repr-Digest`` (RFC 9530), if it declares one."""
    header = request.headers.get("repr-digest")
    if not header:
        return None
    for item in header.split(","):
        match = _DIGEST_ITEM.match(item)
        if not match:
            raise Problem(400, "Repr-Digest must look like sha-256=:BASE64:", kind="invalid-digest")
        if match.group(1).lower() == "sha-256":
            try:
                digest = base64.b64decode(match.group(2), validate=True)
            except binascii.Error:
                raise Problem(400, "the sha-256 in Repr-Digest is not valid base64", kind="invalid-digest") from None
            if len(digest) != 32:
                raise Problem(400, "the sha-256 in Repr-Digest is not 32 bytes", kind="invalid-digest")
            return digest
    raise Problem(400, "Repr-Digest holds no sha-256 (the only algorithm checked here)", kind="invalid-digest")


def check_declared_length(request: Request, limit: int) -> None:
    """413 at once when Content-Length already says the body is over the limit."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise Problem(400, "Content-Length is not a number", kind="invalid-length")
    if int(declared) > limit:
        raise Problem(413, f"the body is {int(declared)} bytes; uploads are limited to {limit} bytes "
                           "(VIDEOLAKE_MAX_UPLOAD_BYTES)", kind="too-large")


def parse_metadata(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, f"the metadata part is not JSON: {exc}", kind="invalid-metadata") from None
    except RecursionError:
        raise Problem(400, f"the metadata part nests deeper than {MAX_SIDECAR_DEPTH} levels", kind="invalid-metadata") from None
    if not isinstance(value, dict):
        raise Problem(400, "the metadata part must be a JSON object", kind="invalid-metadata")
    if json_depth(value) > MAX_SIDECAR_DEPTH:
        raise Problem(400, f"the metadata part nests deeper than {MAX_SIDECAR_DEPTH} levels", kind="invalid-metadata")
    return value


@dataclass
class ReceivedForm:
    spooled: SpooledFile
    filename: str
    content_type: str | None
    fields: dict[str, bytes] = field(default_factory=dict)


class _FormState:
    def __init__(self, spool: UploadSpool, upload_id: str, max_bytes: int) -> None:
        self.spool, self.upload_id, self.max_bytes = spool, upload_id, max_bytes
        self.headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self.part: str | None = None
        self.field_buffer = bytearray()
        self.fields: dict[str, bytes] = {}
        self.writer: SpoolWriter | None = None
        self.filename: str | None = None
        self.content_type: str | None = None
        self.file_done = False
        self.ended = False

    # python-multipart callbacks
    def on_part_begin(self) -> None:
        self.headers, self._header_field, self._header_value = {}, b"", b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get(b"content-disposition", b"").decode("latin-1"))
        if disposition != b"form-data" or b"name" not in options:
            raise Problem(400, "a part has no Content-Disposition: form-data with a name", kind="malformed-multipart")
        name = options[b"name"].decode("utf-8", "replace")
        if name == FILE_PART:
            if self.writer is not None or self.file_done:
                raise Problem(400, "more than one video part; send one file per upload", kind="malformed-multipart")
            raw = options.get(b"filename")
            try:
                filename = raw.decode("utf-8") if raw is not None else None
            except UnicodeDecodeError:
                raise Problem(400, "the file name is not valid UTF-8", kind="invalid-filename") from None
            self.filename = check_filename(filename)
            self.content_type = self.headers.get(b"content-type", b"").decode("latin-1").strip() or None
            self.writer = self.spool.writer(self.upload_id, self.filename, max_bytes=self.max_bytes)
        elif name in MAX_FIELD_BYTES:
            if name in self.fields:
                raise Problem(400, f"the {name} part is sent twice", kind="malformed-multipart")
            self.field_buffer = bytearray()
        else:
            known = ", ".join([FILE_PART, *MAX_FIELD_BYTES])
            raise Problem(400, f"unknown form field {name[:60]!r}; this upload takes {known}", kind="unknown-field")
        self.part = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part == FILE_PART:
            assert self.writer is not None
            try:
                self.writer.write(data[start:end])
            except UploadTooLarge:
                raise Problem(413, f"the file is over the limit of {self.max_bytes} bytes (VIDEOLAKE_MAX_UPLOAD_BYTES)",
                              kind="too-large") from None
        else:
            self.field_buffer += data[start:end]
            limit = MAX_FIELD_BYTES[self.part or ""]
            if len(self.field_buffer) > limit:
                raise Problem(413, f"the {self.part} part is over {limit} bytes", kind="field-too-large")

    def on_part_end(self) -> None:
        if self.part == FILE_PART:
            self.file_done = True
        elif self.part is not None:
            self.fields[self.part] = bytes(self.field_buffer)
        self.part = None

    def on_end(self) -> None:
        self.ended = True


async def receive_form(request: Request, spool: UploadSpool, upload_id: str, *, max_bytes: int) -> ReceivedForm:
    """Stream a multipart/form-data body: the ``video`` file part into the spool, small fields in memory."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise Problem(415, "send the upload as multipart/form-data with the file in a part named video "
                           f"(curl -F video=@clip.mp4); got {content_type.decode('latin-1') or 'no Content-Type'}",
                      kind="unsupported-media-type")
    boundary = options.get(b"boundary")
    if not boundary:
        raise Problem(400, "the multipart Content-Type has no boundary", kind="malformed-multipart")
    check_declared_length(request, max_bytes + FORM_OVERHEAD_BYTES)
    digest = expected_sha256(request)
    state = _FormState(spool, upload_id, max_bytes)
    callbacks = {name: getattr(state, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end", "on_end")}
    try:
        parser = MultipartParser(boundary, callbacks)
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
        if not state.ended:
            raise Problem(400, "the multipart body ends before its closing boundary (cut off?)", kind="malformed-multipart")
        if state.writer is None or not state.file_done:
            raise Problem(422 if state.writer is None else 400,
                          "no video part: send the file in a part named video (curl -F video=@clip.mp4)"
                          if state.writer is None else "the video part is cut off", kind="missing-file")
        if state.writer.size == 0:
            raise Problem(422, "the file is empty (0 bytes)", kind="empty-file")
        spooled = await run_in_threadpool(state.writer.finish)
    except MultipartParseError as exc:
        _abort(state, spool, upload_id)
        raise Problem(400, f"the multipart body is malformed: {exc}", kind="malformed-multipart") from None
    except BaseException:  # a refusal, a client gone (ClientDisconnect), a full disk: nothing is kept
        _abort(state, spool, upload_id)
        raise
    if digest is not None and bytes.fromhex(spooled.sha256) != digest:
        spool.discard(upload_id)
        raise Problem(400, f"the file hashes to sha-256 {base64.b64encode(bytes.fromhex(spooled.sha256)).decode()}, "
                           "not the Repr-Digest sent; nothing was kept", kind="digest-mismatch")
    return ReceivedForm(spooled, state.filename or spooled.key, state.content_type, state.fields)


def _abort(state: _FormState, spool: UploadSpool, upload_id: str) -> None:
    if state.writer is not None:
        state.writer.abort()
    spool.discard(upload_id)
