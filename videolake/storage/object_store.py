"""What the object-store backends (S3, GCS, Azure Blob) share: a container URL with a key prefix,
a client built once on first use (never at import), atomic downloads, and error helpers."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

from videolake.storage.base import BackendUnavailable, ObjectInfo, StorageBackend, StorageError, validate_key


class ObjectStoreBackend(StorageBackend):
    """Objects under ``<scheme>://<container>/<prefix>``; subclasses build the client in ``_make_client``
    and name their options dataclass in ``options_type``. Pickled (to worker processes) as container,
    prefix and options: the client is rebuilt where it is used."""

    options_type: ClassVar[type]

    def __init__(self, scheme: str, container: str, prefix: str, options: Any = None) -> None:
        self.container = container
        self.prefix = prefix.strip("/")
        self.url = f"{scheme}://{container}/{self.prefix}" if self.prefix else f"{scheme}://{container}"
        self.options = options if options is not None else self.options_type()
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def __getstate__(self) -> dict:
        return {"container": self.container, "prefix": self.prefix, "options": asdict(self.options)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["container"], state["prefix"], self.options_type(**state["options"]))  # type: ignore[misc]

    def _make_client(self) -> Any:
        raise NotImplementedError

    def _lazy_client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    # -- keys ------------------------------------------------------------------------------------
    def full_key(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, name: str) -> str:
        return name[len(self.prefix) + 1 :] if self.prefix else name

    def _listing_prefix(self, prefix: str = "") -> str:
        return (f"{self.prefix}/" if self.prefix else "") + prefix

    # -- shared operations -------------------------------------------------------------------------
    def _download_to(self, key: str, dest: str | Path, fetch: Callable[[Path], None],
                     translate: Callable[[Exception, str], StorageError]) -> ObjectInfo:
        """``fetch`` writes the object to a temporary file next to ``dest``, which then replaces it."""
        dest = Path(dest)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            fetch(tmp)
        except Exception as exc:  # noqa: BLE001
            tmp.unlink(missing_ok=True)
            raise translate(exc, f"{self.url}: download {key}") from exc
        os.replace(tmp, dest)
        st = dest.stat()
        return ObjectInfo(key=key, size=st.st_size, mtime=st.st_mtime)

    def _delete_concurrently(self, keys: Iterable[str], workers: int) -> None:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(self.delete, list(keys)))


def as_unavailable(error: StorageError) -> BackendUnavailable:
    """A failed reachability check is reported as BackendUnavailable whatever the cause."""
    return error if isinstance(error, BackendUnavailable) else BackendUnavailable(str(error))


def timestamp(value: Any) -> float:
    """POSIX seconds of a client library's datetime (0.0 when it gives none)."""
    return value.timestamp() if value is not None else 0.0


def unquoted_etag(value: str | None) -> str | None:
    """An ETag without its quotes (listings and HEAD responses spell them differently)."""
    return value.strip('"') if value else None
