"""What ingesting did: per file (``FileResult``), per batch (``IngestReport``), per pass (``StepReport``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from videolake import constants as c
from videolake.display import human_bytes


@dataclass
class FileResult:
    name: str
    uri: str
    outcome: str  # a FileOutcome: ingested / duplicate / quarantined / skipped / failed
    size_bytes: int
    sha256: str | None = None
    video_id: int | None = None
    detail: str = ""


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    waiting: int = 0  # files in the zone not stable yet (still being written, or just landed)
    held: list[dict[str, Any]] = field(default_factory=list)  # files other runs hold claimed, per claimant

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome == c.FileOutcome.FAILED]

    @property
    def bytes_ingested(self) -> int:
        return sum(r.size_bytes for r in self.results if r.outcome == c.OUTCOME_INGESTED)

    @property
    def bytes_landed(self) -> int:
        return sum(r.size_bytes for r in self.results if r.outcome != c.FileOutcome.SKIPPED)

    def reasons(self) -> Counter:
        return Counter(r.detail.split(":", 1)[0] for r in self.results if r.outcome == c.OUTCOME_QUARANTINED)

    def summary(self) -> dict[str, Any]:
        return {
            "files": len(self.results),
            "ingested": self.count(c.OUTCOME_INGESTED),
            "duplicates": self.count(c.OUTCOME_DUPLICATE),
            "quarantined": self.count(c.OUTCOME_QUARANTINED),
            "skipped": self.count(c.FileOutcome.SKIPPED),
            "failed": self.count(c.FileOutcome.FAILED),
            "bytes_ingested": self.bytes_ingested,
            "bytes_landed": self.bytes_landed,
            "seconds": round(self.seconds, 3),
        }

    def markdown(self, limit: int = 50) -> str:
        rows = ["| file | outcome | size | sha256 | detail |", "|---|---|---:|---|---|"]
        ordered = sorted(self.results, key=lambda r: (r.outcome == c.OUTCOME_INGESTED, r.name))
        for r in ordered[:limit]:
            detail = r.detail.replace("|", "\\|").replace("\n", " ")[:160]
            name = r.name.replace("|", "\\|")
            rows.append(f"| {name} | {r.outcome} | {human_bytes(r.size_bytes)} | {(r.sha256 or '')[:12]} | {detail} |")
        if len(ordered) > limit:
            rows.append(f"| … {len(ordered) - limit} more in the catalog | | | | |")
        return "\n".join(rows)


@dataclass
class StepReport:
    """What the probe and thumbnail steps did."""

    processed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    bytes_written: int = 0
    video_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
