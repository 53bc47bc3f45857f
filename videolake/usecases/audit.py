"""The audit trail: deletions, holds, verified copies — newest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from videolake.catalog.repository import Catalog
from videolake.usecases.results import Result


@dataclass(frozen=True)
class AuditEntry(Result):
    id: int
    at: dt.datetime
    action: str
    video_id: int | None
    backend: str | None
    key: str | None
    size_bytes: int | None
    detail: dict[str, Any] | None
    run_id: str | None


def audit_trail(catalog: Catalog, *, limit: int = 100, action: str | None = None,
                video_id: int | None = None) -> list[AuditEntry]:
    """``action`` may end in ``*`` (``retention_*``)."""
    return [AuditEntry(e.id, e.at, e.action, e.video_id, e.backend, e.key, e.size_bytes, e.detail, e.run_id)
            for e in catalog.audit_events(limit=limit, action=action, video_id=video_id)]
