"""The ingest lineage. Per-file detail goes to the catalog; each asset emits one summary per run."""


import datetime as dt
from collections import Counter

import dagster as dg
from sqlalchemy import func, select

from pipelines.partitions import landing_days
from resources import CatalogResource, IngestSettingsResource, LandingZoneResource, StorageResource
from resources.engine_builder import build_ingest_engine
from videolake import constants as c
from videolake.catalog.models import Video
from videolake.ingest.engine import human_bytes

landing_zone = dg.AssetSpec(
    c.ASSET_LANDING_ZONE,
    description="Files dropped into the landing zone (a folder or an S3 prefix), watched by the landing sensor.",
    group_name=c.GROUP_INGEST,
    kinds={"s3", "file"},
)


class IngestConfig(dg.Config):
    """Which files a run ingests. Without batch or paths it claims everything stable in the zone."""

    batch_id: str | None = None
    paths: list[str] = []
    source: str | None = None


@dg.asset(
    name=c.ASSET_INGESTED_VIDEOS,
    deps=[landing_zone],
    partitions_def=landing_days,
    group_name=c.GROUP_INGEST,
    kinds={"python", "sql"},
    description=(
        "Landed files hashed, validated and stored content-addressed in hot storage; duplicates become "
        "catalog links, bad files are quarantined with a reason. Partitioned by landing day."
    ),
)
def ingested_videos(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> dg.MaterializeResult:
    engine = build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings)
    landing_date = dt.date.fromisoformat(context.partition_key)
    path_errors: list[str] = []
    if config.paths:
        items, path_errors = engine.items_for_paths(config.paths, config.source)
    elif config.batch_id:
        items = engine.items_for_batch(config.batch_id, config.source)
    else:
        batches, _ = engine.claim_all_now()
        items = [i for b in batches for i in engine.items_for_batch(b.batch_id, config.source)]
    context.log.info(f"ingesting {len(items)} files for landing day {landing_date}")
    report = engine.ingest(items, landing_date, context.run_id)
    summary = report.summary()
    problems = [
        {"file": r.name, "uri": r.uri, "outcome": r.outcome, "detail": r.detail}
        for r in report.results
        if r.outcome not in (c.OUTCOME_INGESTED, c.OUTCOME_DUPLICATE)
    ] + [{"file": e, "outcome": "failed", "detail": "not found"} for e in path_errors]
    metadata = {
        **{k: dg.MetadataValue.int(v) for k, v in summary.items() if k != "seconds"},
        "seconds": dg.MetadataValue.float(summary["seconds"]),
        "files_per_second": dg.MetadataValue.float(round(len(report.results) / report.seconds, 1) if report.seconds else 0.0),
        "quarantine_reasons": dg.MetadataValue.json(dict(report.reasons())),
        "problems": dg.MetadataValue.json(problems[:200]),
        "file_table": dg.MetadataValue.md(report.markdown()),
    }
    failed = report.failed
    if failed or path_errors:
        lines = [f"- {r.name}: {r.detail}" for r in failed[:20]] + [f"- {e}" for e in path_errors[:20]]
        raise dg.Failure(
            description=(
                f"{len(failed) + len(path_errors)} files could not be ingested and stay where they are "
                "(the rest were recorded):\n" + "\n".join(lines)
            ),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


class ProbeConfig(dg.Config):
    reprobe: bool = False


@dg.asset(
    name=c.ASSET_VIDEO_PROBES,
    deps=[ingested_videos],
    partitions_def=landing_days,
    group_name=c.GROUP_INGEST,
    kinds={"python", "sql"},
    description=(
        "Probe metadata (duration, size, codecs, fps, bitrate, container, rotation) for the day's videos. "
        "Ingest records the probe it made while validating; this step probes whatever lacks one "
        "(or everything, with reprobe) from hot storage and summarises the day."
    ),
)
def video_probes(
    context: dg.AssetExecutionContext,
    config: ProbeConfig,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> dg.MaterializeResult:
    engine = build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings)
    day = dt.date.fromisoformat(context.partition_key)
    report = engine.probe_missing(day, reprobe=config.reprobe)
    with engine.catalog.read() as s:
        rows = s.execute(
            select(Video.video_codec, Video.audio_codec, Video.width, Video.height, Video.duration_s, Video.size_bytes)
            .where(Video.landing_date == day, Video.probed_at.is_not(None), Video.probe_error.is_(None))
        ).all()
        probed = s.scalar(select(func.count(Video.id)).where(Video.landing_date == day, Video.probed_at.is_not(None)))
    codecs = Counter(f"{r.video_codec} / {r.audio_codec or 'no audio'}" for r in rows)
    sizes = Counter(f"{r.width}x{r.height}" for r in rows)
    table = ["| codecs | videos |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in codecs.most_common(20)]
    table += ["", "| resolution | videos |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in sizes.most_common(20)]
    errors = [{"video_id": vid, "error": err} for vid, err in report.errors[:100]]
    return dg.MaterializeResult(
        metadata={
            "probed_now": dg.MetadataValue.int(report.processed),
            "videos_probed_for_day": dg.MetadataValue.int(int(probed or 0)),
            "probe_errors": dg.MetadataValue.json(errors),
            "total_duration_s": dg.MetadataValue.float(float(round(sum(r.duration_s or 0.0 for r in rows), 2))),
            "total_size": dg.MetadataValue.text(human_bytes(sum(r.size_bytes for r in rows))),
            "summary": dg.MetadataValue.md("\n".join(table)),
        }
    )


@dg.asset(
    name=c.ASSET_VIDEO_THUMBNAILS,
    deps=[video_probes],
    partitions_def=landing_days,
    group_name=c.GROUP_INGEST,
    kinds={"python", "jpeg"},
    description="A poster JPEG and a scrub sprite sheet per video, decoded from keyframes, stored beside the content.",
)
def video_thumbnails(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> dg.MaterializeResult:
    engine = build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings)
    day = dt.date.fromisoformat(context.partition_key)
    report = engine.thumbnails_missing(day)
    return dg.MaterializeResult(
        metadata={
            "videos_thumbnailed": dg.MetadataValue.int(report.processed),
            "bytes_written": dg.MetadataValue.int(report.bytes_written),
            "errors": dg.MetadataValue.json([{"video_id": v, "error": e} for v, e in report.errors[:100]]),
            "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
            "preview": dg.MetadataValue.md(engine.poster_preview_markdown(report.video_ids)),
        }
    )
