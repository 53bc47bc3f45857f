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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import AuditEvent, Replica, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.storage import ChecksumMismatch, StorageBackend, StorageError, copy_object, open_backend
from videolake.storage.layout import video_key

COPY, MOVE = "copy", "move"
REPLICA_DELETING = "deleting"


@dataclass
class ArchiveReport:
    archived: list[int] = field(default_factory=list)
    already: int = 0
    hot_deleted: int = 0
    bytes_copied: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0


class ArchiveEngine:
    def __init__(self, catalog: Catalog, hot: StorageBackend, archive: StorageBackend, *, mode: str = COPY,
                 transfers: int = 8) -> None:
        if mode not in (COPY, MOVE):
            raise ValueError(f"migration must be {COPY!r} or {MOVE!r}, not {mode!r}")
        if hot.url == archive.url:
            raise ValueError("the archive must be another backend than the hot storage")
        self.catalog, self.hot, self.archive, self.mode, self.transfers = catalog, hot, archive, mode, transfers

    def todo(self, day: dt.date | None = None, video_ids: Sequence[int] | None = None) -> list[tuple[int, str, int]]:
        """(video id, sha256, size) of videos without a verified archive replica."""
        verified = (
            select(Replica.video_id)
            .where(Replica.backend == self.archive.url, Replica.state == c.REPLICA_VERIFIED)
        )
        stmt = select(Video.id, Video.sha256, Video.size_bytes).where(Video.id.not_in(verified))
        if day is not None:
            stmt = stmt.where(Video.landing_date == day)
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

    def archive_day(self, day: dt.date | None, run_id: str | None = None) -> ArchiveReport:
        import time

        started = time.perf_counter()
        report = ArchiveReport()
        work = self.todo(day)
        with ThreadPoolExecutor(max_workers=self.transfers) as pool:
            for vid, outcome in zip([w[0] for w in work], pool.map(lambda w: self._archive_one(*w, run_id=run_id), work)):
                if isinstance(outcome, str):
                    report.errors.append((vid, outcome))
                else:
                    report.archived.append(vid)
                    report.bytes_copied += outcome
        if self.mode == MOVE:
            report.hot_deleted = self._free_hot(day, run_id)
        report.seconds = time.perf_counter() - started
        return report

    # -- one video ----------------------------------------------------------------------------------
    def _archive_one(self, video_id: int, sha256: str, size: int, run_id: str | None = None) -> int | str:
        key = video_key(sha256)
        source = self._source(video_id)
        if source is None:
            return "no verified replica to copy from"
        with self.catalog.write() as s:  # 1. pending first: a crash leaves a reported replica, never an orphan
            row = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.backend == self.archive.url)).first()
            if row is None:
                s.add(Replica(video_id=video_id, backend=self.archive.url, key=key, state=c.REPLICA_PENDING, size_bytes=size))
        backend, src_key = source
        try:
            existing = self.archive.head(key)
            verified = False
            if existing is not None and existing.size == size:
                try:  # an earlier run may have copied it already (or left something else there)
                    self.archive.verify(key, sha256)
                    verified = True
                except ChecksumMismatch:
                    pass
            if not verified:
                copy_object(backend, src_key, self.archive, key, sha256=sha256)  # 2. checksummed stream
                self.archive.verify(key, sha256)  # 3. re-read what the archive now holds
        except (ChecksumMismatch, StorageError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        with self.catalog.write() as s:  # 4. verified
            row = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.backend == self.archive.url)).one()
            row.state, row.key, row.verified_sha256, row.verified_at, row.size_bytes = (
                c.REPLICA_VERIFIED, key, sha256, utcnow(), size)
            s.add(AuditEvent(action="replica_verified", video_id=video_id, backend=self.archive.url, key=key,
                             size_bytes=size, run_id=run_id))
        return size

    def _source(self, video_id: int) -> tuple[StorageBackend, str] | None:
        with self.catalog.read() as s:
            replicas = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.state == c.REPLICA_VERIFIED,
                                                       Replica.backend != self.archive.url)).all()
        if not replicas:
            return None
        replica = next((r for r in replicas if r.backend == self.hot.url), replicas[0])
        return (self.hot if replica.backend == self.hot.url else open_backend(replica.backend)), replica.key

    # -- move: free the hot tier -----------------------------------------------------------------------
    def _free_hot(self, day: dt.date | None, run_id: str | None) -> int:
        """Delete hot copies whose archive replica is verified (never otherwise)."""
        archived = select(Replica.video_id).where(Replica.backend == self.archive.url, Replica.state == c.REPLICA_VERIFIED)
        stmt = select(Replica).join(Video, Video.id == Replica.video_id).where(
            Replica.backend == self.hot.url, Replica.video_id.in_(archived)
        )
        if day is not None:
            stmt = stmt.where(Video.landing_date == day)
        deleted = 0
        with self.catalog.write() as s:
            rows = s.scalars(stmt).all()
            for row in rows:
                row.state = REPLICA_DELETING  # a crash after this point is finished by the next run
            plan = [(r.id, r.video_id, r.key, r.size_bytes) for r in rows]
        for replica_id, video_id, key, size in plan:
            try:
                self.hot.delete(key)
            except StorageError:
                continue  # stays "deleting"; retried next run
            with self.catalog.write() as s:
                row = s.get(Replica, replica_id)
                if row is not None:
                    s.delete(row)
                s.add(AuditEvent(action="hot_copy_deleted", video_id=video_id, backend=self.hot.url, key=key,
                                 size_bytes=size, detail={"policy": "migration=move", "kept_on": self.archive.url},
                                 run_id=run_id))
            deleted += 1
        return deleted

