"""Use cases over whole storages: migrate (copy or move, verified), adopt (register what a legacy
folder or bucket holds), scrub (storage against the catalog), and the catalog's status."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from videolake.archive.adopt import adopt
from videolake.archive.engine import COPY, MOVE, ArchiveEngine, Progress
from videolake.archive.scrub import IN_FLIGHT, scrub
from videolake.catalog.repository import Catalog
from videolake.storage import StorageBackend, StorageError
from videolake.usecases.errors import InvalidInput, NotFound, Unavailable
from videolake.usecases.results import Result


# -- migrate ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MigrationRequest:
    mode: str = COPY  # copy (keep both) or move (delete each source copy once its copy is verified)
    since: dt.date | None = None
    until: dt.date | None = None
    transfers: int = 8
    verify_batch: int = 50


@dataclass(frozen=True)
class MigrationPlan(Result):
    source: str
    target: str
    mode: str
    videos: int
    bytes: int
    since: dt.date | None
    until: dt.date | None
    work: list[tuple[int, str, int]] = field(default_factory=list, metadata={"internal": True}, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return _from_to(super().to_dict())


@dataclass(frozen=True)
class VideoError(Result):
    video_id: int
    error: str


@dataclass(frozen=True)
class MigrationResult(Result):
    source: str
    target: str
    mode: str
    run_id: str
    videos_copied: int
    bytes_copied: int
    source_copies_deleted: int
    source_deletes_failed: int
    errors: list[VideoError]
    seconds: float
    mb_per_second: float | None

    def to_dict(self) -> dict[str, Any]:
        return _from_to(super().to_dict())


def _from_to(data: dict[str, Any]) -> dict[str, Any]:
    """``source``/``target`` as the command's flags name them: ``from``/``to``, first."""
    return {"from": data.pop("source"), "to": data.pop("target"), **data}


def plan_migration(catalog: Catalog, source: StorageBackend, target: StorageBackend,
                   request: MigrationRequest) -> MigrationPlan:
    """What migrating from ``source`` to ``target`` would copy (nothing is copied)."""
    if request.mode not in (COPY, MOVE):
        raise InvalidInput(f"the migration mode must be {COPY!r} or {MOVE!r}, not {request.mode!r}")
    if request.since and request.until and request.until < request.since:
        raise InvalidInput(f"the last day {request.until} is before the first {request.since}")
    if source.url == target.url:
        raise InvalidInput(f"the source and the target are the same storage ({source.url})")
    work = _engine(catalog, source, target, request).todo(since=request.since, until=request.until)
    if not work and not catalog.knows_backend(source.url):
        raise NotFound(f"no video in the catalog has a verified replica on {source.url}; "
                       "register what is there with `videolake adopt URL` first")
    return MigrationPlan(source.url, target.url, request.mode, len(work), sum(size for _, _, size in work),
                         request.since, request.until, work)


def migrate(catalog: Catalog, source: StorageBackend, target: StorageBackend, request: MigrationRequest,
            plan: MigrationPlan, *, run_id: str, progress: Progress | None = None) -> MigrationResult:
    """Copy (or move) ``plan``'s videos: copy, verify, record, then (move) delete the source copy."""
    started = time.perf_counter()
    try:
        report = _engine(catalog, source, target, request).run(since=request.since, until=request.until,
                                                               run_id=run_id, progress=progress, work=plan.work)
    except StorageError as exc:
        raise Unavailable(f"migration stopped: {exc}") from exc
    seconds = time.perf_counter() - started
    return MigrationResult(
        source.url, target.url, request.mode, run_id, len(report.archived), report.bytes_copied, report.hot_deleted,
        report.hot_delete_errors, [VideoError(v, e) for v, e in report.errors], round(seconds, 3),
        round(report.bytes_copied / 1e6 / seconds, 1) if seconds > 0 else None)


def _engine(catalog: Catalog, source: StorageBackend, target: StorageBackend, request: MigrationRequest) -> ArchiveEngine:
    return ArchiveEngine(catalog, source, target, mode=request.mode, transfers=request.transfers, source_only=True,
                         verify_batch=request.verify_batch)


# -- adopt -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotAdopted(Result):
    key: str
    reason: str


@dataclass(frozen=True)
class AdoptionResult(Result):
    registered: int
    linked_to_existing: int
    already_registered: int
    not_adopted: list[NotAdopted]
    bytes_hashed: int


def adopt_storage(catalog: Catalog, backend: StorageBackend, *, source: str = "adopted", prefix: str = "",
                  progress: Callable[[int, str], None] | None = None) -> AdoptionResult:
    """Register the videos already on ``backend`` without copying them (hashed and probed in place)."""
    try:
        report = adopt(catalog, backend, source=source, prefix=prefix, progress=progress)
    except StorageError as exc:
        raise Unavailable(f"cannot list {backend.url}: {exc}") from exc
    return AdoptionResult(len(report.registered), len(report.linked), report.skipped,
                          [NotAdopted(k, r) for k, r in report.rejected], report.bytes_hashed)


# -- scrub -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScrubFinding(Result):
    problem: str
    key: str
    video_id: int | None
    detail: str


@dataclass(frozen=True)
class ScrubResult(Result):
    storage: str  # hot or archive
    backend: str
    objects_cataloged: int
    sample_rehashed: int
    passed: bool
    findings: list[ScrubFinding]
    raw_findings: list[Any] = field(default_factory=list, metadata={"internal": True}, repr=False)


def scrub_storage(catalog: Catalog, backend: StorageBackend, role: str, *, sample: int = 20) -> ScrubResult:
    """Hold ``backend`` against the catalog and re-hash a sample. It passes when every finding is
    work in flight (a copy or delete a later run finishes): those are listed, not failed."""
    if sample < 0:
        raise InvalidInput("the sample must be 0 or more")
    try:
        findings, checked = scrub(catalog, backend, sample=sample)
    except StorageError as exc:
        raise Unavailable(f"{role} storage {backend.url} cannot be listed: {str(exc).splitlines()[0]}") from exc
    return ScrubResult(role, backend.url, checked, min(sample, checked),
                       all(f.problem == IN_FLIGHT for f in findings),
                       [ScrubFinding(f.problem, f.key, f.video_id, f.detail) for f in findings], findings)


# -- storage figures -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StorageFigures(Result):
    """Bytes and objects per backend, source and camera; the runway of each quota."""

    as_of: dt.datetime
    total_bytes: int
    objects: int
    by_backend: list[dict[str, Any]]
    by_source: list[dict[str, Any]]
    runway: list[dict[str, Any]]  # backend, used, quota, growth per day, days left
    metrics_file: str | None
    report: Any = field(default=None, metadata={"internal": True}, repr=False)  # the frames, for charts


def storage_figures(catalog: Catalog, quotas: dict[str, int], *, metrics_file: Path | None = None) -> StorageFigures:
    """The storage report from the catalog; with ``metrics_file`` also its Prometheus textfile,
    replaced whole (node_exporter never reads a half-written file)."""
    from videolake.reports.storage_report import build_report, prometheus_text

    report = build_report(catalog, quotas)
    if metrics_file is not None:
        metrics_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = metrics_file.with_suffix(".prom.tmp")
        tmp.write_bytes(prometheus_text(report))
        tmp.replace(metrics_file)
    return StorageFigures(
        report.as_of, int(report.objects["bytes"].sum()) if len(report.objects) else 0, len(report.objects),
        _records(report.by_backend), _records(report.by_source), _records(report.runway),
        str(metrics_file) if metrics_file is not None else None, report)


def _records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-ready dicts (NaN as None)."""
    return [{k: (None if isinstance(v, float) and v != v else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in frame.to_dict("records")]
