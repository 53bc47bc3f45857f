"""Integrity scrub: compare what the catalog says a backend holds with what it really holds.

Findings: objects the catalog expects but the backend lacks (``missing``), objects under the
managed prefixes that nothing in the catalog accounts for (``untracked``), size differences
(``size_mismatch``), and, for a random sample re-read in full, sha256 differences
(``checksum_mismatch``). The backend is listed page by page; nothing is modified.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Derivative, Export, ExportOutput, Replica
from videolake.catalog.repository import Catalog
from videolake.storage import ChecksumMismatch, ObjectNotFound, StorageBackend, StorageError

MANAGED_PREFIXES = (c.VIDEOS_PREFIX + "/", c.DERIVATIVES_PREFIX + "/", "exports/")


@dataclass(frozen=True)
class Finding:
    problem: str
    key: str
    detail: str
    video_id: int | None = None


@dataclass(frozen=True)
class Expected:
    size: int | None
    sha256: str | None
    video_id: int | None


def expected_objects(catalog: Catalog, backend_url: str) -> dict[str, Expected]:
    """Every object the catalog says ``backend_url`` holds (replicas, thumbnails, exports)."""
    out: dict[str, Expected] = {}
    with catalog.read() as s:
        for key, size, sha, vid in s.execute(
            select(Replica.key, Replica.size_bytes, Replica.verified_sha256, Replica.video_id).where(
                Replica.backend == backend_url, Replica.state == c.REPLICA_VERIFIED
            )
        ):
            out[key] = Expected(size, sha, vid)
        for key, size, sha, vid in s.execute(
            select(Derivative.key, Derivative.size_bytes, Derivative.sha256, Derivative.video_id).where(
                Derivative.backend == backend_url
            )
        ):
            out[key] = Expected(size, sha, vid)
        for key, size, sha in s.execute(
            select(ExportOutput.key, ExportOutput.size_bytes, ExportOutput.sha256)
            .join(Export, Export.id == ExportOutput.export_id)
            .where(Export.backend == backend_url)
        ):
            out[key] = Expected(size, sha, None)
        for key, sha in s.execute(select(Export.manifest_key, Export.manifest_sha256).where(
            Export.backend == backend_url, Export.manifest_key.is_not(None)
        )):
            out[key] = Expected(None, sha, None)
    return out


def in_flight_objects(catalog: Catalog, backend_url: str) -> dict[str, tuple[str, int]]:
    """Keys of replicas a run has started and not finished (pending copy, deleting): key → (state, video)."""
    with catalog.read() as s:
        return {key: (state, vid) for key, state, vid in s.execute(
            select(Replica.key, Replica.state, Replica.video_id).where(
                Replica.backend == backend_url, Replica.state != c.REPLICA_VERIFIED))}


# Problems that describe work a later run finishes by itself; reported, not failures.
IN_FLIGHT = "in_flight"


def scrub(catalog: Catalog, backend: StorageBackend, *, sample: int = 20, seed: int | None = None,
          stale_upload_seconds: float = 3600) -> tuple[list[Finding], int]:
    """(findings, objects checked). Raises StorageError when the backend cannot be listed."""
    expected = expected_objects(catalog, backend.url)
    in_flight = in_flight_objects(catalog, backend.url)
    findings: list[Finding] = []
    seen: set[str] = set()
    for prefix in MANAGED_PREFIXES:
        for info in backend.list(prefix):
            seen.add(info.key)
            want = expected.get(info.key)
            if want is None and info.key in in_flight:
                state, vid = in_flight[info.key]
                findings.append(Finding(IN_FLIGHT, info.key, f"replica {state}: the next run verifies or removes it", vid))
            elif want is None:
                findings.append(Finding("untracked", info.key, f"{info.size} bytes that no catalog row accounts for"))
            elif want.size is not None and want.size != info.size:
                findings.append(Finding("size_mismatch", info.key, f"catalog says {want.size} bytes, backend holds {info.size}",
                                        want.video_id))
    for upload in backend.unfinished_uploads(older_than=stale_upload_seconds):
        findings.append(Finding("unfinished_upload", upload.key,
                                f"an upload abandoned {upload.size} bytes in (a crashed copy); storage is billed for it"))
    for key, want in expected.items():
        if key not in seen:
            findings.append(Finding("missing", key, "cataloged but not in the backend", want.video_id))
    present = sorted(k for k in expected if k in seen and expected[k].sha256)
    for key in random.Random(seed).sample(present, min(sample, len(present))):
        want = expected[key]
        try:
            backend.verify(key, want.sha256)  # type: ignore[arg-type]
        except ChecksumMismatch as exc:
            findings.append(Finding("checksum_mismatch", key, str(exc), want.video_id))
        except ObjectNotFound:
            findings.append(Finding("missing", key, "vanished while being re-read", want.video_id))
        except StorageError as exc:
            findings.append(Finding("unreadable", key, str(exc), want.video_id))
    return findings, len(expected)


def findings_markdown(findings: list[Finding], limit: int = 50) -> str:
    if not findings:
        return "catalog and backend agree"
    rows = ["| problem | key | video | detail |", "|---|---|---:|---|"]
    for f in findings[:limit]:
        rows.append(f"| {f.problem} | {f.key} | {f.video_id or ''} | {f.detail.replace('|', '/')[:160]} |")
    if len(findings) > limit:
        rows.append(f"| … | {len(findings) - limit} more | | |")
    return "\n".join(rows)
