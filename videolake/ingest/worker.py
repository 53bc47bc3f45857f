"""Per-file work that runs in worker processes: hash, inspect, store, thumbnail.

Every function takes one picklable task and returns one picklable outcome; none touches the
catalog (the parent process records outcomes in batches) and none raises for a bad file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videolake import constants as c
from videolake.ingest.landing import LandedItem
from videolake.media.inspection import MediaLimits, MediaRejected, ProbeResult, inspect_video, open_media, probe_container
from videolake.media.thumbnails import ThumbnailError, ThumbnailSet, make_thumbnails, thumbnails_from_container
from videolake.storage import ChecksumMismatch, ObjectInfo, ObjectNotFound, StorageBackend, StorageError, sha256_file
from videolake.storage.local_backend import file_version, same_bytes_version, start_writeback, write_all
from videolake.storage.layout import derivative_key, video_key

STATUS_STORED = "stored"
STATUS_REJECTED = "rejected"
STATUS_CHANGED = "changed"
STATUS_VANISHED = "vanished"
STATUS_FAILED = "failed"  # storage or unexpected error: the file stays where it landed

_CONTENT_TYPES = {
    "mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
    "matroska,webm": "video/x-matroska",
    "mpegts": "video/mp2t",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
    "mpeg": "video/mpeg",
    "gif": "image/gif",
}


def content_type_for(container: str | None) -> str:
    return _CONTENT_TYPES.get(container or "", "application/octet-stream")


@dataclass(frozen=True)
class IngestTask:
    item: LandedItem
    landing: StorageBackend | None
    hot: StorageBackend
    limits: MediaLimits
    thumbnails: bool = False  # make poster and sprite in the same pass (the whole lineage runs)
    # No stored video has this size, so it cannot be a duplicate: a local file is read once, copied
    # into storage while hashed (a possible duplicate is hashed first, and copied only if new).
    new_size: bool = False


@dataclass
class IngestOutcome:
    item: LandedItem
    status: str
    sha256: str | None = None
    size: int | None = None
    key: str | None = None
    probe: dict[str, Any] | None = None
    already_stored: bool = False
    reason: str | None = None
    detail: str | None = None
    images: list["StoredImage"] = field(default_factory=list)
    thumbnail_error: str | None = None
    read_as: ObjectInfo | None = None  # the landed file as it was read: it is removed only if still exactly this


@contextlib.contextmanager
def _local_copy(backend: StorageBackend | None, key: str) -> Iterator[Path]:
    """A path to read the object from (``key`` itself for a file named from outside a landing zone)."""
    if backend is None:
        yield Path(key)
        return
    with backend.local_file(key) as path:
        yield path


def _file_identity(key: str, path: Path) -> ObjectInfo | None:
    """What a local file is now (size, mtime, version), or None when it is gone."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, version=file_version(st))


STAGE_CHUNK = 1024 * 1024
STAGE_WRITEBACK_BYTES = 8 * 1024 * 1024


def _staged_copy(path: Path, scratch: Path) -> tuple[Path, str, int]:
    """``path`` copied into ``scratch`` (the hot storage's own temporary folder: same filesystem,
    never listed as an object) and hashed on the way, in one read: (the copy, its sha256, its size).
    Every byte written is the byte hashed; a short write is retried, a full disk raises.

    A large file's writeback is started every 8 MiB as it is copied, so the disk writes it while
    this worker probes and thumbnails it (and others work); the group commit's sync before it is
    cataloged then waits for what is left, not for the whole file (4 x 536 MB: that sync took 1.1 s)."""
    staged = scratch / f"{uuid.uuid4().hex}.ingest.part"
    digest = hashlib.sha256()
    size = flushed = 0
    with open(path, "rb", buffering=0) as src:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            while chunk := src.read(STAGE_CHUNK):
                digest.update(chunk)
                write_all(fd, chunk)
                size += len(chunk)
                if size - flushed >= STAGE_WRITEBACK_BYTES:
                    start_writeback(fd, flushed, size - flushed)
                    flushed = size
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                staged.unlink()
            raise
        os.close(fd)
    return staged, digest.hexdigest(), size


def _stored_already(hot: StorageBackend, key: str, sha: str, size: int) -> bool:
    """Whether ``hot`` holds exactly these bytes under ``key``: never trusted by the name alone — the
    size must match and the content hash to ``sha`` (a cut-short object from a full disk does not)."""
    try:
        return hot.verify(key, sha).size == size  # absent: ObjectNotFound; other bytes: ChecksumMismatch
    except (ChecksumMismatch, ObjectNotFound):
        return False


def ingest_file(task: IngestTask) -> IngestOutcome:
    item = task.item
    try:
        local = task.landing is None or task.landing.local_path(item.key) is not None
        # A remote object is identified (ETag / generation) before it is downloaded, so a newer
        # version written meanwhile is never mistaken for the bytes that were read.
        remote_before = None if local else task.landing.head(item.key)  # type: ignore[union-attr]
        if not local and remote_before is None:
            return IngestOutcome(item, STATUS_VANISHED, detail="the file is gone from the landing zone")
        with _local_copy(task.landing, item.key) as path:
            before = _file_identity(item.key, path) if local else remote_before
            if before is None:
                return IngestOutcome(item, STATUS_VANISHED, detail="the file is gone from the landing zone")
            if before.size != item.size or (local and before.mtime != item.mtime):
                return IngestOutcome(item, STATUS_CHANGED, size=before.size, detail="modified after it was claimed")
            # A local file going into local storage is read once: copied into the storage's scratch
            # folder and hashed on the way (then probed from that private copy, and renamed into
            # place). Elsewhere it is hashed here and hashed again by the backend as it is stored.
            scratch = task.hot.scratch_dir() if local and task.new_size and not item.sealed else None
            staged: Path | None = None
            try:
                if scratch is not None:
                    staged, sha, copied = _staged_copy(path, scratch)
                else:
                    sha, copied = sha256_file(path), before.size
                read = _file_identity(item.key, path)
                if read is None or read.size != before.size or copied != before.size or (
                        local and not before.same_object(read)):
                    return IngestOutcome(item, STATUS_CHANGED, size=before.size, detail="modified while it was read")
                key = video_key(sha)
                if _stored_already(task.hot, key, sha, before.size):
                    # Same bytes are already stored (a duplicate, or a run that died before cataloging).
                    return IngestOutcome(item, STATUS_STORED, sha, before.size, key, None, already_stored=True,
                                         read_as=before)
                try:
                    probe, thumbs, thumb_error = _probe_and_thumbnail(staged or path, task.limits, task.thumbnails)
                except MediaRejected as rejected:
                    return IngestOutcome(item, STATUS_REJECTED, sha, before.size, reason=rejected.reason,
                                         detail=rejected.detail, read_as=before)
                content_type = content_type_for(probe.container)
                linked = item.sealed and local
                try:
                    if staged is not None:
                        task.hot.put_file(key, staged, sha256=sha, content_type=content_type, move=True)
                        staged = None  # it is the stored object now
                    else:
                        task.hot.put_file(key, path, sha256=sha, content_type=content_type, link=linked)
                except ChecksumMismatch as exc:
                    return IngestOutcome(item, STATUS_CHANGED, sha, before.size,
                                         detail=f"changed while being stored: {exc}")
            finally:
                if staged is not None:
                    with contextlib.suppress(OSError):
                        staged.unlink()
            if linked:
                # A hard link changes the file's ctime (part of its version), not its bytes: what is
                # removed once cataloged is the file as it is now, if still the same inode and mtime.
                now = _file_identity(item.key, path)
                if now is not None and now.size == before.size and same_bytes_version(now.version, before.version):
                    before = now
            images = store_thumbnails(task.hot, sha, thumbs) if thumbs is not None else []
            return IngestOutcome(item, STATUS_STORED, sha, before.size, key, probe.to_dict(), images=images,
                                 thumbnail_error=thumb_error, read_as=before)
    except StorageError as exc:
        return IngestOutcome(item, STATUS_FAILED, reason="storage_error", detail=str(exc))
    except OSError as exc:  # a full or failing disk: the file stays where it landed, and the run says why
        return IngestOutcome(item, STATUS_FAILED, reason="storage_error", detail=f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return IngestOutcome(item, STATUS_FAILED, reason="internal_error", detail=f"{exc!r}\n{traceback.format_exc(limit=5)}")


@dataclass(frozen=True)
class ProbeTask:
    video_id: int
    backend: StorageBackend
    key: str
    limits: MediaLimits


@dataclass
class ProbeOutcome:
    video_id: int
    probe: dict[str, Any] | None = None
    error: str | None = None


def probe_stored(task: ProbeTask) -> ProbeOutcome:
    try:
        with _local_copy(task.backend, task.key) as path:
            return ProbeOutcome(task.video_id, probe=inspect_video(path, task.limits).to_dict())
    except MediaRejected as exc:
        return ProbeOutcome(task.video_id, error=f"{exc.reason}: {exc.detail}")
    except Exception as exc:  # noqa: BLE001
        return ProbeOutcome(task.video_id, error=f"cannot probe: {exc}")


@dataclass(frozen=True)
class ThumbnailTask:
    video_id: int
    sha256: str
    backend: StorageBackend  # where the thumbnails are stored (the hot tier)
    key: str
    source: StorageBackend | None = None  # where the video is read from, when not ``backend``


@dataclass
class StoredImage:
    kind: str
    key: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ThumbnailOutcome:
    video_id: int
    images: list[StoredImage] = field(default_factory=list)
    error: str | None = None


def _probe_and_thumbnail(path: Path, limits: MediaLimits, thumbnails: bool) -> tuple[ProbeResult, ThumbnailSet | None, str | None]:
    """One open of the file: probe it (raising MediaRejected) and, if asked, make its thumbnails."""
    with open_media(path) as (container, size, av):
        probe, first_frame = probe_container(container, path, size, limits, av)
        if not thumbnails:
            return probe, None, None
        try:
            return probe, thumbnails_from_container(container, first_frame=first_frame), None
        except (ThumbnailError, av.error.FFmpegError) as exc:
            return probe, None, f"thumbnails failed: {exc}"


def store_thumbnails(backend: StorageBackend, sha256: str, made: ThumbnailSet) -> list[StoredImage]:
    images = []
    for kind, image in ((c.DERIVATIVE_POSTER, made.poster), (c.DERIVATIVE_SPRITE, made.sprite)):
        digest = hashlib.sha256(image.data).hexdigest()
        key = derivative_key(sha256, kind)
        backend.put_bytes(key, image.data, sha256=digest, content_type="image/jpeg")
        images.append(StoredImage(kind, key, image.width, image.height, len(image.data), digest, image.meta))
    return images


def thumbnail_stored(task: ThumbnailTask) -> ThumbnailOutcome:
    try:
        with _local_copy(task.source or task.backend, task.key) as path:
            made = make_thumbnails(path)
        return ThumbnailOutcome(task.video_id, store_thumbnails(task.backend, task.sha256, made))
    except ThumbnailError as exc:
        return ThumbnailOutcome(task.video_id, error=str(exc))
    except Exception as exc:  # noqa: BLE001
        return ThumbnailOutcome(task.video_id, error=f"cannot make thumbnails: {exc!r}")
