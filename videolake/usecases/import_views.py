"""URL imports as clients see them, and the ones at risk of missing their deadline: kept apart from
the import use cases (queueing, fetching, ingesting) so that `videolake status` and the
imports-on-time check read the queue without loading the ORM or the fetch and ingest side."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from videolake.catalog import summaries
from videolake.catalog.database import CatalogReader
from videolake.catalog.tables import utcnow
from videolake.constants import IMPORT_AT_RISK, OPEN_IMPORT_STATES
from videolake.usecases.results import Result


@dataclass(frozen=True)
class ImportView(Result):
    id: str
    url: str
    state: str
    deadline: dt.datetime | None
    name: str | None
    source: str | None
    attempts: int
    bytes_fetched: int
    failure: str | None
    last_error: str | None
    video_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None
    # Open imports: when a run may take it next (a run's hold ends, or a transient failure's wait).
    waits_until: dt.datetime | None = None

    @classmethod
    def of(cls, row: Any) -> ImportView:
        """From an ``imports`` row: an ORM ``Import`` or a Core row of ``tables.imports``."""
        return cls(row.id, row.url, row.state, row.deadline, row.name, row.source, row.attempts, row.bytes_fetched,
                   row.failure, row.last_error, row.video_id, row.created_at, row.done_at,
                   row.lease_until if row.state in OPEN_IMPORT_STATES else None)


@dataclass(frozen=True)
class ImportRisk(Result):
    """Imports not done whose deadline is within 10 minutes, and those whose deadline was missed."""

    at_risk: list[ImportView]
    missed: list[ImportView]


def imports_at_risk(catalog: CatalogReader, now: dt.datetime | None = None, *, limit: int = 1000) -> ImportRisk:
    now = now or utcnow()
    return ImportRisk([ImportView.of(r) for r in summaries.imports_at_risk(catalog, now, IMPORT_AT_RISK, limit=limit)],
                      [ImportView.of(r) for r in summaries.imports_missed(catalog, limit=limit)])
