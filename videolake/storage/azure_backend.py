"""Azure Blob Storage backend (``az://container/prefix``) on azure-storage-blob.

Integrity: small objects go in one request with a transactional MD5; larger ones are staged as
blocks in parallel (each with its MD5), the whole-object sha256 is computed over the same bytes,
and the block list is committed only when it matches — uncommitted blocks are never visible and
the service discards them. The sha256 is kept as blob metadata.

Connection, read on first use (never at import): ``AZURE_STORAGE_CONNECTION_STRING``, or
``AZURE_STORAGE_ACCOUNT`` with ``AZURE_STORAGE_KEY`` (``AZURE_STORAGE_ACCOUNT_URL`` overrides the
``https://<account>.blob.core.windows.net`` endpoint).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from videolake.storage.base import (
    BackendUnavailable,
    ChecksumMismatch,
    ObjectInfo,
    ObjectNotFound,
    StorageError,
)
from videolake.storage.object_store import ObjectStoreBackend, as_unavailable, timestamp, unquoted_etag
from videolake.storage.parts import ChunkStream, iter_parts, read_exact, upload_parts

SHA256_METADATA = "sha256"


@dataclass(frozen=True)
class AzureOptions:
    connection_string: str | None = None
    account_name: str | None = None
    account_key: str | None = None
    account_url: str | None = None
    single_put_threshold: int = 32 * 1024 * 1024
    block_size: int = 16 * 1024 * 1024
    max_concurrency: int = 8
    list_page_size: int = 1000
    timeout: int = 60
    retry_total: int = 3


def _translate(exc: Exception, what: str) -> StorageError:
    from azure.core import exceptions as aexc

    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, aexc.ResourceNotFoundError):
        code = getattr(exc, "error_code", None)
        if code == "ContainerNotFound":
            return BackendUnavailable(f"{what}: the container does not exist")
        return ObjectNotFound(f"{what}: not found")
    if isinstance(exc, aexc.ClientAuthenticationError):
        return BackendUnavailable(f"{what}: {exc.message}")
    if isinstance(exc, (aexc.ServiceRequestError, aexc.ServiceResponseError)):
        return BackendUnavailable(f"{what}: {exc}")
    if isinstance(exc, aexc.HttpResponseError):
        if getattr(exc, "error_code", None) in ("Md5Mismatch", "Crc64Mismatch", "InvalidMd5"):
            return ChecksumMismatch(f"{what}: the service rejected the body's checksum ({exc.error_code})")
        return StorageError(f"{what}: {exc.error_code or exc.status_code}: {exc.message}")
    return StorageError(f"{what}: {type(exc).__name__}: {exc}")


def _parse_connection_string(value: str) -> dict[str, str]:
    return {k.strip().lower(): v for k, _, v in (p.partition("=") for p in value.split(";") if "=" in p)}


class AzureBackend(ObjectStoreBackend):
    """Blobs under ``az://container/prefix``."""

    options_type = AzureOptions
    options: AzureOptions

    def __init__(self, container: str, prefix: str = "", options: AzureOptions | None = None) -> None:
        if not (3 <= len(container) <= 63):
            raise ValueError(f"Azure container name {container!r} must be 3 to 63 characters long")
        super().__init__("az", container, prefix, options)

    # -- client ----------------------------------------------------------------------------------
    def _credentials(self) -> tuple[str | None, str | None, str | None, str | None]:
        """(connection string, account name, account key, account url) from options, then env."""
        opts = self.options
        conn = opts.connection_string or os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        name = opts.account_name or os.environ.get("AZURE_STORAGE_ACCOUNT")
        key = opts.account_key or os.environ.get("AZURE_STORAGE_KEY")
        url = opts.account_url or os.environ.get("AZURE_STORAGE_ACCOUNT_URL")
        if conn:
            parts = _parse_connection_string(conn)
            name = name or parts.get("accountname")
            key = key or parts.get("accountkey")
        return conn, name, key, url

    @property
    def service(self) -> Any:
        return self._lazy_client()

    def _make_client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        conn, name, key, url = self._credentials()
        kwargs = {"max_single_put_size": self.options.single_put_threshold, "connection_timeout": 5,
                  "read_timeout": self.options.timeout, "retry_total": self.options.retry_total}
        if conn:
            return BlobServiceClient.from_connection_string(conn, **kwargs)
        if name and key:
            return BlobServiceClient(url or f"https://{name}.blob.core.windows.net", credential={"account_name": name,
                                                                                                 "account_key": key}, **kwargs)
        raise BackendUnavailable(
            f"{self.url}: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and "
            "AZURE_STORAGE_KEY")

    @property
    def container_client(self) -> Any:
        return self.service.get_container_client(self.container)

    def _blob(self, key: str) -> Any:
        return self.container_client.get_blob_client(self.full_key(key))

    def ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        try:
            self.service.create_container(self.container)
        except ResourceExistsError:
            pass

    def check(self) -> None:
        try:
            self.container_client.get_container_properties(timeout=self.options.timeout)
        except Exception as exc:  # noqa: BLE001
            raise as_unavailable(_translate(exc, f"{self.url}: reach the container")) from exc

    # -- writes ----------------------------------------------------------------------------------
    def _put_single(self, key: str, data: bytes, sha256: str | None, content_type: str | None) -> ObjectInfo:
        from azure.storage.blob import ContentSettings

        actual = hashlib.sha256(data).hexdigest()
        if sha256 is not None and actual != sha256:
            raise ChecksumMismatch(f"{self.url}: {key}: content hashes to {actual}, expected {sha256}")
        try:
            props = self._blob(key).upload_blob(
                data, overwrite=True, validate_content=True, metadata={SHA256_METADATA: actual},
                content_settings=ContentSettings(content_type=content_type or "application/octet-stream"),
                timeout=self.options.timeout)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: put {key}") from exc
        return ObjectInfo(key=key, size=len(data), mtime=timestamp(props.get("last_modified")), sha256=actual)

    def _put_blocks(self, key: str, parts: Iterable[bytes], sha256: str | None, content_type: str | None) -> ObjectInfo:
        from azure.storage.blob import BlobBlock, ContentSettings

        blob = self._blob(key)
        run = uuid.uuid4().hex[:16]  # block ids are per upload: concurrent uploads never mix blocks

        def stage(number: int, data: bytes) -> str:
            block_id = base64.b64encode(f"{run}-{number:08d}".encode()).decode()
            blob.stage_block(block_id, data, validate_content=True, timeout=self.options.timeout)
            return block_id

        try:
            ids, actual, size = upload_parts(parts, stage, self.options.max_concurrency)
            if sha256 is not None and actual != sha256:
                raise ChecksumMismatch(f"{self.url}: {key}: content hashes to {actual}, expected {sha256}")
            props = blob.commit_block_list(
                [BlobBlock(block_id=ids[n]) for n in sorted(ids)], metadata={SHA256_METADATA: actual},
                content_settings=ContentSettings(content_type=content_type or "application/octet-stream"),
                timeout=self.options.timeout)
        except Exception as exc:  # noqa: BLE001 - uncommitted blocks are invisible and expire
            raise _translate(exc, f"{self.url}: block upload of {key}") from exc
        return ObjectInfo(key=key, size=size, mtime=timestamp(props.get("last_modified")), sha256=actual)

    def put_file(self, key, path, *, sha256=None, content_type=None, move=False, link=False) -> ObjectInfo:  # type: ignore[no-untyped-def]
        with open(path, "rb") as fh:
            return self.put_stream(key, fh, sha256=sha256, content_type=content_type)

    def put_stream(self, key, stream, *, sha256=None, content_type=None) -> ObjectInfo:  # type: ignore[no-untyped-def]
        self.full_key(key)
        first = read_exact(stream, self.options.single_put_threshold + 1)
        if len(first) <= self.options.single_put_threshold:
            return self._put_single(key, first, sha256, content_type)
        return self._put_blocks(key, iter_parts(stream, self.options.block_size, first), sha256, content_type)

    # -- reads -----------------------------------------------------------------------------------
    def open(self, key: str) -> BinaryIO:
        try:
            downloader = self._blob(key).download_blob(max_concurrency=1, timeout=self.options.timeout)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: get {key}") from exc
        return ChunkStream(downloader.chunks())  # type: ignore[return-value]

    def open_range(self, key: str, start: int, length: int) -> BinaryIO:
        if length <= 0:
            return ChunkStream(iter(()))  # type: ignore[return-value]
        try:
            downloader = self._blob(key).download_blob(offset=start, length=length, max_concurrency=1,
                                                       timeout=self.options.timeout)
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: get {key}") from exc
        return ChunkStream(downloader.chunks())  # type: ignore[return-value]

    def get_file(self, key: str, dest: str | Path) -> ObjectInfo:
        def fetch(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                self._blob(key).download_blob(max_concurrency=self.options.max_concurrency,
                                              timeout=self.options.timeout).readinto(fh)

        return self._download_to(key, dest, fetch, _translate)

    def head(self, key: str) -> ObjectInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            props = self._blob(key).get_blob_properties(timeout=self.options.timeout)
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                raise _translate(exc, f"{self.url}: head {key}") from exc
            return None
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: head {key}") from exc
        return ObjectInfo(key=key, size=int(props.size), mtime=timestamp(props.last_modified),
                          sha256=(props.metadata or {}).get(SHA256_METADATA), version=unquoted_etag(props.etag))

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._blob(key).delete_blob(timeout=self.options.timeout)
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) == "ContainerNotFound":
                raise _translate(exc, f"{self.url}: delete {key}") from exc
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: delete {key}") from exc

    def delete_many(self, keys: Iterable[str]) -> None:
        self._delete_concurrently(keys, self.options.max_concurrency)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        try:
            pages = self.container_client.list_blobs(name_starts_with=self._listing_prefix(prefix),
                                                     results_per_page=self.options.list_page_size,
                                                     timeout=self.options.timeout).by_page()
            for page in pages:
                for blob in page:
                    if blob.name.endswith("/"):
                        continue
                    yield ObjectInfo(key=self._relative(blob.name), size=int(blob.size), mtime=timestamp(blob.last_modified),
                                     version=unquoted_etag(blob.etag))
        except Exception as exc:  # noqa: BLE001
            raise _translate(exc, f"{self.url}: list {prefix!r}") from exc

    def readable_url(self, key: str, expires_in: int = 3600) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        _, name, account_key, _ = self._credentials()
        if not (name and account_key):
            raise StorageError(f"{self.url}: a shared access signature needs the account key")
        blob = self._blob(key)
        sas = generate_blob_sas(name, self.container, blob.blob_name, account_key=account_key,
                                permission=BlobSasPermissions(read=True),
                                expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(expires_in)))
        return f"{blob.url}?{sas}"
