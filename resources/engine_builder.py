"""Assemble the domain's ingestor and landing watcher from configured resources (assets, sensors)."""

from resources.catalog_resource import CatalogResource
from resources.ingest_resources import IngestSettingsResource, LandingZoneResource, SegmentNamingResource
from resources.storage_resources import StorageResource
from videolake import constants as c
from videolake.ingest.engine import IngestEngine
from videolake.ingest.quarantine import Quarantiner
from videolake.ingest.watcher import LandingWatcher
from videolake.storage import StorageBackend


def build_ingest_engine(
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
    *,
    zone: str = c.ZONE_UPLOADS,
    segments_landing: LandingZoneResource | None = None,
    segment_naming: SegmentNamingResource | None = None,
    target: StorageBackend | None = None,
) -> IngestEngine:
    """An engine for the uploads landing zone, or (zone="segments") for the segments zone.

    ``target``: where new videos are stored, when not the hot tier (a write-mode fallback).
    """
    segments = _zone(zone, segments_landing, segment_naming)
    return IngestEngine(
        catalog=catalog.catalog(),
        hot=target or hot_storage.backend(),
        quarantine=quarantine_storage.backend(),
        landing=(segments_landing if segments else landing).backend(),  # type: ignore[union-attr]
        settings=ingest_settings.settings(),
        segment_template=segment_naming.parser() if segments else None,  # type: ignore[union-attr]
    )


def build_landing_watcher(
    catalog: CatalogResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
    *,
    zone: str = c.ZONE_UPLOADS,
    segments_landing: LandingZoneResource | None = None,
    segment_naming: SegmentNamingResource | None = None,
) -> LandingWatcher:
    """The watcher of the uploads landing zone, or (zone="segments") of the segments zone."""
    segments = _zone(zone, segments_landing, segment_naming)
    watched = (segments_landing if segments else landing).backend()  # type: ignore[union-attr]
    cat = catalog.catalog()
    return LandingWatcher(cat, watched, Quarantiner(cat, quarantine_storage.backend(), watched),
                          settings=ingest_settings.settings(),
                          segment_template=segment_naming.parser() if segments else None)  # type: ignore[union-attr]


def _zone(zone: str, segments_landing: LandingZoneResource | None, segment_naming: SegmentNamingResource | None) -> bool:
    """True for the segments zone (checked: it needs its resources), False for uploads."""
    if zone not in (c.ZONE_UPLOADS, c.ZONE_SEGMENTS):
        raise ValueError(f"unknown landing zone {zone!r}: use {c.ZONE_UPLOADS!r} or {c.ZONE_SEGMENTS!r}")
    segments = zone == c.ZONE_SEGMENTS
    if segments and (segments_landing is None or segment_naming is None):
        raise ValueError("the segments zone needs the segments_landing and segment_naming resources")
    return segments
