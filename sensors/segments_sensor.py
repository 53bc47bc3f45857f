"""Watch the segments landing zone: batches never mix recording days; each run is one day's partition."""

import dagster as dg

from pipelines.jobs import ingest_job
from resources import CatalogResource, IngestSettingsResource, LandingZoneResource, SegmentNamingResource, StorageResource
from resources.engine_builder import build_ingest_engine
from sensors.claiming import claim_and_request
from videolake import constants as c


@dg.sensor(
    name=c.SENSOR_SEGMENTS,
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Claims stable recording segments per recording day and launches one ingest run per batch.",
)
def segments_sensor(
    context: dg.SensorEvaluationContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
    segments_landing: LandingZoneResource,
    segment_naming: SegmentNamingResource,
) -> dg.SensorResult | dg.SkipReason:
    engine = build_ingest_engine(
        catalog, hot_storage, quarantine_storage, landing, ingest_settings,
        zone=c.ZONE_SEGMENTS, segments_landing=segments_landing, segment_naming=segment_naming,
    )
    return claim_and_request(context, engine, c.ZONE_SEGMENTS, segments_landing.url, c.SENSOR_SEGMENTS)
