"""Uploads over the HTTP API: begin, receive, ingest, look up, give up.

Steps of one upload:
1. ``begin_upload`` records it (RECEIVING) with what came with it: name, metadata, alias, link life.
2. The entry point writes the bytes into the spool (``ingest/spool.py``), hashing as they arrive;
   ``upload_received`` records the hash and size (RECEIVED). Nothing half-received is ever
   cataloged: an abandoned upload is ``abandon_upload``-ed and its bytes removed.
3. ``ingest_upload`` takes it (INGESTING, a compare-and-set: one process per upload) through the
   same ingest use case as every other source; the spooled file is removed once stored and
   cataloged, moved to quarantine if it is not a usable video.
4. The outcome is read back from the catalog by the upload's run id: DONE (a new video or a
   duplicate of one), QUARANTINED (with the reason) or FAILED (the file stays spooled, retried).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videolake.catalog.models import Upload, utcnow
from videolake.catalog.repository import Catalog
from videolake.catalog.uploads import UploadStore
from videolake.catalog.video_search import id_for_name
from videolake.constants import DEFAULT_SOURCE, FileOutcome, RunTrigger, UploadProtocol, UploadState
from videolake.ingest.engine import IngestEngine
from videolake.ingest.sources import SpooledUpload
from videolake.ingest.spool import SpooledFile, UploadSpool
from videolake.storage import StorageBackend
from videolake.usecases.errors import Expired, InvalidInput, NotFound, Unavailable, WrongState
from videolake.usecases.ingest import IngestRequest, IngestStorages, ingest_sources, record_ingest_run
from videolake.usecases.results import Result

API_SOURCE = "api"  # the source name of videos uploaded through the API, unless the upload names one
STALE_INGEST = dt.timedelta(minutes=15)  # an INGESTING upload untouched this long lost its process
RESUME_AFTER = dt.timedelta(minutes=5)  # a received or failed upload untouched this long is ingested again
MAX_ALIAS_LENGTH = 200
GENERATION_KEYS = ("provider", "model", "prompt", "negative_prompt", "parameters", "job_id", "seed", "generator")


@dataclass(frozen=True)
class UploadRequest:
    """What came with an upload's bytes."""

    name: str
    metadata: dict[str, Any] | None = None  # stored like a sidecar's (generation details, anything else)
    alias: str | None = None  # the client's own name for the video (``video_id``)
    link_hours: float | None = None
    source: str = API_SOURCE
    api_key_id: int | None = None


@dataclass(frozen=True)
class UploadView(Result):
    id: str
    protocol: str
    state: str
    name: str
    length: int | None
    offset: int
    sha256: str | None
    alias: str | None
    video_id: int | None
    duplicate: bool  # the content was already in the catalog
    outcome: str | None
    detail: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    link_hours: float | None

    @classmethod
    def of(cls, row: Upload) -> UploadView:
        return cls(row.id, row.protocol, row.state, row.name, row.length, row.offset, row.sha256, row.alias,
                   row.video_id, row.outcome == FileOutcome.DUPLICATE, row.outcome, row.detail, row.created_at,
                   row.updated_at, row.expires_at, row.link_hours)

    @property
    def finished(self) -> bool:
        return self.state in (UploadState.DONE, UploadState.QUARANTINED)


def check_alias(alias: str | None) -> str | None:
    if alias is None:
        return None
    if not isinstance(alias, str) or not alias.strip():
        raise InvalidInput("video_id must be a non-empty string")
    alias = alias.strip()
    if len(alias) > MAX_ALIAS_LENGTH or any(not ch.isprintable() or ch in "/\\" for ch in alias):
        raise InvalidInput(f"video_id must be up to {MAX_ALIAS_LENGTH} printable characters without slashes")
    return alias


def begin_upload(catalog: Catalog, request: UploadRequest, *, protocol: UploadProtocol, length: int | None = None,
                 expires_at: dt.datetime | None = None, upload_id: str | None = None) -> UploadView:
    """1. Record an upload about to receive its bytes."""
    upload_id = upload_id or uuid.uuid4().hex
    now = utcnow()
    row = Upload(id=upload_id, protocol=str(protocol), state=UploadState.RECEIVING, name=request.name, length=length,
                 offset=0, meta=request.metadata, alias=check_alias(request.alias), source=request.source,
                 link_hours=request.link_hours, spool_key=f"{upload_id}/{request.name}", api_key_id=request.api_key_id, created_at=now,
                 updated_at=now, expires_at=expires_at)
    UploadStore(catalog).add(row)
    return UploadView.of(row)


def record_received_upload(catalog: Catalog, request: UploadRequest, spooled: SpooledFile, *, upload_id: str,
                           protocol: UploadProtocol = UploadProtocol.FORM) -> UploadView:
    """1–2 at once, for an upload whose bytes arrived in one request: recorded only once complete."""
    now = utcnow()
    row = Upload(id=upload_id, protocol=str(protocol), state=UploadState.RECEIVED, name=request.name,
                 length=spooled.size, offset=spooled.size, sha256=spooled.sha256, meta=request.metadata,
                 alias=check_alias(request.alias), source=request.source, link_hours=request.link_hours,
                 spool_key=spooled.key,
                 api_key_id=request.api_key_id, created_at=now, updated_at=now)
    UploadStore(catalog).add(row)
    return UploadView.of(row)


def upload_received(catalog: Catalog, upload_id: str, spooled: SpooledFile) -> UploadView:
    """2. The bytes are complete and hashed in the spool."""
    store = UploadStore(catalog)
    if not store.update(upload_id, expect=[UploadState.RECEIVING], state=UploadState.RECEIVED,
                        sha256=spooled.sha256, offset=spooled.size, length=spooled.size, spool_key=spooled.key):
        raise WrongState(f"upload {upload_id} is no longer receiving")
    return get_upload(catalog, upload_id)


def _when_ingested(store: UploadStore, upload_id: str) -> UploadView:
    """Wait for the process ingesting an upload to finish it (its outcome is in the catalog)."""
    deadline = time.monotonic() + STALE_INGEST.total_seconds()
    while time.monotonic() < deadline:
        row = store.get(upload_id)
        if row is None:
            raise NotFound(f"no upload {upload_id}")
        if row.state != UploadState.INGESTING:
            if row.state in (UploadState.RECEIVING, UploadState.RECEIVED):
                raise WrongState(f"upload {upload_id} is {row.state}, not ready to ingest")
            return UploadView.of(row)
        time.sleep(0.2)
    raise Unavailable(f"upload {upload_id} is still being ingested by another process; poll its status")


def abandon_upload(catalog: Catalog, spool: UploadSpool, upload_id: str, *, state: UploadState, detail: str) -> None:
    """Give an unfinished upload up (a client gone, a bad checksum, expired, terminated): its bytes go."""
    UploadStore(catalog).update(upload_id, expect=[UploadState.RECEIVING, UploadState.RECEIVED, UploadState.INGESTING],
                                state=state, detail=detail)
    spool.discard(upload_id)


def get_upload(catalog: Catalog, upload_id: str) -> UploadView:
    row = UploadStore(catalog).get(upload_id)
    if row is None:
        raise NotFound(f"no upload {upload_id}")
    return UploadView.of(row)


def known_content(catalog: Catalog, sha256: str) -> int | None:
    """The video already holding this content, if any."""
    video = UploadStore(catalog).video_by_sha256(sha256)
    return video.id if video is not None else None


def ingest_upload(catalog: Catalog, upload_id: str, *, spool: UploadSpool, storages: IngestStorages,
                  engine_for: Callable[[StorageBackend | None], IngestEngine],
                  day: dt.date | None = None) -> UploadView:
    """3–4. Ingest a received upload like any other source; its outcome, from the catalog."""
    store = UploadStore(catalog)
    row = store.get(upload_id)
    if row is None:
        raise NotFound(f"no upload {upload_id}")
    if row.state in (UploadState.DONE, UploadState.QUARANTINED):
        return UploadView.of(row)
    if row.state in (UploadState.EXPIRED, UploadState.CANCELLED):
        raise Expired(f"upload {upload_id} was {row.state}: {row.detail or 'its bytes are gone'}")
    if not store.update(upload_id, expect=[UploadState.RECEIVED, UploadState.FAILED], state=UploadState.INGESTING):
        return _when_ingested(store, upload_id)  # another thread or process took it first
    # An alias names one video for good: content other than what it names is refused before ingest.
    if row.alias is not None:
        named = store.alias_target(row.alias)
        if named is not None and named != known_content(catalog, row.sha256 or ""):
            abandon_upload(catalog, spool, upload_id, state=UploadState.CANCELLED,
                           detail=f"video_id {row.alias!r} already names video {named}")
            raise WrongState(f"video_id {row.alias!r} already names video {named}, whose content differs; "
                             "choose another video_id (nothing was stored)")
    run_id = f"upload-{upload_id}-{uuid.uuid4().hex[:8]}"  # per attempt: a failed upload is ingested again
    source = SpooledUpload(spool.backend, row.spool_key, upload_id, source=row.source or DEFAULT_SOURCE,
                           given_metadata=row.meta)
    request, started, day = IngestRequest(sources=(source,), thumbnails=True), utcnow(), day or utcnow().date()
    try:
        batch = ingest_sources(request, day, run_id=run_id, storages=storages, engine_for=engine_for)
        # Dagster learns of it from the catalog (the catalog-runs sensor), as of a `videolake ingest`.
        record_ingest_run(batch, request.zone, day, run_id=run_id, trigger=RunTrigger.API, started=started)
    except Unavailable as exc:
        store.update(upload_id, state=UploadState.FAILED, detail=str(exc))
        raise
    except BaseException as exc:
        store.update(upload_id, state=UploadState.FAILED, detail=f"ingest failed: {exc!r}")
        raise
    files = catalog.run_files([run_id])
    if not files:
        store.update(upload_id, state=UploadState.FAILED, detail="ingest recorded nothing for this upload")
        return get_upload(catalog, upload_id)
    outcome = files[-1]
    values: dict[str, Any] = {"outcome": outcome.outcome, "detail": outcome.detail or None,
                              "video_id": outcome.video_id}
    if outcome.outcome in (FileOutcome.INGESTED, FileOutcome.DUPLICATE):
        values["state"] = UploadState.DONE
    elif outcome.outcome == FileOutcome.QUARANTINED:
        values["state"] = UploadState.QUARANTINED
    else:  # failed or skipped: the file stays in the spool and is tried again
        values["state"] = UploadState.FAILED
    store.update(upload_id, **values)
    if values["state"] == UploadState.DONE and row.alias is not None and outcome.video_id is not None:
        named = store.claim_alias(row.alias, outcome.video_id)
        if named != outcome.video_id:  # another upload took the name meanwhile: this one's video is kept
            store.update(upload_id, detail=f"video_id {row.alias!r} names video {named}; this content is video "
                                           f"{outcome.video_id}")
    return get_upload(catalog, upload_id)


def ingest_interrupted(catalog: Catalog, upload_id: str, why: str) -> None:
    """The process ingesting this upload died: it is tried again at the next resume round."""
    UploadStore(catalog).update(upload_id, expect=[UploadState.INGESTING], state=UploadState.FAILED,
                                detail=f"ingest interrupted: {why}")


def uploads_to_resume(catalog: Catalog, now: dt.datetime | None = None) -> list[str]:
    """Uploads received but not ingested (a process stopped before it finished): to ingest again."""
    now = now or utcnow()
    store = UploadStore(catalog)
    ids: list[str] = []
    for row in store.in_state([UploadState.RECEIVED, UploadState.FAILED, UploadState.INGESTING]):
        if now - row.updated_at < (STALE_INGEST if row.state == UploadState.INGESTING else RESUME_AFTER):
            continue  # its request (or another process) is on it
        if row.state == UploadState.INGESTING:
            store.update(row.id, expect=[UploadState.INGESTING], state=UploadState.RECEIVED)
        ids.append(row.id)
    return ids


def expire_uploads(catalog: Catalog, spool: UploadSpool, now: dt.datetime | None = None) -> int:
    """Unfinished uploads past their expiry are given up; leftovers of crashed receivers go too."""
    now = now or utcnow()
    store = UploadStore(catalog)
    expired = store.expired(now)
    for row in expired:
        abandon_upload(catalog, spool, row.id, state=UploadState.EXPIRED,
                       detail=f"unfinished at its expiry ({row.offset} of {row.length} bytes received)")
    spool.sweep_leftovers(STALE_INGEST.total_seconds(), keep=store.live_ids())
    return len(expired)


def resolve_video(catalog: Catalog, name: str) -> int:
    """The video a path names: a client's alias first, else the catalog's own id."""
    video_id = id_for_name(name, UploadStore(catalog).alias_target(name))
    if video_id is None:
        raise NotFound(f"no video {name!r}")
    return video_id


# -- resumable uploads (tus) ---------------------------------------------------------------------
def resumable_upload(catalog: Catalog, upload_id: str, *, spool: UploadSpool,
                     now: dt.datetime | None = None) -> UploadView:
    """A resumable upload that can still take bytes or be asked about: NotFound for an unknown id,
    Expired (410) once given up on (expired, terminated) — an upload past its expiry is given up now."""
    row = UploadStore(catalog).get(upload_id)
    if row is None or row.protocol != UploadProtocol.TUS:
        raise NotFound(f"no resumable upload {upload_id}")
    now = now or utcnow()
    if row.state == UploadState.RECEIVING and row.expires_at is not None and row.expires_at <= now:
        abandon_upload(catalog, spool, upload_id, state=UploadState.EXPIRED,
                       detail=f"unfinished at its expiry ({row.offset} of {row.length} bytes received)")
        row = UploadStore(catalog).get(upload_id)
    if row is not None and row.state in (UploadState.EXPIRED, UploadState.CANCELLED):
        raise Expired(f"upload {upload_id} was {row.state}: {row.detail or 'its bytes are gone'}")
    return UploadView.of(row)  # type: ignore[arg-type]


def record_offset(catalog: Catalog, upload_id: str, *, expected: int, offset: int) -> None:
    """The bytes up to ``offset`` are durable in the spool (a compare-and-set from ``expected``)."""
    if not UploadStore(catalog).advance(upload_id, offset, expected):
        raise WrongState(f"upload {upload_id} moved on meanwhile (another request wrote to it)")
