"""Exports of camera footage: create, get, cancel, and the download links of a finished one.

Link policy lives here, once: links always expire, never after the export itself; objects on a
local backend get links signed with the home's secret (``videolake serve`` answers them), objects
on S3, GCS or Azure get the backend's own presigned URLs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videolake.catalog.models import Export, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import ExportMode, ExportStatus
from videolake.exports import engine as exports
from videolake.links.tokens import sign
from videolake.segments.index import UnknownCamera
from videolake.storage import StorageBackend, open_backend
from videolake.usecases.errors import Expired, InvalidInput, NotFound, Refused, WrongState
from videolake.usecases.results import Result


@dataclass(frozen=True)
class ExportView(Result):
    """An export as ``export status --json`` prints it and the API returns it."""

    data: dict[str, Any]

    @classmethod
    def of(cls, export: Export) -> ExportView:
        return cls(exports.export_to_dict(export))

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def status(self) -> str:
        return self.data["status"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def create_export(catalog: Catalog, cameras: list[str], start: dt.datetime, end: dt.datetime, *,
                  mode: ExportMode = ExportMode.FAST, reason: str | None = None,
                  ttl_seconds: int = exports.DEFAULT_TTL_SECONDS) -> ExportView:
    """Record a PENDING export (the export sensor, or a run started now, cuts it)."""
    request = exports.ExportRequest(list(cameras), start, end, str(mode), reason, ttl_seconds)
    try:
        export_id = exports.create_export(catalog, request)
    except exports.NoFootage as exc:
        raise Refused(f"{exc}; nothing was exported") from exc
    except UnknownCamera as exc:
        raise NotFound(str(exc)) from exc
    except exports.ExportError as exc:
        raise InvalidInput(str(exc)) from exc
    return get_export(catalog, export_id)


def get_export(catalog: Catalog, export_id: str) -> ExportView:
    export = exports.load_export(catalog, export_id)
    if export is None:
        raise NotFound(f"no export {export_id!r}")
    return ExportView.of(export)


def cancel_export(catalog: Catalog, export_id: str) -> ExportView:
    """Withdraw an export nobody has started cutting; a rerun of its run then changes nothing."""
    with catalog.write() as s:
        row = s.get(Export, export_id)
        if row is None:
            raise NotFound(f"no export {export_id!r}")
        if row.status != ExportStatus.PENDING:
            raise WrongState(f"export {export_id} is {row.status}; only a PENDING export can be cancelled")
        row.status, row.finished_at, row.error = ExportStatus.CANCELLED, utcnow(), "cancelled"
    return get_export(catalog, export_id)


@dataclass(frozen=True)
class LocalLinkSigner:
    """How links to objects on local storage are minted: signed with ``secret``, answered at ``base``."""

    secret: bytes
    base: str


@dataclass(frozen=True)
class CameraLink(Result):
    camera: str
    url: str


@dataclass(frozen=True)
class ExportLinks(Result):
    id: str
    expires_at: dt.datetime
    capped_to_export_expiry: bool
    links: list[CameraLink]
    manifest_url: str
    signed: bool  # links that a videolake server answers (local storage), not the backend itself


def export_links(catalog: Catalog, export_id: str, ttl_seconds: int, *,
                 signer: Callable[[], LocalLinkSigner] | None, now: dt.datetime | None = None) -> ExportLinks:
    """Download links for a COMPLETED export's outputs and manifest, living ``ttl_seconds`` (capped
    to the export's own expiry). ``signer()`` gives the signer of links to local storage; it is
    called only for an export stored locally (object stores presign their own links)."""
    if ttl_seconds <= 0:
        raise InvalidInput("links always expire: give a lifetime longer than 0 s")
    export = exports.load_export(catalog, export_id)
    if export is None:
        raise NotFound(f"no export {export_id!r}")
    if export.status != ExportStatus.COMPLETED:
        raise WrongState(f"export {export.id} is {export.status}; links exist once it is COMPLETED"
                         + (f" ({export.error})" if export.error else ""))
    now = now or dt.datetime.now(dt.timezone.utc)
    if export.expires_at is None or export.expires_at <= now:
        raise Expired(f"export {export.id} expired at {export.expires_at.isoformat() if export.expires_at else '?'}")
    remaining = int((export.expires_at - now).total_seconds())
    capped = ttl_seconds > remaining
    ttl = min(ttl_seconds, remaining)
    expires = now + dt.timedelta(seconds=ttl)
    files = [(o.camera_id, o.key, f"{export.id}-{o.camera_id}.mp4") for o in export.outputs]
    files.append(("manifest", export.manifest_key, f"{export.id}-manifest.json"))
    backend = open_backend(export.backend)
    signed = backend.local_path(export.manifest_key) is not None
    local_signer = signer() if signed and signer is not None else None
    urls = [_link(backend, key, filename, ttl, expires, local_signer) for _, key, filename in files]
    return ExportLinks(export.id, expires, capped, [CameraLink(name, url) for (name, _, _), url in zip(files[:-1], urls)],
                       urls[-1], signed)


def _link(backend: StorageBackend, key: str, filename: str, ttl: int, expires: dt.datetime,
          signer: LocalLinkSigner | None) -> str:
    if backend.local_path(key) is None:
        return backend.readable_url(key, expires_in=ttl)
    if signer is None:
        raise InvalidInput(f"{backend.url} is local storage: its links are signed, and no signer was given")
    return f"{signer.base.rstrip('/')}/d/{sign(signer.secret, key, filename, int(expires.timestamp()))}"
