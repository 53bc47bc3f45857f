"""Dagster names: assets, jobs, groups, sensors, checks, partitions and run tags.

They belong to the Dagster layer (assets, sensors, schedules, the CLI's in-process runs); the core
(``videolake/``) never names a Dagster object.
"""

from enum import StrEnum

GROUP_INGEST = "ingest"
ASSET_LANDING_ZONE = "landing_zone"
ASSET_INGESTED_VIDEOS = "ingested_videos"
ASSET_VIDEO_PROBES = "video_probes"
ASSET_VIDEO_THUMBNAILS = "video_thumbnails"
OP_INGEST_LINEAGE = "ingest_lineage"  # the multi-asset computing the three above
ASSET_IMPORT_QUEUE = "import_queue"  # URLs handed to `videolake import` (the catalog's queue)
ASSET_URL_IMPORTS = "url_imports"  # those fetched and ingested
JOB_IMPORT = "import_job"
SENSOR_IMPORTS = "import_queue_sensor"
ASSET_VIDEO_EXPORTS = "video_exports"
GROUP_EXPORTS = "exports"
GROUP_ARCHIVE = "archive"
ASSET_ARCHIVED_VIDEOS = "archived_videos"
JOB_ARCHIVE = "archive_job"
JOB_INTEGRITY = "integrity_job"
GROUP_RETENTION = "retention"
ASSET_RETENTION_SWEEP = "retention_sweep"
JOB_RETENTION = "retention_job"
ASSET_STORAGE_REPORT = "storage_report"
JOB_EXPORT = "export_job"
SENSOR_EXPORTS = "export_requests_sensor"
JOB_INGEST = "ingest_job"
JOB_CATALOG_QUALITY = "catalog_quality_job"
SENSOR_LANDING = "landing_zone_sensor"
SENSOR_SEGMENTS = "segments_sensor"
SENSOR_CATALOG_QUALITY = "catalog_quality_sensor"
SENSOR_CATALOG_RUNS = "catalog_runs_sensor"
PARTITIONS_LANDING_DAYS = "landing_days"  # dynamic: a day is added once it has files
CHECK_HOT_INTEGRITY = "hot_storage_integrity"
CHECK_ARCHIVE_INTEGRITY = "archive_integrity"
CHECK_IMPORTS_ON_TIME = "imports_on_time"


class RunTag(StrEnum):
    """Tags videolake puts on the runs it launches (sensors, schedules, the CLI)."""

    BATCH = "videolake/batch"  # the landing batch a run ingests
    SOURCE = "videolake/source"
    TRIGGER = "videolake/trigger"  # who launched it: "cli", or the sensor's name
    ZONE = "videolake/zone"  # uploads or segments
    EXPORT = "videolake/export"  # the export a run makes


# Plain strings for Dagster's APIs (tags are str keys).
TAG_BATCH, TAG_SOURCE, TAG_TRIGGER = RunTag.BATCH.value, RunTag.SOURCE.value, RunTag.TRIGGER.value
TAG_ZONE, TAG_EXPORT = RunTag.ZONE.value, RunTag.EXPORT.value
