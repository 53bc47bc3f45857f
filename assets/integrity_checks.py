"""Integrity scrubs as asset checks: the hot tier against ingested_videos, the archive against archived_videos."""

import dagster as dg

from pipelines import names
from resources import ArchivePolicyResource, CatalogResource, StorageResource
from videolake.archive.scrub import findings_markdown
from videolake.storage import StorageBackend
from videolake.usecases.errors import Unavailable
from videolake.usecases.storage import ScrubResult, scrub_storage


def check_metadata(result: ScrubResult) -> dict:
    """The metadata of an integrity check: what the scheduled check and `videolake scrub` record."""
    counts: dict[str, int] = {}
    for f in result.findings:
        counts[f.problem] = counts.get(f.problem, 0) + 1
    return {
        "backend": result.backend,
        "objects_cataloged": dg.MetadataValue.int(result.objects_cataloged),
        "sample_rehashed": dg.MetadataValue.int(result.sample_rehashed),
        "problems": dg.MetadataValue.json(counts),
        "what_is_wrong": dg.MetadataValue.md(findings_markdown(result.raw_findings)),
    }


def _result(catalog: CatalogResource, backend: StorageBackend, role: str, sample: int) -> dg.AssetCheckResult:
    try:
        result = scrub_storage(catalog.catalog(), backend, role, sample=sample)
    except Unavailable as exc:
        return dg.AssetCheckResult(passed=False, metadata={"backend": backend.url, "error": str(exc)})
    return dg.AssetCheckResult(passed=result.passed, metadata=check_metadata(result))


class ScrubConfig(dg.Config):
    sample: int = 20  # objects re-read in full and re-hashed


@dg.asset_check(asset=names.ASSET_INGESTED_VIDEOS, name=names.CHECK_HOT_INTEGRITY,
                description="The hot storage holds exactly what the catalog says, sizes match, a sample re-hashes.")
def hot_storage_integrity(config: ScrubConfig, catalog: CatalogResource, hot_storage: StorageResource) -> dg.AssetCheckResult:
    return _result(catalog, hot_storage.backend(), "hot", config.sample)


@dg.asset_check(asset=names.ASSET_ARCHIVED_VIDEOS, name=names.CHECK_ARCHIVE_INTEGRITY,
                description="The archive holds exactly what the catalog says, sizes match, a sample re-hashes.")
def archive_integrity(config: ScrubConfig, catalog: CatalogResource, archive: ArchivePolicyResource) -> dg.AssetCheckResult:
    return _result(catalog, archive.archive_backend(), "archive", config.sample)
