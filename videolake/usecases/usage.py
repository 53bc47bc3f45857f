"""How full the storage is: per backend what the catalog records there (objects, bytes) and, where
the backend can tell (a local file system), its free and total bytes; the upload spool's files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from videolake.catalog.repository import Catalog
from videolake.catalog.usage import stored_totals
from videolake.storage import StorageBackend
from videolake.storage.local_backend import LocalBackend
from videolake.usecases.results import Result

GB = 1024**3


@dataclass(frozen=True)
class BackendUsage(Result):
    backend: str
    role: str  # hot, archive, quarantine
    objects: int  # what the catalog records there
    bytes_used: int
    bytes_free: int | None  # None: the backend cannot tell (object stores)
    bytes_total: int | None


@dataclass(frozen=True)
class StorageUsage(Result):
    backends: list[BackendUsage]
    spool_files: int  # uploads being received or waiting for ingest
    spool_bytes: int
    # The upload-and-serve service's figures, for the hot tier when it is a local disk.
    disk_free_gb: float | None
    disk_used_gb: float | None
    disk_total_gb: float | None
    temp_files_count: int
    temp_files_size_mb: float


def _disk(backend: StorageBackend) -> tuple[int, int, int] | None:
    if not isinstance(backend, LocalBackend):
        return None
    root = backend.root
    while not root.exists() and root != root.parent:
        root = root.parent
    usage = shutil.disk_usage(root)
    return usage.free, usage.used, usage.total


def _folder_files(root: Path) -> tuple[int, int]:
    files = size = 0
    if not root.is_dir():
        return 0, 0
    for folder, _, names in os.walk(root):
        for name in names:
            try:
                size += os.lstat(os.path.join(folder, name)).st_size
                files += 1
            except FileNotFoundError:
                continue
    return files, size


def storage_usage(catalog: Catalog, backends: dict[str, StorageBackend], spool_root: Path) -> StorageUsage:
    """``backends``: role → backend (hot first)."""
    totals = stored_totals(catalog)
    out: list[BackendUsage] = []
    hot_disk = None
    for role, backend in backends.items():
        mine = [t for t in totals if t.backend == backend.url]
        disk = _disk(backend)
        if role == "hot":
            hot_disk = disk
        out.append(BackendUsage(backend.url, role, sum(t.objects for t in mine), sum(t.bytes for t in mine),
                                disk[0] if disk else None, disk[2] if disk else None))
    files, size = _folder_files(spool_root)
    return StorageUsage(
        out, files, size,
        round(hot_disk[0] / GB, 3) if hot_disk else None, round(hot_disk[1] / GB, 3) if hot_disk else None,
        round(hot_disk[2] / GB, 3) if hot_disk else None, files, round(size / 1024**2, 1))
