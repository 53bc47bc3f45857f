"""Local-filesystem backend: atomic, fsynced writes under one root folder."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from videolake.storage.base import (
    CHUNK_SIZE,
    ChecksumMismatch,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageBackend,
    StorageError,
    validate_key,
)

TMP_DIR = ".videolake-tmp"
_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded on first use (``find_library`` runs a subprocess: not at import)."""
    try:
        import ctypes.util

        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


@functools.cache
def _sync_file_range() -> Any:
    """libc's sync_file_range(2), typed, or None where it lacks it (not Linux)."""
    fn = getattr(_libc(), "sync_file_range", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return fn


def file_version(st: os.stat_result) -> str:
    """Changes whenever the file does: a new inode (replaced) or a new modification time (written)."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def same_bytes_version(a: str | None, b: str | None) -> bool:
    """Whether two ``file_version``s are one file with unchanged bytes, metadata changes (a new
    hard link, a chmod: the ctime) aside."""
    return a is not None and b is not None and a.split(":")[:3] == b.split(":")[:3]


def write_all(fd: int, data: bytes) -> None:
    """write(2) until every byte is in the file: a short write (a filling disk) is retried, and
    the error that follows it (ENOSPC) raised; never a silently cut-short file."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "no byte could be written")
        view = view[written:]


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing these bytes to the disk now, without waiting (sync_file_range(2)); the final
    fsync then waits for what is left instead of for the whole file. Durability is still that fsync's."""
    sync_file_range = _sync_file_range()
    if sync_file_range is not None:
        sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBackend(StorageBackend):
    """Objects are files below ``root``; keys are relative POSIX paths."""

    def __init__(self, root: str | Path, *, durable: bool = True, prune_folders: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = self.root.as_uri()
        self.durable = durable
        self.prune_folders = prune_folders  # remove folders a delete leaves empty (not in landing zones)

    def __repr__(self) -> str:
        return f"LocalBackend({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        # validate_key forbids absolute keys and '.'/'..' components, so root/key cannot leave
        # the root lexically; listings never descend into symlinked folders.
        validate_key(key)
        path = self.root / key
        if not os.path.normpath(path).startswith(str(self.root) + os.sep):
            raise InvalidKey(f"object key {key!r} resolves outside {self.root}")
        return path

    def unfinished_uploads(self, older_than: float = 3600) -> list[ObjectInfo]:
        import time

        tmp = self.root / TMP_DIR
        if not tmp.is_dir():
            return []
        cutoff = time.time() - older_than
        out = []
        for entry in os.scandir(tmp):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.name.endswith(".part") and st.st_mtime <= cutoff:
                out.append(ObjectInfo(key=f"{TMP_DIR}/{entry.name}", size=st.st_size, mtime=st.st_mtime))
        return out

    def check(self) -> None:
        from videolake.storage.base import BackendUnavailable

        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable(f"{self.url}: cannot create the storage folder: {exc.strerror or exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise BackendUnavailable(f"{self.url}: the storage folder is not writable")

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def deferred(self) -> "LocalBackend":
        return LocalBackend(self.root, durable=False, prune_folders=self.prune_folders)

    def keeping_folders(self) -> "LocalBackend":
        """A landing zone's view: deletes never remove folders (a camera or uploader writes into
        ``cam3/`` again a moment later, and must find it there)."""
        return LocalBackend(self.root, durable=self.durable, prune_folders=False)

    def flush(self) -> None:
        """syncfs(2) on the root's filesystem: one flush for many writes (group commit)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            syncfs = getattr(_libc(), "syncfs", None)
            if syncfs is None:
                os.sync()  # reports no errors: only where syncfs(2) is missing (not Linux)
                return
            if syncfs(fd) != 0:
                # Linux >= 5.8 reports writeback errors (ENOSPC, EIO) of the filesystem here: what the
                # deferred writes put there is not known to be durable, so nothing may be recorded.
                err = ctypes.get_errno()
                raise StorageError(f"{self.url}: flushing writes to disk failed: {os.strerror(err)}")
        finally:
            os.close(fd)

    def _tmp_path(self) -> Path:
        tmp = self.root / TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{uuid.uuid4().hex}.part"

    def _commit(self, tmp: Path, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)
        if self.durable:
            _fsync_dir(target.parent)

    def _write(self, key: str, stream: BinaryIO, sha256: str | None) -> ObjectInfo:
        target = self._path(key)
        tmp = self._tmp_path()
        digest = hashlib.sha256()
        size = 0
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                while chunk := stream.read(CHUNK_SIZE):
                    write_all(fd, chunk)  # every byte reached the file, or OSError (ENOSPC, EIO, …)
                    digest.update(chunk)
                    size += len(chunk)
                on_disk = os.fstat(fd).st_size
                if on_disk != size:
                    raise StorageError(f"{self.url}: {key}: {on_disk} of {size} bytes reached the disk")
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            actual = digest.hexdigest()
            if sha256 is not None and actual != sha256:
                raise ChecksumMismatch(f"{self.url}: {key}: content hashes to {actual}, expected {sha256}")
            self._commit(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return ObjectInfo(key=key, size=size, mtime=target.stat().st_mtime, sha256=actual)

    def put_file(self, key, path, *, sha256=None, content_type=None, move=False, link=False) -> ObjectInfo:  # type: ignore[no-untyped-def]
        if link and sha256 is not None and not move:
            stored = self._link(key, Path(path), sha256)
            if stored is not None:
                return stored
        if move and sha256 is not None:
            target = self._path(key)
            try:
                if self.durable:
                    with open(path, "rb") as fh:
                        os.fsync(fh.fileno())
                self._commit(Path(path), target)
                st = target.stat()
                return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, sha256=sha256)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
        with open(path, "rb", buffering=0) as src:
            return self._write(key, src, sha256)

    def _link(self, key: str, path: Path, sha256: str) -> ObjectInfo | None:
        """``path`` stored under ``key`` by a hard link (a temporary name, then renamed into place),
        or None when this filesystem cannot (another device, no hard links): then it is copied."""
        target = self._path(key)
        tmp = self._tmp_path()
        try:
            os.link(path, tmp)
        except OSError as exc:
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                return None
            raise
        try:
            os.chmod(tmp, 0o644)  # as a copy would be
            self._commit(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        st = target.stat()
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, sha256=sha256)

    def scratch_dir(self) -> Path:
        tmp = self.root / TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def put_stream(self, key, stream, *, sha256=None, content_type=None) -> ObjectInfo:  # type: ignore[no-untyped-def]
        return self._write(key, stream, sha256)

    def open(self, key: str) -> BinaryIO:
        """Regular files only: a symlink is not followed, and a FIFO or device is never read from
        (O_NONBLOCK: opening a FIFO with no writer cannot hang)."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError(f"{self.url}: {key} is a symbolic link; it is not followed") from exc
            if exc.errno in (errno.ENAMETOOLONG, errno.ENOTDIR):
                raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError(f"{self.url}: {key} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        from videolake.storage.parts import window

        fh = self.open(key)
        fh.seek(start)
        return window(fh, length)  # type: ignore[return-value]

    def get_file(self, key: str, dest: str | Path) -> ObjectInfo:
        src = self._path(key)
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            shutil.copyfile(src, tmp)
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"{self.url}: {key} does not exist") from exc
        os.replace(tmp, dest)
        st = dest.stat()
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            st = os.lstat(self._path(key))
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.ENOTDIR):
                return None  # no object can have that name
            raise
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, regular=stat.S_ISREG(st.st_mode),
                          version=file_version(st))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        if self.durable:
            _fsync_dir(path.parent)
        self._prune_empty(path.parent)

    def _prune_empty(self, folder: Path) -> None:
        """Remove now-empty folders up to the root (content-addressed trees stay shallow)."""
        while self.prune_folders and folder != self.root:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def delete_many(self, keys) -> None:  # type: ignore[no-untyped-def]
        """Unlink every key, then fsync each touched folder once (not once per file)."""
        parents: set[Path] = set()
        for key in keys:
            path = self._path(key)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            parents.add(path.parent)
        if self.durable:
            for parent in parents:
                if parent.exists():
                    _fsync_dir(parent)
        for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
            self._prune_empty(parent)

    def move_from(self, key: str, source: Path) -> ObjectInfo:
        """Rename a file on the same filesystem into this backend (used for quarantine)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        if self.durable:
            _fsync_dir(target.parent)
            _fsync_dir(source.parent)
        st = os.lstat(target)
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, regular=stat.S_ISREG(st.st_mode))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        start = self.root / prefix.rstrip("/") if prefix else self.root
        if not start.is_dir():
            return
        stack = [start]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except (FileNotFoundError, NotADirectoryError):
                continue
            subfolders = []
            for entry in entries:
                if folder == self.root and entry.name == TMP_DIR:
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subfolders.append(Path(entry.path))
                        continue
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished while listing
                key = Path(entry.path).relative_to(self.root).as_posix()
                yield ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime, regular=stat.S_ISREG(st.st_mode),
                                 version=file_version(st))
            stack.extend(reversed(subfolders))

    def readable_url(self, key: str, expires_in: int = 3600) -> str:
        return self._path(key).as_uri()

    def __getstate__(self) -> dict:
        return {"root": str(self.root), "durable": self.durable, "prune_folders": self.prune_folders}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["root"], durable=state["durable"], prune_folders=state.get("prune_folders", True))  # type: ignore[misc]
