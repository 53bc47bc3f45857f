"""Watch the uploads landing zone: claim stable files in batches, launch one run per batch.

A file counts as stable once an earlier tick saw it with the same size and mtime at least
``min_unchanged_seconds`` ago, or when it has not been modified for ``stable_after_seconds``.
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
    return claim_and_request(context, engine, c.ZONE_UPLOADS, landing.url)
