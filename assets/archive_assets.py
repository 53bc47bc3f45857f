"""Archival migration: each landing day's videos copied (or moved) to the archive tier, verified."""

import datetime as dt

import dagster as dg

from assets.readable import with_readable
from pipelines import names
from pipelines.partitions import landing_days
from resources import ArchivePolicyResource, CatalogResource, StorageResource
from videolake.archive.engine import ArchiveEngine
from videolake.display import human_bytes


@dg.asset(
    name=names.ASSET_ARCHIVED_VIDEOS,
    deps=[dg.AssetKey(names.ASSET_INGESTED_VIDEOS)],
    partitions_def=landing_days,
    group_name=names.GROUP_ARCHIVE,
    kinds={"python", "s3"},
    description=(
        "Every video of the day holds a verified replica in the archive tier (re-read against its sha256); "
        "with migration=move the hot copy is deleted only after that. Rerunning a done day changes nothing."
    ),
)
def archived_videos(
    context: dg.AssetExecutionContext, catalog: CatalogResource, hot_storage: StorageResource, archive: ArchivePolicyResource
) -> dg.MaterializeResult:
    engine = ArchiveEngine(catalog.catalog(), hot_storage.backend(), archive.archive_backend(), mode=archive.migration,
                           transfers=archive.transfers)
    report = engine.run(day=dt.date.fromisoformat(context.partition_key), run_id=context.run_id)
    metadata = {
        "archived_now": dg.MetadataValue.int(len(report.archived)),
        "bytes_copied": dg.MetadataValue.int(report.bytes_copied),
        "copied": dg.MetadataValue.text(human_bytes(report.bytes_copied)),
        "hot_copies_deleted": dg.MetadataValue.int(report.hot_deleted),
        "hot_copies_kept_after_failed_delete": dg.MetadataValue.int(report.hot_delete_errors),
        "archive": dg.MetadataValue.text(engine.archive.url),
        "migration": dg.MetadataValue.text(engine.mode),
        "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        "errors": dg.MetadataValue.json([{"video_id": v, "error": e} for v, e in report.errors[:100]]),
    }
    if report.errors:
        raise dg.Failure(
            description=f"{len(report.errors)} videos could not be archived (their hot copies are kept): "
            + "; ".join(f"{v}: {e}" for v, e in report.errors[:10]),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=with_readable(metadata))
