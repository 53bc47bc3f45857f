"""The upload spool: where bytes received over the HTTP API wait until ingest has stored them.

The spool is a local folder treated as one more landing zone (a ``LocalBackend``): an upload's
file is ``<upload id>/<file name>``, ingest removes it once its content is stored and cataloged,
and quarantines it (moved aside, with the reason) when it is not a usable video.

Invariants:
- Bytes are hashed while they are written (one pass, never a second copy, never all in memory).
- A file is under its final name only when it is complete, hashed and synced; until then it is
  ``<upload id>/.upload.part`` (which no listing takes for a landed file).
- A writer that is abandoned (a client that went away, a limit reached, a checksum that does not
  match) removes what it wrote; a crash leaves only ``.part`` files, removed by ``sweep_leftovers``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from videolake.storage.local_backend import LocalBackend, start_writeback

PART_SUFFIX = ".part"


class UploadTooLarge(Exception):
    """More bytes than the limit (or than the upload declared)."""


class UploadBusy(Exception):
    """Another writer holds the upload (a second PATCH while the first is still running)."""


class UploadLost(Exception):
    """The spool holds fewer bytes than the catalog recorded (the spool was cleaned or lost)."""


@dataclass(frozen=True)
class SpooledFile:
    key: str  # in the spool backend: <upload id>/<file name>
    size: int
    sha256: str


class UploadSpool:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.backend = LocalBackend(self.root)

    def folder(self, upload_id: str) -> Path:
        return self.root / upload_id

    def part_path(self, upload_id: str) -> Path:
        return self.folder(upload_id) / f".upload{PART_SUFFIX}"

    def writer(self, upload_id: str, name: str, *, max_bytes: int, resume: bool = False) -> SpoolWriter:
        return SpoolWriter(self, upload_id, name, max_bytes=max_bytes, resume=resume)

    def appender(self, upload_id: str, *, offset: int, max_bytes: int) -> SpoolWriter:
        """A writer that continues a resumable upload at ``offset`` (its recorded offset), holding
        the upload's lock: bytes past ``offset`` that a crashed writer left unrecorded are cut off
        first. Raises ``UploadBusy`` while another writer (any process) holds it."""
        folder = self.folder(upload_id)
        folder.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise UploadBusy(f"upload {upload_id} is being written by another request") from None
        try:
            part = self.part_path(upload_id)
            with open(part, "ab") as fh:
                if fh.tell() < offset:
                    raise UploadLost(f"upload {upload_id}: the spool holds {fh.tell()} bytes, the catalog {offset}")
                fh.truncate(offset)
            writer = SpoolWriter(self, upload_id, "", max_bytes=max_bytes, resume=True)
        except BaseException:
            os.close(lock_fd)
            raise
        writer.lock_fd = lock_fd
        return writer

    def discard(self, upload_id: str) -> None:
        """Remove everything of an upload from the spool (idempotent)."""
        shutil.rmtree(self.folder(upload_id), ignore_errors=True)

    def sweep_leftovers(self, older_than_seconds: float, keep: set[str]) -> list[str]:
        """Remove upload folders older than that whose upload is not in ``keep`` (crash leftovers)."""
        removed: list[str] = []
        if not self.root.is_dir():
            return removed
        cutoff = time.time() - older_than_seconds
        for entry in os.scandir(self.root):
            if entry.name in keep or not entry.is_dir(follow_symlinks=False):
                continue
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed.append(entry.name)
            except FileNotFoundError:
                continue
        return removed


WRITEBACK_STEP_BYTES = 1024 * 1024


class SpoolWriter:
    """Writes one upload's bytes, hashing them; ``finish`` syncs and gives the file its name.

    ``resume``: append to the part file a paused resumable upload left (its bytes are re-hashed
    on ``finish``, since the hash state of another process is not kept).
    """

    def __init__(self, spool: UploadSpool, upload_id: str, name: str, *, max_bytes: int, resume: bool = False) -> None:
        self.spool, self.upload_id, self.name = spool, upload_id, name
        self.path = spool.part_path(upload_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if resume else os.O_EXCL)
        self._fd = os.open(self.path, flags, 0o600)
        self.size = os.fstat(self._fd).st_size if resume else 0
        self.max_bytes = max_bytes + self.size if resume else max_bytes  # ``max_bytes`` more than it holds
        self._hash = None if resume and self.size else hashlib.sha256()
        self.closed = False
        self.lock_fd: int | None = None  # the upload's lock, held by a resumable upload's writer
        self._flushed_to = self.size  # bytes handed to writeback so far (the sync at the end waits for less)

    def write(self, chunk: bytes | memoryview) -> None:
        if self.size + len(chunk) > self.max_bytes:
            raise UploadTooLarge(f"more than {self.max_bytes} bytes")
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)
        if self.size - self._flushed_to >= WRITEBACK_STEP_BYTES:
            start_writeback(self._fd, self._flushed_to, self.size - self._flushed_to)
            self._flushed_to = self.size

    def sync(self) -> None:
        os.fsync(self._fd)

    def truncate(self, size: int) -> None:
        """Drop what was written past ``size`` (a chunk whose checksum did not match)."""
        os.ftruncate(self._fd, size)
        self.size = size
        self._hash = None if size else hashlib.sha256()

    def close(self) -> None:
        """Stop writing, keeping the part file (a resumable upload paused); the lock is released."""
        if not self.closed:
            os.close(self._fd)
            self.closed = True
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def finish(self, name: str | None = None) -> SpooledFile:
        """Sync, name the file, and return what it holds (re-hashing a resumed file)."""
        name = name or self.name
        os.fsync(self._fd)
        sha256 = self._hash.hexdigest() if self._hash is not None else _sha256_of(self.path)
        final = self.spool.folder(self.upload_id) / name
        os.replace(self.path, final)
        (final.parent / ".lock").unlink(missing_ok=True)
        self.close()
        fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return SpooledFile(f"{self.upload_id}/{name}", self.size, sha256)

    def abort(self) -> None:
        """Remove what was written (a client gone, a limit reached, a checksum that did not match)."""
        self.close()
        self.path.unlink(missing_ok=True)
        try:
            self.path.parent.rmdir()
        except OSError:
            pass


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
