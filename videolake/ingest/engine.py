"""Ingest, probe and thumbnail batches of files: the domain logic behind the Dagster assets.

Order of every destructive step: store (verified) -> record in the catalog (committed) -> only
then remove the landed file. A crash anywhere leaves the file in the landing zone, and the next
run recognises content it already stored or recorded, so reruns are idempotent.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import errno
import hashlib
import io
import os
import stat
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import insert, select, update

from videolake import constants as c
from videolake.catalog.claimants import this_process
from videolake.catalog.locks import lock_in_transaction
from videolake.catalog.models import Derivative, Landing, QuarantineItem, Replica, Segment, Video, utcnow
from videolake.catalog.repository import (
    Batch,
    Catalog,
    HeldClaims,
    ListedFile,
    ObservationSummary,
    insert_ignoring_conflicts,
    upsert,
)
from videolake.display import human_bytes, human_duration, shorten
from videolake.ingest.landing import (
    MAX_SIDECAR_BYTES,
    LandedItem,
    LandingListing,
    Sidecar,
    display_text,
    expand_paths,
    find_sidecar,
    list_landing,
    parse_sidecar,
    read_local_sidecar,
    rejection_for_listing,
    sidecar_candidates,
    source_for_key,
    storable_name,
    too_large_sidecar,
    unsafe_name_reason,
)
from videolake.ingest.parallel import map_files, prewarm
from videolake.ingest.worker import (
    STATUS_CHANGED,
    STATUS_FAILED,
    STATUS_REJECTED,
    STATUS_STORED,
    STATUS_VANISHED,
    IngestOutcome,
    IngestTask,
    ProbeTask,
    ThumbnailTask,
    ingest_file,
    probe_stored,
    thumbnail_stored,
)
from videolake.ingest.writers import open_for_writing
from videolake.inputs import safe_name
from videolake.media.inspection import REASON_UNSAFE_NAME, MediaLimits
from videolake.segments.naming import SegmentNameError, SegmentTemplate, segment_times
from videolake.storage import InvalidKey, ObjectInfo, StorageBackend, StorageError, open_backend, validate_key
from videolake.storage.local_backend import LocalBackend

RECORD_CHUNK = 200


@dataclass(frozen=True)
class IngestSettings:
    default_source: str = c.DEFAULT_SOURCE
    stable_after_seconds: float = c.DEFAULT_STABLE_AFTER_SECONDS
    min_unchanged_seconds: float = c.DEFAULT_SETTLE_SECONDS  # the settle: unchanged this long, nobody writing
    requeue_after_seconds: float = c.DEFAULT_REQUEUE_AFTER_SECONDS
    batch_max_files: int = c.DEFAULT_BATCH_MAX_FILES
    batch_max_bytes: int = c.DEFAULT_BATCH_MAX_BYTES
    max_batches_per_tick: int = c.DEFAULT_MAX_BATCHES_PER_TICK
    limits: MediaLimits = field(default_factory=MediaLimits)
    workers: int | None = None


@dataclass
class FileResult:
    name: str
    uri: str
    outcome: str  # ingested / duplicate / quarantined / skipped / failed
    size_bytes: int
    sha256: str | None = None
    video_id: int | None = None
    detail: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    waiting: int = 0  # files in the zone not stable yet (still being written, or just landed)
    held: list[dict[str, Any]] = field(default_factory=list)  # files other runs hold claimed, per claimant

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome == c.FileOutcome.FAILED]

    @property
    def bytes_ingested(self) -> int:
        return sum(r.size_bytes for r in self.results if r.outcome == c.OUTCOME_INGESTED)

    @property
    def bytes_landed(self) -> int:
        return sum(r.size_bytes for r in self.results if r.outcome != c.FileOutcome.SKIPPED)

    def reasons(self) -> Counter:
        return Counter(r.detail.split(":", 1)[0] for r in self.results if r.outcome == c.OUTCOME_QUARANTINED)

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.results),
            "ingested": self.count(c.OUTCOME_INGESTED),
            "duplicates": self.count(c.OUTCOME_DUPLICATE),
            "quarantined": self.count(c.OUTCOME_QUARANTINED),
            "skipped": self.count(c.FileOutcome.SKIPPED),
            "failed": self.count(c.FileOutcome.FAILED),
            "bytes_ingested": self.bytes_ingested,
            "bytes_landed": self.bytes_landed,
            "seconds": round(self.seconds, 3),
        }

    def markdown(self, limit: int = 50) -> str:
        rows = ["| file | outcome | size | sha256 | detail |", "|---|---|---:|---|---|"]
        ordered = sorted(self.results, key=lambda r: (r.outcome == c.OUTCOME_INGESTED, r.name))
        for r in ordered[:limit]:
            detail = r.detail.replace("|", "\\|").replace("\n", " ")[:160]
            name = r.name.replace("|", "\\|")
            rows.append(f"| {name} | {r.outcome} | {human_bytes(r.size_bytes)} | {(r.sha256 or '')[:12]} | {detail} |")
        if len(ordered) > limit:
            rows.append(f"| … {len(ordered) - limit} more in the catalog | | | | |")
        return "\n".join(rows)


@dataclass
class StepReport:
    """What the probe and thumbnail steps did."""

    processed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    bytes_written: int = 0
    video_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Removal:
    """A landed file to remove once its content is cataloged."""

    item: LandedItem
    read_as: ObjectInfo | None  # what the worker read; removed only if the file is still exactly that
    sidecar_key: str | None
    sidecar_error: str | None  # why the sidecar cannot be used (it goes to quarantine instead of being removed)


class IngestEngine:
    def __init__(
        self,
        catalog: Catalog,
        hot: StorageBackend,
        quarantine: StorageBackend,
        landing: StorageBackend | None = None,
        settings: IngestSettings | None = None,
        segment_template: SegmentTemplate | None = None,
    ) -> None:
        self.catalog = catalog
        self.hot = hot
        self.quarantine = quarantine
        self.landing = landing
        self.settings = settings or IngestSettings()
        # With a template this engine's landing zone holds recording segments.
        self.segment_template = segment_template

    @property
    def zone(self) -> str:
        if self.landing is None:
            raise ValueError("no landing zone configured")
        return self.landing.url

    # -- the sensor's side: observe and claim -------------------------------------------------
    def recording_day(self, key: str) -> str | None:
        """The UTC recording day of a segment: from its name, else its sidecar; None if neither tells."""
        if self.segment_template is None:
            return None
        try:
            return self.segment_template.parse(key).start.date().isoformat()
        except SegmentNameError:
            pass
        item = LandedItem(self._landing_uri(key), key, 0, 0.0, c.SEGMENTS_SOURCE, self.zone)
        _item, rejection = self._with_segment_times(item)
        return None if rejection else _item.segment.start.date().isoformat()

    def observe_and_claim(
        self, tick: int, *, now: dt.datetime | None = None, max_batches: int | None = None, day: str | None = None
    ) -> tuple[ObservationSummary, list[Batch], LandingListing]:
        """Record the zone's listing and claim stable files; segments are batched per recording day
        (``day`` restricts the claim to one)."""
        now = now or utcnow()
        listing = list_landing(self.landing)  # type: ignore[arg-type]
        if any(not storable_name(v.key) for v in listing.videos):
            listing = self._set_aside_unstorable(listing)
        days: dict[str, str | None] = {}

        def day_of(key: str) -> str | None:
            if key not in days:
                days[key] = self.recording_day(key)
            return days[key]

        summary = self.catalog.observe_landing(
            self.zone, (ListedFile(v.key, v.size, v.mtime) for v in listing.videos), tick
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

    def _settle(self, fresh: dict[str, ObjectInfo]) -> tuple[set[str], set[str]]:
        """(settled, writing): the files new or changed in this listing (as listed) that are known
        unchanged over the settle, and every file some process has open for writing (before or after).

        A file nobody has open whose mtime is older than the settle has not changed for that long
        (every write moves it; a writer that sets it back, like ``cp -p``, has closed the file by
        then): settled at once, from the listing. The others are looked at again once the youngest
        of them is a settle old (one wait for all).
        """
        root = self.landing.root  # type: ignore[union-attr]
        settle = self.settings.min_unchanged_seconds
        writing = open_for_writing(root)
        cutoff = time.time() - settle
        settled = {key for key, info in fresh.items() if info.mtime <= cutoff and key not in writing}
        pending = {key: info for key, info in fresh.items() if key not in settled and key not in writing}
        if pending:
            time.sleep(max(0.0, max(i.mtime for i in pending.values()) + settle - time.time()))
            writing |= open_for_writing(root)
            settled |= {key for key, info in pending.items()
                        if key not in writing and _size_and_mtime(root / key) == (info.size, info.mtime)}
        return settled - writing, writing

    def _set_aside_unstorable(self, listing: LandingListing) -> LandingListing:
        """Names the catalog cannot hold (not UTF-8): quarantined at once, so the rest goes on."""
        keep = []
        for info in listing.videos:
            if storable_name(info.key):
                keep.append(info)
                continue
            item = LandedItem(self._landing_uri(info.key), info.key, info.size, info.mtime,
                              source_for_key(info.key, self.settings.default_source), self.zone, info.regular)
            self._quarantine(item, REASON_UNSAFE_NAME, unsafe_name_reason(info.key) or "the name cannot be stored", None, None)
        return dataclasses.replace(listing, videos=keep)

    def prewarm_workers(self) -> None:
        prewarm(self.settings.workers)

    def claim_all_now(self, day: str | None = None) -> tuple[list[Batch], LandingListing]:
        """For a run without a sensor batch: claim everything stable in the zone right now."""
        tick = int(time.time() * 1000)
        summary, batches, listing = self.observe_and_claim(tick, max_batches=10**9, day=day)
        return batches, listing

    def items_for_batch(self, batch_id: str, source: str | None = None) -> list[LandedItem]:
        """The batch's files; this process takes over the claim (a crash of it is then seen at once)."""
        zone = self.zone
        self.catalog.adopt_batch(zone, batch_id, this_process())
        return [
            LandedItem(
                uri=self._landing_uri(f.key),
                key=f.key,
                size=f.size,
                mtime=f.mtime,
                source=source or source_for_key(f.key, self.settings.default_source),
                zone=zone,
                regular=self._is_regular(f.key),
            )
            for f in self.catalog.batch_files(zone, batch_id)
        ]

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

    def claims_held_elsewhere(self) -> list[HeldClaims]:
        """Files of this zone that other runs hold (alive, or on other machines)."""
        return self.catalog.claims_held(self.zone, besides=this_process())

    def _landing_uri(self, key: str) -> str:
        base = self.zone.rstrip("/")
        return display_text(f"{base}/{key}")

    def items_for_paths(self, paths: Iterable[str | Path], source: str | None) -> tuple[list[LandedItem], list[str]]:
        """Files named on the command line. Files inside a local landing zone are treated as landed."""
        items: list[LandedItem] = []
        errors: list[str] = []
        landing_root = self.landing.root if isinstance(self.landing, LocalBackend) else None
        for path in expand_paths(paths):
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                errors.append(f"{path}: no such file or folder")
                continue
            except OSError as exc:
                errors.append(f"{path}: {exc.strerror}")
                continue
            regular = not os.path.islink(path) and os.path.isfile(path)
            if landing_root is not None and landing_root in path.parents:
                key = path.relative_to(landing_root).as_posix()
                items.append(
                    LandedItem(self._landing_uri(key), key, st.st_size, st.st_mtime,
                               source or source_for_key(key, self.settings.default_source), self.zone, regular)
                )
            else:
                items.append(
                    LandedItem(display_text(path.as_uri()), str(path), st.st_size, st.st_mtime,
                               source or self.settings.default_source, None, regular)
                )
        return items, errors

    # -- ingest -------------------------------------------------------------------------------
    def ingest(
        self,
        items: Sequence[LandedItem],
        landing_date: dt.date,
        run_id: str | None = None,
        *,
        thumbnails: bool = False,
    ) -> IngestReport:
        """Ingest ``items``; with ``thumbnails`` each new file is also thumbnailed in the same pass.

        Files are taken in the order they landed (modification time, then name): of files with the
        same content, the first landed gives the video its name and source, the others are
        duplicates of it, whatever order the zone was listed or the workers finished in.
        """
        started = time.perf_counter()
        report = IngestReport()
        tasks: list[IngestTask] = []
        hot_writer = self.hot.deferred()  # workers skip per-file fsync; _record flushes once per chunk
        rejected: list[FileResult] = []
        for item in sorted(items, key=lambda i: (i.mtime, i.key)):
            rejection = rejection_for_listing(_listing_info(item))
            if rejection is None and self.segment_template is not None and item.zone is not None:
                item, rejection = self._with_segment_times(item)
            if rejection:
                rejected.append(self._quarantine(item, rejection[0], rejection[1], None, run_id))
                continue
            landing = self.landing if item.zone is not None else None
            tasks.append(IngestTask(item, landing, hot_writer, self.settings.limits, thumbnails))
        self._add_results(report, rejected, run_id)
        pending: list[IngestOutcome] = []
        # Record while workers carry on; small enough chunks keep the last, serial one short.
        chunk = max(25, min(RECORD_CHUNK, len(tasks) // 3))
        try:
            for outcome in map_files(ingest_file, tasks, self.settings.workers):
                pending.append(outcome)
                if len(pending) >= chunk:
                    self._add_results(report, self._record(pending, landing_date, run_id), run_id)
                    pending = []
            if pending:
                self._add_results(report, self._record(pending, landing_date, run_id), run_id)
        except BaseException:
            # Whatever is still claimed goes back to the zone for the next run; nothing was
            # removed that is not recorded, so a retry only finishes the job.
            keys = [i.key for i in items if i.zone is not None]
            if keys and self.landing is not None:
                try:
                    self.catalog.unclaim_landing_files(self.zone, keys)
                except Exception:  # noqa: BLE001 - the claim expires on its own
                    pass
            raise
        report.seconds = time.perf_counter() - started
        return report

    def _add_results(self, report: IngestReport, results: list[FileResult], run_id: str | None) -> None:
        """Results join the report and, for a run, the catalog's record of it (read back by run id)."""
        report.results.extend(results)
        if run_id is not None:
            self.catalog.record_run_files(run_id, [
                {"name": r.name, "uri": r.uri, "outcome": str(r.outcome), "size_bytes": r.size_bytes,
                 "sha256": r.sha256, "video_id": r.video_id, "detail": r.detail} for r in results])

    def _with_segment_times(self, item: LandedItem) -> tuple[LandedItem, tuple[str, str] | None]:
        """Camera and start time of a segment (sidecar first, else the path template)."""
        _key, sidecar = self._read_sidecar(item)
        try:
            times = segment_times(self.segment_template, item.key, sidecar.data if sidecar else None)  # type: ignore[arg-type]
        except SegmentNameError as exc:
            return item, ("unknown_segment_time", f"camera and start time unknown: {exc}")
        return dataclasses.replace(item, segment=times, source=c.SEGMENTS_SOURCE), None

    def _read_sidecar(self, item: LandedItem) -> tuple[str | None, Any]:
        """(sidecar key or path, parsed Sidecar) for an item, or (None, None)."""
        if item.zone is None:
            for candidate in (Path(f"{item.key}.json"), Path(item.key).with_suffix(".json")):
                sidecar = read_local_sidecar(candidate)
                if sidecar is not None:
                    return str(candidate), sidecar
            return None, None
        info = find_sidecar(self.landing, item.key)  # type: ignore[arg-type]
        if info is None:
            return None, None
        key = info.key
        try:
            if info.size > MAX_SIDECAR_BYTES:
                return key, too_large_sidecar(info.size)
            with self.landing.open(key) as fh:  # type: ignore[union-attr]
                raw = fh.read(MAX_SIDECAR_BYTES + 1)
        except (StorageError, OSError) as exc:
            return key, Sidecar(None, f"sidecar unreadable: {exc}")
        return key, parse_sidecar(raw, info.size)

    def _record(self, outcomes: list[IngestOutcome], landing_date: dt.date, run_id: str | None) -> list[FileResult]:
        results: list[FileResult] = []
        stored = [o for o in outcomes if o.status == STATUS_STORED]
        if stored:
            self.hot.flush()  # group commit: what workers wrote is durable before it is cataloged
        sidecars = {id(o): self._read_sidecar(o.item) for o in stored}
        to_remove: list[Removal] = []
        retry: list[LandedItem] = []
        with self.catalog.write() as s:
            results.extend(self._record_stored(s, stored, sidecars, landing_date, run_id, to_remove, retry))
        # Committed: now it is safe to remove what landed — if it is still what was stored.
        changed = self._remove_landed(to_remove, run_id)
        if changed:
            for result in results:
                if result.uri in changed:
                    result.detail = (f"{result.detail}; the landed file changed after it was read: the content read is "
                                     "stored, the file stays in the landing zone to be ingested again").strip("; ")
        release: list[str] = [r.item.key for r in to_remove if r.item.zone is not None]
        unclaim: list[str] = [i.key for i in retry if i.zone is not None]
        for o in outcomes:
            item = o.item
            if o.status == STATUS_REJECTED:
                results.append(self._quarantine(item, o.reason or "rejected", o.detail or "", o.sha256, run_id))
                if item.zone is not None:
                    release.append(item.key)
            elif o.status in (STATUS_CHANGED, STATUS_VANISHED):
                results.append(FileResult(item.name, item.uri, c.FileOutcome.SKIPPED, o.size or item.size, o.sha256, None, o.detail or o.status))
                if item.zone is not None:
                    release.append(item.key)
            elif o.status == STATUS_FAILED:
                # Left where it landed and handed back: the next run (or sensor tick) tries it again.
                results.append(FileResult(item.name, item.uri, c.FileOutcome.FAILED, item.size, o.sha256, None, f"{o.reason}: {o.detail}"))
                if item.zone is not None:
                    unclaim.append(item.key)
        if release and self.landing is not None:
            self.catalog.release_landing_files(self.zone, release)
        if unclaim and self.landing is not None:
            self.catalog.unclaim_landing_files(self.zone, unclaim)
        return results

    def _record_stored(
        self,
        s: Any,
        stored: list[IngestOutcome],
        sidecars: dict[int, tuple[str | None, Any]],
        landing_date: dt.date,
        run_id: str | None,
        to_remove: list["Removal"],
        retry: list[LandedItem],
    ) -> list[FileResult]:
        """Record a chunk of stored files with a handful of bulk statements (no per-row ORM work)."""
        results_retry: list[FileResult] = []
        probes = {o.sha256: o.probe for o in stored if o.probe}
        now = utcnow()
        shas = {o.sha256 for o in stored}
        known: dict[str, tuple[int, str]] = {}
        durations: dict[str, float | None] = {}
        for vid, sha, name, duration in s.execute(
            select(Video.id, Video.sha256, Video.name, Video.duration_s).where(Video.sha256.in_(shas))
        ):
            known[sha], durations[sha] = (vid, name), duration
        # Landings already recorded for these files (a rerun after a crash), in one query.
        recorded_before = set(
            s.execute(
                select(Landing.landing_uri, Landing.sha256).where(
                    Landing.landing_uri.in_({o.item.uri for o in stored}), Landing.sha256.in_(shas)
                )
            ).tuples()
        )
        hot_state: dict[int, str] = {}
        states: dict[int, set[str]] = {}
        # Locked rows: a sweep marking these videos' copies ``deleting`` waits for this transaction, or
        # this one waits for it and then sees ``deleting`` (never a duplicate link to vanishing content).
        for vid, backend, state in s.execute(
            select(Replica.video_id, Replica.backend, Replica.state)
            .where(Replica.video_id.in_([vid for vid, _ in known.values()])).with_for_update()
        ):
            states.setdefault(vid, set()).add(state)
            if backend == self.hot.url:
                hot_state[vid] = state
        # Every copy is being deleted by a retention sweep:
        being_deleted = {vid for vid, st in states.items() if c.REPLICA_DELETING in st and c.REPLICA_VERIFIED not in st}
        new_videos: dict[str, tuple[IngestOutcome, str, Any]] = {}
        planned: list[tuple[IngestOutcome, str, str, str, Any, bool]] = []  # outcome, result, detail, type, sidecar, add landing
        replica_fixes: list[IngestOutcome] = []
        for o in stored:
            item = o.item
            sidecar_key, sidecar = sidecars[id(o)]
            sidecar_data = None
            if sidecar is not None:
                sidecar_data = sidecar.data if sidecar.data is not None else {"_error": sidecar.error}
            source_type = sidecar.source_type if sidecar is not None else c.SOURCE_UPLOADED
            previous = (item.uri, o.sha256) in recorded_before
            if o.sha256 in known and known[o.sha256][0] in being_deleted:
                retry.append(item)
                results_retry.append(FileResult(
                    item.name, item.uri, c.FileOutcome.SKIPPED, o.size or item.size, o.sha256, known[o.sha256][0],
                    "the same content is being deleted by the retention sweep right now; the file stays in the "
                    "landing zone and is ingested again by the next run"))
                continue
            if o.sha256 in known:
                vid, name = known[o.sha256]
                if previous:
                    # Recorded by an earlier run (one that died before removing the file, or the
                    # same file named again on the command line): nothing new to record.
                    outcome, detail = c.OUTCOME_DUPLICATE, f"already cataloged as video {vid} by an earlier run"
                else:
                    outcome, detail = c.OUTCOME_DUPLICATE, f"same content as video {vid} ({name})"
                    if hot_state.get(vid) != c.REPLICA_VERIFIED:
                        replica_fixes.append(o)
                        hot_state[vid] = c.REPLICA_VERIFIED
            elif o.sha256 in new_videos:
                outcome, detail = c.OUTCOME_DUPLICATE, f"same content as {new_videos[o.sha256][0].item.name} (same batch)"
            else:
                if item.segment is not None:
                    source_type = c.SOURCE_SEGMENT
                if o.probe is None and o.sha256 in probes:
                    # Another file of this chunk with the same bytes was probed (its worker stored the
                    # object first, this one found it there): the new video gets that probe.
                    o = dataclasses.replace(o, probe=probes[o.sha256])
                new_videos[o.sha256] = (o, source_type, sidecar_data)
                durations[o.sha256] = (o.probe or {}).get("duration_s")
                outcome, detail = c.OUTCOME_INGESTED, ""
            if sidecar is not None and sidecar.error:
                detail = f"{detail}; {sidecar.error}".strip("; ")
            if o.thumbnail_error:
                detail = f"{detail}; {o.thumbnail_error} (retried by video_thumbnails)".strip("; ")
            planned.append((o, outcome, detail, source_type, sidecar_data, not previous))
            recorded_before.add((item.uri, o.sha256))
            to_remove.append(Removal(item, o.read_as, sidecar_key, sidecar.error if sidecar is not None else None))

        if new_videos:
            rows = [self._video_row(o, landing_date, st, sc, now) for o, st, sc in new_videos.values()]
            # Another run may record the same content at the same moment: its row wins, ours becomes a
            # duplicate link to it (ON CONFLICT DO NOTHING waits for that run's commit, then skips).
            stmt = insert_ignoring_conflicts(s.connection(), Video, ["sha256"])
            for vid, sha in s.execute(stmt.returning(Video.id, Video.sha256), rows).tuples():
                known[sha] = (vid, "")
            raced = [sha for sha in new_videos if sha not in known]
            if raced:
                for vid, sha, name in s.execute(select(Video.id, Video.sha256, Video.name).where(Video.sha256.in_(raced))):
                    known[sha] = (vid, name)
                for n, (o, outcome, detail, source_type, sidecar_data, add) in enumerate(planned):
                    if o.sha256 in raced and outcome == c.OUTCOME_INGESTED:
                        vid, name = known[o.sha256]
                        planned[n] = (o, c.OUTCOME_DUPLICATE, f"same content as video {vid} ({name}), recorded by "
                                      "another run at the same moment", source_type, sidecar_data, add)
                for sha in raced:
                    del new_videos[sha]
            replicas = [
                {"video_id": known[sha][0], "backend": self.hot.url, "key": o.key, "state": c.REPLICA_VERIFIED,
                 "size_bytes": o.size, "verified_sha256": sha, "verified_at": now, "created_at": now}
                for sha, (o, _, _) in new_videos.items()
            ]
            if replicas:
                s.execute(insert(Replica), replicas)
            derivatives = [
                {"video_id": known[sha][0], "kind": im.kind, "backend": self.hot.url, "key": im.key, "width": im.width,
                 "height": im.height, "size_bytes": im.size_bytes, "sha256": im.sha256, "meta": im.meta, "created_at": now}
                for sha, (o, _, _) in new_videos.items()
                for im in o.images
            ]
            if derivatives:
                s.execute(insert_ignoring_conflicts(s.connection(), Derivative.__table__, ["video_id", "kind"]), derivatives)
        for o in replica_fixes:
            vid = known[o.sha256][0]
            updated = s.execute(
                update(Replica)
                .where(Replica.video_id == vid, Replica.backend == self.hot.url)
                .values(state=c.REPLICA_VERIFIED, key=o.key, verified_sha256=o.sha256, verified_at=now)
            ).rowcount
            if not updated:
                s.execute(insert(Replica), [{"video_id": vid, "backend": self.hot.url, "key": o.key, "state": c.REPLICA_VERIFIED,
                                             "size_bytes": o.size, "verified_sha256": o.sha256, "verified_at": now, "created_at": now}])
        landings = [
            {"video_id": known[o.sha256][0], "landing_uri": o.item.uri, "name": o.item.name, "source": o.item.source,
             "source_type": source_type, "sha256": o.sha256, "size_bytes": o.size or o.item.size, "outcome": outcome,
             "sidecar": sidecar_data, "run_id": run_id, "landed_at": now}
            for o, outcome, _, source_type, sidecar_data, add in planned
            if add
        ]
        if landings:
            s.execute(insert(Landing), landings)
        segments = [
            segment_row(known[o.sha256][0], o.item.segment, durations.get(o.sha256))
            for o, _, _, _, _, add in planned
            if add and o.item.segment is not None
        ]
        if segments:
            s.execute(insert(Segment), segments)
        return results_retry + [
            FileResult(o.item.name, o.item.uri, outcome, o.size or o.item.size, o.sha256, known[o.sha256][0], detail)
            for o, outcome, detail, _, _, _ in planned
        ]

    def _video_row(self, o: IngestOutcome, landing_date: dt.date, source_type: str, sidecar: Any, now: dt.datetime) -> dict[str, Any]:
        item = o.item
        row: dict[str, Any] = {
            "sha256": o.sha256,
            "size_bytes": o.size or item.size,
            "name": item.name,
            "extension": PurePosixPath(item.key).suffix.lower().lstrip(".")[:16],
            "source": item.source,
            "source_type": source_type,
            "landing_uri": item.uri,
            "landing_date": landing_date,
            "ingested_at": now,
            "sidecar": sidecar,
        }
        if o.probe:
            row.update(probe_columns(o.probe, now))
        return row

    def _remove_landed(self, removals: list["Removal"], run_id: str | None) -> set[str]:
        """Remove landed files whose content is stored and cataloged; returns the URIs left in place
        because the file is no longer the one that was read (appended to, overwritten, replaced)."""
        keys: list[str] = []
        changed: set[str] = set()
        for removal in removals:
            item = removal.item
            if item.zone is None:
                continue  # files named on the command line are the user's: never removed
            if not self._unchanged_since_read(item, removal.read_as):
                changed.add(item.uri)
                continue
            keys.append(item.key)
            if removal.sidecar_key is not None:
                if removal.sidecar_error is None:
                    keys.append(removal.sidecar_key)
                else:
                    sidecar_item = LandedItem(self._landing_uri(removal.sidecar_key), removal.sidecar_key, 0, 0.0,
                                              item.source, item.zone)
                    self._quarantine(sidecar_item, "invalid_sidecar", f"sidecar of {item.name}: {removal.sidecar_error}",
                                     None, run_id)
        if keys and self.landing is not None:
            self.landing.delete_many(keys)
        return changed

    def _unchanged_since_read(self, item: LandedItem, read_as: ObjectInfo | None) -> bool:
        """Size and version (inode + mtime locally, ETag / generation remotely) as when it was read."""
        if read_as is None or self.landing is None:
            return False
        try:
            now = self.landing.head(item.key)
        except (StorageError, OSError):
            return False
        return read_as.same_object(now)

    # -- quarantine -----------------------------------------------------------------------------
    def _quarantine(self, item: LandedItem, reason: str, detail: str, sha256: str | None, run_id: str | None) -> FileResult:
        """Move a landed file aside (never delete it) and record why; external files stay put."""
        quarantined_uri = None
        dest_key = None
        if item.zone is not None:
            token = hashlib.sha256(f"{item.uri}\0{item.size}\0{item.mtime}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
            dest_key = f"{utcnow():%Y-%m-%d}/{token}/{safe_name(PurePosixPath(item.key).name)}"
            quarantined_uri = f"{self.quarantine.url.rstrip('/')}/{dest_key}"
        with self.catalog.write() as s:
            lock_in_transaction(s, c.CatalogLock.QUARANTINE)  # two runs quarantining one file record it once
            if self.catalog.quarantine_for(s, item.uri, quarantined_uri) is None:
                s.add(QuarantineItem(landing_uri=item.uri, name=item.name, source=item.source, reason=reason,
                                     detail=detail, size_bytes=item.size, sha256=sha256,
                                     quarantined_uri=quarantined_uri, run_id=run_id))
        if dest_key is not None:
            try:
                self._move_aside(item.key, dest_key)
                sidecar = self._sidecar_beside(item.key) if reason != "invalid_sidecar" else None
                if sidecar:
                    self._move_aside(sidecar, f"{dest_key}.json")
            except (OSError, StorageError) as exc:
                detail = f"{detail} (could not be moved aside yet: {exc}; it stays in the landing zone)"
        return FileResult(item.name, item.uri, c.OUTCOME_QUARANTINED, item.size, sha256, None, f"{reason}: {detail}")

    def _sidecar_beside(self, key: str) -> str | None:
        """The regular-file sidecar next to a landed file, also for a name the catalog cannot hold."""
        if isinstance(self.landing, LocalBackend):
            for candidate in sidecar_candidates(key):
                try:
                    if stat.S_ISREG(os.lstat(self.landing.root / candidate).st_mode):
                        return candidate
                except OSError:
                    continue
            return None
        info = find_sidecar(self.landing, key)  # type: ignore[arg-type]
        return info.key if info is not None else None

    def _move_aside(self, key: str, dest_key: str) -> None:
        landing, quarantine = self.landing, self.quarantine
        if isinstance(landing, LocalBackend):
            src = landing.root / key
            if not os.path.lexists(src):
                return
            if isinstance(quarantine, LocalBackend):
                try:
                    quarantine.move_from(dest_key, src)
                    return
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
            if os.path.islink(src) or not os.path.isfile(src):
                quarantine.put_bytes(f"{dest_key}.link", os.fsencode(os.readlink(src)) if os.path.islink(src) else b"")
            else:
                quarantine.put_file(dest_key, src)
            os.unlink(src)
            return
        # Remote landing zone: the contract's move (copy, confirm, then delete the original).
        try:
            validate_key(key)
        except InvalidKey:
            # A name the contract refuses (control characters, bytes that are not UTF-8): S3 alone
            # can address it by its exact stored key.
            from videolake.storage.s3_backend import S3Backend

            if not isinstance(landing, S3Backend):
                raise
            full = f"{landing.prefix}/{key}" if landing.prefix else key
            with landing.raw_open(full) as stream:
                quarantine.put_stream(dest_key, stream)
            landing.raw_delete(full)
            return
        if landing.head(key) is not None:
            landing.move_to(key, quarantine, dest_key)

    # -- probes -------------------------------------------------------------------------------
    def probe_missing(self, landing_date: dt.date | None, *, reprobe: bool = False) -> StepReport:
        started = time.perf_counter()
        report = StepReport()
        todo = self.catalog.videos_needing_probe(landing_date, reprobe=reprobe)
        keys = self.catalog.replica_keys([vid for vid, _ in todo], self.hot.url)
        tasks = [ProbeTask(vid, self.hot, keys[vid], self.settings.limits) for vid, _ in todo if vid in keys]
        for vid, _ in todo:
            if vid not in keys:
                report.errors.append((vid, "no verified replica in the hot storage to probe"))
        outcomes = list(map_files(probe_stored, tasks, self.settings.workers))
        with self.catalog.write() as s:
            for o in outcomes:
                video = s.get(Video, o.video_id)
                if video is None:
                    continue
                if o.probe:
                    apply_probe(video, o.probe)
                    # Segments recorded before their video's duration was known end where they start.
                    for segment in s.scalars(select(Segment).where(Segment.video_id == video.id, Segment.duration_s == 0)):
                        seconds = float(o.probe.get("duration_s") or 0.0)
                        segment.end_at = segment.start_at + dt.timedelta(seconds=seconds)
                        segment.duration_s = seconds
                    report.processed += 1
                else:
                    video.probe_error = o.error
                    video.probed_at = utcnow()
                    report.errors.append((o.video_id, o.error or "unknown error"))
                report.video_ids.append(o.video_id)
        report.seconds = time.perf_counter() - started
        return report

    # -- thumbnails -----------------------------------------------------------------------------
    def thumbnails_missing(self, landing_date: dt.date | None) -> StepReport:
        started = time.perf_counter()
        report = StepReport()
        todo = self.catalog.videos_needing_thumbnails(landing_date)
        keys = self.catalog.replica_keys([vid for vid, _ in todo], self.hot.url)
        # Videos with no hot copy (adopted in place, archived) are read from a verified copy elsewhere.
        elsewhere = self.catalog.verified_replica_elsewhere([vid for vid, _ in todo if vid not in keys], self.hot.url)
        sources = {url: open_backend(url) for url, _ in elsewhere.values()}
        writer = self.hot.deferred()
        tasks = [ThumbnailTask(vid, sha, writer, keys[vid]) if vid in keys else
                 ThumbnailTask(vid, sha, writer, elsewhere[vid][1], source=sources[elsewhere[vid][0]])
                 for vid, sha in todo if vid in keys or vid in elsewhere]
        outcomes = list(map_files(thumbnail_stored, tasks, self.settings.workers))
        if outcomes:
            self.hot.flush()
        rows: list[dict[str, Any]] = []
        now = utcnow()
        for o in outcomes:
            if o.error:
                report.errors.append((o.video_id, o.error))
                continue
            for image in o.images:
                rows.append({"video_id": o.video_id, "kind": image.kind, "backend": self.hot.url, "key": image.key,
                             "width": image.width, "height": image.height, "size_bytes": image.size_bytes,
                             "sha256": image.sha256, "meta": image.meta, "created_at": now})
                report.bytes_written += image.size_bytes
            report.processed += 1
            report.video_ids.append(o.video_id)
        if rows:
            with self.catalog.write() as s:
                # Upsert: another run may thumbnail the same video at the same moment (same keys, same bytes).
                stmt = upsert(s.connection(), Derivative.__table__, ["video_id", "kind"],
                              ["backend", "key", "width", "height", "size_bytes", "sha256", "meta", "created_at"])
                s.execute(stmt, rows)
        report.seconds = time.perf_counter() - started
        return report

    def poster_preview_markdown(self, video_ids: Sequence[int], limit: int = 8) -> str:
        """A contact sheet of up to ``limit`` posters, captioned with name and duration, inlined as a
        data URI for the Dagster UI. The grid is always full: as many posters as fill whole rows."""
        from PIL import Image, ImageDraw, ImageFont

        ids = list(video_ids)[:limit]
        if not ids:
            return "_no posters in this run_"
        with self.catalog.read() as s:
            rows = s.execute(
                select(Derivative.key, Video.name, Video.duration_s)
                .join(Video, Video.id == Derivative.video_id)
                .where(Derivative.video_id.in_(ids), Derivative.kind == c.DERIVATIVE_POSTER, Derivative.backend == self.hot.url)
                .order_by(Video.id)
            ).all()
        tiles = []
        for key, name, duration in rows:
            try:
                with self.hot.open(key) as fh:
                    image = Image.open(io.BytesIO(fh.read())).convert("RGB")
            except (StorageError, OSError):
                continue
            image.thumbnail((240, 240))
            tiles.append((image, f"{shorten(name, 30)} · {human_duration(duration)}" if duration else shorten(name, 36)))
        if not tiles:
            return "_no posters in this run_"
        cols = len(tiles) if len(tiles) <= 4 else max((4, 3, 2), key=lambda n: (len(tiles) // n * n, n))
        shown = tiles[: len(tiles) // cols * cols]
        caption_h, pad = 22, 6
        cell_w = max(240, max(i.width for i, _ in shown)) + pad
        cell_h = max(i.height for i, _ in shown) + caption_h + pad
        sheet = Image.new("RGB", (cols * cell_w, len(shown) // cols * cell_h), (24, 24, 24))
        draw = ImageDraw.Draw(sheet)
        font = ImageFont.load_default()
        for n, (image, caption) in enumerate(shown):
            x, y = (n % cols) * cell_w, (n // cols) * cell_h
            sheet.paste(image, (x + (cell_w - image.width) // 2, y + pad // 2))
            draw.text((x + pad, y + cell_h - caption_h + 4), caption, fill=(230, 230, 230), font=font)
        buf = io.BytesIO()
        sheet.save(buf, format="JPEG", quality=80)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        more = f"\n\n_{len(shown)} of {len(rows)} posters shown_" if len(shown) < len(rows) else ""
        return f"![posters](data:image/jpeg;base64,{data}){more}"


def segment_row(video_id: int, times: Any, duration_s: float | None) -> dict[str, Any]:
    """A segments row: the end comes from the sidecar, else from the probed duration."""
    end = times.end
    if end is None:
        end = times.start + dt.timedelta(seconds=float(duration_s or 0.0))
    return {
        "video_id": video_id,
        "camera_id": times.camera_id,
        "start_at": times.start,
        "end_at": end,
        "duration_s": (end - times.start).total_seconds(),
        "recording_date": times.start.date(),
        "time_source": times.source,
    }


def probe_columns(probe: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """The catalog columns a probe fills."""
    return {
        "container": probe.get("container"),
        "duration_s": probe.get("duration_s"),
        "width": probe.get("width"),
        "height": probe.get("height"),
        "aspect_ratio": probe.get("aspect_ratio"),
        "video_codec": probe.get("video_codec"),
        "audio_codec": probe.get("audio_codec"),
        "fps": probe.get("fps"),
        "bitrate": probe.get("bitrate"),
        "rotation": probe.get("rotation"),
        "probe": probe,
        "probed_at": now or utcnow(),
        "probe_error": None,
    }


def apply_probe(video: Video, probe: dict[str, Any]) -> None:
    for column, value in probe_columns(probe).items():
        setattr(video, column, value)


def _size_and_mtime(path: Path) -> tuple[int, float] | None:
    """As a listing gives them (``ObjectInfo.size``, ``.mtime``)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime


def _listing_info(item: LandedItem) -> Any:
    from videolake.storage import ObjectInfo

    key = item.key if item.zone is not None else PurePosixPath(item.key).name
    return ObjectInfo(key=key, size=item.size, mtime=item.mtime, regular=item.regular)
