"""The landing-zone sensors, uploads and recording segments: one factory, one tick (``claiming``).

Each tick observes its zone, claims complete files in batches and launches one ingest run per
batch. A local file is complete when no process on the machine has it open for writing and its
size and mtime stayed the same over the settle (``min_unchanged_seconds``, 2 s: observed within the
tick that first sees it, or across ticks); objects in S3, GCS and Azure are complete once listed.
With the age rule on (``stable_after_seconds`` > 0, for network file systems) a file must also be
that old. Segment batches never mix recording days: each run is one day's partition.
"""

import dagster as dg

from pipelines import names
from pipelines.jobs import ingest_job
from resources import CatalogResource, IngestSettingsResource, LandingZoneResource, SegmentNamingResource, StorageResource
from resources.engine_builder import build_landing_watcher
from sensors.claiming import claim_and_request
from videolake import constants as c


def landing_sensor(zone: str, name: str, description: str) -> dg.SensorDefinition:
    """The sensor watching ``zone`` (``uploads`` or ``segments``)."""

    @dg.sensor(name=name, job=ingest_job, minimum_interval_seconds=15,
               default_status=dg.DefaultSensorStatus.RUNNING, description=description)
    def watch(
        context: dg.SensorEvaluationContext,
        catalog: CatalogResource,
        quarantine_storage: StorageResource,
        landing: LandingZoneResource,
        ingest_settings: IngestSettingsResource,
        segments_landing: LandingZoneResource,
        segment_naming: SegmentNamingResource,
    ) -> dg.SensorResult | dg.SkipReason:
        watcher = build_landing_watcher(catalog, quarantine_storage, landing, ingest_settings, zone=zone,
                                        segments_landing=segments_landing, segment_naming=segment_naming)
        return claim_and_request(context, watcher, zone, name)

    return watch


landing_zone_sensor = landing_sensor(
    c.ZONE_UPLOADS, names.SENSOR_LANDING,
    "Claims stable files in the landing zone in batches and launches one ingest run per batch.")
segments_sensor = landing_sensor(
    c.ZONE_SEGMENTS, names.SENSOR_SEGMENTS,
    "Claims stable recording segments per recording day and launches one ingest run per batch.")
