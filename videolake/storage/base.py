"""The storage contract every backend implements, and the errors it raises."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
MAX_KEY_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StorageError(Exception):
    """A storage operation failed."""


class ObjectNotFound(StorageError):
    """The key does not exist in the backend."""


class ChecksumMismatch(StorageError):
    """What was written or read does not hash to the expected sha256; nothing was stored."""


class InvalidKey(StorageError, ValueError):
    """The key is unsafe or malformed (absolute, '..', control characters, too long)."""


class BackendUnavailable(StorageError):
    """The backend could not be reached or refused our credentials."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    mtime: float
    sha256: str | None = None
    regular: bool = True  # False for symlinks and other non-regular entries (local landing zones)
    checksum: str | None = None  # the backend's own record of the content (S3: ChecksumSHA256, maybe composite)
    attested: bool = False  # the backend's write response reported ``checksum`` for the object it committed
    version: str | None = None  # changes whenever the object does: inode + mtime_ns locally, ETag / generation remotely

    def same_object(self, other: "ObjectInfo | None") -> bool:
        """Whether ``other`` is this very object, unchanged: same size, and same version where both
        carry one (else the same mtime). Used before removing a landed file that was read earlier."""
        if other is None or other.size != self.size:
            return False
        if self.version is not None and other.version is not None:
            return self.version == other.version
        return other.mtime == self.mtime


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise InvalidKey."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("empty object key")
    if key.startswith("/") or key.endswith("/"):
        raise InvalidKey(f"object key {key!r} must be relative and name an object, not a folder")
    if _CONTROL.search(key):
        raise InvalidKey(f"object key {key!r} contains control characters")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidKey(f"object key {key!r} contains an empty, '.' or '..' path component")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidKey(f"object key {key!r} is not valid UTF-8") from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKey(f"object key is {len(encoded)} bytes long; the limit is {MAX_KEY_BYTES}")
    return key


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(CHUNK_SIZE)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def sha256_stream(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    total = 0
    while chunk := stream.read(CHUNK_SIZE):
        digest.update(chunk)
        total += len(chunk)
    return digest.hexdigest(), total


class StorageBackend(ABC):
    """One place that stores objects by key. Implementations must be picklable (for workers)."""

    url: str

    @abstractmethod
    def put_file(
        self,
        key: str,
        path: str | Path,
        *,
        sha256: str | None = None,
        content_type: str | None = None,
        move: bool = False,
        link: bool = False,
    ) -> ObjectInfo:
        """Store a local file under ``key``; when ``sha256`` is given, verify it or store nothing.

        ``move`` allows taking the file itself instead of a copy (a rename on the same filesystem);
        the caller vouches that ``sha256`` is the hash of the file as it is. Backends that cannot
        move copy, and the caller removes its file afterwards.

        ``link`` allows storing the file as a second name of the same bytes (a hard link on the
        same filesystem: no copy is written), the file staying where it is; the caller vouches that
        ``sha256`` is its hash, that its bytes are already on disk (synced), and that nothing
        writes to it again — videolake's own finished work files only, never a file someone else
        may still write. Backends that cannot link copy.
        """

    def scratch_dir(self) -> Path | None:
        """A folder for work files from which ``put_file(move=True)`` is a rename, if any."""
        return None

    @abstractmethod
    def put_stream(
        self, key: str, stream: BinaryIO, *, sha256: str | None = None, content_type: str | None = None
    ) -> ObjectInfo:
        """Store what ``stream`` yields; when ``sha256`` is given, verify it or store nothing."""

    def put_bytes(
        self, key: str, data: bytes, *, sha256: str | None = None, content_type: str | None = None
    ) -> ObjectInfo:
        import io

        return self.put_stream(key, io.BytesIO(data), sha256=sha256, content_type=content_type)

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object; raises ObjectNotFound."""

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        """A stream of ``length`` bytes from ``start`` (a player seeking, an HTTP Range request);
        raises ObjectNotFound. ``start + length`` must lie within the object. Backends override
        this with a ranged read; this default reads and drops the bytes before ``start``."""
        from videolake.storage.parts import window

        return window(self.open(key), length, skip=start)  # type: ignore[return-value]

    @abstractmethod
    def get_file(self, key: str, dest: str | Path) -> ObjectInfo:
        """Download the object to ``dest`` (written atomically)."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size, mtime and (when the backend records it) sha256, or None if absent."""

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error (idempotent)."""

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, fetched page by page."""

    @abstractmethod
    def readable_url(self, key: str, expires_in: int = 3600) -> str:
        """A URL a reader can fetch the object from (presigned where the backend supports it)."""

    def local_path(self, key: str) -> Path | None:
        """The object's path on this machine, when it has one."""
        return None

    def keeping_folders(self) -> "StorageBackend":
        """A twin whose deletes leave folders in place (landing zones); object stores have none."""
        return self

    def deferred(self) -> "StorageBackend":
        """A twin whose writes skip per-object syncs; ``flush`` makes them durable in one go."""
        return self

    def flush(self) -> None:
        """Make every write done through ``deferred()`` twins durable (a no-op where puts are)."""

    def verify(self, key: str, sha256: str) -> ObjectInfo:
        """Re-read the object and check it hashes to ``sha256``; raises ChecksumMismatch."""
        info = self.head(key)
        if info is None:
            raise ObjectNotFound(f"{self.url}: {key} does not exist")
        with self.open(key) as stream:
            actual, size = sha256_stream(stream)
        if actual != sha256:
            raise ChecksumMismatch(f"{self.url}: {key} hashes to {actual}, expected {sha256}")
        return ObjectInfo(key=key, size=size, mtime=info.mtime, sha256=actual)

    @contextlib.contextmanager
    def local_file(self, key: str, folder: str | Path | None = None) -> Iterator[Path]:
        """A path to read the object from: its own path where the backend has one, else a
        temporary download (in ``folder``) that is removed when the block ends."""
        path = self.local_path(key)
        if path is not None:
            yield path
            return
        fd, tmp = tempfile.mkstemp(prefix="videolake-", suffix=".part", dir=folder)
        os.close(fd)
        try:
            self.get_file(key, tmp)
            yield Path(tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def move_to(self, key: str, target: "StorageBackend", target_key: str) -> ObjectInfo:
        """Move the object to ``target`` as ``target_key``; returns what ``target`` now holds.

        Crash-safe and idempotent, on any pair of backends: 1. copy it there, hashing the bytes
        read; 2. confirm the target holds exactly those bytes; 3. only then delete it here. A crash
        before step 3 leaves both copies, and moving again finishes the job. Backends may override
        this with a server-side move where source and target share a server.
        """
        from videolake.storage.parts import VerifyingReader

        # 1. Copy, hashing what is read.
        with self.open(key) as stream:
            reader = VerifyingReader(stream, None, f"{self.url}: {key}")
            written = target.put_stream(target_key, reader)  # type: ignore[arg-type]
        # 2. Confirm the copy.
        info = target.confirm(target_key, written, reader.sha256)
        # 3. Delete the original.
        self.delete(key)
        return info

    def unfinished_uploads(self, older_than: float = 3600) -> list[ObjectInfo]:
        """Uploads started more than ``older_than`` seconds ago and never finished (crash leftovers)."""
        return []

    def check(self) -> None:
        """Raise BackendUnavailable unless the backend can be reached (and written, where cheap to tell)."""
        self.head("videolake-reachability-check")

    def confirm(self, key: str, written: ObjectInfo, sha256: str) -> ObjectInfo:
        """Check that the backend now holds what ``put_*`` returned as ``written``, hashing to ``sha256``.

        By default the object is re-read. Backends that keep a server-computed checksum of the
        stored bytes (S3 SHA256) compare that instead; a multipart ETag is never used.
        """
        return self.verify(key, sha256)

    def describe(self) -> str:
        return self.url
