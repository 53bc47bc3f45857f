"""Ingest: a run's sources into storage and the catalog (``ingest_sources``), and what ingest runs
did, read back from the catalog by run id (``ingest_result``): counts, every file not ingested
with why, what still waits in the landing zones — complete for any batch size (a run's Dagster
metadata holds a summary only)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from videolake.archive.write_modes import ReplicationReport, ingest_target, replicate_after_ingest
from videolake.catalog.claimants import describe
from videolake.catalog.repository import Catalog, HeldClaims
from videolake.constants import ZONE_SEGMENTS, ZONE_UPLOADS, FileOutcome, WriteMode
from videolake.ingest.engine import IngestEngine
from videolake.ingest.reports import IngestReport
from videolake.ingest.sources import Source
from videolake.storage import BackendUnavailable, StorageBackend
from videolake.usecases.errors import Unavailable
from videolake.usecases.results import Result

COUNTED = (("ingested", FileOutcome.INGESTED), ("duplicates", FileOutcome.DUPLICATE),
           ("quarantined", FileOutcome.QUARANTINED), ("skipped", FileOutcome.SKIPPED), ("failed", FileOutcome.FAILED))


@dataclass(frozen=True)
class IngestRun(Result):
    """One run over one landing zone and day (or over named paths: ``from_paths``)."""

    zone: str
    day: str
    run_id: str
    success: bool
    error: str | None = None
    from_paths: bool = False
    landing: str | None = None  # the landing zone's URL (what its bookkeeping is keyed by)


@dataclass(frozen=True)
class FileProblem(Result):
    """A file a run did not ingest (quarantined, skipped or failed), with why."""

    file: str
    uri: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class HeldFiles(Result):
    """Landed files another process holds claimed; taken again at ``retried_at``."""

    landing: str
    claimant: str
    files: int
    since: dt.datetime
    retried_at: dt.datetime


@dataclass(frozen=True)
class IngestResult(Result):
    run_id: str | None  # the first run's
    success: bool
    files: int
    ingested: int
    duplicates: int
    quarantined: int
    skipped: int
    failed: int
    bytes_ingested: int
    waiting_for_stability: int
    problems: list[FileProblem]
    held_by_other_runs: list[HeldFiles]
    runs: list[IngestRun] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{r.zone} {r.day}: {r.error}" for r in self.runs if r.error]

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.errors:
            out["error"] = "; ".join(self.errors)
        return out


def ingest_result(catalog: Catalog, runs: list[IngestRun], *, requeue_after_seconds: float) -> IngestResult:
    """The outcome of ``runs``: per file from the catalog's run records; what waits and what other
    processes hold from the landing zones' bookkeeping as it is now."""
    rows = catalog.run_files([r.run_id for r in runs])
    counts = Counter(r.outcome for r in rows)
    problems = [FileProblem(r.name, r.uri, r.outcome, r.detail) for r in rows
                if r.outcome not in (FileOutcome.INGESTED, FileOutcome.DUPLICATE)]
    zones = sorted({r.landing for r in runs if r.landing and not r.from_paths})
    failed_by_run = Counter(r.run_id for r in rows if r.outcome == FileOutcome.FAILED)
    waiting = 0
    for zone in zones:
        # Files seen and not claimed yet, less this run's failures (handed back, seen again).
        failed = sum(failed_by_run[r.run_id] for r in runs if r.landing == zone and not r.from_paths)
        waiting += max(0, catalog.landing_backlog(zone)["seen"] - failed)
    requeue = dt.timedelta(seconds=requeue_after_seconds)
    held = [HeldFiles(zone, describe(h.claimant), h.files, h.since, h.since + requeue)
            for zone in zones for h in catalog.claims_held(zone)]
    return IngestResult(
        run_id=runs[0].run_id if runs else None, success=all(r.success for r in runs), files=len(rows),
        **{name: counts[outcome] for name, outcome in COUNTED},
        bytes_ingested=sum(r.size_bytes for r in rows if r.outcome == FileOutcome.INGESTED),
        waiting_for_stability=waiting, problems=problems, held_by_other_runs=held, runs=runs,
    )


# -- ingesting a run's sources ---------------------------------------------------------------------
@dataclass(frozen=True)
class IngestRequest:
    """Which sources a run ingests: named paths, a sensor's batch, or (neither) everything complete
    in the zone, claimed now."""

    zone: str = ZONE_UPLOADS  # uploads, or segments (partitioned by recording day)
    paths: tuple[str, ...] = ()
    batch_id: str | None = None
    sources: tuple[Source, ...] = ()  # sources an entry point hands over (an upload in the spool)
    source: str | None = None  # the source name recorded (default: from the landing folder)
    reclaim: bool = False  # take files other runs hold claimed now, without waiting for their claims to expire
    thumbnails: bool = True  # poster and sprite in the same pass as the store


@dataclass(frozen=True)
class IngestStorages:
    """Where a run writes: the hot tier, the archive (when the write mode uses it) and the mode."""

    hot: StorageBackend
    archive: StorageBackend | None
    mode: WriteMode
    transfers: int = 8


@dataclass
class IngestedBatch:
    """What one run's ingest did (per file: ``report``, also recorded under the run id)."""

    report: IngestReport
    path_errors: list[str]
    stored_on: str
    write_mode: WriteMode
    fallback: str | None  # why new videos went to the archive instead of the hot tier
    replication: ReplicationReport | None
    held: list[HeldClaims]
    engine: IngestEngine  # for the probe and thumbnail passes of the same run

    @property
    def new_video_ids(self) -> list[int]:
        return [r.video_id for r in self.report.results if r.outcome == FileOutcome.INGESTED and r.video_id]

    @property
    def not_ingested(self) -> int:
        return len(self.report.failed) + len(self.path_errors)

    def not_ingested_description(self, limit: int = 20) -> str:
        """Why the run failed when files could not be ingested: how many, and the first ``limit``."""
        lines = [f"- {r.name}: {r.detail}" for r in self.report.failed[:limit]]
        lines += [f"- {e}" for e in self.path_errors[:limit]]
        return (f"{self.not_ingested} files could not be ingested and stay where they are (the rest were "
                "recorded):\n" + "\n".join(lines))


def ingest_sources(request: IngestRequest, day: dt.date, *, run_id: str, storages: IngestStorages,
                   engine_for: Callable[[StorageBackend | None], IngestEngine],
                   log: Callable[[str], None] = lambda _: None) -> IngestedBatch:
    """Ingest a run's sources into the catalog and storage.

    Steps:
    1. Where new videos go: the hot tier, or under BOTH and REMOTE the archive when hot is down.
    2. That storage answers, else the sensor's batch goes back to the zone at once and nothing is
       touched (``Unavailable``).
    3. The sources: those handed over, the named paths, the sensor's batch, or everything complete
       in the zone now (segments: those recorded on ``day``).
    4. Ingest them (store, verify, record, then remove what landed; quarantine what is not video).
    5. The replicas the write mode asks for (BOTH, REMOTE), verified; what cannot be copied now is
       recorded pending.
    ``engine_for(target)`` builds the ingestor writing to ``target`` (None: the hot tier).
    """
    engine = engine_for(None)
    # 1. Where new videos go.
    target, fallback = storages.hot, None
    try:
        if storages.archive is not None:
            target, fallback = ingest_target(storages.hot, storages.archive, storages.mode)
        else:  # LOCAL: hot storage is the one copy written (BOTH and REMOTE were checked just above)
            storages.hot.check()
    except BackendUnavailable as exc:
        # 2. Nothing is touched; the batch is handed back.
        if request.batch_id and engine.watcher is not None:
            engine.watcher.hand_back([f.key for f in engine.catalog.batch_files(engine.zone, request.batch_id)])
        raise Unavailable(f"nothing was ingested (landed files are untouched): {exc}") from exc
    if target is not storages.hot:
        engine = engine_for(target)
    # 3. The sources.
    engine.prewarm_workers()  # worker processes start while the sources are listed
    path_errors: list[str] = []
    held: list[HeldClaims] = []
    if request.sources:
        items = [s.item() for s in request.sources]
    elif request.paths:
        items, path_errors = engine.items_for_paths(request.paths, request.source)
    elif request.batch_id:
        items = engine.items_for_batch(request.batch_id, request.source)
    else:
        if request.reclaim:
            engine.settings = dataclasses.replace(engine.settings, requeue_after_seconds=0)
        batches, _ = engine.claim_all_now(day=day.isoformat() if request.zone == ZONE_SEGMENTS else None)
        items = [i for b in batches for i in engine.items_for_batch(b.batch_id, request.source)]
        held = engine.claims_held_elsewhere()
    # 4. Ingest.
    log(f"ingesting {len(items)} files for landing day {day}")
    report = engine.ingest(items, day, run_id, thumbnails=request.thumbnails)
    batch = IngestedBatch(report, path_errors, target.url, storages.mode, fallback, None, held, engine)
    # 5. Replicas.
    if storages.archive is not None:
        batch.replication = replicate_after_ingest(engine.catalog, storages.hot, storages.archive, storages.mode,
                                                   batch.new_video_ids, run_id=run_id, transfers=storages.transfers)
    return batch


# -- the whole lineage, outside Dagster -------------------------------------------------------------
def record_ingest_run(batch: IngestedBatch, zone: str, day: dt.date, *, run_id: str, trigger: str,
                      started: dt.datetime, probed: int = 0, probe_errors: int = 0, thumbnailed: int = 0,
                      thumbnail_errors: int = 0) -> str | None:
    """An ingest made outside a Dagster run (the CLI, an API upload), recorded with its summary for
    the catalog-runs sensor, which reports such runs to Dagster folded per asset and landing day. A run
    that found nothing to do is not recorded. ``probed`` and ``thumbnailed`` count the passes over
    videos ingested before (the run's own new videos are probed and thumbnailed as they are stored).
    Returns why the run failed (files that could not be ingested), or None."""
    from videolake.catalog.models import IngestRunRecord, utcnow

    error = batch.not_ingested_description() if batch.not_ingested else None
    summary = {**batch.report.summary(), "path_errors": len(batch.path_errors), "probed": probed,
               "probe_errors": probe_errors, "thumbnailed": len(batch.new_video_ids) + thumbnailed,
               "thumbnail_errors": thumbnail_errors, "stored_on": batch.stored_on,
               "write_mode": batch.write_mode.value}
    if summary["files"] or summary["path_errors"] or probed or thumbnailed:
        batch.engine.catalog.record_ingest_run(IngestRunRecord(
            run_id=run_id, trigger=trigger, zone=zone, day=day.isoformat(), success=error is None,
            summary=summary, started_at=started, finished_at=utcnow()))
    return error


def run_ingest_lineage(request: IngestRequest, day: dt.date, *, run_id: str, trigger: str, landing: str,
                       storages: IngestStorages, engine_for: Callable[[StorageBackend | None], IngestEngine],
                       log: Callable[[str], None] = lambda _: None) -> IngestRun:
    """The ingest lineage (ingested videos → probes → thumbnails) run here, as ``videolake ingest``
    does: what the Dagster multi-asset does, without a Dagster run around it (its start-up, about
    2 s a process, was a third of a 300-clip ingest). Dagster learns of the run from the catalog:
    the catalog-runs sensor reports it as materializations of the three assets.

    Steps:
    1. Ingest the sources: stored, probed and thumbnailed in one pass (``ingest_sources``); storage
       that cannot be reached ends the run with nothing touched.
    2. What the day's videos still lack: probes, then thumbnails (as the assets fill them).
    3. The run recorded in the catalog (its files already are, by run id), with its summary, unless
       it found nothing to do.
    Returns the run: failed, with why, when storage was down or files could not be ingested.
    """
    from videolake.catalog.models import utcnow

    started = utcnow()
    # 1. Ingest.
    try:
        batch = ingest_sources(request, day, run_id=run_id, storages=storages, engine_for=engine_for, log=log)
    except Unavailable as exc:
        return IngestRun(request.zone, day.isoformat(), run_id, False, str(exc), from_paths=bool(request.paths),
                         landing=landing)
    if batch.fallback:
        log(batch.fallback)
    for note in batch.replication.notes if batch.replication is not None else []:
        log(note)
    # 2. What the day's videos still lack.
    probes = batch.engine.probe_missing(day)
    thumbnails = batch.engine.thumbnails_missing(day)
    # 3. The run, recorded.
    error = record_ingest_run(batch, request.zone, day, run_id=run_id, trigger=trigger, started=started,
                              probed=probes.processed, probe_errors=len(probes.errors),
                              thumbnailed=thumbnails.processed, thumbnail_errors=len(thumbnails.errors))
    return IngestRun(request.zone, day.isoformat(), run_id, error is None, error, from_paths=bool(request.paths),
                     landing=landing)
