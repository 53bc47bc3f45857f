"""Resumable uploads: tus 1.0 (core, creation, creation-with-upload, termination, expiration,
checksum) under ``/api/v1/uploads/``.

The upload's state — declared length, the offset received, expiry — is in the catalog, so any API
process sharing the spool continues what another began; a per-upload lock (``UploadSpool.appender``)
keeps two PATCHes from writing at once. Bytes a client sent before it went away are kept (without a
checksum to check them against), so a killed client resumes where its bytes stopped. The last
PATCH re-hashes the whole file and hands it to the same ingest as every upload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipelines.api.auth import require
from pipelines.api.problems import Problem, documented
from pipelines.api.receiving import check_filename
from pipelines.api.routes_uploads import METADATA_KEYS, _ingest_now
from pipelines.api.services import ApiServices
from videolake.catalog.models import utcnow
from videolake.constants import ApiScope, UploadProtocol, UploadState
from videolake.ingest.spool import UploadBusy, UploadLost, UploadTooLarge
from videolake.usecases.apikeys import Principal
from videolake.usecases.uploads import (
    UploadRequest,
    UploadView,
    abandon_upload,
    begin_upload,
    record_offset,
    resumable_upload,
    upload_received,
)

router = APIRouter(tags=["resumable uploads (tus 1.0)"])
TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,creation-with-upload,termination,expiration,checksum"
CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")
OFFSET_TYPE = "application/offset+octet-stream"
TUS_PREFIX = "/api/v1/uploads"
NAME_KEYS = ("filename", "name")
IGNORED_KEYS = ("filetype", "type", "relativePath")  # what tus clients and Uppy add on their own
TUS_ERRORS = documented(400, 401, 403, 404, 409, 410, 412, 413, 415, 422, 423, 429)


def _header(name: str, schema: dict[str, Any], description: str, required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "schema": schema, "description": description}


VERSION_HEADER = _header("Tus-Resumable", {"type": "string", "enum": [TUS_VERSION]}, "the tus version spoken")
OFFSET_HEADER = _header("Upload-Offset", {"type": "integer", "minimum": 0, "maximum": 2**62},
                        "where these bytes go: the offset HEAD answered")
CHECKSUM_HEADER = _header("Upload-Checksum", {"type": "string", "pattern": r"^(sha256|sha1|md5) [A-Za-z0-9+/]+=*$"},
                          "the checksum of this request's bytes, e.g. `sha256 BASE64`", required=False)


class TusResumableHeader:
    """``Tus-Resumable: 1.0.0`` on every answer under /api/v1/uploads (errors too), as tus asks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(TUS_PREFIX) or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"tus-resumable"]
                message = {**message, "headers": [*headers, (b"tus-resumable", TUS_VERSION.encode())]}
            await send(message)

        await self.app(scope, receive, sending)


def _services(request: Request) -> ApiServices:
    return request.app.state.services


def _http_date(value: dt.datetime | None) -> dict[str, str]:
    return {"Upload-Expires": email.utils.format_datetime(value.astimezone(dt.timezone.utc), usegmt=True)} if value else {}


def _check_version(request: Request) -> None:
    sent = request.headers.get("tus-resumable")
    if sent is None:
        raise Problem(400, f"a tus request carries Tus-Resumable: {TUS_VERSION}", kind="tus-version",
                      headers={"Tus-Version": TUS_VERSION})
    if sent != TUS_VERSION:
        raise Problem(412, f"this server speaks tus {TUS_VERSION}; the request says {sent or 'no Tus-Resumable'}",
                      kind="tus-version", headers={"Tus-Version": TUS_VERSION})


def _number(request: Request, header: str) -> int:
    raw = request.headers.get(header)
    if raw is None or not raw.isdigit() or len(raw) > 19:
        raise Problem(400, f"{header} must be a whole number of bytes", kind="invalid-header")
    return int(raw)


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs (a value may be absent)."""
    out: dict[str, str] = {}
    if not header or not header.strip():
        return out
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2 or not parts[0].isascii():
            raise Problem(400, "Upload-Metadata must be comma-separated `key base64value` pairs", kind="invalid-metadata")
        key = parts[0]
        if key in out:
            raise Problem(400, f"Upload-Metadata gives {key!r} twice", kind="invalid-metadata")
        try:
            out[key] = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError):
            raise Problem(400, f"Upload-Metadata {key!r} is not base64 of UTF-8 text", kind="invalid-metadata") from None
    return out


def _upload_request(fields: dict[str, str], principal: Principal) -> UploadRequest:
    name = next((fields[k] for k in NAME_KEYS if fields.get(k)), "upload")
    name = check_filename(name)
    meta: dict[str, Any] = {}
    if fields.get("metadata"):
        try:
            meta = json.loads(fields["metadata"])
        except json.JSONDecodeError as exc:
            raise Problem(400, f"the metadata entry is not JSON: {exc}", kind="invalid-metadata") from None
        if not isinstance(meta, dict):
            raise Problem(400, "the metadata entry must be a JSON object", kind="invalid-metadata")
    extra: dict[str, Any] = dict(meta.pop("extra", None) or {})
    for key, value in fields.items():
        if key in NAME_KEYS or key in IGNORED_KEYS or key in ("metadata", "expiration_hours"):
            continue
        if key == "parameters":
            try:
                meta[key] = json.loads(value)
            except json.JSONDecodeError:
                meta[key] = value
        elif key in METADATA_KEYS:
            meta[key] = value
        else:
            extra[key] = value
    if extra:
        meta["extra"] = extra
    alias = meta.pop("video_id", None)
    source = meta.pop("source", None) or UploadRequest.source
    hours = fields.get("expiration_hours")
    try:
        link_hours = float(hours) if hours else None
    except ValueError:
        raise Problem(400, "expiration_hours must be a number of hours", kind="invalid-metadata") from None
    return UploadRequest(name=name, metadata=meta or None, alias=str(alias) if alias is not None else None,
                         link_hours=link_hours, source=str(source), api_key_id=principal.key_id)


def _checksum(request: Request) -> tuple[str, bytes] | None:
    header = request.headers.get("upload-checksum")
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise Problem(400, f"Upload-Checksum algorithm {algorithm!r} is not one of {', '.join(CHECKSUM_ALGORITHMS)}",
                      kind="checksum-algorithm")
    try:
        return algorithm, base64.b64decode(value.strip(), validate=True)
    except binascii.Error:
        raise Problem(400, "the Upload-Checksum value is not base64", kind="invalid-checksum") from None


async def _append(request: Request, upload: UploadView) -> int:
    """Write the body at the upload's offset; returns the new offset (recorded in the catalog)."""
    services = _services(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != OFFSET_TYPE:
        raise Problem(415, f"a PATCH carries its bytes as {OFFSET_TYPE}", kind="unsupported-media-type")
    checksum = _checksum(request)
    length = upload.length or 0
    try:
        writer = await run_in_threadpool(services.spool.appender, upload.id, offset=upload.offset,
                                         max_bytes=length - upload.offset)
    except UploadBusy as exc:
        raise Problem(423, f"{exc}; try again when it ends", kind="locked") from None
    except UploadLost as exc:
        raise Problem(410, f"{exc}: start the upload again", kind="gone") from None
    digest = hashlib.new(checksum[0]) if checksum else None
    start, cut_off = upload.offset, False
    try:
        try:
            async for chunk in request.stream():
                if chunk:
                    writer.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
        except UploadTooLarge:
            writer.truncate(start)
            raise Problem(413, f"the bytes go past the declared Upload-Length of {length}", kind="too-large") from None
        except ClientDisconnect:
            cut_off = True
        if checksum is not None and (cut_off or digest.digest() != checksum[1]):  # type: ignore[union-attr]
            writer.truncate(start)
            if not cut_off:
                raise Problem(460, f"the bytes do not match their Upload-Checksum ({checksum[0]}); they were "
                                   "dropped: send them again", kind="checksum-mismatch")
        await run_in_threadpool(writer.sync)
        offset = writer.size
        if offset != start:
            await services.call(record_offset, services.catalog, upload.id, expected=start, offset=offset)
        if offset == length and not cut_off:
            spooled = await run_in_threadpool(writer.finish, upload.name)
            await services.call(upload_received, services.catalog, upload.id, spooled)
            request.app.state.metrics.upload_bytes.inc(spooled.size)
            loop = asyncio.get_running_loop()
            loop.run_in_executor(services.ingest_pool, _ingest_now, services, upload.id, spooled.sha256)
        return offset
    finally:
        writer.close()


@router.options(TUS_PREFIX + "/", include_in_schema=True, status_code=204, response_class=Response,
                operation_id="tus_discover", responses={
    204: {"description": "the tus version, extensions, largest size and checksum algorithms, in headers"}})
@router.options(TUS_PREFIX + "/{upload_id}", include_in_schema=False, response_class=Response)
def discover(request: Request) -> Response:
    """What this tus server supports (no key needed)."""
    return Response(status_code=204, headers={
        "Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(_services(request).max_upload_bytes), "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)})


@router.post(TUS_PREFIX + "/", status_code=201, response_class=Response, operation_id="tus_create", responses={201: {"description": "created; Location is the upload URL"},
                                                          **TUS_ERRORS}, openapi_extra={"parameters": [
    VERSION_HEADER,
    _header("Upload-Length", {"type": "integer", "minimum": 1},
            "the file's size in bytes (at most Tus-Max-Size, which OPTIONS answers)"),
    _header("Upload-Metadata", {"type": "string"}, "comma-separated `key base64(value)` pairs", required=False)]})
async def create(request: Request, principal: Principal = Depends(require(ApiScope.WRITE))) -> Response:
    """tus creation (and creation-with-upload): `Upload-Length`, `Upload-Metadata` (filename,
    video_id, source, expiration_hours, generation details, or a `metadata` JSON object)."""
    _check_version(request)
    services = _services(request)
    if request.headers.get("upload-defer-length"):
        raise Problem(400, "Upload-Defer-Length is not supported: declare Upload-Length", kind="defer-length")
    length = _number(request, "upload-length")
    if length > services.max_upload_bytes:
        raise Problem(413, f"Upload-Length {length} is over the limit of {services.max_upload_bytes} bytes "
                           "(VIDEOLAKE_MAX_UPLOAD_BYTES)", kind="too-large")
    if length == 0:
        raise Problem(422, "the file is empty (Upload-Length: 0)", kind="empty-file")
    upload_request = _upload_request(parse_metadata(request.headers.get("upload-metadata")), principal)
    services.prewarm_ingest()
    upload = await services.call(begin_upload, services.catalog, upload_request, protocol=UploadProtocol.TUS,
                                 length=length, expires_at=utcnow() + services.upload_expiry)
    headers = {"Location": str(request.url_for("tus_upload", upload_id=upload.id)), **_http_date(upload.expires_at)}
    if request.headers.get("content-type"):
        headers["Upload-Offset"] = str(await _append(request, upload))
    return Response(status_code=201, headers=headers)


@router.head(TUS_PREFIX + "/{upload_id}", name="tus_upload", responses=TUS_ERRORS, response_class=Response,
             operation_id="tus_offset",
             openapi_extra={"parameters": [VERSION_HEADER]})
async def offset(upload_id: str, request: Request, principal: Principal = Depends(require(ApiScope.WRITE))) -> Response:
    """How many bytes of the upload arrived (`Upload-Offset`), of `Upload-Length`."""
    _check_version(request)
    services = _services(request)
    upload = await services.call(resumable_upload, services.catalog, upload_id, spool=services.spool)
    return Response(status_code=200, headers={"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length),
                                              "Cache-Control": "no-store", **_http_date(upload.expires_at)})


@router.patch(TUS_PREFIX + "/{upload_id}", status_code=204, response_class=Response, operation_id="tus_append",
              responses={460: {"description": "checksum mismatch"},
                                                                      **TUS_ERRORS}, openapi_extra={
    "parameters": [VERSION_HEADER, OFFSET_HEADER, CHECKSUM_HEADER],
    "requestBody": {"required": True, "content": {OFFSET_TYPE: {"schema": {"type": "string", "format": "binary"}}}}})
async def append(upload_id: str, request: Request, principal: Principal = Depends(require(ApiScope.WRITE))) -> Response:
    """The next bytes, at `Upload-Offset` (409 when that is not where the upload is)."""
    _check_version(request)
    services = _services(request)
    sent = _number(request, "upload-offset")
    upload = await services.call(resumable_upload, services.catalog, upload_id, spool=services.spool)
    if upload.state != UploadState.RECEIVING:
        if sent == upload.offset == upload.length:
            return Response(status_code=204, headers={"Upload-Offset": str(upload.offset)})
        raise Problem(409, f"upload {upload_id} is complete ({upload.state})", kind="upload-complete")
    if sent != upload.offset:
        raise Problem(409, f"Upload-Offset {sent} is not where upload {upload_id} is ({upload.offset}); "
                           "ask with HEAD and continue from there", kind="offset-mismatch")
    new_offset = await _append(request, upload)
    return Response(status_code=204, headers={"Upload-Offset": str(new_offset), **_http_date(upload.expires_at)})


@router.delete(TUS_PREFIX + "/{upload_id}", status_code=204, responses=TUS_ERRORS, response_class=Response,
               operation_id="tus_terminate",
               openapi_extra={"parameters": [VERSION_HEADER]})
def terminate(upload_id: str, request: Request, principal: Principal = Depends(require(ApiScope.WRITE))) -> Response:
    """tus termination: the unfinished upload and its bytes are removed."""
    _check_version(request)
    services = _services(request)
    upload = resumable_upload(services.catalog, upload_id, spool=services.spool)
    if upload.state != UploadState.RECEIVING:
        raise Problem(409, f"upload {upload_id} is complete ({upload.state}); delete the video instead",
                      kind="upload-complete")
    abandon_upload(services.catalog, services.spool, upload_id, state=UploadState.CANCELLED,
                   detail="terminated by the client")
    return Response(status_code=204)
