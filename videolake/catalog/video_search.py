"""Reading videos for a server's requests and `videolake videos`: one video, a page of them
(filters, newest first, a keyset cursor — the last id seen — so page 1,000 costs what page 1
costs), or the catalog's list in the order videos came in.

Rows are read with plain SELECTs on one connection (a video, then its replicas and derivatives by
id), not as ORM objects: a request's read is a few hundred microseconds, not milliseconds. What
comes back has the attributes of ``Video`` (``replicas``, ``derivatives`` included), so the same
view serializes both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, or_, select

from videolake.catalog import tables
from videolake.catalog.database import CatalogReader

VIDEOS, REPLICAS, DERIVATIVES = tables.videos, tables.replicas, tables.derivatives


class VideoRecord:
    """A video row with its replica and derivative rows, shaped like ``Video``."""

    def __init__(self, row: Any, replicas: list[Any], derivatives: list[Any]) -> None:
        self.__dict__.update(row._mapping)
        self.replicas = replicas
        self.derivatives = derivatives


# Built once: a request only binds its values (building the expression each time costs more than the query).
# What a video's view shows: every column but the raw probe (kilobytes of ffprobe output per video).
SHOWN = [c for c in VIDEOS.c if c.name not in ("probe", "probe_error")]
_VIDEO_BY_ID = select(*SHOWN).where(VIDEOS.c.id == bindparam("video_id"))
ALIAS_TARGET = select(tables.video_aliases.c.video_id).where(tables.video_aliases.c.alias == bindparam("alias"))
_REPLICAS_OF = select(REPLICAS).where(REPLICAS.c.video_id.in_(bindparam("ids", expanding=True))).order_by(REPLICAS.c.id)
_DERIVATIVES_OF = (select(DERIVATIVES).where(DERIVATIVES.c.video_id.in_(bindparam("ids", expanding=True)))
                   .order_by(DERIVATIVES.c.id))


def _records(conn: Any, rows: list[Any]) -> list[VideoRecord]:
    ids = [r.id for r in rows]
    replicas: dict[int, list[Any]] = defaultdict(list)
    derivatives: dict[int, list[Any]] = defaultdict(list)
    if ids:
        for r in conn.execute(_REPLICAS_OF, {"ids": ids}):
            replicas[r.video_id].append(r)
        for d in conn.execute(_DERIVATIVES_OF, {"ids": ids}):
            derivatives[d.video_id].append(d)
    return [VideoRecord(r, replicas[r.id], derivatives[r.id]) for r in rows]


def video_record(catalog: CatalogReader, video_id: int) -> VideoRecord | None:
    with catalog.connect() as conn:
        row = conn.execute(_VIDEO_BY_ID, {"video_id": video_id}).first()
        return _records(conn, [row])[0] if row is not None else None


def id_for_name(name: str, aliased: int | None) -> int | None:
    """The video a client's name means: the video its alias names (``aliased``), else the
    catalog's id when the name is one, else none."""
    if aliased is not None:
        return aliased
    return int(name) if name.isdigit() and len(name) < 19 else None


def named_video_record(catalog: CatalogReader, name: str) -> VideoRecord | None:
    """The video a client's name (its alias first, else the catalog's id) names, on one connection."""
    with catalog.connect() as conn:
        video_id = id_for_name(name, conn.scalar(ALIAS_TARGET, {"alias": name}))
        if video_id is None:
            return None
        row = conn.execute(_VIDEO_BY_ID, {"video_id": video_id}).first()
        return _records(conn, [row])[0] if row is not None else None


def list_video_records(catalog: CatalogReader, *, limit: int | None = None,
                       source: str | None = None) -> list[VideoRecord]:
    """Videos in the order they were cataloged (oldest first), of one source or all, up to ``limit``."""
    stmt = select(*SHOWN).order_by(VIDEOS.c.id)
    if source:
        stmt = stmt.where(VIDEOS.c.source == source)
    if limit:
        stmt = stmt.limit(limit)
    with catalog.connect() as conn:
        return _records(conn, list(conn.execute(stmt)))


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


def search_videos(catalog: CatalogReader, filters: VideoFilters, *, before_id: int | None, limit: int) -> list[VideoRecord]:
    """Up to ``limit`` videos matching ``filters`` with ids below ``before_id``, newest first."""
    stmt = select(*SHOWN)
    f = filters
    conditions = [
        VIDEOS.c.id < before_id if before_id is not None else None,
        VIDEOS.c.source == f.source if f.source else None,
        VIDEOS.c.source_type == f.source_type if f.source_type else None,
        VIDEOS.c.video_codec == f.codec if f.codec else None,
        VIDEOS.c.duration_s >= f.min_duration_s if f.min_duration_s is not None else None,
        VIDEOS.c.duration_s <= f.max_duration_s if f.max_duration_s is not None else None,
        VIDEOS.c.size_bytes >= f.min_size_bytes if f.min_size_bytes is not None else None,
        VIDEOS.c.size_bytes <= f.max_size_bytes if f.max_size_bytes is not None else None,
        VIDEOS.c.ingested_at >= f.created_after if f.created_after is not None else None,
        VIDEOS.c.ingested_at < f.created_before if f.created_before is not None else None,
    ]
    stmt = stmt.where(*[c for c in conditions if c is not None])
    if f.text:
        pattern = f"%{_escape_like(f.text)}%"
        stmt = stmt.where(or_(VIDEOS.c.name.ilike(pattern, escape="\\"),
                              VIDEOS.c.sidecar["prompt"].as_string().ilike(pattern, escape="\\")))
    with catalog.connect() as conn:
        return _records(conn, list(conn.execute(stmt.order_by(VIDEOS.c.id.desc()).limit(limit))))
