"""Uploads: ``POST /api/v1/videos`` (new clients), ``POST /api/v1/videos/upload`` (the
upload-and-serve service's request and answer, unchanged), ``GET /api/v1/uploads/{id}``.

Both posts stream the body into the spool (``receiving``), record the upload once complete, and
ingest it with the same use case as every other source. Known content is answered at once (200,
the existing video); new content after ingest with ``wait`` (201), else at once with 202 and a
status URL to poll.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from pipelines.api.auth import require
from pipelines.api.problems import Problem, documented, problem_response
from pipelines.api.receiving import ReceivedForm, parse_metadata, receive_form
from pipelines.api.services import ApiServices
from videolake.constants import DEFAULT_LINK_HOURS, ApiScope, UploadState
from videolake.usecases.apikeys import Principal
from videolake.usecases.errors import UseCaseError
from videolake.usecases.uploads import (
    GENERATION_KEYS,
    UploadRequest,
    UploadView,
    get_upload,
    known_content,
    record_received_upload,
)
from videolake.usecases.video_links import mint_video_link
from videolake.usecases.videos import get_video

router = APIRouter(tags=["uploads"])

# What a metadata part may hold on /api/v1/videos (anything else belongs under "extra").
METADATA_KEYS = frozenset({"video_id", "source", "title", "description", "tags", "extra", *GENERATION_KEYS})
MAX_LINK_HOURS = 87_600  # ten years

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["video"],
            "properties": {
                "video": {"type": "string", "format": "binary", "description": "the video file"},
                "metadata": {"type": "string", "description": "JSON object: video_id (your name for the video), "
                             "source, and generation details (provider, model, prompt, parameters, job_id …)"},
                "expiration_hours": {"type": "string", "description": "how long the returned link lives "
                                     f"(hours, default {DEFAULT_LINK_HOURS})"},
            },
        }}},
    },
}
UPLOAD_ERRORS = documented(400, 401, 403, 409, 413, 415, 422, 429, 503)


def _services(request: Request) -> ApiServices:
    return request.app.state.services


def _link_hours(form: ReceivedForm) -> float:
    raw = form.fields.get("expiration_hours")
    if raw is None or not raw.strip():
        return float(DEFAULT_LINK_HOURS)
    try:
        hours = float(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise Problem(400, "expiration_hours must be a number of hours", kind="invalid-field") from None
    if not math.isfinite(hours) or not 0 < hours <= MAX_LINK_HOURS:
        raise Problem(400, f"expiration_hours must be above 0 and at most {MAX_LINK_HOURS}", kind="invalid-field")
    return hours


def _upload_request(form: ReceivedForm, principal: Principal, *, strict: bool) -> UploadRequest:
    raw = form.fields.get("metadata", b"")
    meta: dict[str, Any] = parse_metadata(raw) if raw.strip() else {}  # an empty field is no metadata
    unknown = sorted(set(meta) - METADATA_KEYS)
    if unknown and strict:
        raise Problem(400, f"unknown metadata field(s) {', '.join(unknown)[:200]}; known: "
                           f"{', '.join(sorted(METADATA_KEYS))} (put anything else under extra)", kind="unknown-field")
    if unknown:  # the upload-and-serve API took any metadata: kept, under extra
        extra = dict(meta.get("extra") or {}) if isinstance(meta.get("extra"), dict) else {}
        extra.update({k: meta.pop(k) for k in unknown})
        meta["extra"] = extra
    alias = meta.pop("video_id", None)
    if alias is not None and not isinstance(alias, str):
        alias = str(alias) if isinstance(alias, int) and not isinstance(alias, bool) else alias
    source = meta.pop("source", None)
    if source is not None and (not isinstance(source, str) or not source.strip() or len(source) > 200):
        raise Problem(400, "metadata source must be a name of 1 to 200 characters", kind="invalid-metadata")
    return UploadRequest(name=form.filename, metadata=meta or None, alias=alias, link_hours=_link_hours(form),
                         source=source.strip() if source else UploadRequest.source, api_key_id=principal.key_id)


def _ingest_now(services: ApiServices, upload_id: str, sha256: str) -> UploadView:
    with services.content_lock(sha256):  # the same content twice at once: one stored copy, one duplicate
        return services.ingest_upload(upload_id)


def _record_received(catalog: Any, upload_request: UploadRequest, form: ReceivedForm, upload_id: str
                     ) -> tuple[UploadView, int | None]:
    """The upload recorded as received, and the video already holding its content (one hop to the catalog)."""
    upload = record_received_upload(catalog, upload_request, form.spooled, upload_id=upload_id)
    return upload, known_content(catalog, form.spooled.sha256)


async def _receive_and_ingest(request: Request, principal: Principal, *, wait: bool, strict: bool
                              ) -> tuple[UploadView, bool]:
    """(the upload, whether it was ingested before answering)."""
    services = _services(request)
    upload_id = uuid.uuid4().hex
    services.prewarm_ingest()
    form = await receive_form(request, services.spool, upload_id, max_bytes=services.max_upload_bytes)
    try:
        upload_request = _upload_request(form, principal, strict=strict)
        upload, known = await services.call(_record_received, services.catalog, upload_request, form, upload_id)
    except BaseException:
        services.spool.discard(upload_id)
        raise
    request.app.state.metrics.upload_bytes.inc(form.spooled.size)
    loop = asyncio.get_running_loop()
    future = loop.run_in_executor(services.ingest_pool, _ingest_now, services, upload_id, form.spooled.sha256)
    if wait or known is not None:
        return await future, True
    future.add_done_callback(lambda f: f.exception())  # outcomes are in the catalog; nothing to raise here
    return upload, False


def _status_url(request: Request, upload_id: str) -> str:
    return str(request.url_for("get_upload_status", upload_id=upload_id))


def _refusal(request: Request, upload: UploadView, **extra: Any) -> JSONResponse:
    """An upload ingest did not take: 422 with the quarantine reason, or 503 to retry later."""
    metrics = request.app.state.metrics
    metrics.ingest_outcomes.labels(upload.outcome or upload.state).inc()
    if upload.state == UploadState.QUARANTINED:
        return problem_response(422, f"not a usable video: {upload.detail}", instance=request.url.path,
                                kind="not-a-video", upload_id=upload.id, **extra)
    return problem_response(503, f"the upload was received but could not be stored yet ({upload.detail}); it is "
                                 "kept and retried: poll the status URL", instance=request.url.path,
                            kind="not-stored-yet", headers={"Retry-After": "30"}, upload_id=upload.id,
                            status_url=_status_url(request, upload.id), **extra)


@router.post("/api/v1/videos", status_code=201, openapi_extra=UPLOAD_BODY, operation_id="upload_video", responses={
    200: {"description": "the content was already stored: the existing video"},
    202: {"description": "received; being ingested: poll the status URL"},
    **UPLOAD_ERRORS})
async def upload_video(request: Request, wait: bool = Query(False, description="answer after ingest"),
                       principal: Principal = Depends(require(ApiScope.WRITE))) -> JSONResponse:
    """Upload one video (multipart/form-data: `video`, optional `metadata` JSON, `expiration_hours`)."""
    upload, ingested = await _receive_and_ingest(request, principal, wait=wait, strict=True)
    services = _services(request)
    if not ingested:
        url = _status_url(request, upload.id)
        return JSONResponse({"upload": upload.to_dict(), "status_url": url}, status_code=202, headers={"Location": url})
    if upload.state != UploadState.DONE:
        return _refusal(request, upload)
    request.app.state.metrics.ingest_outcomes.labels(upload.outcome).inc()
    video = get_video(services.catalog, upload.video_id)  # type: ignore[arg-type]
    return JSONResponse({"upload": upload.to_dict(), "video": video.to_dict()},
                        status_code=200 if upload.duplicate else 201,
                        headers={"Location": str(request.url_for("get_video_route", video_id=str(video.id)))})


@router.post("/api/v1/videos/upload", status_code=201, openapi_extra=UPLOAD_BODY,
             operation_id="upload_video_compatible", responses={
    200: {"description": "the content was already stored: the existing video, a new link"},
    202: {"description": "received (wait=false); the link answers once ingested"},
    **UPLOAD_ERRORS})
async def upload_video_compatible(request: Request,
                                  wait: bool = Query(True, description="answer after ingest (the default here)"),
                                  principal: Principal = Depends(require(ApiScope.WRITE))) -> JSONResponse:
    """The upload-and-serve service's upload: its form fields, and its answer (`success`, `video_id`,
    `private_link`, `expiration_time`, `message`)."""
    upload, ingested = await _receive_and_ingest(request, principal, wait=wait, strict=False)
    services = _services(request)
    if ingested and upload.state != UploadState.DONE:
        return _refusal(request, upload, success=False, error=upload.detail)
    if ingested:
        request.app.state.metrics.ingest_outcomes.labels(upload.outcome).inc()
    name = upload.alias or (str(upload.video_id) if upload.video_id is not None else None)
    body: dict[str, Any] = {"success": True, "video_id": name, "upload_id": upload.id}
    if ingested and name is not None:
        link = mint_video_link(services.catalog, name, ttl_seconds=(upload.link_hours or DEFAULT_LINK_HOURS) * 3600,
                               secret=services.link_secret, base=services.public_url)
        body.update(private_link=link.url, expiration_time=link.expires_at.isoformat(),
                    videolake_video_id=upload.video_id, duplicate=upload.duplicate,
                    message="Video uploaded successfully" if not upload.duplicate
                    else f"Video already stored (same content as video {upload.video_id}); here is a new link")
        return JSONResponse(body, status_code=200 if upload.duplicate else 201)
    body.update(message="Video received; it is being ingested", status_url=_status_url(request, upload.id))
    return JSONResponse(body, status_code=202)


@router.get("/api/v1/uploads/{upload_id}", name="get_upload_status", responses=documented(401, 403, 404, 429))
async def upload_status(upload_id: str, request: Request,
                        principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """Where an upload is: receiving, received, ingesting, done (with its video), quarantined, failed."""
    services = _services(request)
    return await services.call(_upload_and_video, services.catalog, upload_id)


def _upload_and_video(catalog: Any, upload_id: str) -> dict[str, Any]:
    upload = get_upload(catalog, upload_id)
    out: dict[str, Any] = {"upload": upload.to_dict()}
    if upload.video_id is not None:
        try:
            out["video"] = get_video(catalog, upload.video_id).to_dict()
        except UseCaseError:
            pass  # deleted since
    return out
