"""The ingestor: store, catalog, probe and thumbnail batches of sources (``LandedItem``: a
landing-zone object, a local file, an entry point's own output), the domain logic behind the ingest
assets. It composes the landing watcher (``ingest/watcher.py``: listing, stability, claims,
recording days) and the quarantiner (``ingest/quarantine.py``); workers (``ingest/worker.py``) do
the per-file work, and every catalog write goes through ``catalog/repository.py`` statements.

Order of every destructive step: store (verified) -> record in the catalog (committed) -> only
then remove the landed file. A crash anywhere leaves the file in the landing zone, and the next
run recognises content it already stored or recorded, so reruns are idempotent.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import insert, select, update

from videolake import constants as c
from videolake.catalog.models import Derivative, Landing, Replica, Segment, Video, utcnow
from videolake.catalog.repository import (
    Batch,
    Catalog,
    HeldClaims,
    ObservationSummary,
    insert_ignoring_conflicts,
    upsert,
)
from videolake.display import human_duration, shorten
from videolake.ingest.landing import (
    LandedItem,
    LandingListing,
    display_text,
    expand_paths,
    read_sidecar,
    rejection_for_listing,
    source_for_key,
)
from videolake.ingest.parallel import MIN_ITEMS_FOR_POOL, map_files, prewarm
from videolake.ingest.quarantine import Quarantiner
from videolake.ingest.reports import FileResult, IngestReport, StepReport
from videolake.ingest.sources import Source
from videolake.ingest.watcher import LandingWatcher
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
from videolake.media.inspection import MediaLimits
from videolake.segments.naming import SegmentTemplate
from videolake.storage import ObjectInfo, StorageBackend, StorageError, open_backend
from videolake.storage.local_backend import LocalBackend

RECORD_CHUNK = 200
# Outcomes are also recorded once this many bytes are stored: a run of large files is then made
# durable, cataloged and removed from the landing zone file by file while the workers go on,
# instead of all of it (a syncfs of every byte, then the removals) after the last one.
RECORD_BYTES = 256 * 1024 * 1024


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
    # Fewer files than this are worked on in the calling process. A server ingesting from several
    # threads sets 1: FFmpeg decoding in two threads of one process at once is not safe (seen
    # here: a hang, and a crash in free()), and the server's own memory stays small.
    pool_min_items: int = MIN_ITEMS_FOR_POOL
    # One flush of the file system (syncfs) per chunk of files instead of an fsync per file: right
    # for a batch; a server ingesting one upload at a time beside others being received sets False
    # (a syncfs would also flush every upload still arriving).
    group_commit: bool = True


@dataclass(frozen=True)
class PlannedLanding:
    """A stored file about to be recorded: what became of it, and the landing row it adds."""

    stored: IngestOutcome
    outcome: str  # ingested or duplicate
    detail: str
    source_type: str
    sidecar: Any  # the sidecar's data (or its error) recorded with the landing
    add_landing: bool  # False when a run before recorded this landing already (a rerun after a crash)


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
        # With a template this engine's landing zone holds recording segments.
        self.segment_template = segment_template
        self.quarantiner = Quarantiner(catalog, quarantine, landing)
        self.watcher = (LandingWatcher(catalog, landing, self.quarantiner, settings=settings or IngestSettings(),
                                       segment_template=segment_template) if landing is not None else None)
        self.settings = settings or IngestSettings()

    @property
    def settings(self) -> IngestSettings:
        return self._settings

    @settings.setter
    def settings(self, value: IngestSettings) -> None:
        self._settings = value
        if self.watcher is not None:
            self.watcher.settings = value

    @property
    def zone(self) -> str:
        if self.landing is None:
            raise ValueError("no landing zone configured")
        return self.landing.url

    # -- the sensor's side: the landing watcher ------------------------------------------------
    def _watcher(self) -> LandingWatcher:
        if self.watcher is None:
            raise ValueError("no landing zone configured")
        return self.watcher

    def recording_day(self, key: str) -> str | None:
        return self._watcher().recording_day(key)

    def observe_and_claim(
        self, tick: int, *, now: dt.datetime | None = None, max_batches: int | None = None, day: str | None = None
    ) -> tuple[ObservationSummary, list[Batch], LandingListing]:
        return self._watcher().observe_and_claim(tick, now=now, max_batches=max_batches, day=day)

    def prewarm_workers(self) -> None:
        prewarm(self.settings.workers)

    def claim_all_now(self, day: str | None = None) -> tuple[list[Batch], LandingListing]:
        return self._watcher().claim_all_now(day)

    def items_for_batch(self, batch_id: str, source: str | None = None) -> list[LandedItem]:
        return self._watcher().items_for_batch(batch_id, source)

    def claims_held_elsewhere(self) -> list[HeldClaims]:
        return self._watcher().claims_held_elsewhere()

    def _landing_uri(self, key: str) -> str:
        return self._watcher().landing_uri(key)

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
    def ingest_sources(self, sources: Sequence[Source], landing_date: dt.date, run_id: str | None = None, *,
                       thumbnails: bool = False) -> IngestReport:
        """Ingest ``sources`` (landing objects, local files, entry points' own files) as one batch."""
        return self.ingest([s.item() for s in sources], landing_date, run_id, thumbnails=thumbnails)

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
        # Workers skip per-file fsync and _record flushes once per chunk (group commit), or each write is durable.
        hot_writer = self.hot.deferred() if self.settings.group_commit else self.hot
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
        known = self.catalog.known_sizes(t.item.size for t in tasks) if tasks else set()
        tasks = [dataclasses.replace(t, new_size=t.item.size not in known) for t in tasks]
        self._add_results(report, rejected, run_id)
        pending: list[IngestOutcome] = []
        pending_bytes = 0
        # Record while workers carry on; small enough chunks keep the last, serial one short.
        chunk = max(25, min(RECORD_CHUNK, len(tasks) // 3))
        try:
            for outcome in map_files(ingest_file, tasks, self.settings.workers, min_items=self.settings.pool_min_items):
                pending.append(outcome)
                pending_bytes += (outcome.size or 0) if outcome.status == STATUS_STORED else 0
                if len(pending) >= chunk or pending_bytes >= RECORD_BYTES:
                    self._add_results(report, self._record(pending, landing_date, run_id), run_id)
                    pending, pending_bytes = [], 0
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
        return self._watcher().with_segment_times(item)

    def _read_sidecar(self, item: LandedItem) -> tuple[str | None, Any]:
        """(sidecar key or path, parsed Sidecar) for an item, or (None, None)."""
        return read_sidecar(self.landing, item)

    def _record(self, outcomes: list[IngestOutcome], landing_date: dt.date, run_id: str | None) -> list[FileResult]:
        results: list[FileResult] = []
        stored = [o for o in outcomes if o.status == STATUS_STORED]
        if stored and self.settings.group_commit:
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
        planned: list[PlannedLanding] = []
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
            planned.append(PlannedLanding(o, outcome, detail, source_type, sidecar_data, add_landing=not previous))
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
                for n, p in enumerate(planned):
                    if p.stored.sha256 in raced and p.outcome == c.OUTCOME_INGESTED:
                        vid, name = known[p.stored.sha256]
                        planned[n] = dataclasses.replace(
                            p, outcome=c.OUTCOME_DUPLICATE,
                            detail=f"same content as video {vid} ({name}), recorded by another run at the same moment")
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
            {"video_id": known[p.stored.sha256][0], "landing_uri": p.stored.item.uri, "name": p.stored.item.name,
             "source": p.stored.item.source, "source_type": p.source_type, "sha256": p.stored.sha256,
             "size_bytes": p.stored.size or p.stored.item.size, "outcome": p.outcome, "sidecar": p.sidecar,
             "run_id": run_id, "landed_at": now}
            for p in planned
            if p.add_landing
        ]
        if landings:
            s.execute(insert(Landing), landings)
        segments = [
            segment_row(known[p.stored.sha256][0], p.stored.item.segment, durations.get(p.stored.sha256))
            for p in planned
            if p.add_landing and p.stored.item.segment is not None
        ]
        if segments:
            s.execute(insert(Segment), segments)
        return results_retry + [
            FileResult(p.stored.item.name, p.stored.item.uri, p.outcome, p.stored.size or p.stored.item.size,
                       p.stored.sha256, known[p.stored.sha256][0], p.detail)
            for p in planned
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
        return self.quarantiner.quarantine_file(item, reason, detail, sha256, run_id)

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
        outcomes = list(map_files(probe_stored, tasks, self.settings.workers, min_items=self.settings.pool_min_items))
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
        outcomes = list(map_files(thumbnail_stored, tasks, self.settings.workers, min_items=self.settings.pool_min_items))
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


def _listing_info(item: LandedItem) -> Any:
    from videolake.storage import ObjectInfo

    key = item.key if item.zone is not None else PurePosixPath(item.key).name
    return ObjectInfo(key=key, size=item.size, mtime=item.mtime, regular=item.regular)
