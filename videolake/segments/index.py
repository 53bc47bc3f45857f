"""Range queries over the segment index: what footage of a camera covers [start, end), and the gaps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from videolake.catalog import tables
from videolake.catalog.database import CatalogReader

SEGMENTS, VIDEOS = tables.segments.c, tables.videos.c


@dataclass(frozen=True)
class SegmentHit:
    segment_id: int
    video_id: int
    camera_id: str
    start: dt.datetime
    end: dt.datetime
    sha256: str
    video_codec: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Gap:
    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


class SegmentQueryError(ValueError):
    pass


def longest_segment_seconds(catalog: CatalogReader, camera_id: str) -> float:
    with catalog.connect() as conn:
        value = conn.scalar(select(func.max(SEGMENTS.duration_s)).where(SEGMENTS.camera_id == camera_id))
    return float(value or 0.0)


def find_segments(
    catalog: CatalogReader, camera_id: str, start: dt.datetime, end: dt.datetime, *, max_segment_s: float | None = None
) -> list[SegmentHit]:
    """Segments of ``camera_id`` overlapping [start, end), ordered by start.

    The (camera_id, start_at) index is scanned from ``start - longest segment`` only, so the cost
    depends on the range asked for, not on how much history the camera has.
    """
    if end <= start:
        raise SegmentQueryError(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    if max_segment_s is None:
        max_segment_s = longest_segment_seconds(catalog, camera_id)
    lower = start - dt.timedelta(seconds=max_segment_s)
    stmt = (
        select(
            SEGMENTS.id, SEGMENTS.video_id, SEGMENTS.camera_id, SEGMENTS.start_at, SEGMENTS.end_at,
            VIDEOS.sha256, VIDEOS.video_codec, VIDEOS.width, VIDEOS.height,
        )
        .join(tables.videos, VIDEOS.id == SEGMENTS.video_id)
        .where(SEGMENTS.camera_id == camera_id, SEGMENTS.start_at >= lower, SEGMENTS.start_at < end, SEGMENTS.end_at > start)
        .order_by(SEGMENTS.start_at, SEGMENTS.id)
    )
    with catalog.connect() as conn:
        return [SegmentHit(*row) for row in conn.execute(stmt)]


def coverage_gaps(hits: list[SegmentHit], start: dt.datetime, end: dt.datetime, tolerance_s: float = 0.5) -> list[Gap]:
    """Parts of [start, end) that no segment covers (overlapping segments merge; tiny seams are ignored)."""
    gaps: list[Gap] = []
    cursor = start
    tolerance = dt.timedelta(seconds=tolerance_s)
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start > cursor + tolerance:
            gaps.append(Gap(cursor, min(hit.start, end)))
        cursor = max(cursor, hit.end)
        if cursor >= end:
            break
    if cursor + tolerance < end:
        gaps.append(Gap(cursor, end))
    return gaps


def known_cameras(catalog: CatalogReader) -> list[str]:
    with catalog.connect() as conn:
        return list(conn.scalars(select(SEGMENTS.camera_id).distinct().order_by(SEGMENTS.camera_id)))


class UnknownCamera(SegmentQueryError):
    """Cameras with no segment in the catalog. Every command says it in these words: queries and
    exports refuse, a hold is kept with this as a note (it covers footage ingested later)."""

    def __init__(self, unknown: list[str], known: list[str]) -> None:
        self.unknown, self.known = unknown, known
        names = ", ".join(unknown)
        listed = ", ".join(known[:50]) + (f" and {len(known) - 50} more" if len(known) > 50 else "")
        super().__init__(f"unknown camera {names}: no segments of it in the catalog; cameras with footage: "
                         + (listed or "none yet"))


def require_cameras(catalog: CatalogReader, cameras: list[str]) -> None:
    """Raise ``UnknownCamera`` unless every one of ``cameras`` has segments in the catalog."""
    with catalog.connect() as conn:
        present = set(conn.scalars(select(SEGMENTS.camera_id).where(SEGMENTS.camera_id.in_(cameras)).distinct()))
    unknown = [camera for camera in cameras if camera not in present]
    if unknown:
        raise UnknownCamera(unknown, known_cameras(catalog))


def footage_extent(catalog: CatalogReader, camera_id: str) -> tuple[dt.datetime, dt.datetime] | None:
    """When the camera's cataloged footage begins and ends (None: it has none)."""
    with catalog.connect() as conn:
        first, last = conn.execute(select(func.min(SEGMENTS.start_at), func.max(SEGMENTS.end_at))
                                .where(SEGMENTS.camera_id == camera_id)).one()
    if first is None:
        return None
    utc = dt.timezone.utc
    return (first if first.tzinfo else first.replace(tzinfo=utc)), (last if last.tzinfo else last.replace(tzinfo=utc))
