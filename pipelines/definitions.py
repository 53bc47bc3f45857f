"""The code location: every asset, check, job, sensor and resource, configured from EnvVar."""


from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg

from assets import (
    archived_videos,
    catalog_quality_checks,
    import_queue,
    imports_on_time,
    ingest_lineage,
    landing_zone,
    retention_sweep,
    storage_report,
    url_imports,
    video_exports,
)
from assets.integrity_checks import archive_integrity, hot_storage_integrity
from pipelines.jobs import (
    archive_job,
    catalog_quality_job,
    export_job,
    import_job,
    ingest_job,
    integrity_job,
    retention_job,
)
from pipelines.schedules import archive_nightly, catalog_quality_nightly, integrity_nightly, retention_daily
from resources import (
    ArchivePolicyResource,
    CatalogResource,
    ImportSettingsResource,
    IngestSettingsResource,
    LandingZoneResource,
    RetentionPolicyResource,
    SegmentNamingResource,
    StorageReportResource,
    StorageResource,
)
from sensors import catalog_quality_sensor, catalog_runs_sensor, export_requests_sensor, import_queue_sensor, landing_zone_sensor, segments_sensor
from videolake import constants as c
from videolake.settings import default_environment


def build_resources(env: Mapping[str, str] | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources of the Definitions. Without ``env`` every value is an ``EnvVar``, read when a run
    or tick starts (never at import); with ``env`` (tests, a tool with its own configuration) the
    same resources hold that mapping's values, unset ones filled with the defaults."""
    if env is None:
        text: Callable[[str], Any] = dg.EnvVar
        number: Callable[[str], Any] = dg.EnvVar.int
    else:
        values = default_environment(env)

        def text(key: str) -> Any:
            return values[key]

        def number(key: str) -> Any:
            return int(values[key])

    return {
        "catalog": CatalogResource(url=text(c.ENV_CATALOG_URL)),
        "hot_storage": StorageResource(url=text(c.ENV_HOT_STORAGE)),
        "quarantine_storage": StorageResource(url=text(c.ENV_QUARANTINE)),
        "archive": ArchivePolicyResource(
            archive_url=text(c.ENV_ARCHIVE_STORAGE),
            migration=text(c.ENV_MIGRATION),
            write_mode=text(c.ENV_WRITE_MODE),
            archive_after_days=number(c.ENV_ARCHIVE_AFTER_DAYS),
        ),
        "retention": RetentionPolicyResource(path=text(c.ENV_RETENTION)),
        "reports": StorageReportResource(metrics_file=text(c.ENV_METRICS_FILE)),
        "landing": LandingZoneResource(url=text(c.ENV_LANDING)),
        "segments_landing": LandingZoneResource(url=text(c.ENV_SEGMENTS_LANDING)),
        "segment_naming": SegmentNamingResource(template=text(c.ENV_SEGMENT_TEMPLATE)),
        "ingest_settings": IngestSettingsResource(
            stable_after_seconds=number(c.ENV_STABLE_AFTER_SECONDS),
            min_unchanged_seconds=number(c.ENV_SETTLE_SECONDS),
            batch_max_files=number(c.ENV_BATCH_MAX_FILES),
            workers=number(c.ENV_WORKERS),
        ),
        "imports": ImportSettingsResource(work_dir=text(c.Env.IMPORT_DIR.value),
                                          allow_private=text(c.Env.IMPORT_ALLOW_PRIVATE.value),
                                          per_host=number(c.Env.IMPORT_PER_HOST.value), batch_size=number(c.Env.IMPORT_BATCH.value),
                                          lease_seconds=number(c.Env.IMPORT_LEASE_SECONDS.value)),
    }


defs = dg.Definitions(
    assets=[landing_zone, ingest_lineage, import_queue, url_imports, video_exports, archived_videos, retention_sweep, storage_report],
    asset_checks=[catalog_quality_checks, hot_storage_integrity, archive_integrity, imports_on_time],
    jobs=[ingest_job, import_job, export_job, archive_job, integrity_job, catalog_quality_job, retention_job],
    sensors=[landing_zone_sensor, segments_sensor, export_requests_sensor, catalog_quality_sensor, import_queue_sensor,
             catalog_runs_sensor],
    schedules=[catalog_quality_nightly, archive_nightly, integrity_nightly, retention_daily],
    resources=build_resources(),
)
