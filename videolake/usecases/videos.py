"""List and get cataloged videos: the fields ``videolake videos --json`` prints and the API returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from videolake.catalog.database import CatalogReader
from videolake.constants import DerivativeKind, ReplicaState
from videolake.usecases.errors import InvalidInput, NotFound, Unavailable
from videolake.usecases.results import Result, uri

if TYPE_CHECKING:  # listing and getting read the Core tables: the ORM is loaded only by what needs it
    from videolake.catalog.models import QuarantineItem, Video
    from videolake.catalog.repository import Catalog


@dataclass(frozen=True)
class ReplicaView(Result):
    backend: str
    key: str
    uri: str
    state: str
    size_bytes: int | None
    verified_at: dt.datetime | None


@dataclass(frozen=True)
class VideoView(Result):
    id: int
    sha256: str
    name: str
    source: str
    source_type: str
    size_bytes: int
    duration_s: float | None
    width: int | None
    height: int | None
    aspect_ratio: float | None
    video_codec: str | None
    audio_codec: str | None
    fps: float | None
    bitrate: int | None
    container: str | None
    rotation: int | None
    landing_uri: str | None
    landing_date: dt.date | None
    ingested_at: dt.datetime | None
    sidecar: Any
    poster_uri: str | None
    sprite_uri: str | None
    sprite: Any
    replicas: list[ReplicaView]

    @classmethod
    def of(cls, video: Video) -> VideoView:
        derivatives = {d.kind: d for d in video.derivatives}
        poster, sprite = derivatives.get(DerivativeKind.POSTER), derivatives.get(DerivativeKind.SPRITE)
        return cls(
            id=video.id, sha256=video.sha256, name=video.name, source=video.source, source_type=video.source_type,
            size_bytes=video.size_bytes, duration_s=video.duration_s, width=video.width, height=video.height,
            aspect_ratio=video.aspect_ratio, video_codec=video.video_codec, audio_codec=video.audio_codec,
            fps=video.fps, bitrate=video.bitrate, container=video.container, rotation=video.rotation,
            landing_uri=video.landing_uri, landing_date=video.landing_date, ingested_at=video.ingested_at,
            sidecar=video.sidecar,
            poster_uri=uri(poster.backend, poster.key) if poster else None,
            sprite_uri=uri(sprite.backend, sprite.key) if sprite else None,
            sprite=sprite.meta if sprite else None,
            replicas=[ReplicaView(r.backend, r.key, uri(r.backend, r.key), r.state, r.size_bytes, r.verified_at)
                      for r in video.replicas],
        )


def list_videos(catalog: CatalogReader, *, limit: int | None = None, source: str | None = None) -> list[VideoView]:
    """Videos in the order they were cataloged, of one source or all."""
    from videolake.catalog.video_search import list_video_records

    return [VideoView.of(v) for v in list_video_records(catalog, limit=limit, source=source)]  # type: ignore[arg-type]


def get_named_video(catalog: CatalogReader, name: str) -> VideoView:
    """The video a client names: the alias it gave at upload, else the catalog's id."""
    from videolake.catalog.video_search import named_video_record

    video = named_video_record(catalog, name)
    if video is None:
        raise NotFound(f"no video {name!r}")
    return VideoView.of(video)  # type: ignore[arg-type]


def get_video(catalog: CatalogReader, video_id: int) -> VideoView:
    from videolake.catalog.video_search import video_record

    video = video_record(catalog, video_id)
    if video is None:
        raise NotFound(f"no video {video_id} in the catalog")
    return VideoView.of(video)  # type: ignore[arg-type]


@dataclass(frozen=True)
class QuarantinedFile(Result):
    id: int
    name: str
    source: str
    reason: str
    detail: str
    landing_uri: str
    quarantined_uri: str | None
    size_bytes: int | None
    sha256: str | None
    quarantined_at: dt.datetime

    @classmethod
    def of(cls, q: QuarantineItem) -> QuarantinedFile:
        return cls(q.id, q.name, q.source, q.reason, q.detail, q.landing_uri, q.quarantined_uri, q.size_bytes,
                   q.sha256, q.quarantined_at)


def list_quarantine(catalog: Catalog, *, limit: int | None = None) -> list[QuarantinedFile]:
    """Files moved aside (never deleted), newest first, with the reason."""
    return [QuarantinedFile.of(q) for q in catalog.list_quarantine(limit=limit)]



# -- pages of videos, and the bytes of one ------------------------------------------------------
MAX_PAGE = 200


@dataclass(frozen=True)
class VideoPage(Result):
    videos: list[VideoView]
    next_cursor: str | None  # give it back as ``cursor`` for the next page; None: this is the last


CURSOR_PATTERN = r"^v1\.[0-9]{1,18}$"  # a keyset position: the page continues below that video id


def encode_cursor(video_id: int) -> str:
    return f"v1.{video_id}"


def decode_cursor(cursor: str) -> int:
    version, _, value = cursor.partition(".")
    if version != "v1" or not value.isdigit() or len(value) > 18:
        raise InvalidInput("that cursor is not one this server gave out (start again without it)")
    return int(value)


def search_video_page(catalog: CatalogReader, filters: Any, *, cursor: str | None = None, limit: int = 50) -> VideoPage:
    """A page of videos matching ``filters`` (a ``VideoFilters``), newest first."""
    from videolake.catalog.video_search import search_videos

    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}")
    for low, high, what in ((filters.min_duration_s, filters.max_duration_s, "duration"),
                            (filters.min_size_bytes, filters.max_size_bytes, "size"),
                            (filters.created_after, filters.created_before, "created")):
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"the {what} range is empty: its lower bound is above its upper bound")
    rows = search_videos(catalog, filters, before_id=decode_cursor(cursor) if cursor else None, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return VideoPage([VideoView.of(v) for v in rows], encode_cursor(rows[-1].id) if more and rows else None)


@dataclass(frozen=True)
class StoredObject:
    """Where to read one stored object from: a verified copy, its size and hash."""

    backend: str
    key: str
    size: int
    sha256: str | None
    filename: str


def video_content(catalog: Catalog, video_id: int, *, prefer: str | None = None) -> StoredObject:
    """A verified copy of a video's content (the ``prefer`` backend's when it holds one)."""
    video = catalog.get_video(video_id)
    if video is None:
        raise NotFound(f"no video {video_id} in the catalog")
    verified = [r for r in video.replicas if r.state == ReplicaState.VERIFIED]
    if not verified:
        raise Unavailable(f"video {video_id} has no verified copy to read right now")
    replica = next((r for r in verified if r.backend == prefer), verified[0])
    return StoredObject(replica.backend, replica.key, video.size_bytes, video.sha256, video.name)


def derivative_content(catalog: Catalog, video_id: int, kind: DerivativeKind) -> StoredObject:
    video = catalog.get_video(video_id)
    if video is None:
        raise NotFound(f"no video {video_id} in the catalog")
    found = next((d for d in video.derivatives if d.kind == kind), None)
    if found is None:
        raise NotFound(f"video {video_id} has no {kind} yet (thumbnails are made at ingest)")
    stem = video.name.rsplit(".", 1)[0]
    return StoredObject(found.backend, found.key, found.size_bytes, found.sha256, f"{stem}.{kind}.jpg")
