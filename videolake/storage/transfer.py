"""Copy objects between backends by streaming, with sha256 verification on the receiving side."""

from __future__ import annotations

from videolake.storage.base import ObjectInfo, StorageBackend


def copy_object(
    src: StorageBackend,
    src_key: str,
    dst: StorageBackend,
    dst_key: str,
    *,
    sha256: str | None = None,
    content_type: str | None = None,
) -> ObjectInfo:
    """Stream ``src_key`` from ``src`` into ``dst``; with ``sha256`` the copy is verified or not stored."""
    path = src.local_path(src_key)
    if path is not None:
        return dst.put_file(dst_key, path, sha256=sha256, content_type=content_type)
    with src.open(src_key) as stream:
        return dst.put_stream(dst_key, stream, sha256=sha256, content_type=content_type)
