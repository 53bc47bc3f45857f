"""Assemble the domain IngestEngine from configured resources (shared by assets, sensors, CLI)."""


from resources.catalog_resource import CatalogResource
from resources.ingest_resources import IngestSettingsResource, LandingZoneResource
from resources.storage_resources import StorageResource
from videolake.ingest.engine import IngestEngine


def build_ingest_engine(
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> IngestEngine:
    return IngestEngine(
        catalog=catalog.catalog(),
        hot=hot_storage.backend(),
        quarantine=quarantine_storage.backend(),
        landing=landing.backend(),
        settings=ingest_settings.settings(),
    )
