"""The landing watcher: what is in a landing zone, whether it is complete, who has claimed it, and
on which recording day a segment falls. It reads and bookkeeps; it never stores or removes a file
(names the catalog cannot hold are handed to the quarantiner at once, so the rest goes on).

A file is claimed only once it is complete:
- on a local file system, when nobody has it open for writing and it has not changed for the
  settle (``min_unchanged_seconds``), and, with the age rule, is older than ``stable_after_seconds``;
- on an object store, as soon as it is listed (an upload is listed only once it completed).
Claims name the claiming process; a dead claimant's files are taken back at once, a live one's
after ``requeue_after_seconds``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat
import time
from pathlib import Path
from typing import Any

from videolake import constants as c
from videolake.catalog.claimants import this_process
from videolake.catalog.models import utcnow
from videolake.catalog.repository import Batch, Catalog, HeldClaims, ListedFile, ObservationSummary
from videolake.ingest.landing import (
    LandedItem,
    LandingListing,
    display_text,
    list_landing,
    read_sidecar,
    source_for_key,
    storable_name,
    unsafe_name_reason,
)
from videolake.ingest.quarantine import Quarantiner
from videolake.ingest.writers import open_for_writing
from videolake.media.inspection import REASON_UNSAFE_NAME
from videolake.segments.naming import SegmentNameError, SegmentTemplate, segment_times
from videolake.storage import ObjectInfo, StorageBackend
from videolake.storage.local_backend import LocalBackend


class LandingWatcher:
    def __init__(self, catalog: Catalog, landing: StorageBackend, quarantiner: Quarantiner, *,
                 settings: Any, segment_template: SegmentTemplate | None = None) -> None:
        self.catalog = catalog
        self.landing = landing
        self.quarantiner = quarantiner
        self.settings = settings  # IngestSettings
        self.segment_template = segment_template  # set: the zone holds recording segments

    @property
    def zone(self) -> str:
        """The zone's bookkeeping key: its backend's URL."""
        return self.landing.url

    def landing_uri(self, key: str) -> str:
        return display_text(f"{self.zone.rstrip('/')}/{key}")

    # -- recording days ---------------------------------------------------------------------------
    def recording_day(self, key: str) -> str | None:
        """The UTC recording day of a segment: from its name, else its sidecar; None if neither tells."""
        if self.segment_template is None:
            return None
        try:
            return self.segment_template.parse(key).start.date().isoformat()
        except SegmentNameError:
            pass
        item = LandedItem(self.landing_uri(key), key, 0, 0.0, c.SEGMENTS_SOURCE, self.zone)
        timed, rejection = self.with_segment_times(item)
        return None if rejection else timed.segment.start.date().isoformat()

    def with_segment_times(self, item: LandedItem) -> tuple[LandedItem, tuple[str, str] | None]:
        """Camera and start time of a segment (sidecar first, else the path template), or why not."""
        _key, sidecar = read_sidecar(self.landing, item)
        try:
            times = segment_times(self.segment_template, item.key, sidecar.data if sidecar else None)  # type: ignore[arg-type]
        except SegmentNameError as exc:
            return item, ("unknown_segment_time", f"camera and start time unknown: {exc}")
        return dataclasses.replace(item, segment=times, source=c.SEGMENTS_SOURCE), None

    # -- observe and claim ----------------------------------------------------------------------
    def observe_and_claim(
        self, tick: int, *, now: dt.datetime | None = None, max_batches: int | None = None, day: str | None = None
    ) -> tuple[ObservationSummary, list[Batch], LandingListing]:
        """Record the zone's listing and claim stable files; segments are batched per recording day
        (``day`` restricts the claim to one)."""
        now = now or utcnow()
        known = self.catalog.known_landing(self.zone)  # before the listing: see Catalog.observe_landing
        listing = list_landing(self.landing)
        if any(not storable_name(v.key) for v in listing.videos):
            listing = self._set_aside_unstorable(listing)
        days: dict[str, str | None] = {}

        def day_of(key: str) -> str | None:
            if key not in days:
                days[key] = self.recording_day(key)
            return days[key]

        summary = self.catalog.observe_landing(
            self.zone, (ListedFile(v.key, v.size, v.mtime) for v in listing.videos), tick, known=known
        )
        local = isinstance(self.landing, LocalBackend)
        settled: set[str] = set()
        writing: set[str] = set()
        if local:
            settled, writing = self._settle({v.key: v for v in listing.videos if v.key in summary.fresh})
        batches = self.catalog.claim_stable(
            self.zone,
            tick,
            now=now,
            stable_after_seconds=self.settings.stable_after_seconds,
            min_unchanged_seconds=self.settings.min_unchanged_seconds,
            requeue_after_seconds=self.settings.requeue_after_seconds,
            max_files=self.settings.batch_max_files,
            max_bytes=self.settings.batch_max_bytes,
            max_batches=max_batches or self.settings.max_batches_per_tick,
            group_of=day_of if self.segment_template is not None else None,
            claimant=this_process(),
            settled=settled,
            writing=writing,
            complete_when_listed=not local,  # an object store lists only objects whose upload completed
            # A day's run takes that day's segments, and any whose time is unknown (to quarantine them).
            only_keys={v.key for v in listing.videos if day_of(v.key) in (day, None)} if day else None,
        )
        return summary, batches, listing

    def claim_all_now(self, day: str | None = None) -> tuple[list[Batch], LandingListing]:
        """For a run without a sensor batch: claim everything stable in the zone right now."""
        _summary, batches, listing = self.observe_and_claim(int(time.time() * 1000), max_batches=10**9, day=day)
        return batches, listing

    def items_for_batch(self, batch_id: str, source: str | None = None) -> list[LandedItem]:
        """The batch's files; this process takes over the claim (a crash of it is then seen at once)."""
        zone = self.zone
        self.catalog.adopt_batch(zone, batch_id, this_process())
        return [
            LandedItem(uri=self.landing_uri(f.key), key=f.key, size=f.size, mtime=f.mtime,
                       source=source or source_for_key(f.key, self.settings.default_source), zone=zone,
                       regular=self._is_regular(f.key))
            for f in self.catalog.batch_files(zone, batch_id)
        ]

    def claims_held_elsewhere(self) -> list[HeldClaims]:
        """Files of this zone that other runs hold (alive, or on other machines)."""
        return self.catalog.claims_held(self.zone, besides=this_process())

    def hand_back(self, keys: list[str]) -> None:
        """Claimed files go back to the zone's queue at once (a run that cannot take them)."""
        if keys:
            self.catalog.unclaim_landing_files(self.zone, keys)

    # -- completeness ---------------------------------------------------------------------------
    def _settle(self, fresh: dict[str, ObjectInfo]) -> tuple[set[str], set[str]]:
        """(settled, writing): the files new or changed in this listing (as listed) that are known
        unchanged over the settle, and every file some process has open for writing (before or after).

        A file nobody has open whose mtime is older than the settle has not changed for that long
        (every write moves it; a writer that sets it back, like ``cp -p``, has closed the file by
        then): settled at once, from the listing. The others are looked at again once the youngest
        of them is a settle old (one wait for all).
        """
        root = self.landing.root  # type: ignore[attr-defined]
        settle = self.settings.min_unchanged_seconds
        writing = open_for_writing(root)
        cutoff = time.time() - settle
        settled = {key for key, info in fresh.items() if info.mtime <= cutoff and key not in writing}
        pending = {key: info for key, info in fresh.items() if key not in settled and key not in writing}
        if pending:
            time.sleep(max(0.0, max(i.mtime for i in pending.values()) + settle - time.time()))
            writing |= open_for_writing(root)
            settled |= {key for key, info in pending.items()
                        if key not in writing and size_and_mtime(root / key) == (info.size, info.mtime)}
        return settled - writing, writing

    def complete_url_lists(self, listing: LandingListing) -> list[ObjectInfo]:
        """The listing's ``*.urls.jsonl`` files that are complete: on a local file system, nobody has
        them open for writing and they are a settle old (no waiting: a younger one is taken at a later
        tick); on an object store, every one listed."""
        if not listing.url_lists or not isinstance(self.landing, LocalBackend):
            return list(listing.url_lists)
        writing = open_for_writing(self.landing.root)
        cutoff = time.time() - self.settings.min_unchanged_seconds
        return [i for i in listing.url_lists if i.key not in writing and i.mtime <= cutoff and storable_name(i.key)]

    def _set_aside_unstorable(self, listing: LandingListing) -> LandingListing:
        """Names the catalog cannot hold (not UTF-8): quarantined at once, so the rest goes on."""
        keep = []
        for info in listing.videos:
            if storable_name(info.key):
                keep.append(info)
                continue
            item = LandedItem(self.landing_uri(info.key), info.key, info.size, info.mtime,
                              source_for_key(info.key, self.settings.default_source), self.zone, info.regular)
            self.quarantiner.quarantine_file(item, REASON_UNSAFE_NAME,
                                             unsafe_name_reason(info.key) or "the name cannot be stored", None, None)
        return dataclasses.replace(listing, videos=keep)

    def _is_regular(self, key: str) -> bool:
        """False for a symlink, folder, FIFO or device; a file that is gone counts as regular (the
        worker reports it vanished, rather than quarantining what is not there)."""
        if isinstance(self.landing, LocalBackend):
            try:
                return stat.S_ISREG(os.lstat(self.landing.root / key).st_mode)
            except FileNotFoundError:
                return True
            except OSError:
                return False
        return True


def size_and_mtime(path: Path) -> tuple[int, float] | None:
    """As a listing gives them (``ObjectInfo.size``, ``.mtime``)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime
