"""Legal holds: footage no sweep may delete, by camera and time range or by video.

A hold protects every video it covers — the segments of its camera that overlap its range, or the
one video — and the exports cut from that camera over that range; while it is active nothing of
them is deleted, not even a hot copy. Holds are released, never deleted, and both steps are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, select

from videolake.catalog.models import AuditEvent, Export, Hold, Segment, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import CatalogLock


class HoldError(ValueError):
    """The hold request is incomplete or names something that does not exist."""


class HoldTargetMissing(HoldError):
    """The video or hold named does not exist."""


class HoldAlreadyReleased(HoldError):
    pass


def add_hold(catalog: Catalog, *, reason: str, camera: str | None = None, start: dt.datetime | None = None,
             end: dt.datetime | None = None, video_id: int | None = None, by: str | None = None) -> Hold:
    if not reason or not reason.strip():
        raise HoldError("a hold needs a --reason (the case, ticket or order it serves)")
    if video_id is not None and (camera or start or end):
        raise HoldError("give either --video or --camera with --start and --end, not both")
    if video_id is None and not (camera and start and end):
        raise HoldError("give --video ID, or --camera with --start and --end")
    if start is not None and end is not None and end <= start:
        raise HoldError(f"--end {end.isoformat()} is not after --start {start.isoformat()}")
    # Under the holds lock: a retention batch that is deleting finishes first, and the next one sees this hold.
    with catalog.lock(CatalogLock.HOLDS), catalog.write() as s:
        if video_id is not None and s.get(Video, video_id) is None:
            raise HoldTargetMissing(f"no video {video_id} in the catalog")
        hold = Hold(video_id=video_id, camera_id=camera, start_at=start, end_at=end, reason=reason.strip(),
                    created_by=by)
        s.add(hold)
        s.flush()
        s.add(AuditEvent(action="hold_added", video_id=video_id,
                         detail={"hold": hold.id, "camera": camera, "start": _iso(start), "end": _iso(end),
                                 "reason": hold.reason, "by": by}))
        s.expunge(hold)
    return hold


def release_hold(catalog: Catalog, hold_id: int, *, by: str | None = None) -> Hold:
    with catalog.write() as s:
        hold = s.get(Hold, hold_id)
        if hold is None:
            raise HoldTargetMissing(f"no hold {hold_id}")
        if hold.released_at is not None:
            raise HoldAlreadyReleased(f"hold {hold_id} was already released at {hold.released_at.isoformat()}")
        hold.released_at, hold.released_by = utcnow(), by
        s.add(AuditEvent(action="hold_released", video_id=hold.video_id,
                         detail={"hold": hold.id, "camera": hold.camera_id, "start": _iso(hold.start_at),
                                 "end": _iso(hold.end_at), "reason": hold.reason, "by": by}))
        s.flush()
        s.expunge(hold)
    return hold


def list_holds(catalog: Catalog, *, include_released: bool = False) -> list[Hold]:
    stmt = select(Hold).order_by(Hold.id)
    if not include_released:
        stmt = stmt.where(Hold.released_at.is_(None))
    with catalog.read() as s:
        holds = list(s.scalars(stmt))
        for h in holds:
            s.expunge(h)
    return holds


def held_video_ids(session: Any) -> set[int]:
    """Every video an active hold covers (directly, or as a segment of a held camera range)."""
    active = select(Hold).where(Hold.released_at.is_(None)).subquery()
    direct = select(active.c.video_id).where(active.c.video_id.is_not(None))
    by_range = select(Segment.video_id).join(active, and_(
        Segment.camera_id == active.c.camera_id,
        Segment.start_at < active.c.end_at,
        Segment.end_at > active.c.start_at,
    ))
    return set(session.scalars(direct)) | set(session.scalars(by_range))


def held_export_ids(session: Any) -> set[str]:
    """Exports cut from a held camera over a held range (an incident's evidence)."""
    ranges = session.execute(select(Hold.camera_id, Hold.start_at, Hold.end_at).where(
        Hold.released_at.is_(None), Hold.camera_id.is_not(None))).all()
    if not ranges:
        return set()
    held: set[str] = set()
    for export_id, cameras, start, end in session.execute(select(Export.id, Export.cameras, Export.start_at, Export.end_at)):
        if any(cam in (cameras or []) and start < h_end and end > h_start for cam, h_start, h_end in ranges):
            held.add(export_id)
    return held


def describe_hold(detail: dict[str, Any], video_id: int | None) -> str:
    """What a hold covers and why, from its audit row: ``lobby 10:00 → 11:00 (incident 9)``, ``video 7 (case 1)``."""
    covers = (f"{detail.get('camera')} {detail.get('start')} → {detail.get('end')}" if detail.get("camera")
              else f"video {video_id}")
    return f"{covers} ({detail.get('reason') or 'no reason'})"


def hold_to_dict(hold: Hold) -> dict[str, Any]:
    return {"id": hold.id, "video_id": hold.video_id, "camera": hold.camera_id, "start": _iso(hold.start_at),
            "end": _iso(hold.end_at), "reason": hold.reason, "created_at": _iso(hold.created_at),
            "created_by": hold.created_by, "released_at": _iso(hold.released_at), "released_by": hold.released_by}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
