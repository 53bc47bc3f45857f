"""URL imports: the queue of URLs to keep before they expire -> the videos fetched from them.

One run takes a batch (earliest deadline first, a few per host), fetches it and ingests it like
any upload; each import's outcome is in the catalog, the run's summary in one MaterializeResult.
"""

import datetime as dt

import dagster as dg
from pipelines import names
from pipelines.partitions import landing_days
from resources import (
    ArchivePolicyResource,
    CatalogResource,
    ImportSettingsResource,
    IngestSettingsResource,
    LandingZoneResource,
    StorageResource,
)
from resources.engine_builder import build_ingest_engine
from videolake import constants as c
from videolake.constants import WriteMode
from videolake.ingest.engine import IngestEngine
from videolake.storage import StorageBackend
from videolake.usecases.imports import fetch_imports
from videolake.usecases.ingest import IngestStorages

import_queue = dg.AssetSpec(
    names.ASSET_IMPORT_QUEUE,
    description="URLs handed to `videolake import` (or dropped as *.urls.jsonl), each with its deadline, "
                "queued in the catalog.",
    group_name=names.GROUP_INGEST,
    kinds={"sql"},
)


@dg.asset(
    name=names.ASSET_URL_IMPORTS,
    partitions_def=landing_days,
    deps=[import_queue],
    group_name=names.GROUP_INGEST,
    kinds={"python", "sql"},
    description="Queued URLs fetched before their deadlines (retried, resumed, size-checked) and ingested like any "
                "upload: dedup, probe, thumbnails, quarantine. Per import: done, failed or expired, with why.",
)
def url_imports(
    context: dg.AssetExecutionContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
    archive: ArchivePolicyResource,
    imports: ImportSettingsResource,
) -> dg.MaterializeResult:
    mode = archive.parsed_write_mode()
    storages = IngestStorages(hot=hot_storage.backend(), mode=mode, transfers=archive.transfers,
                              archive=archive.archive_backend() if mode is not WriteMode.LOCAL else None)

    def engine_for(target: StorageBackend | None) -> IngestEngine:
        return build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings,
                                   zone=c.ZONE_UPLOADS, target=target)

    outcome = fetch_imports(catalog.catalog(), run_id=context.run_id, storages=storages, engine_for=engine_for,
                            work_dir=imports.folder(), policy=imports.policy(), limit=imports.batch_size,
                            per_host=imports.per_host, concurrency=imports.concurrency,
                            day=dt.date.fromisoformat(context.partition_key), log=context.log.info)
    rows = [f"| {v.state} | {v.url[:80]} | {v.video_id or ''} | {(v.last_error or '')[:120]} |" for v in outcome.imports[:50]]
    return dg.MaterializeResult(metadata={
        "taken": outcome.taken, "done": outcome.done, "failed": outcome.failed, "expired": outcome.expired,
        "imports": dg.MetadataValue.md("| state | url | video | last error |\n|---|---|---|---|\n" + "\n".join(rows))
        if rows else dg.MetadataValue.md("nothing was due"),
    })
