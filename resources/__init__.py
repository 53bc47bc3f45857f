"""Dagster resources: thin, configurable wrappers around the videolake domain core."""

from resources.archive_resources import ArchivePolicyResource
from resources.retention_resources import RetentionPolicyResource, StorageReportResource
from resources.catalog_resource import CatalogResource
from resources.import_resources import ImportSettingsResource
from resources.ingest_resources import IngestSettingsResource, LandingZoneResource, SegmentNamingResource
from resources.storage_resources import StorageResource

__all__ = ["ArchivePolicyResource", "CatalogResource", "ImportSettingsResource", "IngestSettingsResource", "LandingZoneResource", "RetentionPolicyResource",
           "SegmentNamingResource", "StorageReportResource", "StorageResource"]
