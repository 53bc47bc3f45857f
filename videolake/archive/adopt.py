"""Take over a legacy store: register objects already in a backend without copying them.

Each object is hashed by streaming and probed (from its own path, or a temporary download). Content
already in the catalog gains a replica on this backend; new content becomes a video whose only
replica is the object where it lies. Objects that are not videos are reported and left alone.
Already-registered objects are skipped, so adopting twice changes nothing.
"""

from __future__ import annotations


from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Landing, Replica, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.ingest.engine import probe_columns
from videolake.ingest.landing import display_text, is_in_progress, is_sidecar
from videolake.media.inspection import MediaRejected, inspect_video
from videolake.storage import StorageBackend, StorageError

ADOPTED_SOURCE_TYPE = c.SOURCE_UPLOADED


@dataclass
class AdoptReport:
    registered: list[int] = field(default_factory=list)  # new videos
    linked: list[int] = field(default_factory=list)  # known content, replica added
    skipped: int = 0  # already registered
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    bytes_hashed: int = 0


def _hash_and_probe(backend: StorageBackend, key: str) -> tuple[str, int, dict | None, str | None]:
    from videolake.storage import sha256_file

    with backend.local_file(key) as path:
        sha, size = sha256_file(path), path.stat().st_size
        try:
            return sha, size, inspect_video(path).to_dict(), None
        except MediaRejected as exc:
            return sha, size, None, f"{exc.reason}: {exc.detail}"


def adopt(catalog: Catalog, backend: StorageBackend, *, source: str = "adopted", prefix: str = "",
          progress: Callable[[int, str], None] | None = None) -> AdoptReport:
    report = AdoptReport()
    with catalog.read() as s:
        known_keys = set(s.scalars(select(Replica.key).where(Replica.backend == backend.url)))
    today = utcnow().date()
    for n, info in enumerate(backend.list(prefix), start=1):
        if progress:
            progress(n, info.key)
        if info.key in known_keys:
            report.skipped += 1
            continue
        if is_in_progress(info.key) or is_sidecar(info.key) or info.key.startswith(c.DERIVATIVES_PREFIX + "/"):
            continue
        try:
            sha, size, probe, problem = _hash_and_probe(backend, info.key)
        except (StorageError, OSError) as exc:
            report.rejected.append((info.key, f"unreadable: {exc}"))
            continue
        report.bytes_hashed += size
        if probe is None:
            report.rejected.append((info.key, problem or "not a video"))
            continue
        uri = display_text(f"{backend.url.rstrip('/')}/{info.key}")
        now = utcnow()
        with catalog.write() as s:
            video = s.scalars(select(Video).where(Video.sha256 == sha)).first()
            if video is None:
                video = Video(sha256=sha, size_bytes=size, name=display_text(PurePosixPath(info.key).name),
                              extension=PurePosixPath(info.key).suffix.lower().lstrip(".")[:16], source=source,
                              source_type=ADOPTED_SOURCE_TYPE, landing_uri=uri, landing_date=today, **probe_columns(probe, now))
                s.add(video)
                s.flush()
                report.registered.append(video.id)
                outcome = c.OUTCOME_INGESTED
            else:
                report.linked.append(video.id)
                outcome = c.OUTCOME_DUPLICATE
            s.add(Replica(video_id=video.id, backend=backend.url, key=info.key, state=c.REPLICA_VERIFIED,
                          size_bytes=size, verified_sha256=sha, verified_at=now))
            s.add(Landing(video_id=video.id, landing_uri=uri, name=video.name, source=source, source_type=video.source_type,
                          sha256=sha, size_bytes=size, outcome=outcome, landed_at=now))
        known_keys.add(info.key)
    return report


