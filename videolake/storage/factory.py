"""Pick a backend by URL: file:///path (or a plain path), s3://bucket/prefix, gs://..., az://..."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from videolake.storage.azure_backend import AzureBackend, AzureOptions
from videolake.storage.base import StorageBackend, StorageError
from videolake.storage.gcs_backend import GCSBackend, GCSOptions
from videolake.storage.local_backend import LocalBackend
from videolake.storage.s3_backend import S3Backend, S3Options


class UnsupportedStorageUrl(StorageError, ValueError):
    """The URL names no backend this build supports."""


def open_backend(
    url: str,
    *,
    s3_options: S3Options | None = None,
    gcs_options: GCSOptions | None = None,
    azure_options: AzureOptions | None = None,
) -> StorageBackend:
    if not url:
        raise UnsupportedStorageUrl("empty storage URL")
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "" or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        return LocalBackend(Path(url))
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise UnsupportedStorageUrl(f"{url}: file URLs must name a local path (file:///path)")
        return LocalBackend(Path(unquote(parsed.path)))
    if scheme in ("s3", "s3a"):
        if not parsed.netloc:
            raise UnsupportedStorageUrl(f"{url}: an S3 URL needs a bucket (s3://bucket/prefix)")
        return S3Backend(parsed.netloc, unquote(parsed.path).strip("/"), s3_options)
    if scheme == "gs":
        if not parsed.netloc:
            raise UnsupportedStorageUrl(f"{url}: a GCS URL needs a bucket (gs://bucket/prefix)")
        return GCSBackend(parsed.netloc, unquote(parsed.path).strip("/"), gcs_options)
    if scheme in ("az", "azure"):
        if not parsed.netloc:
            raise UnsupportedStorageUrl(f"{url}: an Azure URL needs a container (az://container/prefix)")
        return AzureBackend(parsed.netloc, unquote(parsed.path).strip("/"), azure_options)
    raise UnsupportedStorageUrl(f"{url}: unknown storage scheme {scheme!r} (use file://, s3://, gs://, az://)")


def is_local_url(url: str) -> bool:
    scheme = urlparse(url).scheme.lower()
    return scheme in ("", "file") or (len(scheme) == 1)
