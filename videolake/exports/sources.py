"""Read a cataloged video's content as a local file: its own path on local storage, else a download."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from videolake import constants as c
from videolake.catalog.models import Replica
from videolake.catalog.repository import Catalog
from videolake.storage import StorageBackend, open_backend


class NoReadableCopy(Exception):
    pass


def local_copy(catalog: Catalog, preferred: StorageBackend, video_id: int, folder: Path) -> Path:
    """A path to the video's bytes from a verified replica, preferring ``preferred``'s."""
    with catalog.read() as s:
        replicas = s.scalars(select(Replica).where(Replica.video_id == video_id, Replica.state == c.REPLICA_VERIFIED)).all()
    if not replicas:
        raise NoReadableCopy(f"video {video_id} has no verified copy to read")
    replica = next((r for r in replicas if r.backend == preferred.url), replicas[0])
    backend = preferred if replica.backend == preferred.url else open_backend(replica.backend)
    path = backend.local_path(replica.key)
    if path is not None and path.exists():
        return path
    dest = folder / f"video-{video_id}"
    backend.get_file(replica.key, dest)
    return dest
