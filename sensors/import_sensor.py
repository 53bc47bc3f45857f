"""Launch fetch runs while imports are due: one run per batch (never one per URL), at most
``MAX_RUNNING`` at once, the run's priority from the nearest deadline it will take — so a link
that expires in minutes is fetched before a backlog of ones that last for days."""

import datetime as dt

import dagster as dg

from pipelines import names
from pipelines.jobs import import_job
from pipelines.partitions import landing_days
from resources import CatalogResource, ImportSettingsResource
from videolake.usecases.imports import due_imports

MAX_RUNNING = 2
PRIORITY_TAG = "dagster/priority"
ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
          dg.DagsterRunStatus.STARTED]


def run_priority(deadline: dt.datetime | None, now: dt.datetime) -> int:
    """Higher runs first in the run queue: minutes to the deadline, banded."""
    if deadline is None:
        return 0
    left = (deadline - now).total_seconds()
    return 100 if left < 600 else 50 if left < 3600 else 10 if left < 86400 else 0


@dg.sensor(
    name=names.SENSOR_IMPORTS,
    job=import_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches a fetch run (a batch, earliest deadline first) while URL imports are due.",
)
def import_queue_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource,
                        imports: ImportSettingsResource) -> dg.SensorResult | dg.SkipReason:
    now = dt.datetime.now(dt.timezone.utc)
    due = due_imports(catalog.catalog(), now)
    if due.count == 0:
        return dg.SkipReason("no import is due")
    running = context.instance.get_runs_count(dg.RunsFilter(job_name=names.JOB_IMPORT, statuses=ACTIVE))
    wanted = min(MAX_RUNNING - running, -(-due.count // max(1, imports.batch_size)))
    if wanted <= 0:
        return dg.SkipReason(f"{due.count} imports are due; {running} fetch runs are on them")
    day = now.date().isoformat()
    new_day = [] if context.instance.has_dynamic_partition(names.PARTITIONS_LANDING_DAYS, day) else [day]
    priority = str(run_priority(due.earliest_deadline, now))
    stamp = now.strftime("%Y%m%dT%H%M%S")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"imports-{stamp}-{n}", partition_key=day,
                                    tags={names.TAG_TRIGGER: names.SENSOR_IMPORTS, PRIORITY_TAG: priority})
                      for n in range(wanted)],
        dynamic_partitions_requests=[landing_days.build_add_request(new_day)] if new_day else None,
    )
