"""Searching the catalog's videos page by page: filters, newest first, a keyset cursor (the last id
seen), so page 1,000 costs what page 1 costs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from videolake.catalog.models import Video
from videolake.catalog.repository import Catalog


@dataclass(frozen=True)
class VideoFilters:
    source: str | None = None
    source_type: str | None = None
    codec: str | None = None  # the video codec (h264, hevc …)
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    min_size_bytes: int | None = None
    max_size_bytes: int | None = None
    created_after: dt.datetime | None = None  # ingested at or after
    created_before: dt.datetime | None = None  # ingested before
    text: str | None = None  # in the name or the generation prompt, any case


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_videos(catalog: Catalog, filters: VideoFilters, *, before_id: int | None, limit: int) -> list[Video]:
    """Up to ``limit`` videos matching ``filters`` with ids below ``before_id``, newest first."""
    stmt = select(Video).options(selectinload(Video.replicas), selectinload(Video.derivatives))
    f = filters
    conditions = [
        Video.id < before_id if before_id is not None else None,
        Video.source == f.source if f.source else None,
        Video.source_type == f.source_type if f.source_type else None,
        Video.video_codec == f.codec if f.codec else None,
        Video.duration_s >= f.min_duration_s if f.min_duration_s is not None else None,
        Video.duration_s <= f.max_duration_s if f.max_duration_s is not None else None,
        Video.size_bytes >= f.min_size_bytes if f.min_size_bytes is not None else None,
        Video.size_bytes <= f.max_size_bytes if f.max_size_bytes is not None else None,
        Video.ingested_at >= f.created_after if f.created_after is not None else None,
        Video.ingested_at < f.created_before if f.created_before is not None else None,
    ]
    stmt = stmt.where(*[c for c in conditions if c is not None])
    if f.text:
        pattern = f"%{_escape_like(f.text)}%"
        stmt = stmt.where(or_(Video.name.ilike(pattern, escape="\\"),
                              Video.sidecar["prompt"].as_string().ilike(pattern, escape="\\")))
    with catalog.read() as s:
        return list(s.scalars(stmt.order_by(Video.id.desc()).limit(limit)))
