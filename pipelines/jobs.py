import dagster as dg

from pipelines import names


def _job(name: str, kind: str, selection: dg.AssetSelection, description: str):
    # The assets parallelise per-file work themselves; one process per run keeps a process pool
    # shared across the steps and avoids a process start per step.
    return dg.define_asset_job(
        name=name,
        selection=selection,
        executor_def=dg.in_process_executor,
        tags={"videolake/job": kind},
        description=description,
    )


ingest_job = _job(
    names.JOB_INGEST,
    "ingest",
    dg.AssetSelection.assets(names.ASSET_INGESTED_VIDEOS, names.ASSET_VIDEO_PROBES, names.ASSET_VIDEO_THUMBNAILS).without_checks(),
    "Ingest -> probe -> thumbnails for one batch of landed files (or a whole landing zone).",
)
import_job = _job(
    names.JOB_IMPORT, "import", dg.AssetSelection.assets(names.ASSET_URL_IMPORTS),
    "Fetch queued URL imports (earliest deadline first, a few per host) and ingest them like any upload.",
)
export_job = _job(
    names.JOB_EXPORT, "export", dg.AssetSelection.assets(names.ASSET_VIDEO_EXPORTS),
    "Cut one export request into an MP4 per camera plus a manifest.",
)
archive_job = _job(
    names.JOB_ARCHIVE, "archive", dg.AssetSelection.assets(names.ASSET_ARCHIVED_VIDEOS).without_checks(),
    "Copy (or move) one landing day's videos to the archive tier, verified.",
)
integrity_job = _job(
    names.JOB_INTEGRITY, "integrity",
    dg.AssetSelection.checks_for_assets(names.ASSET_INGESTED_VIDEOS, names.ASSET_ARCHIVED_VIDEOS),
    "Scrub the hot and archive tiers against the catalog (missing, untracked, size, sampled sha256).",
)
retention_job = _job(
    names.JOB_RETENTION, "retention", dg.AssetSelection.assets(names.ASSET_RETENTION_SWEEP, names.ASSET_STORAGE_REPORT),
    "Plan (dry run) or apply the retention policies (age limits, export expiry, quotas; holds respected), then "
    "report storage per backend, source, camera and day.",
)
catalog_quality_job = _job(
    names.JOB_CATALOG_QUALITY, "quality", dg.AssetSelection.checks_for_assets(names.ASSET_VIDEO_PROBES),
    "Great Expectations checks over the whole probed catalog.",
)
