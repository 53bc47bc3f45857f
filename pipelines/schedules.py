"""Schedules. The quality sensor runs the checks after new probes; this nightly run also catches
problems that arrive without new probes (a manual catalog edit, a restored backup)."""

import dagster as dg

from pipelines.jobs import catalog_quality_job

catalog_quality_nightly = dg.ScheduleDefinition(
    name="catalog_quality_nightly",
    job=catalog_quality_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Great Expectations checks over the whole probed catalog, every night.",
)
