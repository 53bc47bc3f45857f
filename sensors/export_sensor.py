"""Launch export runs for unfinished export requests, and retry ones whose run died.

The first run's key is the export id; when every run of an export ended without finishing it (the
process was killed, the run failed to start), a new attempt is launched, up to MAX_ATTEMPTS, after
which the export is marked FAILED with the reason.
"""

import dagster as dg

from pipelines import names
from pipelines.jobs import export_job
from resources import CatalogResource
from videolake.exports.engine import give_up, unfinished_exports

MAX_ATTEMPTS = 3
EXPORT_TAG = names.TAG_EXPORT


@dg.sensor(
    name=names.SENSOR_EXPORTS,
    job=export_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs export requests made with `videolake export create`; retries exports whose run died.",
)
def export_requests_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource):
    cat = catalog.catalog()
    requests = []
    for export_id in unfinished_exports(cat):
        runs = context.instance.get_runs(filters=dg.RunsFilter(tags={EXPORT_TAG: export_id}))
        if any(not run.is_finished for run in runs):
            continue  # a run is queued or working on it
        if len(runs) >= MAX_ATTEMPTS:
            give_up(cat, export_id, f"gave up after {len(runs)} runs ended without finishing the export")
            continue
        requests.append(
            dg.RunRequest(
                run_key=export_id if not runs else f"{export_id}:attempt-{len(runs) + 1}",
                run_config={"ops": {names.ASSET_VIDEO_EXPORTS: {"config": {"export_id": export_id}}}},
                tags={EXPORT_TAG: export_id, names.TAG_TRIGGER: names.SENSOR_EXPORTS},
            )
        )
    return requests or dg.SkipReason("no pending export requests")
