"""Launch an export run for every PENDING export request (run key = export id, so once each)."""

import dagster as dg

from pipelines.jobs import export_job
from resources import CatalogResource
from videolake import constants as c
from videolake.exports.engine import pending_exports


@dg.sensor(
    name=c.SENSOR_EXPORTS,
    job=export_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Picks up export requests made with `videolake export create` and runs them.",
)
def export_requests_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource):
    pending = pending_exports(catalog.catalog())
    if not pending:
        return dg.SkipReason("no pending export requests")
    return [
        dg.RunRequest(
            run_key=export_id,
            run_config={"ops": {c.ASSET_VIDEO_EXPORTS: {"config": {"export_id": export_id}}}},
            tags={"videolake/export": export_id, c.TAG_TRIGGER: "export_sensor"},
        )
        for export_id in pending
    ]
