"""Catalog operations used by ingest, the sensors and the CLI. Plain SQLAlchemy; no Dagster."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from videolake import constants as c
from videolake.catalog.claimants import is_dead
from videolake.catalog.database import CatalogReader
from videolake.catalog.locks import catalog_lock
from videolake.catalog.models import (
    AuditEvent,
    Derivative,
    IngestRunRecord,
    LandingFile,
    QuarantineItem,
    Replica,
    RetentionPlanItem,
    RetentionRun,
    RunFile,
    Video,
    utcnow,
)
from videolake.constants import CatalogLock


@dataclass(frozen=True)
class ListedFile:
    """A file seen in a landing zone listing."""

    key: str
    size: int
    mtime: float


@dataclass(frozen=True)
class ClaimedFile:
    key: str
    size: int
    mtime: float
    batch_id: str


@dataclass(frozen=True)
class Batch:
    batch_id: str
    files: int
    bytes: int
    group: str | None = None  # e.g. the recording day every file of the batch belongs to


@dataclass(frozen=True)
class HeldClaims:
    """Files a run (alive, or on another machine) holds claimed."""

    claimant: str | None
    files: int
    since: dt.datetime


# key -> (row id, size, mtime, state, claimant): a zone's files as the catalog holds them.
KnownLanding = dict[str, tuple[int, int, float, str, str | None]]


@dataclass(frozen=True)
class ObservationSummary:
    listed: int
    new: int
    changed: int
    vanished: int
    fresh: set[str] = field(default_factory=set)  # keys new or changed in this listing


def _dialect_insert(conn: Any, table: Any) -> Any:
    """An INSERT with the ON CONFLICT clause of the connection's dialect (PostgreSQL or SQLite)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def insert_ignoring_conflicts(conn: Any, table: Any, unique: list[str]) -> Any:  # a Table or an ORM entity
    """INSERT … ON CONFLICT (unique) DO NOTHING."""
    return _dialect_insert(conn, table).on_conflict_do_nothing(index_elements=unique)


def upsert(conn: Any, table: Any, unique: list[str], update_columns: list[str]) -> Any:
    """INSERT … ON CONFLICT (unique) DO UPDATE SET the given columns to the new row's values."""
    stmt = _dialect_insert(conn, table)
    return stmt.on_conflict_do_update(index_elements=unique, set_={c: stmt.excluded[c] for c in update_columns})


@dataclass(frozen=True)
class ProbeFigures:
    probed: int
    codecs: Counter
    sizes: Counter
    duration_s: float
    size_bytes: int


def _copy_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Rows into ``table`` with PostgreSQL's COPY, inside the session's transaction (CSV; NULL as \\N)."""
    import io

    columns = list(rows[0])

    def field(value: Any) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return '"' + str(value).replace('"', '""') + '"'
        return str(value)

    data = io.StringIO("".join(",".join(field(r[c]) for c in columns) + "\n" for r in rows))
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", data)
    finally:
        cursor.close()


def new_batch_id() -> str:
    return f"{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:10]}"


class Catalog(CatalogReader):
    """The catalog database: per-file state of everything videolake knows."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        super().__init__(url, engine)
        self._write_engine = self.engine.execution_options(sqlite_immediate=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def lock(self, name: CatalogLock) -> AbstractContextManager[None]:
        """A catalog-wide lock every process using this catalog respects (see ``catalog.locks``)."""
        return catalog_lock(self.engine, name)

    def ping(self) -> None:
        with self.read() as s:
            s.execute(select(1))

    # -- landing-zone bookkeeping (sensor) -----------------------------------------------------
    def known_landing(self, zone: str) -> KnownLanding:
        """What the catalog holds of ``zone``'s files, to read *before* listing the zone (see
        ``observe_landing``)."""
        table = LandingFile.__table__
        with self.read() as s:
            return {
                row.key: (row.id, row.size_bytes, row.mtime, row.state, row.claimed_by)
                for row in s.execute(
                    select(table.c.id, table.c.key, table.c.size_bytes, table.c.mtime, table.c.state,
                           table.c.claimed_by).where(table.c.zone == zone)
                )
            }

    def observe_landing(
        self, zone: str, listing: Iterable[ListedFile], tick: int, chunk: int = 5000,
        known: KnownLanding | None = None,
    ) -> ObservationSummary:
        """Record a full listing of ``zone``: new files, changed files and vanished ones.

        ``known`` is ``known_landing`` read before the zone was listed (read here when not given,
        which only a caller whose zone no run changes may rely on). The order matters: a run
        removes a landed file first and its row after, so with rows read before the listing a file
        listed but unknown is a new file. Read after the listing, it could also be one a run just
        ingested and removed, which would be recorded as new and claimed a second time.
        """
        table = LandingFile.__table__
        now = utcnow()
        if known is None:
            known = self.known_landing(zone)
        inserts: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        changed_keys: set[str] = set()
        seen: set[str] = set()
        for item in listing:
            seen.add(item.key)
            prev = known.get(item.key)
            if prev is None:
                inserts.append(
                    {
                        "zone": zone,
                        "key": item.key,
                        "size_bytes": item.size,
                        "mtime": item.mtime,
                        "first_seen_at": now,
                        "unchanged_since": now,
                        "changed_tick": tick,
                        "state": c.LANDING_SEEN,
                        "batch_id": None,
                        "claimed_at": None,
                    }
                )
            elif prev[1] != item.size or prev[2] != item.mtime:
                changed_keys.add(item.key)
                changes.append(
                    {"row_id": prev[0], "size_bytes": item.size, "mtime": item.mtime, "changed_tick": tick, "since": now}
                )
        # Gone from the zone: forgotten, unless a live run holds it (it finds it gone and says so); the
        # files of a run that died mid-cleanup are forgotten too, never left claimed forever.
        claimants = {by for *_, state, by in known.values() if state == c.LANDING_CLAIMED}
        dead = {by for by in claimants if is_dead(by)}  # once per claimant, not per file
        vanished = [rid for key, (rid, _, _, state, by) in known.items()
                    if key not in seen and (state == c.LANDING_SEEN or by in dead)]
        with self.write() as s:
            conn = s.connection()
            for i in range(0, len(inserts), chunk):
                # Another run may list the zone at the same moment: a file it recorded first is skipped.
                conn.execute(insert_ignoring_conflicts(conn, table, ["zone", "key"]), inserts[i : i + chunk])
            if changes:
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(
                        size_bytes=bindparam("size_bytes"),
                        mtime=bindparam("mtime"),
                        changed_tick=bindparam("changed_tick"),
                        unchanged_since=bindparam("since"),
                        state=c.LANDING_SEEN,
                        batch_id=None,
                        claimed_at=None,
                    )
                )
                for i in range(0, len(changes), chunk):
                    conn.execute(stmt, changes[i : i + chunk])
            for i in range(0, len(vanished), chunk):
                conn.execute(delete(table).where(table.c.id.in_(vanished[i : i + chunk])))
        fresh = {row["key"] for row in inserts} | changed_keys
        return ObservationSummary(listed=len(seen), new=len(inserts), changed=len(changes), vanished=len(vanished),
                                  fresh=fresh)

    def claim_stable(
        self,
        zone: str,
        tick: int,
        *,
        now: dt.datetime,
        stable_after_seconds: float,
        requeue_after_seconds: float,
        max_files: int,
        min_unchanged_seconds: float = c.DEFAULT_SETTLE_SECONDS,
        max_bytes: int,
        max_batches: int,
        only_keys: set[str] | None = None,
        group_of: Callable[[str], str | None] | None = None,
        claimant: str | None = None,
        settled: set[str] | frozenset[str] = frozenset(),
        writing: set[str] | frozenset[str] = frozenset(),
        complete_when_listed: bool = False,
    ) -> list[Batch]:
        """Group complete, unclaimed files of ``zone`` into batches and mark them claimed.

        Complete means: not open for writing (``writing``), and unchanged over the settle — seen
        with the same size and mtime ``min_unchanged_seconds`` apart, by an earlier tick or by this
        one (``settled``); object stores are complete as soon as listed (``complete_when_listed``).
        With ``stable_after_seconds`` > 0 (the age rule, for network file systems whose writers
        cannot be seen) a file must also be unmodified for that long. Claims of a process on this
        host that is gone are taken back at once; other claims older than ``requeue_after_seconds``
        whose files are still present are treated as abandoned and are claimed again.
        """
        table = LandingFile.__table__
        mtime_cutoff = now.timestamp() - stable_after_seconds
        unchanged_cutoff = now - dt.timedelta(seconds=min_unchanged_seconds)
        stale_claim = now - dt.timedelta(seconds=requeue_after_seconds)

        def complete(row: Any) -> bool:
            if row.key in writing or (stable_after_seconds > 0 and row.mtime > mtime_cutoff):
                return False
            if row.state == c.LANDING_CLAIMED or complete_when_listed or row.key in settled:
                return True
            return row.changed_tick < tick and row.unchanged_since <= unchanged_cutoff

        batches: list[Batch] = []
        dead = self._dead_claimants(zone)
        with self.write() as s:
            conn = s.connection()
            # Atomic claims: on PostgreSQL the candidate rows are locked, and rows another run is
            # claiming right now are skipped (SKIP LOCKED); SQLite writers are serialized (BEGIN IMMEDIATE).
            rows = conn.execute(
                select(table.c.id, table.c.key, table.c.size_bytes, table.c.mtime, table.c.state,
                       table.c.changed_tick, table.c.unchanged_since)
                .where(
                    table.c.zone == zone,
                    or_(
                        table.c.state == c.LANDING_SEEN,
                        and_(table.c.state == c.LANDING_CLAIMED,
                             or_(table.c.claimed_at < stale_claim, table.c.claimed_by.in_(dead))),
                    ),
                )
                .order_by(table.c.id)
                .with_for_update(skip_locked=True)
            ).all()
            assignments: list[dict[str, Any]] = []
            # Batches never mix groups (with group_of, e.g. recording days); rows keep their order.
            groups: dict[str | None, list[Any]] = {}
            for row in rows:
                if (only_keys is None or row.key in only_keys) and complete(row):
                    groups.setdefault(group_of(row.key) if group_of else None, []).append(row)
            for group, members in groups.items():
                current: list[int] = []
                current_bytes = 0
                for row in members:
                    if current and (len(current) >= max_files or current_bytes + row.size_bytes > max_bytes):
                        batches.append(self._batch(current, current_bytes, group, assignments))
                        current, current_bytes = [], 0
                        if len(batches) >= max_batches:
                            break
                    current.append(row.id)
                    current_bytes += row.size_bytes
                if current and len(batches) < max_batches:
                    batches.append(self._batch(current, current_bytes, group, assignments))
                if len(batches) >= max_batches:
                    break
            if assignments:
                conn.execute(
                    update(table)
                    .where(table.c.id == bindparam("row_id"))
                    .values(state=c.LANDING_CLAIMED, batch_id=bindparam("batch_id"), claimed_at=now, claimed_by=claimant),
                    assignments,
                )
        return batches

    def _dead_claimants(self, zone: str) -> list[str]:
        table = LandingFile.__table__
        with self.read() as s:
            claimants = s.scalars(select(table.c.claimed_by).distinct().where(
                table.c.zone == zone, table.c.state == c.LANDING_CLAIMED, table.c.claimed_by.is_not(None))).all()
        return [by for by in claimants if is_dead(by)]

    def adopt_batch(self, zone: str, batch_id: str, claimant: str) -> None:
        """The run working on a batch takes over its claim (from the sensor that made it)."""
        table = LandingFile.__table__
        with self.write() as s:
            s.execute(update(table).where(table.c.zone == zone, table.c.batch_id == batch_id,
                                          table.c.state == c.LANDING_CLAIMED).values(claimed_by=claimant))

    def claims_held(self, zone: str, *, besides: str | None = None) -> list[HeldClaims]:
        """Files of ``zone`` claimed by others than ``besides``, per claimant, oldest claim first."""
        table = LandingFile.__table__
        with self.read() as s:
            rows = s.execute(
                select(table.c.claimed_by, func.count(), func.min(table.c.claimed_at))
                .where(table.c.zone == zone, table.c.state == c.LANDING_CLAIMED,
                       or_(table.c.claimed_by.is_(None), table.c.claimed_by != (besides or "")))
                .group_by(table.c.claimed_by).order_by(func.min(table.c.claimed_at))
            ).all()
        return [HeldClaims(by, int(n), since) for by, n, since in rows]

    @staticmethod
    def _batch(row_ids: list[int], size: int, group: str | None, assignments: list[dict[str, Any]]) -> Batch:
        batch_id = new_batch_id()
        assignments.extend({"row_id": rid, "batch_id": batch_id} for rid in row_ids)
        return Batch(batch_id, len(row_ids), size, group)

    def batch_files(self, zone: str, batch_id: str) -> list[ClaimedFile]:
        table = LandingFile.__table__
        with self.read() as s:
            rows = s.execute(
                select(table.c.key, table.c.size_bytes, table.c.mtime)
                .where(table.c.zone == zone, table.c.batch_id == batch_id)
                .order_by(table.c.id)
            ).all()
        return [ClaimedFile(r.key, r.size_bytes, r.mtime, batch_id) for r in rows]

    def release_landing_files(self, zone: str, keys: Sequence[str]) -> None:
        """Forget files that were resolved (ingested or quarantined) or changed after the claim."""
        table = LandingFile.__table__
        with self.write() as s:
            for i in range(0, len(keys), 1000):
                s.execute(delete(table).where(table.c.zone == zone, table.c.key.in_(keys[i : i + 1000])))

    def unclaim_landing_files(self, zone: str, keys: Sequence[str]) -> None:
        """Hand claimed files back (their run failed) so the next tick or run claims them again."""
        table = LandingFile.__table__
        with self.write() as s:
            for i in range(0, len(keys), 1000):
                s.execute(
                    update(table)
                    .where(table.c.zone == zone, table.c.key.in_(keys[i : i + 1000]), table.c.state == c.LANDING_CLAIMED)
                    # It was complete when it was claimed: no new settle before the next run takes it.
                    .values(state=c.LANDING_SEEN, batch_id=None, claimed_at=None, claimed_by=None, changed_tick=0,
                            unchanged_since=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
                )

    def landing_days(self) -> list[dt.date]:
        """Every day that holds videos (their landing or recording day), oldest first."""
        with self.read() as s:
            return [d for d in s.scalars(select(Video.landing_date).distinct().order_by(Video.landing_date))
                    if d is not None]

    def landing_backlog(self, zone: str) -> dict[str, int]:
        table = LandingFile.__table__
        with self.read() as s:
            rows = s.execute(
                select(table.c.state, func.count(), func.coalesce(func.sum(table.c.size_bytes), 0))
                .where(table.c.zone == zone)
                .group_by(table.c.state)
            ).all()
        out = {"seen": 0, "claimed": 0, "bytes": 0}
        for state, count, total in rows:
            out[state] = int(count)
            out["bytes"] += int(total)
        return out

    # -- ingest recording ----------------------------------------------------------------------
    def quarantine_for(self, session: Session, landing_uri: str, quarantined_uri: str | None) -> QuarantineItem | None:
        stmt = select(QuarantineItem).where(QuarantineItem.landing_uri == landing_uri)
        if quarantined_uri is not None:
            stmt = stmt.where(QuarantineItem.quarantined_uri == quarantined_uri)
        return session.scalars(stmt.limit(1)).first()

    def add_audit(self, session: Session, action: str, **fields: Any) -> None:
        session.add(AuditEvent(action=action, **fields))

    # -- probes and thumbnails -----------------------------------------------------------------
    def videos_needing_probe(self, landing_date: dt.date | None, *, reprobe: bool = False) -> list[tuple[int, str]]:
        with self.read() as s:
            stmt = select(Video.id, Video.sha256)
            if landing_date is not None:
                stmt = stmt.where(Video.landing_date == landing_date)
            if not reprobe:
                stmt = stmt.where(Video.probed_at.is_(None))
            return [(r.id, r.sha256) for r in s.execute(stmt.order_by(Video.id))]

    def videos_needing_thumbnails(self, landing_date: dt.date | None) -> list[tuple[int, str]]:
        have_both = (
            select(Derivative.video_id)
            .where(Derivative.kind.in_([c.DERIVATIVE_POSTER, c.DERIVATIVE_SPRITE]))
            .group_by(Derivative.video_id)
            .having(func.count() == 2)
        )
        with self.read() as s:
            stmt = select(Video.id, Video.sha256).where(Video.id.not_in(have_both), Video.probe_error.is_(None))
            if landing_date is not None:
                stmt = stmt.where(Video.landing_date == landing_date)
            return [(r.id, r.sha256) for r in s.execute(stmt.order_by(Video.id))]

    def verified_replica_elsewhere(self, video_ids: Sequence[int], backend: str) -> dict[int, tuple[str, str]]:
        """For each video, one verified replica not on ``backend``: (backend URL, key)."""
        out: dict[int, tuple[str, str]] = {}
        with self.read() as s:
            for i in range(0, len(video_ids), 500):
                for vid, url, key in s.execute(
                    select(Replica.video_id, Replica.backend, Replica.key).where(
                        Replica.video_id.in_(video_ids[i : i + 500]), Replica.backend != backend,
                        Replica.state == c.REPLICA_VERIFIED).order_by(Replica.id)
                ):
                    out.setdefault(vid, (url, key))
        return out

    def knows_backend(self, backend: str) -> bool:
        """Whether the catalog holds, or has held (audit trail), any replica on ``backend``."""
        with self.read() as s:
            if s.scalar(select(Replica.id).where(Replica.backend == backend).limit(1)) is not None:
                return True
            return s.scalar(select(AuditEvent.id).where(AuditEvent.backend == backend).limit(1)) is not None

    def replica_keys(self, video_ids: Sequence[int], backend: str) -> dict[int, str]:
        out: dict[int, str] = {}
        with self.read() as s:
            for i in range(0, len(video_ids), 500):
                for vid, key in s.execute(
                    select(Replica.video_id, Replica.key).where(
                        Replica.video_id.in_(video_ids[i : i + 500]),
                        Replica.backend == backend,
                        Replica.state == c.REPLICA_VERIFIED,
                    )
                ):
                    out[vid] = key
        return out

    # -- queries -------------------------------------------------------------------------------
    def get_video(self, video_id: int) -> Video | None:
        with self.read() as s:
            return s.scalars(
                select(Video).options(selectinload(Video.replicas), selectinload(Video.derivatives))
                .where(Video.id == video_id)
            ).first()

    def probe_figures(self, landing_date: dt.date) -> ProbeFigures:
        """What the probes of a day's videos say, together: codecs, frame sizes, duration, bytes."""
        with self.read() as s:
            rows = s.execute(
                select(Video.video_codec, Video.audio_codec, Video.width, Video.height, Video.duration_s, Video.size_bytes)
                .where(Video.landing_date == landing_date, Video.probed_at.is_not(None), Video.probe_error.is_(None))
            ).all()
            probed = s.scalar(select(func.count(Video.id)).where(Video.landing_date == landing_date,
                                                                 Video.probed_at.is_not(None)))
        return ProbeFigures(
            probed=int(probed or 0),
            codecs=Counter(f"{r.video_codec} / {r.audio_codec or 'no audio'}" for r in rows),
            sizes=Counter(f"{r.width}x{r.height}" for r in rows),
            duration_s=sum(r.duration_s or 0.0 for r in rows), size_bytes=sum(r.size_bytes for r in rows))

    def derivative_totals(self, landing_date: dt.date) -> tuple[int, int]:
        """(thumbnail files, their bytes) of a day's videos."""
        with self.read() as s:
            count, size = s.execute(
                select(func.count(Derivative.id), func.coalesce(func.sum(Derivative.size_bytes), 0))
                .join(Video, Video.id == Derivative.video_id)
                .where(Video.landing_date == landing_date)
            ).one()
        return int(count), int(size)

    def audit_events(self, *, limit: int, action: str | None = None, video_id: int | None = None) -> list[AuditEvent]:
        """The newest audit rows first; ``action`` may end in ``*`` (``retention_*``)."""
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            stmt = stmt.where(AuditEvent.action.like(action.replace("*", "%")))
        if video_id is not None:
            stmt = stmt.where(AuditEvent.video_id == video_id)
        with self.read() as s:
            return list(s.scalars(stmt))

    # -- run records: a run's complete outcome, by run id ----------------------------------------
    def record_run_files(self, run_id: str, rows: Sequence[dict[str, Any]]) -> None:
        """What ingest run ``run_id`` did with each of ``rows`` (name, uri, outcome, size_bytes, sha256,
        video_id, detail), in one statement."""
        if rows:
            with self.write() as s:
                s.execute(RunFile.__table__.insert(), [{**r, "run_id": run_id, "recorded_at": utcnow()} for r in rows])

    def run_files(self, run_ids: Sequence[str]) -> list[RunFile]:
        with self.read() as s:
            return list(s.scalars(select(RunFile).where(RunFile.run_id.in_(list(run_ids))).order_by(RunFile.id)))

    def record_ingest_run(self, run: IngestRunRecord) -> None:
        """An ingest run made outside Dagster, for the catalog-runs sensor to report."""
        with self.write() as s:
            s.add(run)

    def ingest_runs_after(self, after_id: int, limit: int) -> list[IngestRunRecord]:
        """Ingest runs recorded outside Dagster after ``after_id``, oldest first (one page)."""
        with self.read() as s:
            stmt = select(IngestRunRecord).where(IngestRunRecord.id > after_id).order_by(IngestRunRecord.id).limit(limit)
            return list(s.scalars(stmt))

    def record_retention_run(self, run: RetentionRun, items: Sequence[dict[str, Any]], chunk: int = 10_000) -> None:
        """A retention run's summary and every item of its plan, in one transaction (on PostgreSQL
        the items go in with COPY: a plan can hold hundreds of thousands)."""
        with self.write() as s:
            s.merge(run)
            if self.engine.dialect.name == "postgresql" and items:
                s.flush()
                _copy_rows(s, RetentionPlanItem.__table__, [{**i, "run_id": run.run_id} for i in items])
                return
            for start in range(0, len(items), chunk):
                s.execute(RetentionPlanItem.__table__.insert(),
                          [{**i, "run_id": run.run_id} for i in items[start:start + chunk]])

    def finish_retention_run(self, run_id: str, report: dict[str, Any]) -> None:
        """What applying a recorded plan did (deleted, failed)."""
        with self.write() as s:
            s.execute(update(RetentionRun).where(RetentionRun.run_id == run_id).values(report=report))

    def retention_run(self, run_id: str) -> tuple[RetentionRun, list[RetentionPlanItem]] | None:
        with self.read() as s:
            run = s.get(RetentionRun, run_id)
            if run is None:
                return None
            return run, list(s.scalars(select(RetentionPlanItem).where(RetentionPlanItem.run_id == run_id)
                                       .order_by(RetentionPlanItem.id)))

    def list_quarantine(self, *, limit: int | None = None) -> list[QuarantineItem]:
        with self.read() as s:
            stmt = select(QuarantineItem).order_by(QuarantineItem.id.desc())
            if limit:
                stmt = stmt.limit(limit)
            return list(s.scalars(stmt))

    def known_sizes(self, sizes: Iterable[int]) -> set[int]:
        """The sizes among ``sizes`` some stored video has (ix_videos_size)."""
        wanted = sorted(set(sizes))
        found: set[int] = set()
        with self.read() as s:
            for start in range(0, len(wanted), 500):
                found.update(s.scalars(select(Video.size_bytes).where(Video.size_bytes.in_(wanted[start:start + 500]))
                                       .distinct()))
        return found
