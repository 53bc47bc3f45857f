
import dagster as dg

from videolake import constants as c

# The assets parallelise per-file work over every core themselves; one process per run keeps
# the process pool shared across the steps and avoids a process start per step.
ingest_job = dg.define_asset_job(
    name=c.JOB_INGEST,
    selection=dg.AssetSelection.assets(
        c.ASSET_INGESTED_VIDEOS, c.ASSET_VIDEO_PROBES, c.ASSET_VIDEO_THUMBNAILS
    ).without_checks(),
    executor_def=dg.in_process_executor,
    tags={"videolake/job": "ingest"},
    description="Ingest -> probe -> thumbnails for one batch of landed files (or a whole landing zone).",
)

export_job = dg.define_asset_job(
    name=c.JOB_EXPORT,
    selection=dg.AssetSelection.assets(c.ASSET_VIDEO_EXPORTS),
    executor_def=dg.in_process_executor,
    tags={"videolake/job": "export"},
    description="Cut one export request into an MP4 per camera plus a manifest.",
)

archive_job = dg.define_asset_job(
    name=c.JOB_ARCHIVE,
    selection=dg.AssetSelection.assets(c.ASSET_ARCHIVED_VIDEOS),
    executor_def=dg.in_process_executor,
    tags={"videolake/job": "archive"},
    description="Copy (or move) one landing day's videos to the archive tier, verified.",
)

catalog_quality_job = dg.define_asset_job(
    name=c.JOB_CATALOG_QUALITY,
    selection=dg.AssetSelection.checks_for_assets(c.ASSET_VIDEO_PROBES),
    executor_def=dg.in_process_executor,
    tags={"videolake/job": "quality"},
    description="Great Expectations checks over the whole probed catalog.",
)
