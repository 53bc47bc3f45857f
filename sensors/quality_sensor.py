"""Run the catalog-quality checks after new probes land (at most every few minutes).

Great Expectations takes about 3 s to import, so the checks run in their own job rather than
slowing every ingest run down.
"""


import dagster as dg

from pipelines import names
from pipelines.jobs import catalog_quality_job


@dg.sensor(
    name=names.SENSOR_CATALOG_QUALITY,
    job=catalog_quality_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Validates the probed catalog with Great Expectations whenever video_probes has materialized since the last check.",
)
def catalog_quality_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    records = context.instance.fetch_materializations(dg.AssetKey(names.ASSET_VIDEO_PROBES), limit=1).records
    if not records:
        return dg.SkipReason("video_probes has never materialized")
    latest = records[0].storage_id
    last = int(context.cursor) if context.cursor else 0
    if latest <= last:
        return dg.SkipReason("no new probes since the last quality run")
    context.update_cursor(str(latest))
    return dg.RunRequest(run_key=f"quality-{latest}", tags={names.TAG_TRIGGER: names.SENSOR_CATALOG_QUALITY})
