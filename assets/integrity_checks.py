"""Integrity scrubs as asset checks: the hot tier against ingested_videos, the archive against archived_videos."""

import dagster as dg

from resources import ArchivePolicyResource, CatalogResource, StorageResource
from videolake import constants as c
from videolake.archive.scrub import IN_FLIGHT, Finding, findings_markdown, scrub
from videolake.storage import StorageBackend, StorageError


def check_outcome(backend_url: str, findings: list[Finding], checked: int, sample: int) -> tuple[bool, dict]:
    """(passed, metadata) of an integrity check: what the scheduled check and `videolake scrub` record."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.problem] = counts.get(f.problem, 0) + 1
    return all(f.problem == IN_FLIGHT for f in findings), {  # unfinished copies/deletes are listed, not failed
        "backend": backend_url,
        "objects_cataloged": dg.MetadataValue.int(checked),
        "sample_rehashed": dg.MetadataValue.int(min(sample, checked)),
        "problems": dg.MetadataValue.json(counts),
        "what_is_wrong": dg.MetadataValue.md(findings_markdown(findings)),
    }


def _result(catalog: CatalogResource, backend: StorageBackend, sample: int) -> dg.AssetCheckResult:
    try:
        findings, checked = scrub(catalog.catalog(), backend, sample=sample)
    except StorageError as exc:
        return dg.AssetCheckResult(passed=False, metadata={"backend": backend.url, "error": f"cannot list: {exc}"})
    passed, metadata = check_outcome(backend.url, findings, checked, sample)
    return dg.AssetCheckResult(passed=passed, metadata=metadata)


class ScrubConfig(dg.Config):
    sample: int = 20  # objects re-read in full and re-hashed


@dg.asset_check(asset=c.ASSET_INGESTED_VIDEOS, name=c.CHECK_HOT_INTEGRITY,
                description="The hot storage holds exactly what the catalog says, sizes match, a sample re-hashes.")
def hot_storage_integrity(config: ScrubConfig, catalog: CatalogResource, hot_storage: StorageResource) -> dg.AssetCheckResult:
    return _result(catalog, hot_storage.backend(), config.sample)


@dg.asset_check(asset=c.ASSET_ARCHIVED_VIDEOS, name=c.CHECK_ARCHIVE_INTEGRITY,
                description="The archive holds exactly what the catalog says, sizes match, a sample re-hashes.")
def archive_integrity(config: ScrubConfig, catalog: CatalogResource, archive: ArchivePolicyResource) -> dg.AssetCheckResult:
    return _result(catalog, archive.archive_backend(), config.sample)
