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
                            settings=imports.settings(), day=dt.date.fromisoformat(context.partition_key),
                            log=context.log.info)
    rows = [f"| {v.state} | {v.url[:80]} | {v.video_id or ''} | {(v.last_error or '')[:120]} |" for v in outcome.imports[:50]]
    return dg.MaterializeResult(metadata={
        "taken": outcome.taken, "done": outcome.done, "failed": outcome.failed, "expired": outcome.expired,
        "imports": dg.MetadataValue.md("| state | url | video | last error |\n|---|---|---|---|\n" + "\n".join(rows))
        if rows else dg.MetadataValue.md("nothing was due"),
    })


MISSED_WINDOW = dt.timedelta(hours=24)


@dg.asset_check(asset=url_imports, name=names.CHECK_IMPORTS_ON_TIME,
                description="No import is at risk of missing its deadline (not done, due within 10 minutes) and "
                            "none missed its deadline in the last 24 hours.")
def imports_on_time(catalog: CatalogResource) -> dg.AssetCheckResult:
    from videolake.usecases.import_views import imports_at_risk

    now = dt.datetime.now(dt.timezone.utc)
    risk = imports_at_risk(catalog.catalog(), now)
    missed = [v for v in risk.missed if v.deadline is not None and v.deadline > now - MISSED_WINDOW]

    def rows(views) -> str:  # type: ignore[no-untyped-def]
        return "\n".join(f"| {v.id[:12]} | {v.state} | {v.deadline:%Y-%m-%d %H:%M:%S} | {v.url[:80]} | "
                         f"{(v.last_error or '')[:120]} |" for v in views[:50])

    table = "| import | state | deadline (UTC) | url | last error |\n|---|---|---|---|---|\n"
    return dg.AssetCheckResult(
        passed=not risk.at_risk and not missed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"at_risk": len(risk.at_risk), "missed_24h": len(missed),
                  "at_risk_imports": dg.MetadataValue.md(table + rows(risk.at_risk)) if risk.at_risk else "none",
                  "missed_imports": dg.MetadataValue.md(table + rows(missed)) if missed else "none"},
    )
