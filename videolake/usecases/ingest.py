"""What ingest runs did, read back from the catalog by run id: counts, every file not ingested with
why, what still waits in the landing zones. Complete for any batch size (a run's Dagster metadata
holds a summary only)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from videolake.catalog.claimants import describe
from videolake.catalog.repository import Catalog
from videolake.constants import FileOutcome
from videolake.usecases.results import Result

COUNTED = (("ingested", FileOutcome.INGESTED), ("duplicates", FileOutcome.DUPLICATE),
           ("quarantined", FileOutcome.QUARANTINED), ("skipped", FileOutcome.SKIPPED), ("failed", FileOutcome.FAILED))


@dataclass(frozen=True)
class IngestRun(Result):
    """One run over one landing zone and day (or over named paths: ``from_paths``)."""

    zone: str
    day: str
    run_id: str
    success: bool
    error: str | None = None
    from_paths: bool = False
    landing: str | None = None  # the landing zone's URL (what its bookkeeping is keyed by)


@dataclass(frozen=True)
class FileProblem(Result):
    """A file a run did not ingest (quarantined, skipped or failed), with why."""

    file: str
    uri: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class HeldFiles(Result):
    """Landed files another process holds claimed; taken again at ``retried_at``."""

    landing: str
    claimant: str
    files: int
    since: dt.datetime
    retried_at: dt.datetime


@dataclass(frozen=True)
class IngestResult(Result):
    run_id: str | None  # the first run's
    success: bool
    files: int
    ingested: int
    duplicates: int
    quarantined: int
    skipped: int
    failed: int
    bytes_ingested: int
    waiting_for_stability: int
    problems: list[FileProblem]
    held_by_other_runs: list[HeldFiles]
    runs: list[IngestRun] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f"{r.zone} {r.day}: {r.error}" for r in self.runs if r.error]

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.errors:
            out["error"] = "; ".join(self.errors)
        return out


def ingest_result(catalog: Catalog, runs: list[IngestRun], *, requeue_after_seconds: float) -> IngestResult:
    """The outcome of ``runs``: per file from the catalog's run records; what waits and what other
    processes hold from the landing zones' bookkeeping as it is now."""
    rows = catalog.run_files([r.run_id for r in runs])
    counts = Counter(r.outcome for r in rows)
    problems = [FileProblem(r.name, r.uri, r.outcome, r.detail) for r in rows
                if r.outcome not in (FileOutcome.INGESTED, FileOutcome.DUPLICATE)]
    zones = sorted({r.landing for r in runs if r.landing and not r.from_paths})
    failed_by_run = Counter(r.run_id for r in rows if r.outcome == FileOutcome.FAILED)
    waiting = 0
    for zone in zones:
        # Files seen and not claimed yet, less this run's failures (handed back, seen again).
        failed = sum(failed_by_run[r.run_id] for r in runs if r.landing == zone and not r.from_paths)
        waiting += max(0, catalog.landing_backlog(zone)["seen"] - failed)
    requeue = dt.timedelta(seconds=requeue_after_seconds)
    held = [HeldFiles(zone, describe(h.claimant), h.files, h.since, h.since + requeue)
            for zone in zones for h in catalog.claims_held(zone)]
    return IngestResult(
        run_id=runs[0].run_id if runs else None, success=all(r.success for r in runs), files=len(rows),
        **{name: counts[outcome] for name, outcome in COUNTED},
        bytes_ingested=sum(r.size_bytes for r in rows if r.outcome == FileOutcome.INGESTED),
        waiting_for_stability=waiting, problems=problems, held_by_other_runs=held, runs=runs,
    )
