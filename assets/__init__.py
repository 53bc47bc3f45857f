"""Dagster assets: landing zone -> ingested videos -> video probes -> thumbnails."""

from assets.ingest_assets import ingested_videos, landing_zone, video_probes, video_thumbnails
from assets.quality_checks import catalog_quality_checks

__all__ = ["catalog_quality_checks", "ingested_videos", "landing_zone", "video_probes", "video_thumbnails"]
