"""Archival migration: copy a day's videos to the archive tier, verified, then (move) free the hot tier.

For each video of the day without a verified archive replica:

1. record the archive replica as *pending* (so a crash leaves no unreported object),
2. stream the bytes from a verified replica to the archive (checksummed on the way),
3. verify what the archive now holds by re-reading it against the catalog's sha256,
4. mark the replica *verified* with ``verified_at``,
5. only then, when the policy says move, delete the hot copy (the row is marked ``deleting``
   first, the object removed, then the row; one audit row per deletion).

Every step is idempotent: a rerun after a crash at any point finishes the job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import AuditEvent, Replica, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.storage import ChecksumMismatch, StorageBackend, StorageError, copy_object, open_backend
from videolake.storage.layout import video_key

COPY, MOVE = "copy", "move"
VERIFY_BATCH = 50  # verified replicas recorded per catalog transaction


@dataclass
class ArchiveReport:
    archived: list[int] = field(default_factory=list)
    already: int = 0
    hot_deleted: int = 0
    bytes_copied: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0
    hot_delete_errors: int = 0


Progress = Callable[[int, int], None]  # (videos finished, bytes copied) since the last call


class ArchiveEngine:
    """Copies videos from ``hot`` (the source) to ``archive`` (the destination), verified.

    With ``source_only`` (``videolake migrate --from --to``) only videos holding a verified replica
    on ``hot`` are taken, and only that replica is read; otherwise any verified replica serves as
    the source, the hot one first.
    """

    def __init__(self, catalog: Catalog, hot: StorageBackend, archive: StorageBackend, *, mode: str = COPY,
                 transfers: int = 8, source_only: bool = False, verify_batch: int = VERIFY_BATCH) -> None:
        if mode not in (COPY, MOVE):
            raise ValueError(f"migration must be {COPY!r} or {MOVE!r}, not {mode!r}")
        if hot.url == archive.url:
            raise ValueError("the archive must be another backend than the hot storage")
        self.catalog, self.hot, self.archive, self.mode, self.transfers = catalog, hot, archive, mode, transfers
        self.source_only = source_only
        self.verify_batch = max(1, verify_batch)
        self.move_policy = "migration=move"  # recorded in the audit row of every source copy deleted

    @staticmethod
    def _in_days(stmt, day: dt.date | None, since: dt.date | None, until: dt.date | None):  # type: ignore[no-untyped-def]
        if day is not None:
            stmt = stmt.where(Video.landing_date == day)
        if since is not None:
            stmt = stmt.where(Video.landing_date >= since)
        if until is not None:
            stmt = stmt.where(Video.landing_date <= until)
        return stmt

    def todo(self, day: dt.date | None = None, video_ids: Sequence[int] | None = None, *,
             since: dt.date | None = None, until: dt.date | None = None) -> list[tuple[int, str, int]]:
        """(video id, sha256, size) of videos without a verified archive replica."""
        verified = (
            select(Replica.video_id)
            .where(Replica.backend == self.archive.url, Replica.state == c.REPLICA_VERIFIED)
        )
        stmt = select(Video.id, Video.sha256, Video.size_bytes).where(Video.id.not_in(verified))
        if self.source_only:
            on_source = select(Replica.video_id).where(Replica.backend == self.hot.url, Replica.state == c.REPLICA_VERIFIED)
            stmt = stmt.where(Video.id.in_(on_source))
        stmt = self._in_days(stmt, day, since, until)
        if video_ids is not None:
            stmt = stmt.where(Video.id.in_(list(video_ids)))
        with self.catalog.read() as s:
            return [tuple(r) for r in s.execute(stmt.order_by(Video.id))]  # type: ignore[misc]

    def days_due(self, before: dt.date) -> list[dt.date]:
        """Landing days before ``before`` that still hold videos without a verified archive replica."""
        verified = select(Replica.video_id).where(Replica.backend == self.archive.url, Replica.state == c.REPLICA_VERIFIED)
        with self.catalog.read() as s:
            return list(s.scalars(
                select(Video.landing_date).where(Video.landing_date < before, Video.id.not_in(verified))
                .distinct().order_by(Video.landing_date)
            ))

    def run(self, *, day: dt.date | None = None, since: dt.date | None = None, until: dt.date | None = None,
            run_id: str | None = None, progress: Progress | None = None,
            work: list[tuple[int, str, int]] | None = None, video_ids: Sequence[int] | None = None) -> ArchiveReport:
        """Copy + verify every video of the day (or range) that lacks a verified archive replica,
        ``transfers`` at a time; then, under move, free the source copies that are now verified."""
        import time

        started = time.perf_counter()
        report = ArchiveReport()
        work = self.todo(day, since=since, until=until) if work is None else work
        for first in range(0, len(work), self.verify_batch * 20):
            self._run_batch(work[first : first + self.verify_batch * 20], report, run_id, progress)
        if self.mode == MOVE:
            report.hot_deleted, report.hot_delete_errors = self._free_hot(day, run_id, since=since, until=until,
                                                                          video_ids=video_ids)
        report.seconds = time.perf_counter() - started
        return report

    def _run_batch(self, work: list[tuple[int, str, int]], report: ArchiveReport, run_id: str | None,
                   progress: Progress | None) -> None:
        sources = self._sources([w[0] for w in work])
        had_row = self.mark_pending(work)  # 1. pending first: a crash leaves a reported replica, never an orphan
        verified: list[tuple[int, str, int]] = []
        with ThreadPoolExecutor(max_workers=self.transfers) as pool:
            outcomes = pool.map(lambda w: self._copy_one(*w, source=sources.get(w[0]), probe=w[0] in had_row), work)
            for (vid, sha256, size), outcome in zip(work, outcomes):
                if isinstance(outcome, str):
                    report.errors.append((vid, outcome))
                else:
                    verified.append((vid, sha256, size))
                    report.archived.append(vid)
                    report.bytes_copied += size
                if len(verified) >= self.verify_batch:
                    self._mark_verified(verified, run_id)
                    verified = []
                if progress is not None:
                    progress(1, 0 if isinstance(outcome, str) else size)
        self._mark_verified(verified, run_id)

    # -- one video ----------------------------------------------------------------------------------
    def _copy_one(self, video_id: int, sha256: str, size: int, *, source: tuple[StorageBackend, str] | None,
                  probe: bool) -> int | str:
        """2.-3. Copy and verify one video; the catalog is updated by the caller. ``probe``: an earlier
        run recorded this replica as pending, so the archive may already hold it."""
        if source is None:
            return "no verified replica to copy from"
        key = video_key(sha256)
        backend, src_key = source
        try:
            if probe:
                existing = self.archive.head(key)
                if existing is not None and existing.size == size:
                    try:  # an earlier run may have copied it already (or left something else there)
                        self.archive.verify(key, sha256)
                        return size
                    except ChecksumMismatch:
                        pass
            written = copy_object(backend, src_key, self.archive, key, sha256=sha256)  # 2. checksummed stream
            self.archive.confirm(key, written, sha256)  # 3. what the archive now holds (S3 SHA256 or a re-read)
        except (ChecksumMismatch, StorageError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return size

    def mark_pending(self, work: list[tuple[int, str, int]]) -> set[int]:
        """Record a pending archive replica for every video without one; returns those that had one."""
        ids = [w[0] for w in work]
        with self.catalog.write() as s:
            had = set(s.scalars(select(Replica.video_id).where(Replica.video_id.in_(ids),
                                                               Replica.backend == self.archive.url)))
            for vid, sha256, size in work:
                if vid not in had:
                    s.add(Replica(video_id=vid, backend=self.archive.url, key=video_key(sha256), state=c.REPLICA_PENDING,
                                  size_bytes=size))
        return had

    def _mark_verified(self, done: list[tuple[int, str, int]], run_id: str | None) -> None:
        """4. verified, with ``verified_at``, and one audit row each (a batch per transaction)."""
        if not done:
            return
        now = utcnow()
        with self.catalog.write() as s:
            rows = {r.video_id: r for r in s.scalars(select(Replica).where(
                Replica.video_id.in_([d[0] for d in done]), Replica.backend == self.archive.url))}
            for vid, sha256, size in done:
                row, key = rows[vid], video_key(sha256)
                row.state, row.key, row.verified_sha256, row.verified_at, row.size_bytes = (
                    c.REPLICA_VERIFIED, key, sha256, now, size)
                s.add(AuditEvent(action="replica_verified", video_id=vid, backend=self.archive.url, key=key,
                                 size_bytes=size, run_id=run_id))

    def _sources(self, video_ids: list[int]) -> dict[int, tuple[StorageBackend, str]]:
        """Where to read each video from: a verified replica off the archive, the hot one first."""
        with self.catalog.read() as s:
            replicas = s.execute(select(Replica.video_id, Replica.backend, Replica.key).where(
                Replica.video_id.in_(video_ids), Replica.state == c.REPLICA_VERIFIED,
                Replica.backend != self.archive.url)).all()
        backends: dict[str, StorageBackend] = {self.hot.url: self.hot}
        out: dict[int, tuple[StorageBackend, str]] = {}
        for vid, backend_url, key in sorted(replicas, key=lambda r: r[1] != self.hot.url):  # hot first
            if vid in out or (self.source_only and backend_url != self.hot.url):
                continue
            if backend_url not in backends:
                backends[backend_url] = open_backend(backend_url)
            out[vid] = (backends[backend_url], key)
        return out

    def _archive_still_holds(self, video_id: int, size: int) -> bool:
        """Right before a hot copy goes: the archive object is there with the verified size.

        If it vanished or changed since it was verified, the archive replica goes back to pending
        (the next run copies it again) and the hot copy stays.
        """
        with self.catalog.read() as s:
            row = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.backend == self.archive.url)).first()
            key = row.key if row is not None else None
        try:
            info = self.archive.head(key) if key else None
        except StorageError:
            return False
        if info is not None and info.size == size:
            return True
        with self.catalog.write() as s:
            row = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.backend == self.archive.url)).first()
            if row is not None:
                row.state, row.verified_at = c.REPLICA_PENDING, None
                s.add(AuditEvent(action="replica_lost", video_id=video_id, backend=self.archive.url, key=key,
                                 size_bytes=size, detail={"found_size": info.size if info else None}))
        return False

    # -- move: free the hot tier -----------------------------------------------------------------------
    def _free_hot(self, day: dt.date | None, run_id: str | None, *, since: dt.date | None = None,
                  until: dt.date | None = None, video_ids: Sequence[int] | None = None) -> tuple[int, int]:
        """Delete hot copies whose archive replica is verified (never otherwise); (deleted, failed)."""
        archived = select(Replica.video_id).where(Replica.backend == self.archive.url, Replica.state == c.REPLICA_VERIFIED)
        stmt = select(Replica).join(Video, Video.id == Replica.video_id).where(
            Replica.backend == self.hot.url, Replica.video_id.in_(archived)
        )
        stmt = self._in_days(stmt, day, since, until)
        if video_ids is not None:
            stmt = stmt.where(Replica.video_id.in_(list(video_ids)))
        deleted = failed = 0
        with self.catalog.write() as s:
            rows = s.scalars(stmt).all()
            for row in rows:
                row.state = c.REPLICA_DELETING  # a crash after this point is finished by the next run
            plan = [(r.id, r.video_id, r.key, r.size_bytes) for r in rows]
        for replica_id, video_id, key, size in plan:
            if not self._archive_still_holds(video_id, size):
                failed += 1
                continue
            try:
                self.hot.delete(key)
            except StorageError:
                failed += 1
                continue  # stays "deleting"; retried next run
            with self.catalog.write() as s:
                row = s.get(Replica, replica_id)
                if row is not None:
                    s.delete(row)
                s.add(AuditEvent(action="hot_copy_deleted", video_id=video_id, backend=self.hot.url, key=key,
                                 size_bytes=size, detail={"policy": self.move_policy, "kept_on": self.archive.url},
                                 run_id=run_id))
            deleted += 1
        return deleted, failed

