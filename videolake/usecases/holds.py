"""Legal holds: add, list and release (``videolake.retention.holds`` keeps them; this is their use)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from videolake.catalog.models import Hold
from videolake.catalog.repository import Catalog
from videolake.retention import holds
from videolake.segments.index import UnknownCamera, require_cameras
from videolake.usecases.errors import InvalidInput, NotFound, WrongState
from videolake.usecases.results import Result


@dataclass(frozen=True)
class HoldRequest:
    reason: str
    camera: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    video_id: int | None = None


@dataclass(frozen=True)
class HoldView(Result):
    id: int
    video_id: int | None
    camera: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    reason: str
    created_at: dt.datetime
    created_by: str | None
    released_at: dt.datetime | None
    released_by: str | None
    note: str | None = None  # e.g. the camera has no footage yet: the hold covers it once ingested

    @classmethod
    def of(cls, hold: Hold, note: str | None = None) -> HoldView:
        return cls(hold.id, hold.video_id, hold.camera_id, hold.start_at, hold.end_at, hold.reason, hold.created_at,
                   hold.created_by, hold.released_at, hold.released_by, note)


def add_hold(catalog: Catalog, request: HoldRequest, *, by: str | None) -> HoldView:
    """Hold a camera's footage over a range, or one video. A camera with no footage yet is held all
    the same (footage may still be on its way); the result's note says so."""
    try:
        hold = holds.add_hold(catalog, reason=request.reason, camera=request.camera, start=request.start,
                              end=request.end, video_id=request.video_id, by=by)
    except holds.HoldTargetMissing as exc:
        raise NotFound(str(exc)) from exc
    except holds.HoldError as exc:
        raise InvalidInput(str(exc)) from exc
    note = None
    if request.camera:
        try:
            require_cameras(catalog, [request.camera])
        except UnknownCamera as exc:
            note = f"{exc}; the hold covers its footage in that range once it is ingested"
    return HoldView.of(hold, note)


def list_holds(catalog: Catalog, *, include_released: bool = False) -> list[HoldView]:
    return [HoldView.of(h) for h in holds.list_holds(catalog, include_released=include_released)]


def release_hold(catalog: Catalog, hold_id: int, *, by: str | None) -> HoldView:
    try:
        return HoldView.of(holds.release_hold(catalog, hold_id, by=by))
    except holds.HoldTargetMissing as exc:
        raise NotFound(str(exc)) from exc
    except holds.HoldAlreadyReleased as exc:
        raise WrongState(str(exc)) from exc
