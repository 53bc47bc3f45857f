"""Run the catalog-quality checks after new probes land (at most every few minutes).

Great Expectations takes about 3 s to import, so the checks run in their own job rather than
slowing every ingest run down.
"""


import dagster as dg

from pipelines.jobs import catalog_quality_job
from videolake import constants as c


@dg.sensor(
    name=c.SENSOR_CATALOG_QUALITY,
    job=catalog_quality_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Validates the probed catalog with Great Expectations whenever video_probes has materialized since the last check.",
)
def catalog_quality_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(c.ASSET_VIDEO_PROBES))
    if event is None or event.storage_id is None:
        return dg.SkipReason("video_probes has never materialized")
    last = int(context.cursor) if context.cursor else 0
    if event.storage_id <= last:
        return dg.SkipReason("no new probes since the last quality run")
    context.update_cursor(str(event.storage_id))
    return dg.RunRequest(run_key=f"quality-{event.storage_id}", tags={c.TAG_TRIGGER: "quality_sensor"})
