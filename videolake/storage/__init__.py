"""Pluggable storage backends behind one contract (see base.StorageBackend)."""

from videolake.storage.base import (
    BackendUnavailable,
    ChecksumMismatch,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    StorageBackend,
    StorageError,
    sha256_file,
    validate_key,
)
from videolake.storage.factory import UnsupportedStorageUrl, is_local_url, open_backend
from videolake.storage.transfer import copy_object

__all__ = [
    "BackendUnavailable",
    "ChecksumMismatch",
    "InvalidKey",
    "ObjectInfo",
    "ObjectNotFound",
    "StorageBackend",
    "StorageError",
    "UnsupportedStorageUrl",
    "copy_object",
    "is_local_url",
    "open_backend",
    "sha256_file",
    "validate_key",
]
