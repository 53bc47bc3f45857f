"""Dagster sensors: the uploads and segments landing zones, URL imports, export requests, the
catalog-quality trigger, and ingest runs made outside Dagster reported to it."""

from sensors.catalog_runs_sensor import catalog_runs_sensor
from sensors.export_sensor import export_requests_sensor
from sensors.import_sensor import import_queue_sensor
from sensors.landing_sensor import landing_sensor, landing_zone_sensor, segments_sensor
from sensors.quality_sensor import catalog_quality_sensor

__all__ = ["catalog_quality_sensor", "catalog_runs_sensor", "export_requests_sensor", "import_queue_sensor", "landing_sensor", "landing_zone_sensor", "segments_sensor"]
