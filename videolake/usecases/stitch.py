"""Stitch: join cataloged videos into one new video, ingested like any other source."""

from __future__ import annotations

from dataclasses import dataclass

from videolake.exports.stitch import StitchError, stitch
from videolake.ingest.engine import IngestEngine
from videolake.usecases.errors import InvalidInput
from videolake.usecases.results import Result


@dataclass(frozen=True)
class StitchedVideo(Result):
    video_id: int
    name: str
    reencoded: str | None  # why the inputs were re-encoded; None: joined by stream copy
    duplicate_of_existing: bool


def stitch_videos(engine: IngestEngine, ids: list[int], name: str | None = None) -> StitchedVideo:
    """Join cataloged videos into one new video, ingested like any source (its inputs recorded)."""
    try:
        result = stitch(engine, ids, name)
    except StitchError as exc:
        raise InvalidInput(str(exc)) from exc
    return StitchedVideo(result.video_id, result.name, result.reencoded, result.duplicate)
