"""Watch the uploads landing zone: claim stable files in batches, launch one run per batch.

A local file is complete when no process on the machine has it open for writing and its size and
mtime stayed the same over the settle (``min_unchanged_seconds``, 2 s: observed within the tick that
first sees it, or across ticks); objects in S3 are complete once listed. With the age rule on
(``stable_after_seconds`` > 0, for network file systems) a file must also be that old.
"""

import dagster as dg

from pipelines.jobs import ingest_job
from resources import CatalogResource, IngestSettingsResource, LandingZoneResource, StorageResource
from resources.engine_builder import build_ingest_engine
from sensors.claiming import claim_and_request
from videolake import constants as c


@dg.sensor(
    name=c.SENSOR_LANDING,
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Claims stable files in the landing zone in batches and launches one ingest run per batch.",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> dg.SensorResult | dg.SkipReason:
    engine = build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings)
    return claim_and_request(context, engine, c.ZONE_UPLOADS, landing.url, c.SENSOR_LANDING)
