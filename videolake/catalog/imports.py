"""The import queue in the catalog: one row per URL to fetch before its deadline.

Runs take rows earliest deadline first (rows without a deadline last), leaving alone hosts other
runs are busy with, by a compare-and-set to FETCHING with a lease: a run that dies lets its rows go when the
lease ends, and no two runs ever fetch one row. ``lease_until`` of a PENDING row is when it may be
tried again (a transient failure waits a little before the next run asks).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update

from videolake.catalog.models import Import, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import OPEN_IMPORT_STATES, ImportState


def _takeable(now: dt.datetime) -> Any:
    """Rows a run may take now: pending and not waiting to be tried again, or held by a run whose
    lease has ended."""
    return and_(Import.state.in_(list(OPEN_IMPORT_STATES)), or_(Import.lease_until.is_(None), Import.lease_until < now))


class ImportStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add_all(self, rows: Sequence[Import]) -> list[Import]:
        """Queue rows; a URL already queued and not finished is not queued twice (its row is returned)."""
        with self.catalog.write() as s:
            urls = [r.url for r in rows]
            known = {i.url: i for i in s.scalars(select(Import).where(Import.url.in_(urls),
                                                                    Import.state.in_(list(OPEN_IMPORT_STATES))))}
            out = []
            for row in rows:
                if row.url in known:
                    out.append(known[row.url])
                    continue
                s.add(row)
                known[row.url] = row
                out.append(row)
            s.flush()
            for row in out:
                s.refresh(row)
            s.expunge_all()
            return out

    def get_all(self, ids: Sequence[str]) -> list[Import]:
        with self.catalog.read() as s:
            by_id = {i.id: i for i in s.scalars(select(Import).where(Import.id.in_(list(ids))))}
        return [by_id[i] for i in ids if i in by_id]

    def update(self, import_id: str, *, expect: Sequence[str] | None = None, **values: Any) -> bool:
        stmt = update(Import).where(Import.id == import_id)
        if expect is not None:
            stmt = stmt.where(Import.state.in_(list(expect)))
        with self.catalog.write() as s:
            return s.execute(stmt.values(updated_at=utcnow(), **values)).rowcount == 1

    def update_all(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Several rows' ``update`` in one transaction (a run settling a chunk: one commit, not one each)."""
        now = utcnow()
        table = Import.__table__
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for import_id, values in changes:  # one executemany per set of columns
            groups.setdefault(tuple(sorted(values)), []).append({"row_id": import_id, "updated_at": now, **values})
        with self.catalog.write() as s:
            for rows in groups.values():
                s.connection().execute(update(table).where(table.c.id == bindparam("row_id")), rows)

    def renew(self, run_id: str, until: dt.datetime, fetched: dict[str, int]) -> int:
        """The run still holds its imports until ``until``; ``fetched``: bytes fetched so far per
        import. How many it still holds."""
        held = and_(Import.run_id == run_id, Import.state == ImportState.FETCHING)
        with self.catalog.write() as s:
            for import_id, size in fetched.items():
                s.execute(update(Import).where(held, Import.id == import_id).values(bytes_fetched=size))
            return s.execute(update(Import).where(held).values(lease_until=until, updated_at=utcnow())).rowcount

    def expire_overdue(self, now: dt.datetime) -> list[Import]:
        """Pending rows whose deadline passed before any run took them: EXPIRED, and returned."""
        with self.catalog.write() as s:
            rows = list(s.scalars(select(Import).where(Import.state == ImportState.PENDING, Import.deadline < now)))
            for row in rows:
                row.state = ImportState.EXPIRED
                row.failure = row.failure or "deadline"
                row.last_error = (f"the deadline {row.deadline:%Y-%m-%d %H:%M:%S} UTC passed before it could be "
                                  "fetched" + (f"; the last attempt: {row.last_error}" if row.last_error else ""))
                row.updated_at = now
            s.flush()
            s.expunge_all()
            return rows

    def claim_due(self, *, run_id: str, limit: int, per_host: int, lease: dt.timedelta,
                  now: dt.datetime | None = None) -> list[Import]:
        """Up to ``limit`` rows to fetch now, earliest deadline first, taken for ``run_id`` until
        ``now + lease`` — none of a host other runs already fetch ``per_host`` from (the run itself
        fetches at most ``per_host`` from one host at once)."""
        now = now or utcnow()
        takeable = _takeable(now)
        with self.catalog.write() as s:
            busy = Counter(s.scalars(select(Import.host).where(Import.state == ImportState.FETCHING,
                                                              Import.lease_until >= now)))
            candidates = s.scalars(select(Import).where(takeable)
                                   .order_by(Import.deadline.is_(None), Import.deadline, Import.created_at)
                                   .limit(limit * 20)).all()
            chosen: list[str] = []
            for row in candidates:
                if len(chosen) >= limit:
                    break
                if busy[row.host] >= per_host:
                    continue  # other runs already fetch that much from this host
                chosen.append(row.id)
            # One compare-and-set for all of them: a row another run took meanwhile is not takeable any more.
            s.execute(update(Import).where(Import.id.in_(chosen), takeable).values(
                state=ImportState.FETCHING, run_id=run_id, lease_until=now + lease, updated_at=now))
            mine = {row.id: row for row in s.scalars(
                select(Import).where(Import.id.in_(chosen), Import.run_id == run_id, Import.state == ImportState.FETCHING)
                .execution_options(populate_existing=True))}
            s.expunge_all()
            return [mine[i] for i in chosen if i in mine]

    def due(self, now: dt.datetime) -> tuple[int, dt.datetime | None]:
        """(how many a run could take now, the nearest deadline among them)."""
        with self.catalog.read() as s:
            count, earliest = s.execute(select(func.count(Import.id), func.min(Import.deadline))
                                        .where(_takeable(now))).one()
            return int(count), earliest
