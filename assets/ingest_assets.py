"""The ingest lineage: landing zone -> ingested videos -> video probes -> video thumbnails.

The three assets are one multi-asset so that, when the whole lineage runs (as the landing sensor
asks), each file is read once: hashed, probed, stored and thumbnailed in a single pass on every
core. Selected alone (a backfill, a re-probe), video_probes and video_thumbnails do their own pass
over the day's videos that lack them. Per-file detail goes to the catalog; each asset emits one
MaterializeResult per run with counts, bytes, tables and a preview.
"""

import datetime as dt

import dagster as dg
from assets.readable import with_readable
from pipelines import names
from pipelines.partitions import landing_days
from resources import (
    ArchivePolicyResource,
    CatalogResource,
    IngestSettingsResource,
    LandingZoneResource,
    SegmentNamingResource,
    StorageResource,
)
from resources.engine_builder import build_ingest_engine
from videolake import constants as c
from videolake.archive.write_modes import ReplicationReport
from videolake.catalog.claimants import describe
from videolake.display import human_bytes
from videolake.constants import WriteMode
from videolake.ingest.engine import IngestEngine, StepReport
from videolake.storage import StorageBackend
from videolake.usecases.errors import Unavailable
from videolake.usecases.ingest import IngestedBatch, IngestRequest, IngestStorages, ingest_sources

landing_zone = dg.AssetSpec(
    names.ASSET_LANDING_ZONE,
    description="Files dropped into the landing zone (a folder or an S3 prefix), watched by the landing sensor.",
    group_name=names.GROUP_INGEST,
    kinds={"s3", "file"},
)

INGESTED = dg.AssetKey(names.ASSET_INGESTED_VIDEOS)
PROBES = dg.AssetKey(names.ASSET_VIDEO_PROBES)
THUMBNAILS = dg.AssetKey(names.ASSET_VIDEO_THUMBNAILS)


class IngestConfig(dg.Config):
    """Which files a run ingests. Without batch or paths it claims everything stable in the zone."""

    batch_id: str | None = None
    paths: list[str] = []
    source: str | None = None
    reprobe: bool = False
    reclaim: bool = False  # take files other runs hold claimed now, without waiting for their claims to expire
    zone: str = c.ZONE_UPLOADS  # "uploads", or "segments": recording segments, partitioned by recording day


@dg.multi_asset(
    name=names.OP_INGEST_LINEAGE,
    partitions_def=landing_days,
    can_subset=True,
    group_name=names.GROUP_INGEST,
    specs=[
        dg.AssetSpec(
            INGESTED,
            deps=[landing_zone],
            kinds={"python", "sql"},
            description=(
                "Landed files hashed, validated and stored content-addressed in hot storage; duplicates "
                "become catalog links, bad files are quarantined with a reason. Partitioned by landing day."
            ),
            skippable=True,
        ),
        dg.AssetSpec(
            PROBES,
            deps=[INGESTED],
            kinds={"python", "sql"},
            description=(
                "Probe metadata (duration, size, codecs, fps, bitrate, container, rotation) of the day's videos; "
                "alone (or with reprobe) it probes from hot storage whatever lacks a probe."
            ),
            skippable=True,
        ),
        dg.AssetSpec(
            THUMBNAILS,
            deps=[PROBES],
            kinds={"python", "jpeg"},
            description="A poster JPEG and a scrub sprite sheet per video, decoded from keyframes.",
            skippable=True,
        ),
    ],
)
def ingest_lineage(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
    segments_landing: LandingZoneResource,
    segment_naming: SegmentNamingResource,
    archive: ArchivePolicyResource,
):
    mode = archive.parsed_write_mode()
    storages = IngestStorages(hot=hot_storage.backend(), mode=mode, transfers=archive.transfers,
                              archive=archive.archive_backend() if mode is not WriteMode.LOCAL else None)

    def engine_for(target: StorageBackend | None) -> IngestEngine:
        return build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings, zone=config.zone,
                                   segments_landing=segments_landing, segment_naming=segment_naming, target=target)

    day = dt.date.fromisoformat(context.partition_key)
    selected = set(context.selected_asset_keys)
    failure: dg.Failure | None = None
    new_video_ids: list[int] = []
    engine = None

    if INGESTED in selected:
        request = IngestRequest(zone=config.zone, paths=tuple(config.paths), batch_id=config.batch_id,
                                source=config.source, reclaim=config.reclaim, thumbnails=THUMBNAILS in selected)
        try:
            batch = ingest_sources(request, day, run_id=context.run_id, storages=storages, engine_for=engine_for,
                                   log=context.log.info)
        except Unavailable as exc:
            raise dg.Failure(description=str(exc)) from exc
        engine = batch.engine
        if batch.fallback:
            context.log.warning(batch.fallback)
        for held in batch.held:
            context.log.info(f"{held.files} files are held by {describe(held.claimant)} since {held.since:%Y-%m-%d %H:%M:%S}Z")
        new_video_ids = batch.new_video_ids
        metadata = _ingest_metadata(batch, config)
        if batch.replication is not None:
            metadata.update(_replication_metadata(batch.replication, batch.fallback))
            for note in batch.replication.notes:
                context.log.warning(note)
        yield dg.MaterializeResult(asset_key=INGESTED, metadata=metadata)
        if batch.not_ingested:
            failure = dg.Failure(description=batch.not_ingested_description(), metadata=metadata)

    engine = engine or engine_for(None)
    if PROBES in selected:
        report = engine.probe_missing(day, reprobe=config.reprobe)
        yield dg.MaterializeResult(asset_key=PROBES, metadata=_probe_metadata(engine, day, report))

    if THUMBNAILS in selected:
        filled = engine.thumbnails_missing(day)
        yield dg.MaterializeResult(asset_key=THUMBNAILS, metadata=_thumbnail_metadata(engine, day, new_video_ids, filled))

    if failure is not None:
        raise failure


def _replication_metadata(replication: ReplicationReport, fallback: str | None) -> dict:
    rows = "\n".join(f"| {vid} | {backend} | {why[:120]} |" for vid, backend, why in replication.pending[:50])
    table = "| video | pending on | why |\n|---|---|---|\n" + rows if rows else "nothing pending"
    return with_readable({
        "replicas_copied": dg.MetadataValue.int(replication.copied),
        "replica_bytes_copied": dg.MetadataValue.int(replication.bytes_copied),
        "hot_copies_deleted": dg.MetadataValue.int(replication.hot_deleted),
        "replicas_pending": dg.MetadataValue.int(len(replication.pending)),
        "pending_replicas": dg.MetadataValue.md(table),
        "write_notes": dg.MetadataValue.json([fallback, *replication.notes] if fallback else replication.notes),
    })


def _ingest_metadata(batch: IngestedBatch, config: IngestConfig) -> dict:
    """A summary for the UI (the complete outcome is in the catalog under the run id)."""
    report = batch.report
    summary = report.summary()
    problems = [
        {"file": r.name, "uri": r.uri, "outcome": r.outcome, "detail": r.detail}
        for r in report.results
        if r.outcome not in (c.OUTCOME_INGESTED, c.OUTCOME_DUPLICATE)
    ] + [{"file": e, "outcome": c.FileOutcome.FAILED, "detail": "not found"} for e in batch.path_errors]
    # Files waiting to be complete: those seen, less this run's failures (handed back, seen again).
    waiting = 0 if config.paths else max(0, batch.engine.catalog.landing_backlog(batch.engine.zone)["seen"]
                                         - len(report.failed))
    return with_readable({
        **{k: dg.MetadataValue.int(v) for k, v in summary.items() if k != "seconds"},
        "seconds": dg.MetadataValue.float(float(summary["seconds"])),
        "waiting_for_stability": dg.MetadataValue.int(waiting),
        "held_by_other_runs": dg.MetadataValue.json([{"claimant": describe(h.claimant), "files": h.files,
                                                      "since": h.since.isoformat()} for h in batch.held]),
        "files_per_second": dg.MetadataValue.float(round(len(report.results) / report.seconds, 1) if report.seconds else 0.0),
        "quarantine_reasons": dg.MetadataValue.json(dict(report.reasons())),
        "problems": dg.MetadataValue.json(problems[:200]),
        "file_table": dg.MetadataValue.md(report.markdown()),
        "write_mode": dg.MetadataValue.text(batch.write_mode.value),
        "stored_on": dg.MetadataValue.text(batch.stored_on),
    })


def _probe_metadata(engine: IngestEngine, day: dt.date, report: StepReport) -> dict:
    figures = engine.catalog.probe_figures(day)
    table = ["| codecs | videos |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in figures.codecs.most_common(20)]
    table += ["", "| resolution | videos |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in figures.sizes.most_common(20)]
    return with_readable({
        "probed_now": dg.MetadataValue.int(report.processed),
        "videos_probed_for_day": dg.MetadataValue.int(figures.probed),
        "probe_errors": dg.MetadataValue.json([{"video_id": v, "error": e} for v, e in report.errors[:100]]),
        "total_duration_s": dg.MetadataValue.float(float(round(figures.duration_s, 2))),
        "total_size": dg.MetadataValue.text(human_bytes(figures.size_bytes)),
        "summary": dg.MetadataValue.md("\n".join(table)),
    })


def _thumbnail_metadata(engine: IngestEngine, day: dt.date, made_in_ingest: list[int], filled: StepReport) -> dict:
    count, size = engine.catalog.derivative_totals(day)
    ids = made_in_ingest + filled.video_ids
    return with_readable({
        "videos_thumbnailed": dg.MetadataValue.int(len(ids)),
        "made_while_ingesting": dg.MetadataValue.int(len(made_in_ingest)),
        "filled_now": dg.MetadataValue.int(filled.processed),
        "thumbnail_files_for_day": dg.MetadataValue.int(int(count)),
        "thumbnail_bytes_for_day": dg.MetadataValue.int(int(size)),
        "errors": dg.MetadataValue.json([{"video_id": v, "error": e} for v, e in filled.errors[:100]]),
        "preview": dg.MetadataValue.md(engine.poster_preview_markdown(ids)),
    })
