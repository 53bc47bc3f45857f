"""Dagster assets: landing zone -> ingested videos -> video probes -> thumbnails."""

from assets.archive_assets import archived_videos
from assets.export_assets import video_exports
from assets.import_assets import import_queue, imports_on_time, url_imports
from assets.ingest_assets import ingest_lineage, landing_zone
from assets.quality_checks import catalog_quality_checks
from assets.report_assets import storage_report
from assets.retention_assets import retention_sweep

__all__ = ["archived_videos", "catalog_quality_checks", "import_queue", "imports_on_time", "ingest_lineage", "landing_zone", "retention_sweep",
           "storage_report", "url_imports", "video_exports"]
