"""Write modes at ingest: where new videos go, and catching up replicas a down backend missed.

- ``LOCAL``: the hot tier only (the archive job copies later, after ``archive_after_days``).
- ``BOTH``: dual write — the hot tier, then in the same run a verified copy on the archive.
- ``REMOTE``: the archive only — stored hot first (the staging copy the probe and thumbnails read),
  copied to the archive and verified in the same run, then the hot copy is deleted.

When the hot tier cannot be reached, BOTH and REMOTE ingest straight into the archive. When the
other backend cannot be reached, the missing replicas are recorded as *pending* and every later
ingest run (and the archive job) catches them up. Nothing is deleted before a verified copy exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from videolake import constants as c
from videolake.constants import WriteMode
from videolake.archive.engine import COPY, MOVE, ArchiveEngine
from videolake.catalog.models import Replica
from videolake.catalog.repository import Catalog
from videolake.storage import BackendUnavailable, StorageBackend, StorageError


def parse_write_mode(value: str | None) -> WriteMode:
    text = (value or "LOCAL").strip().upper()
    try:
        return WriteMode(text)
    except ValueError:
        raise ValueError(f"{c.ENV_WRITE_MODE} must be LOCAL, REMOTE or BOTH, not {value!r}") from None


def reachable(backend: StorageBackend) -> str | None:
    """None when the backend answers, else why not."""
    try:
        backend.check()
        return None
    except (StorageError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


def ingest_target(hot: StorageBackend, archive: StorageBackend, mode: WriteMode) -> tuple[StorageBackend, str | None]:
    """The backend ingest writes to first, and why it is not the hot tier when it is not.

    LOCAL always writes hot (a down hot tier fails the run: nothing else is meant to hold new
    video). BOTH and REMOTE fall back to the archive when the hot tier is down; when both are down
    the run fails before touching a landed file.
    """
    if mode is WriteMode.LOCAL:
        return hot, None
    hot_down = reachable(hot)
    if hot_down is None:
        return hot, None
    archive_down = reachable(archive)
    if archive_down is not None:
        raise BackendUnavailable(f"neither storage can be reached: hot {hot.url}: {hot_down}; "
                                 f"archive {archive.url}: {archive_down}")
    return archive, f"hot storage unreachable ({hot_down}); ingested into the archive {archive.url}"


@dataclass
class ReplicationReport:
    mode: str
    copied: int = 0
    bytes_copied: int = 0
    hot_deleted: int = 0
    pending: list[tuple[int, str, str]] = field(default_factory=list)  # (video id, backend, why)
    notes: list[str] = field(default_factory=list)


def _pending_on(catalog: Catalog, backend_url: str) -> set[int]:
    with catalog.read() as s:
        return set(s.scalars(select(Replica.video_id).where(Replica.backend == backend_url,
                                                            Replica.state == c.REPLICA_PENDING)))


def replicate_after_ingest(
    catalog: Catalog,
    hot: StorageBackend,
    archive: StorageBackend,
    mode: WriteMode,
    new_video_ids: list[int],
    *,
    run_id: str | None = None,
    transfers: int = 8,
) -> ReplicationReport:
    """Give the run's new videos (and every replica still pending from earlier runs) the replicas
    the write mode asks for. Never raises for a down backend: what could not be copied stays pending."""
    report = ReplicationReport(mode=mode.value)
    if mode is WriteMode.LOCAL:
        return report
    directions = [(hot, archive, MOVE if mode is WriteMode.REMOTE else COPY)]
    if mode is WriteMode.BOTH:
        directions.append((archive, hot, COPY))  # videos ingested into the archive while hot was down
    for source, target, how in directions:
        engine = ArchiveEngine(catalog, source, target, mode=how, transfers=transfers, source_only=True)
        engine.move_policy = f"write_mode={mode.value}"
        wanted = set(new_video_ids) | _pending_on(catalog, target.url)
        work = engine.todo(video_ids=sorted(wanted)) if wanted else []
        if not work and how == COPY:
            continue
        down = reachable(target)
        if down is not None:
            engine.mark_pending(work)
            report.pending += [(vid, target.url, down) for vid, _, _ in work]
            report.notes.append(f"{target.url} unreachable: {len(work)} replicas recorded as pending ({down})")
            continue
        # REMOTE: every hot copy whose archive copy is verified goes (also those a crash left behind).
        result = engine.run(work=work, run_id=run_id)
        report.copied += len(result.archived)
        report.bytes_copied += result.bytes_copied
        report.hot_deleted += result.hot_deleted
        report.pending += [(vid, target.url, error) for vid, error in result.errors]
    return report
