"""Google Cloud Storage backend (``gs://bucket/prefix``) on google-cloud-storage.

Integrity: uploads read through a VerifyingReader, which raises before the last bytes are handed
to the client when the content does not hash to the expected sha256, so the upload (resumable or
single request) is never finalized and no wrong object becomes visible. The library checks a
crc32c of what it sent against what the server stored. The sha256 is kept as object metadata.

Credentials: Application Default Credentials (a service account, workload identity, ...). With
``STORAGE_EMULATOR_HOST`` set (fake-gcs-server), the client talks to the emulator anonymously.
Clients are built on first use, never at import.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from videolake.storage.base import (
    BackendUnavailable,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)
from videolake.storage.object_store import ObjectStoreBackend, as_unavailable, timestamp
from videolake.storage.parts import ChunkStream, VerifyingReader

SHA256_METADATA = "sha256"
EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


@dataclass(frozen=True)
class GCSOptions:
    project: str | None = None
    emulator_host: str | None = None  # default: $STORAGE_EMULATOR_HOST
    chunk_size: int = 16 * 1024 * 1024  # resumable upload chunk (a multiple of 256 KiB)
    read_chunk_size: int = 8 * 1024 * 1024
    list_page_size: int = 1000
    timeout: float = 60.0
    retry_deadline: float = 60.0  # total time spent retrying a failing request
    delete_concurrency: int = 8


def _translate(exc: Exception, what: str) -> StorageError:
    from google.api_core import exceptions as gexc

    try:
        from google.resumable_media.common import DataCorruption
    except ImportError:  # pragma: no cover - older layouts
        DataCorruption = ()  # type: ignore[assignment]
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, gexc.RetryError) and exc.cause is not None:
        return _translate(exc.cause, what)  # type: ignore[arg-type]
    if DataCorruption and isinstance(exc, DataCorruption):
        return ChecksumMismatch(f"{what}: the stored crc32c does not match what was sent")
    if isinstance(exc, gexc.NotFound):
        return ObjectNotFound(f"{what}: not found")
    if isinstance(exc, (gexc.Unauthorized, gexc.Forbidden)):
        return BackendUnavailable(f"{what}: {exc}")
    if isinstance(exc, gexc.GoogleAPICallError):
        return StorageError(f"{what}: {exc}")
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return BackendUnavailable(f"{what}: {exc}")
    from google.auth.exceptions import DefaultCredentialsError, TransportError

    if isinstance(exc, (DefaultCredentialsError, TransportError)):
        return BackendUnavailable(f"{what}: {exc}")
    return StorageError(f"{what}: {type(exc).__name__}: {exc}")


class GCSBackend(ObjectStoreBackend):
    """Objects under ``gs://bucket/prefix``."""

    options_type = GCSOptions
    options: GCSOptions

    def __init__(self, bucket: str, prefix: str = "", options: GCSOptions | None = None) -> None:
        if len(bucket) < 3:
            raise ValueError(f"GCS bucket name {bucket!r} is too short (3 characters at least)")
        super().__init__("gs", bucket, prefix, options)
        self.bucket_name = bucket

    # -- client ----------------------------------------------------------------------------------
    @property
    def emulator_host(self) -> str | None:
        host = self.options.emulator_host or os.environ.get(EMULATOR_ENV)
        if host and "://" not in host:
            host = f"http://{host}"
        return host or None

    @property
    def client(self) -> Any:
        return self._lazy_client()

    def _make_client(self) -> Any:
        from google.cloud import storage

        emulator = self.emulator_host
        try:
            if emulator:
                from google.auth.credentials import AnonymousCredentials

                return storage.Client(
                    project=self.options.project or "videolake",
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": emulator},
                )
            return storage.Client(project=self.options.project)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: connect") from exc

    @property
    def retry(self) -> Any:
        from google.cloud.storage.retry import DEFAULT_RETRY

        return DEFAULT_RETRY.with_deadline(self.options.retry_deadline)

    @property
    def bucket(self) -> Any:
        return self.client.bucket(self.bucket_name)

    def ensure_bucket(self) -> None:
        from google.api_core.exceptions import Conflict

        try:
            self.client.create_bucket(self.bucket_name)
        except Conflict:
            pass

    def check(self) -> None:
        try:
            found = self.client.lookup_bucket(self.bucket_name, timeout=self.options.timeout, retry=self.retry)
        except Exception as exc:  # noqa: BLE001
            raise as_unavailable(_translate(exc, f"{self.url}: reach the bucket")) from exc
        if found is None:
            raise BackendUnavailable(f"{self.url}: the bucket does not exist")

    # -- writes ----------------------------------------------------------------------------------
    def _upload(self, key: str, stream: BinaryIO, sha256: str | None, content_type: str | None,
                size: int | None) -> ObjectInfo:
        name = self.full_key(key)
        reader = VerifyingReader(stream, sha256, f"{self.url}: {key}", size=size)
        blob = self.bucket.blob(name, chunk_size=self.options.chunk_size)
        if sha256:
            blob.metadata = {SHA256_METADATA: sha256}
        try:
            blob.upload_from_file(reader, size=size, content_type=content_type or "application/octet-stream",
                                  checksum="crc32c", timeout=self.options.timeout, retry=None)
            if not reader.finished:  # the library stopped short of the end: never trust that upload
                raise StorageError(f"{self.url}: {key}: upload ended after {reader.count} bytes, before the end")
            if sha256 is None:
                blob.metadata = {SHA256_METADATA: reader.sha256}
                blob.patch(timeout=self.options.timeout, retry=self.retry)
        except ChecksumMismatch:
            raise
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc.__cause__, ChecksumMismatch) or isinstance(exc.__context__, ChecksumMismatch):
                raise (exc.__cause__ or exc.__context__) from exc  # type: ignore[misc]
            raise _translate(exc, f"{self.url}: put {key}") from exc
        return ObjectInfo(key=key, size=reader.count, mtime=timestamp(blob.updated), sha256=reader.sha256)

    def put_file(self, key, path, *, sha256=None, content_type=None, move=False, link=False) -> ObjectInfo:  # type: ignore[no-untyped-def]
        with open(path, "rb") as fh:
            return self._upload(key, fh, sha256, content_type, os.fstat(fh.fileno()).st_size)

    def put_stream(self, key, stream, *, sha256=None, content_type=None) -> ObjectInfo:  # type: ignore[no-untyped-def]
        return self._upload(key, stream, sha256, content_type, None)

    # -- reads -----------------------------------------------------------------------------------
    def _get_blob(self, key: str) -> Any:
        try:
            return self.bucket.get_blob(self.full_key(key), timeout=self.options.timeout, retry=self.retry)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: head {key}") from exc

    def open(self, key: str) -> BinaryIO:
        return self._read(key, 0, None)

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        return self._read(key, start, length)

    def _read(self, key: str, first: int, length: int | None) -> BinaryIO:
        blob = self._get_blob(key)
        if blob is None:
            raise ObjectNotFound(f"{self.url}: {key} does not exist")
        size, step = int(blob.size or 0), self.options.read_chunk_size
        if length is not None:
            size = min(size, first + length)

        def chunks() -> Iterator[bytes]:  # pinned to the generation we looked at
            for start in range(first, size, step):
                try:
                    yield blob.download_as_bytes(start=start, end=min(start + step, size) - 1, checksum=None,
                                                 if_generation_match=blob.generation, timeout=self.options.timeout,
                                                 retry=self.retry)
                except Exception as exc:  # noqa: BLE001
                    raise _translate(exc, f"{self.url}: read {key}") from exc

        return ChunkStream(chunks())  # type: ignore[return-value]

    def get_file(self, key: str, dest: str | Path) -> ObjectInfo:
        blob = self.bucket.blob(self.full_key(key))
        return self._download_to(key, dest, lambda tmp: blob.download_to_filename(
            str(tmp), checksum="crc32c", timeout=self.options.timeout, retry=self.retry), _translate)

    def head(self, key: str) -> ObjectInfo | None:
        blob = self._get_blob(key)
        if blob is None:
            return None
        return ObjectInfo(key=key, size=int(blob.size or 0), mtime=timestamp(blob.updated),
                          sha256=(blob.metadata or {}).get(SHA256_METADATA), version=_generation(blob))

    def delete(self, key: str) -> None:
        from google.api_core.exceptions import NotFound

        try:
            self.bucket.blob(self.full_key(key)).delete(timeout=self.options.timeout, retry=self.retry)
        except NotFound:
            return
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: delete {key}") from exc

    def delete_many(self, keys: Iterable[str]) -> None:
        self._delete_concurrently(keys, self.options.delete_concurrency)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        try:
            for blob in self.client.list_blobs(self.bucket_name, prefix=self._listing_prefix(prefix), page_size=self.options.list_page_size,
                                               timeout=self.options.timeout, retry=self.retry):
                if blob.name.endswith("/"):
                    continue
                yield ObjectInfo(key=self._relative(blob.name), size=int(blob.size or 0), mtime=timestamp(blob.updated),
                                 version=_generation(blob))
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: list {prefix!r}") from exc

    def readable_url(self, key: str, expires_in: int = 3600) -> str:
        name = self.full_key(key)
        emulator = self.emulator_host
        if emulator:  # the emulator serves objects without signatures
            return f"{emulator}/download/storage/v1/b/{self.bucket_name}/o/{quote(name, safe='')}?alt=media"
        try:
            return self.bucket.blob(name).generate_signed_url(
                version="v4", expiration=dt.timedelta(seconds=int(expires_in)), method="GET")
        except Exception as exc:  # noqa: BLE001
            raise StorageError(f"{self.url}: cannot sign a URL for {key} with these credentials "
                               f"(a service account key or signBlob permission is needed): {exc}") from exc


def _generation(blob) -> str | None:  # type: ignore[no-untyped-def]
    return str(blob.generation) if getattr(blob, "generation", None) is not None else None
