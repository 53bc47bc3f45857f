"""What the catalog holds, counted, and the URL imports at risk: what `videolake status`, the storage
report and the imports-on-time check read.

Plain SELECTs on the Core tables (``videolake.catalog.tables``) through a ``CatalogReader``: a look
at the catalog loads neither the ORM nor a mapped class. The totals come from covering indexes
(migration 0009), so they cost an index scan, not a table scan, on 100,000 videos.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select

from videolake.catalog import tables as t
from videolake.catalog.database import CatalogReader
from videolake.constants import OPEN_IMPORT_STATES, ImportState

VIDEOS, REPLICAS, DERIVATIVES, IMPORTS = t.videos.c, t.replicas.c, t.derivatives.c, t.imports.c


def catalog_totals(catalog: CatalogReader) -> dict[str, Any]:
    """Videos, bytes and duration per source; landings per outcome; quarantined files; derivatives
    per kind; replicas per backend and state; the landing backlog per zone and state."""
    with catalog.connect() as conn:
        # One pass over the videos (the covering ix_videos_status), the totals summed from it.
        per_source = conn.execute(
            select(VIDEOS.source, VIDEOS.source_type, func.count(), func.sum(VIDEOS.size_bytes),
                   func.sum(VIDEOS.duration_s), func.sum(case((VIDEOS.probed_at.is_(None), 1), else_=0)))
            .group_by(VIDEOS.source, VIDEOS.source_type).order_by(VIDEOS.source, VIDEOS.source_type)
        ).all()
        landings = dict(conn.execute(select(t.landings.c.outcome, func.count()).group_by(t.landings.c.outcome)).all())
        quarantined = conn.scalar(select(func.count(t.quarantine.c.id)))
        per_kind = conn.execute(select(DERIVATIVES.kind, func.count(), func.sum(DERIVATIVES.size_bytes))
                                .group_by(DERIVATIVES.kind)).all()
        replicas = conn.execute(select(REPLICAS.backend, REPLICAS.state, func.count(), func.sum(REPLICAS.size_bytes))
                                .group_by(REPLICAS.backend, REPLICAS.state)
                                .order_by(REPLICAS.backend, REPLICAS.state)).all()
        landing_files = t.landing_files.c
        pending = conn.execute(select(landing_files.zone, landing_files.state, func.count())
                               .group_by(landing_files.zone, landing_files.state)).all()
    return {
        "videos": sum(int(n) for _, _, n, _, _, _ in per_source),
        "bytes": sum(int(b or 0) for _, _, _, b, _, _ in per_source),
        "duration_s": round(sum(float(d or 0.0) for _, _, _, _, d, _ in per_source), 3),
        "unprobed": sum(int(u or 0) for *_, u in per_source),
        "landings": {k: int(v) for k, v in landings.items()},
        "quarantined": int(quarantined or 0),
        "derivatives": {kind: int(n) for kind, n, _ in per_kind},
        "derivative_bytes": sum(int(b or 0) for _, _, b in per_kind),
        "replicas": [{"backend": b, "state": st, "count": int(n), "bytes": int(sz or 0)} for b, st, n, sz in replicas],
        "sources": [{"source": src, "source_type": st, "videos": int(n), "bytes": int(sz or 0)}
                    for src, st, n, sz, _, _ in per_source],
        "landing_backlog": [{"zone": z, "state": st, "files": int(n)} for z, st, n in pending],
    }


def imports_by_state(catalog: CatalogReader) -> dict[str, int]:
    with catalog.connect() as conn:
        return {state: int(n) for state, n in conn.execute(select(IMPORTS.state, func.count(IMPORTS.id))
                                                           .group_by(IMPORTS.state))}


def imports_at_risk(catalog: CatalogReader, now: dt.datetime, within: dt.timedelta, *,
                    limit: int = 1000) -> list[Any]:
    """Import rows not settled whose deadline falls within ``within`` from now, nearest first."""
    with catalog.connect() as conn:
        return list(conn.execute(select(t.imports).where(IMPORTS.state.in_(list(OPEN_IMPORT_STATES)),
                                                         IMPORTS.deadline >= now, IMPORTS.deadline < now + within)
                                 .order_by(IMPORTS.deadline).limit(limit)))


def imports_missed(catalog: CatalogReader, *, limit: int = 1000) -> list[Any]:
    """Import rows that ended expired (their deadline passed before the file was whole), latest first."""
    with catalog.connect() as conn:
        return list(conn.execute(select(t.imports).where(IMPORTS.state == ImportState.EXPIRED)
                                 .order_by(IMPORTS.deadline.desc()).limit(limit)))
