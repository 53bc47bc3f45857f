"""Recording segments of a camera over a time range, and the gaps: what an export would find."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from videolake.catalog.database import CatalogReader
from videolake.segments.index import (
    UnknownCamera,
    coverage_gaps,
    find_segments,
    longest_segment_seconds,
    require_cameras,
)
from videolake.usecases.errors import InvalidInput, NotFound
from videolake.usecases.results import Result


@dataclass(frozen=True)
class SegmentView(Result):
    segment_id: int
    video_id: int
    start: dt.datetime
    end: dt.datetime
    duration_s: float
    sha256: str
    video_codec: str | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class GapView(Result):
    start: dt.datetime
    end: dt.datetime
    seconds: float


@dataclass(frozen=True)
class Coverage(Result):
    camera: str
    start: dt.datetime
    end: dt.datetime
    covered_s: float
    requested_s: float
    segments: list[SegmentView]
    gaps: list[GapView]


def footage_coverage(catalog: CatalogReader, camera: str, start: dt.datetime, end: dt.datetime) -> Coverage:
    if end <= start:
        raise InvalidInput(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    try:
        require_cameras(catalog, [camera])
    except UnknownCamera as exc:
        raise NotFound(str(exc)) from exc
    hits = find_segments(catalog, camera, start, end, max_segment_s=longest_segment_seconds(catalog, camera))
    gaps = coverage_gaps(hits, start, end)
    requested = (end - start).total_seconds()
    return Coverage(
        camera=camera, start=start, end=end, covered_s=round(requested - sum(g.seconds for g in gaps), 3),
        requested_s=requested,
        segments=[SegmentView(h.segment_id, h.video_id, h.start, h.end, round((h.end - h.start).total_seconds(), 3),
                              h.sha256, h.video_codec, h.width, h.height) for h in hits],
        gaps=[GapView(g.start, g.end, round(g.seconds, 3)) for g in gaps],
    )
