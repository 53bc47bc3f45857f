"""Videos: list (filters, cursor pages), get, download, poster, sprite, links."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from pipelines.api.auth import require
from pipelines.api.problems import documented
from pipelines.api.serving import get_and_head, object_response
from pipelines.api.services import ApiServices
from videolake.catalog.video_search import VideoFilters
from videolake.constants import ApiScope, DerivativeKind, SourceType
from videolake.inputs import parse_instant
from videolake.retention.policy import RetentionPolicy
from videolake.retention.sweep import RetentionSweep
from videolake.usecases.apikeys import Principal
from videolake.usecases.errors import InvalidInput
from videolake.usecases.retention import delete_videos
from videolake.usecases.uploads import resolve_video
from videolake.usecases.video_links import mint_video_link
from videolake.usecases.videos import (
    CURSOR_PATTERN,
    MAX_PAGE,
    StoredObject,
    derivative_content,
    get_named_video,
    search_video_page,
    video_content,
)

router = APIRouter(tags=["videos"])
READ_ERRORS = documented(401, 403, 404, 422, 429)
BYTES = {200: {"description": "the bytes", "content": {"application/octet-stream": {}}},
         206: {"description": "the bytes of the range asked for"}, 304: {"description": "not modified (ETag)"},
         416: {"description": "no byte of the range asked for exists"}, **documented(401, 403, 404, 422, 429, 503)}


def _services(request: Request) -> ApiServices:
    return request.app.state.services


@router.get("/api/v1/videos", responses=READ_ERRORS)
async def list_videos(request: Request,
                source: str | None = Query(None, max_length=200),
                source_type: SourceType | None = None,
                codec: str | None = Query(None, max_length=32, description="the video codec: h264, hevc …"),
                min_duration_s: float | None = Query(None, ge=0), max_duration_s: float | None = Query(None, ge=0),
                min_size_bytes: int | None = Query(None, ge=0, le=2**62),
                max_size_bytes: int | None = Query(None, ge=0, le=2**62),
                created_after: str | None = Query(None, json_schema_extra={"format": "date-time"},
                                                  description="ISO 8601; no offset means UTC"),
                created_before: str | None = Query(None, json_schema_extra={"format": "date-time"}),
                q: str | None = Query(None, min_length=1, max_length=200, description="text in the name or prompt"),
                cursor: str | None = Query(None, pattern=CURSOR_PATTERN, description="next_cursor of the page before"),
                limit: int = Query(50, ge=1, le=MAX_PAGE),
                principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """Videos newest first, a page at a time (`next_cursor` gives the next page)."""
    filters = VideoFilters(source, str(source_type) if source_type else None, codec, min_duration_s, max_duration_s,
                           min_size_bytes, max_size_bytes, _instant(created_after, "created_after"),
                           _instant(created_before, "created_before"), q)
    services = _services(request)
    return JSONResponse((await services.call(search_video_page, services.catalog, filters, cursor=cursor,
                                             limit=limit)).to_dict())


def _instant(text: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 date and time (never a bare number); no offset means UTC."""
    if text is None:
        return None
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


@router.get("/api/v1/videos/{video_id}", name="get_video_route", responses=READ_ERRORS)
async def get_one(video_id: str, request: Request,
                  principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """One video: the fields of `videolake videos --json`, replicas included. `video_id` is the
    catalog's id or the name a client gave it at upload."""
    services = _services(request)
    return JSONResponse((await services.call(get_named_video, services.catalog, video_id)).to_dict())


def _stored_video(catalog: Any, name: str, prefer: str) -> StoredObject:
    return video_content(catalog, resolve_video(catalog, name), prefer=prefer)


def _stored_derivative(catalog: Any, name: str, kind: DerivativeKind) -> StoredObject:
    return derivative_content(catalog, resolve_video(catalog, name), kind)


def serve_stored(request: Request, stored: StoredObject, *, attachment: bool, content_type: str | None = None,
                 cache_control: str = "private, max-age=3600") -> Response:
    services = _services(request)
    return object_response(request, services.backend(stored.backend), stored.key, size=stored.size,
                           sha256=stored.sha256, filename=stored.filename, attachment=attachment,
                           content_type=content_type, cache_control=cache_control)


@get_and_head(router, "/api/v1/videos/{video_id}/download", responses=BYTES,
                  response_class=Response)
async def download(video_id: str, request: Request,
                   principal: Principal = Depends(require(ApiScope.READ))) -> Response:
    """The video's bytes (Range, If-Range, ETag, If-None-Match), from a verified copy."""
    services = _services(request)
    stored = await services.call(_stored_video, services.catalog, video_id, services.hot.url)
    return serve_stored(request, stored, attachment=True)


def _thumbnail_route(kind: DerivativeKind, summary: str) -> None:
    """``GET``/``HEAD /api/v1/videos/{id}/<kind>``: a thumbnail JPEG, with ETag and Range."""

    async def thumbnail(video_id: str, request: Request,
                        principal: Principal = Depends(require(ApiScope.READ))) -> Response:
        services = _services(request)
        stored = await services.call(_stored_derivative, services.catalog, video_id, kind)
        return serve_stored(request, stored, attachment=False, content_type="image/jpeg")

    thumbnail.__doc__ = summary
    get_and_head(router, f"/api/v1/videos/{{video_id}}/{kind}", responses=BYTES, response_class=Response,
                 name=str(kind))(thumbnail)


_thumbnail_route(DerivativeKind.POSTER, "The poster JPEG (a keyframe near the start).")
_thumbnail_route(DerivativeKind.SPRITE, "The scrub sprite sheet JPEG (its tile layout is in the video's `sprite` field).")


class LinkRequest(BaseModel):
    ttl: float = Field(3600, gt=0, le=10 * 365 * 86400, description="seconds the link lives")


@router.post("/api/v1/videos/{video_id}/links", status_code=201, responses=documented(400, 401, 403, 404, 422, 429))
async def create_link(video_id: str, request: Request, body: LinkRequest = Body(default_factory=LinkRequest),
                      principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """A link that downloads the video with no API key until it expires (`/video/{id}?token=…`)."""
    services = _services(request)
    return (await services.call(mint_video_link, services.catalog, video_id, ttl_seconds=body.ttl,
                                secret=services.link_secret, base=services.public_url)).to_dict()


@router.delete("/api/v1/videos/{video_id}", responses=documented(401, 403, 404, 409, 429, 503))
def delete_video(video_id: str, request: Request,
                 principal: Principal = Depends(require(ApiScope.ADMIN))) -> dict[str, Any]:
    """Delete a video — every copy and thumbnail — through retention's guarded, audited deletion:
    refused (409) under a legal hold, or while a stitched video or an open export needs it."""
    services = _services(request)
    vid = resolve_video(services.catalog, video_id)
    outcome = delete_videos(services.catalog, [vid], hot_url=services.hot.url, run_id=f"api-delete-{uuid.uuid4().hex[:16]}",
                            why=f"deleted through the API by key {principal.key_id} ({principal.name})",
                            sweep=RetentionSweep(services.catalog, RetentionPolicy(), services.hot.url,
                                                 backend_for=services.backend))
    return {"video_id": vid, **outcome.to_dict()}
