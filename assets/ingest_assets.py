"""The ingest lineage: landing zone -> ingested videos -> video probes -> video thumbnails.

The three assets are one multi-asset so that, when the whole lineage runs (as the landing sensor
asks), each file is read once: hashed, probed, stored and thumbnailed in a single pass on every
core. Selected alone (a backfill, a re-probe), video_probes and video_thumbnails do their own pass
over the day's videos that lack them. Per-file detail goes to the catalog; each asset emits one
MaterializeResult per run with counts, bytes, tables and a preview.
"""

import dataclasses
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
from videolake.archive.write_modes import ReplicationReport, WriteMode, ingest_target, replicate_after_ingest
from videolake.catalog.claimants import describe
from videolake.display import human_bytes
from videolake.ingest.engine import IngestEngine, IngestReport, StepReport
from videolake.storage import BackendUnavailable

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
    hot = hot_storage.backend()
    archive_backend = archive.archive_backend() if mode is not WriteMode.LOCAL else None
    target, fallback = hot, None
    if archive_backend is not None:
        try:
            target, fallback = ingest_target(hot, archive_backend, mode)
        except BackendUnavailable as exc:
            raise dg.Failure(description=f"nothing was ingested (landed files are untouched): {exc}") from exc
    if archive_backend is None:  # LOCAL: hot storage is the one copy written (BOTH and REMOTE were checked above)
        try:
            hot.check()
        except BackendUnavailable as exc:
            _hand_back_batch(catalog, config)
            raise dg.Failure(description=f"nothing was ingested (landed files are untouched): {exc}") from exc
    if fallback:
        context.log.warning(fallback)
    engine = build_ingest_engine(
        catalog, hot_storage, quarantine_storage, landing, ingest_settings,
        zone=config.zone, segments_landing=segments_landing, segment_naming=segment_naming,
        target=target if target is not hot else None,
    )
    day = dt.date.fromisoformat(context.partition_key)
    selected = set(context.selected_asset_keys)
    failure: dg.Failure | None = None
    new_video_ids: list[int] = []

    if INGESTED in selected:
        report, path_errors = _ingest(context, engine, config, day, fused=THUMBNAILS in selected)
        new_video_ids = [r.video_id for r in report.results if r.outcome == c.OUTCOME_INGESTED and r.video_id]
        metadata = _ingest_metadata(report, path_errors)
        metadata["write_mode"] = dg.MetadataValue.text(mode.value)
        metadata["stored_on"] = dg.MetadataValue.text(target.url)
        if archive_backend is not None:
            replication = replicate_after_ingest(engine.catalog, hot, archive_backend, mode, new_video_ids,
                                                 run_id=context.run_id, transfers=archive.transfers)
            metadata.update(_replication_metadata(replication, fallback))
            for note in replication.notes:
                context.log.warning(note)
        yield dg.MaterializeResult(asset_key=INGESTED, metadata=metadata)
        if report.failed or path_errors:
            lines = [f"- {r.name}: {r.detail}" for r in report.failed[:20]] + [f"- {e}" for e in path_errors[:20]]
            failure = dg.Failure(
                description=(
                    f"{len(report.failed) + len(path_errors)} files could not be ingested and stay where they "
                    "are (the rest were recorded):\n" + "\n".join(lines)
                ),
                metadata=metadata,
            )

    if PROBES in selected:
        report = engine.probe_missing(day, reprobe=config.reprobe)
        yield dg.MaterializeResult(asset_key=PROBES, metadata=_probe_metadata(engine, day, report))

    if THUMBNAILS in selected:
        filled = engine.thumbnails_missing(day)
        yield dg.MaterializeResult(asset_key=THUMBNAILS, metadata=_thumbnail_metadata(engine, day, new_video_ids, filled))

    if failure is not None:
        raise failure


def _ingest(context, engine: IngestEngine, config: IngestConfig, day: dt.date, fused: bool) -> tuple[IngestReport, list[str]]:
    """Ingest the run's files: named paths, the sensor's batch, or everything stable in the zone."""
    path_errors: list[str] = []
    engine.prewarm_workers()  # worker processes start while the batch is loaded
    if config.paths:
        items, path_errors = engine.items_for_paths(config.paths, config.source)
    elif config.batch_id:
        items = engine.items_for_batch(config.batch_id, config.source)
    else:
        if config.reclaim:
            engine.settings = dataclasses.replace(engine.settings, requeue_after_seconds=0)
        # Segments: only those recorded on the partition's day belong to this run.
        batches, _ = engine.claim_all_now(day=context.partition_key if config.zone == c.ZONE_SEGMENTS else None)
        items = [i for b in batches for i in engine.items_for_batch(b.batch_id, config.source)]
        report_held = engine.claims_held_elsewhere()
        for held in report_held:
            context.log.info(f"{held.files} files are held by {describe(held.claimant)} since {held.since:%Y-%m-%d %H:%M:%S}Z")
    context.log.info(f"ingesting {len(items)} files for landing day {day}")
    report = engine.ingest(items, day, context.run_id, thumbnails=fused)
    if not config.paths:
        # Files waiting to be complete: those seen, less this run's failures (handed back, seen again).
        report.waiting = max(0, engine.catalog.landing_backlog(engine.zone)["seen"] - len(report.failed))
        if not config.batch_id:
            requeue = dt.timedelta(seconds=engine.settings.requeue_after_seconds)
            report.held = [{"claimant": describe(h.claimant), "files": h.files, "since": h.since.isoformat(),
                            "retried_at": (h.since + requeue).isoformat()} for h in report_held]
    return report, path_errors


def _hand_back_batch(catalog: CatalogResource, config: IngestConfig) -> None:
    """A sensor's batch the run cannot take goes back to the landing zone's queue at once."""
    if config.batch_id:
        cat = catalog.catalog()
        cat.unclaim_landing_files(config.zone, [f.key for f in cat.batch_files(config.zone, config.batch_id)])


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


def _ingest_metadata(report: IngestReport, path_errors: list[str]) -> dict:
    summary = report.summary()
    problems = [
        {"file": r.name, "uri": r.uri, "outcome": r.outcome, "detail": r.detail}
        for r in report.results
        if r.outcome not in (c.OUTCOME_INGESTED, c.OUTCOME_DUPLICATE)
    ] + [{"file": e, "outcome": c.FileOutcome.FAILED, "detail": "not found"} for e in path_errors]
    return with_readable({
        **{k: dg.MetadataValue.int(v) for k, v in summary.items() if k != "seconds"},
        "seconds": dg.MetadataValue.float(float(summary["seconds"])),
        "waiting_for_stability": dg.MetadataValue.int(report.waiting),
        "held_by_other_runs": dg.MetadataValue.json(report.held),
        "files_per_second": dg.MetadataValue.float(round(len(report.results) / report.seconds, 1) if report.seconds else 0.0),
        "quarantine_reasons": dg.MetadataValue.json(dict(report.reasons())),
        "problems": dg.MetadataValue.json(problems[:200]),
        "file_table": dg.MetadataValue.md(report.markdown()),
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
