"""Schedules. The quality sensor runs the checks after new probes; this nightly run also catches
problems that arrive without new probes (a manual catalog edit, a restored backup)."""

import datetime as dt

import dagster as dg

from pipelines import names
from pipelines.jobs import archive_job, catalog_quality_job, integrity_job, retention_job
from pipelines.partitions import add_landing_days
from resources import ArchivePolicyResource, CatalogResource, StorageResource
from videolake.archive.engine import ArchiveEngine

catalog_quality_nightly = dg.ScheduleDefinition(
    name="catalog_quality_nightly",
    job=catalog_quality_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Great Expectations checks over the whole probed catalog, every night.",
)


@dg.schedule(
    name="archive_nightly",
    job=archive_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Archives every landing day older than archive_after_days that still has videos to archive.",
)
def archive_nightly(
    context: dg.ScheduleEvaluationContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    archive: ArchivePolicyResource,
):
    now = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
    engine = ArchiveEngine(catalog.catalog(), hot_storage.backend(), archive.archive_backend(), mode=archive.migration)
    days = engine.days_due(now.date() - dt.timedelta(days=archive.archive_after_days))
    if not days:
        return dg.SkipReason("no landing day past the threshold has videos left to archive")
    add_landing_days(context.instance, [day.isoformat() for day in days])  # days cataloged before they were partitions
    return [
        dg.RunRequest(run_key=f"archive-{day.isoformat()}-{now.date().isoformat()}", partition_key=day.isoformat())
        for day in days
    ]


integrity_nightly = dg.ScheduleDefinition(
    name="integrity_nightly",
    job=integrity_job,
    cron_schedule="0 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Scrubs the hot and archive tiers against the catalog every night.",
)


retention_daily = dg.ScheduleDefinition(
    name="retention_daily",
    job=retention_job,
    cron_schedule="30 5 * * *",
    execution_timezone="UTC",
    run_config={"ops": {names.ASSET_RETENTION_SWEEP: {"config": {"apply": True}}}},
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Applies the retention policies every day (guardrails refuse a suspicious sweep; never forced).",
)
