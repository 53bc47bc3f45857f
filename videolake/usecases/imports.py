"""Import videos from URLs before their links expire (generators' output URLs, an old server's
tokened links): a queue in the catalog, fetch runs that take it earliest deadline first, and the
same ingest as every other way in.

1. ``queue_imports`` checks every request (an http(s) URL, a deadline still ahead) and queues
   them all or none; a URL already queued and not finished is not queued twice.
2. ``fetch_imports`` (a fetch run):
   1. pending imports whose deadline passed are EXPIRED, with the last error they had;
   2. up to ``limit`` are taken, earliest deadline first, none of a host other runs are busy with;
   3. each is fetched into the work folder (``imports/fetch.py``: retries, resume, size checks),
      ``concurrency`` at once, at most ``per_host`` from one host; a final answer is FAILED, a
      deadline that passes EXPIRED;
   4. the fetched files go through ``ingest_sources`` in one batch as ``FetchedFile`` sources
      (dedup, probe, thumbnails, quarantine); the video's sidecar records the origin URL, its
      expiry and the generation details;
   5. each import's outcome is read back from the run's records: DONE with its video, or FAILED
      (not a video: the quarantine reason); a file whose ingest failed is fetched again later;
   6. the work files go once their imports are settled.
Nothing half-fetched is ever ingested: only a file the fetcher returned whole reaches step 4.
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from videolake.catalog.imports import ImportStore
from videolake.catalog.models import Import, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import DEFAULT_SOURCE, IMPORT_AT_RISK, FetchFailure, FileOutcome, ImportState
from videolake.imports.fetch import FetchError, Fetcher, FetchPolicy, check_url
from videolake.inputs import safe_name
from videolake.ingest.engine import IngestEngine
from videolake.ingest.sources import FetchedFile
from videolake.storage import StorageBackend
from videolake.usecases.errors import InvalidInput
from videolake.usecases.ingest import IngestRequest, IngestStorages, ingest_sources
from videolake.usecases.results import Result

# The generation details an import takes as fields of its own (the CLI's lines, the API's body).
GENERATION_KEYS = ("provider", "model", "prompt", "parameters", "job_id")
DEFAULT_LEASE = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class ImportRequest:
    url: str
    deadline: dt.datetime | None = None  # when the URL stops working (None: it does not expire)
    name: str | None = None
    source: str | None = None
    details: dict[str, Any] | None = None  # provider, model, prompt, parameters, job_id, anything else


@dataclass(frozen=True)
class ImportView(Result):
    id: str
    url: str
    state: str
    deadline: dt.datetime | None
    name: str | None
    source: str | None
    attempts: int
    bytes_fetched: int
    failure: str | None
    last_error: str | None
    video_id: int | None
    created_at: dt.datetime
    done_at: dt.datetime | None

    @classmethod
    def of(cls, row: Import) -> ImportView:
        return cls(row.id, row.url, row.state, row.deadline, row.name, row.source, row.attempts, row.bytes_fetched,
                   row.failure, row.last_error, row.video_id, row.created_at, row.done_at)


@dataclass(frozen=True)
class ImportRunOutcome(Result):
    run_id: str
    taken: int
    done: int
    failed: int
    expired: int
    imports: list[ImportView] = field(default_factory=list)  # those this run settled or tried


def _file_name(url: str, name: str | None, import_id: str) -> str:
    wanted = name or unquote(PurePosixPath(urlsplit(url).path).name)
    return safe_name(wanted, fallback=f"{import_id}.mp4", limit=160)


def queue_imports(catalog: Catalog, requests: Sequence[ImportRequest], *, now: dt.datetime | None = None
                  ) -> list[ImportView]:
    """1. Queue them all, or none (the first bad one says why)."""
    now = now or utcnow()
    rows = []
    for n, request in enumerate(requests, 1):
        where = f"import {n} ({request.url[:200]})" if len(requests) > 1 else request.url[:200]
        try:
            check_url(request.url, allow_private=True)  # the form; addresses are checked when fetched
        except FetchError as exc:
            raise InvalidInput(f"{where}: {exc}; nothing was queued") from None
        if request.deadline is not None and request.deadline <= now:
            raise InvalidInput(f"{where}: its deadline {request.deadline:%Y-%m-%d %H:%M:%S} UTC has passed; "
                               "nothing was queued")
        import_id = uuid.uuid4().hex
        rows.append(Import(id=import_id, url=request.url, host=(urlsplit(request.url).hostname or "").lower(),
                           state=ImportState.PENDING, deadline=request.deadline,
                           name=_file_name(request.url, request.name, import_id), source=request.source,
                           meta=request.details or None, attempts=0, bytes_fetched=0, created_at=now, updated_at=now))
    return [ImportView.of(r) for r in ImportStore(catalog).add_all(rows)]


@dataclass(frozen=True)
class DueImports(Result):
    """What a fetch run would take now: how many, and the nearest deadline among them."""

    count: int
    earliest_deadline: dt.datetime | None


def due_imports(catalog: Catalog, now: dt.datetime | None = None) -> DueImports:
    count, earliest = ImportStore(catalog).due(now or utcnow())
    return DueImports(count, earliest)


@dataclass(frozen=True)
class ImportRisk(Result):
    """Imports not done whose deadline is within 10 minutes, and those whose deadline was missed."""

    at_risk: list[ImportView]
    missed: list[ImportView]


def imports_at_risk(catalog: Catalog, now: dt.datetime | None = None, *, limit: int = 1000) -> ImportRisk:
    store = ImportStore(catalog)
    now = now or utcnow()
    return ImportRisk([ImportView.of(r) for r in store.at_risk(now, IMPORT_AT_RISK, limit=limit)],
                      [ImportView.of(r) for r in store.missed(limit=limit)])


def get_imports(catalog: Catalog, ids: Sequence[str]) -> list[ImportView]:
    return [ImportView.of(r) for r in ImportStore(catalog).get_all(ids)]


@dataclass
class _Fetched:
    row: Import
    path: Path | None = None
    error: FetchError | None = None
    attempts: int = 0
    size: int = 0
    sha256: str | None = None
    final_url: str | None = None


def _sidecar(row: Import) -> dict[str, Any]:
    details = dict(row.meta or {})
    return {**details, "origin_url": row.url, "origin_expires_at": row.deadline.isoformat() if row.deadline else None,
            "import_id": row.id}


def fetch_imports(catalog: Catalog, *, run_id: str, storages: IngestStorages,
                  engine_for: Callable[[StorageBackend | None], IngestEngine], work_dir: Path,
                  policy: FetchPolicy | None = None, limit: int = 50, per_host: int = 4, concurrency: int = 8,
                  lease: dt.timedelta = DEFAULT_LEASE, day: dt.date | None = None,
                  log: Callable[[str], None] = lambda _: None) -> ImportRunOutcome:
    """2. One fetch run (steps in the module's docstring)."""
    store = ImportStore(catalog)
    now = utcnow()
    # 2.1 Deadlines passed before any run took them.
    expired = store.expire_overdue(now)
    for row in expired:
        log(f"import {row.id} expired unfetched: {row.url[:200]}")
    # 2.2 Earliest deadline first, a few per host.
    taken = store.claim_due(run_id=run_id, limit=limit, per_host=per_host, lease=lease, now=now)
    settled: dict[str, Import] = {r.id: r for r in expired}
    if not taken:
        return _outcome(run_id, 0, store, list(settled))
    # 2.3 Fetch, ``concurrency`` at once.
    fetcher = Fetcher(policy)
    hosts: dict[str, threading.Semaphore] = {h: threading.Semaphore(per_host) for h in {r.host for r in taken}}

    def fetch_one(row: Import) -> _Fetched:
        folder = work_dir / row.id
        part = folder / f"{row.name}.part"
        try:
            with hosts[row.host]:  # at most ``per_host`` at once from one host
                got = fetcher.fetch(row.url, part, deadline=row.deadline)
        except FetchError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _Fetched(row, error=exc, attempts=exc.attempts)
        final = folder / (row.name or f"{row.id}.mp4")
        part.replace(final)
        return _Fetched(row, final, attempts=got.attempts, size=got.size, sha256=got.sha256, final_url=got.final_url)

    with ThreadPoolExecutor(max(1, min(concurrency, len(taken))), thread_name_prefix="videolake-fetch") as pool:
        results = list(pool.map(fetch_one, taken))
    whole = []
    for r in results:
        if r.error is None:
            store.update(r.row.id, attempts=r.row.attempts + r.attempts, bytes_fetched=r.size, sha256=r.sha256,
                         final_url=r.final_url)
            whole.append(r)
            continue
        state = ImportState.EXPIRED if r.error.failure == FetchFailure.DEADLINE else ImportState.FAILED
        store.update(r.row.id, expect=[ImportState.FETCHING], state=state, failure=r.error.failure,
                     last_error=str(r.error), attempts=r.row.attempts + max(1, r.attempts), lease_until=None,
                     done_at=utcnow())
        log(f"import {r.row.id} {state}: {r.error}")
        settled[r.row.id] = r.row
    # 2.4 The whole files, ingested as one batch.
    if whole:
        sources = tuple(FetchedFile(r.path, source=r.row.source or DEFAULT_SOURCE,  # type: ignore[arg-type]
                                    given_metadata=_sidecar(r.row), url=r.row.url) for r in whole)
        try:
            ingest_sources(IngestRequest(sources=sources, thumbnails=True), day or utcnow().date(), run_id=run_id,
                           storages=storages, engine_for=engine_for, log=log)
        except Exception as exc:  # noqa: BLE001 - the fetched files are fetched again by a later run
            for r in whole:
                store.update(r.row.id, state=ImportState.PENDING, lease_until=None,
                             last_error=f"ingest failed: {exc}"[:2000])
                shutil.rmtree(work_dir / r.row.id, ignore_errors=True)
            raise
        # 2.5 Each import's outcome, from what the run recorded.
        by_uri = {f.uri: f for f in catalog.run_files([run_id])}
        for r in whole:
            recorded = by_uri.get(FetchedFile(r.path, url=r.row.url).origin_uri)  # type: ignore[arg-type]
            if recorded is not None and recorded.outcome in (FileOutcome.INGESTED, FileOutcome.DUPLICATE):
                store.update(r.row.id, state=ImportState.DONE, video_id=recorded.video_id, failure=None,
                             last_error=None, lease_until=None, done_at=utcnow())
            elif recorded is not None and recorded.outcome == FileOutcome.QUARANTINED:
                store.update(r.row.id, state=ImportState.FAILED, failure="not_a_video", lease_until=None,
                             last_error=f"fetched, but not a usable video: {recorded.detail}", done_at=utcnow())
            else:  # failed or skipped: tried again by a later run
                store.update(r.row.id, state=ImportState.PENDING, lease_until=None,
                             last_error=f"ingest did not keep it: {recorded.detail if recorded else 'no record'}")
            settled[r.row.id] = r.row
            # 2.6 The work file goes (ingest stored it, quarantined it, or it is fetched again).
            shutil.rmtree(work_dir / r.row.id, ignore_errors=True)
    return _outcome(run_id, len(taken), store, list(settled))


def _outcome(run_id: str, taken: int, store: ImportStore, ids: list[str]) -> ImportRunOutcome:
    views = [ImportView.of(r) for r in store.get_all(ids)]
    count = lambda state: sum(1 for v in views if v.state == state)  # noqa: E731
    return ImportRunOutcome(run_id, taken, count(ImportState.DONE), count(ImportState.FAILED),
                            count(ImportState.EXPIRED), views)
