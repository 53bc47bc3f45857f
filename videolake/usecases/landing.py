"""Observe and claim a landing zone: one tick of a landing sensor, without Dagster.

The zone is listed, its bookkeeping updated in the catalog, complete files claimed in batches
(segments: per recording day), complete ``*.urls.jsonl`` lists queued as imports. What a tick did is the result; the sensor turns it into runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from videolake.catalog.repository import Batch
from videolake.ingest.watcher import LandingWatcher
from videolake.storage import StorageError
from videolake.usecases.errors import Unavailable
from videolake.usecases.imports import UrlListsTaken, take_landed_url_lists
from videolake.usecases.results import Result


@dataclass(frozen=True)
class LandingTick(Result):
    zone: str  # the landing zone's URL
    listed: int
    new: int
    changed: int
    in_progress: int  # uploads still being written under a partial name (.part, .tmp …)
    orphan_sidecars: int  # sidecars without their video
    batches: list[Batch]
    url_lists: UrlListsTaken | None = None  # the *.urls.jsonl files queued as imports (uploads zone)

    @property
    def files_claimed(self) -> int:
        return sum(b.files for b in self.batches)


def observe_and_claim(watcher: LandingWatcher, tick: int) -> LandingTick:
    """List the zone, record what changed, claim what is complete. ``Unavailable`` when the zone
    cannot be listed (nothing is claimed then)."""
    try:
        summary, batches, listing = watcher.observe_and_claim(tick)
    except StorageError as exc:
        raise Unavailable(f"landing zone {watcher.zone} cannot be listed: {exc}") from exc
    lists = take_landed_url_lists(watcher, listing) if listing.url_lists else None
    return LandingTick(watcher.zone, summary.listed, summary.new, summary.changed, listing.in_progress,
                       listing.orphan_sidecars, batches, lists)
