"""Import videos from URLs before their links expire (generators' output URLs, an old server's
tokened links): a queue in the catalog, fetch runs that take it earliest deadline first, and the
same ingest as every other way in.

1. ``queue_imports`` checks every request (an http(s) URL, a deadline still ahead) and queues
   them all or none; a URL already queued and not finished is not queued twice.
2. ``fetch_imports`` (a fetch run):
   1. pending imports whose deadline passed are EXPIRED, with the last error they had;
   2. up to ``limit`` are taken, earliest deadline first, none of a host other runs are busy with,
      and held (a lease renewed while the run lives: a killed run lets them go within the lease);
   3. each is fetched into the work folder (``imports/fetch.py``: retries, resume, size checks),
      ``concurrency`` at once, at most ``per_host`` from one host, continuing the part file an
      earlier run left; a final answer is FAILED, a deadline that passes EXPIRED, a transient
      failure with time left goes back to the queue for a later run;
   4. the fetched files go through ``ingest_sources`` in chunks while the rest is still fetched,
      as ``FetchedFile`` sources (dedup, probe, thumbnails, quarantine); the video's sidecar
      records the origin URL, its expiry and the generation details;
   5. each import's outcome is read back from the run's records: DONE with its video, or FAILED
      (not a video: the quarantine reason); a file whose ingest failed is fetched again later;
   6. the work files go once their imports are settled.
   7. a run made outside Dagster (``videolake import --wait``) is recorded in the catalog, its
      imports' outcomes and its ingest counts, for the catalog-runs sensor to report to Dagster.
Nothing half-fetched is ever ingested: only a file the fetcher returned whole reaches step 4.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from videolake.catalog.imports import ImportStore
from videolake.catalog.models import Import, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import (
    DEFAULT_SOURCE,
    FetchFailure,
    FileOutcome,
    ZONE_UPLOADS,
    ImportState,
)
from videolake.imports.run_settings import FetchRunSettings
from videolake.imports.urls import FetchError, check_url
from videolake.inputs import parse_duration, parse_instant, safe_name
from videolake.storage import StorageError
from videolake.usecases.errors import InvalidInput
from videolake.usecases.import_views import ImportView
from videolake.usecases.results import Result

if TYPE_CHECKING:  # the ingest side is imported by the functions that fetch: status and queueing need none of it
    from videolake.ingest.engine import IngestEngine
    from videolake.ingest.landing import LandingListing
    from videolake.ingest.watcher import LandingWatcher
    from videolake.storage import StorageBackend
    from videolake.usecases.ingest import IngestedBatch, IngestStorages

# The generation details an import takes as fields of its own (the CLI's lines, the API's body).
GENERATION_KEYS = ("provider", "model", "prompt", "parameters", "job_id")
MIN_INGEST_CHUNK, MAX_INGEST_CHUNK = 8, 32  # fetched files ingested at once while the rest arrive
RETRY_LATER = dt.timedelta(seconds=60)  # a transient failure with time left waits this long for the next run
MAX_ATTEMPTS = 100  # requests over all runs before a URL that keeps failing is given up (FAILED)
MAX_URL_LIST_BYTES = 16 * 1024 * 1024
# What a run outside Dagster records of its ingest (summed over its chunks) and of its imports.
RUN_COUNTS = ("files", "ingested", "duplicates", "quarantined", "skipped", "failed", "bytes_ingested", "bytes_landed",
              "seconds", "thumbnailed")
RUN_IMPORT_STATES = (ImportState.DONE, ImportState.FAILED, ImportState.EXPIRED, ImportState.PENDING)


@dataclass(frozen=True)
class ImportRequest:
    url: str
    deadline: dt.datetime | None = None  # when the URL stops working (None: it does not expire)
    name: str | None = None
    source: str | None = None
    details: dict[str, Any] | None = None  # provider, model, prompt, parameters, job_id, anything else


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


LINE_KEYS = frozenset({"url", "expires_at", "expires_in", "name", "source", "metadata", *GENERATION_KEYS})


def requests_from_lines(text: str, where: str, *, source: str | None = None) -> list[ImportRequest]:
    """The imports of a JSON Lines list (``import --from``, a ``*.urls.jsonl`` dropped in the landing
    zone): one object per line, blank lines and ``#`` comments skipped; the first bad line says
    where and why (``InvalidInput``). ``source``: for lines that name none."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{where} line {n}: not JSON ({exc.msg}); nothing was queued") from None
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise InvalidInput(f"{where} line {n}: an object with a url is needed; nothing was queued")
        unknown = sorted(set(item) - LINE_KEYS)
        if unknown:
            raise InvalidInput(f"{where} line {n}: unknown field(s) {', '.join(unknown)} (known: "
                               f"{', '.join(sorted(LINE_KEYS))}); nothing was queued")
        deadline = None
        try:
            if item.get("expires_at"):
                deadline = parse_instant(str(item["expires_at"]))
            elif item.get("expires_in"):
                deadline = utcnow() + dt.timedelta(seconds=parse_duration(str(item["expires_in"])))
        except ValueError as exc:
            raise InvalidInput(f"{where} line {n}: {exc}; nothing was queued") from None
        details = {k: item[k] for k in GENERATION_KEYS if k in item}
        if isinstance(item.get("metadata"), dict):
            details = {**item["metadata"], **details}
        out.append(ImportRequest(item["url"], deadline=deadline, name=item.get("name"),
                                 source=item.get("source") or source, details=details or None))
    return out



@dataclass(frozen=True)
class UrlListsTaken(Result):
    """What one look at the landing zone did with its ``*.urls.jsonl`` files."""

    lists: int  # queued and removed from the zone
    queued: int  # imports they held (URLs already queued and open count once)
    problems: list[str] = field(default_factory=list)  # "key: why": quarantined, or queued but not removed


def take_landed_url_lists(watcher: LandingWatcher, listing: LandingListing) -> UrlListsTaken:
    """Every complete ``*.urls.jsonl`` of the listing queued — all its lines or none — and then
    removed from the zone; one that cannot be queued (not UTF-8, a bad line, a deadline passed, over
    16 MB, empty) is quarantined with the reason. A list is removed only after its imports are in
    the catalog: a crash in between leaves it to be taken again, and URLs still open are not
    queued twice. One that cannot be read now is left for the next look."""
    from videolake.ingest.landing import LandedItem, source_for_key
    from videolake.media.inspection import REASON_BAD_URL_LIST

    lists = queued = 0
    problems = []
    for info in watcher.complete_url_lists(listing):
        source = source_for_key(info.key, watcher.settings.default_source)
        item = LandedItem(watcher.landing_uri(info.key), info.key, info.size, info.mtime, source, watcher.zone)
        try:
            if info.size > MAX_URL_LIST_BYTES:
                raise InvalidInput(f"{info.size} bytes, over the {MAX_URL_LIST_BYTES // 2**20} MB a list may be; "
                                   "split it")
            with watcher.landing.open(info.key) as fh:
                raw = fh.read(MAX_URL_LIST_BYTES + 1)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput("not UTF-8 text (JSON Lines are)") from None
            requests = requests_from_lines(text, item.name, source=source)
            if not requests:
                raise InvalidInput("it holds no import")
            views = queue_imports(watcher.catalog, requests)
        except InvalidInput as exc:
            watcher.quarantiner.quarantine_file(item, REASON_BAD_URL_LIST, str(exc), None, None)
            problems.append(f"{info.key}: quarantined: {exc}")
            continue
        except (StorageError, OSError):
            continue  # gone or unreadable right now: the next look tries again
        try:
            watcher.landing.delete(info.key)
        except (StorageError, OSError) as exc:  # queued all the same; taken again at the next look
            problems.append(f"{info.key}: queued, but it could not be removed from the landing zone: {exc}")
        lists += 1
        queued += len({v.id for v in views})
    return UrlListsTaken(lists, queued, problems)


@dataclass(frozen=True)
class DueImports(Result):
    """What a fetch run would take now: how many, and the nearest deadline among them."""

    count: int
    earliest_deadline: dt.datetime | None


def due_imports(catalog: Catalog, now: dt.datetime | None = None) -> DueImports:
    count, earliest = ImportStore(catalog).due(now or utcnow())
    return DueImports(count, earliest)


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


def _part_file(work_dir: Path, row: Import) -> Path:
    """Where ``row`` is fetched to: the same place in every run, so a later one continues it."""
    return work_dir / row.id / f"{row.name}.part"


class _Hold(threading.Thread):
    """2.2 The run's hold on its imports, renewed a quarter of the lease apart with the bytes
    fetched so far (read from the part files); a run killed mid-fetch stops renewing it."""

    def __init__(self, store: ImportStore, run_id: str, lease: dt.timedelta, parts: dict[str, Path]) -> None:
        super().__init__(name="videolake-import-hold", daemon=True)
        self.store, self.run_id, self.lease, self.parts = store, run_id, lease, parts
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.lease.total_seconds() / 4):
            sizes = {}
            for import_id, part in list(self.parts.items()):
                try:
                    sizes[import_id] = part.stat().st_size
                except OSError:
                    pass
            try:
                self.store.renew(self.run_id, utcnow() + self.lease, sizes)
            except Exception:  # noqa: BLE001 - a catalog hiccup: the next beat tries again
                continue

    def __enter__(self) -> _Hold:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.join()


def fetch_imports(catalog: Catalog, *, run_id: str, storages: IngestStorages,
                  engine_for: Callable[[StorageBackend | None], IngestEngine], settings: FetchRunSettings,
                  day: dt.date | None = None, trigger: str | None = None,
                  log: Callable[[str], None] = lambda _: None) -> ImportRunOutcome:
    """2. One fetch run (steps in the module's docstring). A run made outside Dagster names its
    ``trigger`` (``videolake import --wait``: the CLI) and is recorded in the catalog with its
    summary, for the catalog-runs sensor to report (step 2.7)."""
    started = utcnow()
    ledger = _RunLedger()
    try:
        outcome = _fetch_run(catalog, run_id=run_id, storages=storages, engine_for=engine_for, settings=settings,
                             day=day, log=log, ledger=ledger)
    except BaseException:
        if trigger is not None:  # what it did before it stopped; the stop itself is what the caller hears
            with contextlib.suppress(Exception):
                _record_run(catalog, run_id, trigger, day or started.date(), started, ledger, stopped=True)
        raise
    if trigger is not None:
        _record_run(catalog, run_id, trigger, day or started.date(), started, ledger)
    return outcome


@dataclass
class _RunLedger:
    """What a run touched, for its record: the imports it expired or took, its ingest chunks."""

    import_ids: list[str] = field(default_factory=list)
    taken: int = 0
    batches: list[IngestedBatch] = field(default_factory=list)


def _fetch_run(catalog: Catalog, *, run_id: str, storages: IngestStorages,
               engine_for: Callable[[StorageBackend | None], IngestEngine], settings: FetchRunSettings,
               day: dt.date | None, log: Callable[[str], None], ledger: _RunLedger) -> ImportRunOutcome:
    store = ImportStore(catalog)
    now = utcnow()
    work_dir, per_host, lease = settings.work_dir, settings.per_host, settings.lease
    # 2.1 Deadlines passed before any run took them.
    expired = store.expire_overdue(now)
    for row in expired:
        log(f"import {row.id} expired unfetched: {row.url[:200]}")
    # 2.2 Earliest deadline first, a few per host, held while the run lives.
    taken = store.claim_due(run_id=run_id, limit=settings.batch_size, per_host=per_host, lease=lease, now=now)
    settled: list[str] = [r.id for r in expired]
    ledger.import_ids += settled + [r.id for r in taken]
    ledger.taken = len(taken)
    if not taken:
        return _outcome(run_id, 0, store, settled)
    from videolake.imports.fetch import Fetcher  # the HTTP client: only a fetch run needs it

    engine_for(None).prewarm_workers()  # ingest's worker processes start while the first files arrive
    fetcher = Fetcher(settings.policy)
    hosts: dict[str, threading.Semaphore] = {h: threading.Semaphore(per_host) for h in {r.host for r in taken}}
    parts = {r.id: _part_file(work_dir, r) for r in taken}

    def fetch_one(row: Import) -> _Fetched:
        """2.3 One URL, continuing what an earlier run left of it."""
        part = parts[row.id]
        try:
            with hosts[row.host]:  # at most ``per_host`` at once from one host
                got = fetcher.fetch(row.url, part, deadline=row.deadline, resume=True)
        except FetchError as exc:
            return _Fetched(row, error=exc, attempts=exc.attempts)
        final = part.with_name(row.name or f"{row.id}.mp4")
        part.replace(final)
        return _Fetched(row, final, attempts=got.attempts, size=got.size, sha256=got.sha256, final_url=got.final_url)

    chunk = max(MIN_INGEST_CHUNK, min(MAX_INGEST_CHUNK, len(taken) // 4))
    with _Hold(store, run_id, lease, parts), \
            ThreadPoolExecutor(max(1, min(settings.concurrency, len(taken))), thread_name_prefix="videolake-fetch") as pool:
        outstanding = {pool.submit(fetch_one, row) for row in taken}
        whole: list[_Fetched] = []
        # 2.4 Ingest runs while the rest is fetched: a chunk as soon as that many are whole.
        while outstanding or whole:
            if outstanding:
                done, outstanding = wait(outstanding, timeout=0 if len(whole) >= chunk else None,
                                         return_when=FIRST_COMPLETED)
                for future in done:
                    fetched = future.result()
                    if fetched.error is None:
                        whole.append(fetched)
                    else:
                        _settle_failed(store, fetched, work_dir, log)
                        settled.append(fetched.row.id)
            if whole and (len(whole) >= chunk or not outstanding):
                batch, whole = whole, []
                settled += _ingest_fetched(catalog, store, batch, run_id=run_id, storages=storages,
                                           engine_for=engine_for, work_dir=work_dir, day=day, log=log,
                                           batches=ledger.batches)
    return _outcome(run_id, len(taken), store, settled)



def _settle_failed(store: ImportStore, r: _Fetched, work_dir: Path, log: Callable[[str], None]) -> None:
    """2.3 A fetch that did not end whole: EXPIRED when the deadline passed, FAILED for a final
    answer; a transient one with time left goes back to the queue, its part file kept to continue."""
    error = r.error
    assert error is not None
    attempts = r.row.attempts + max(1, r.attempts)
    now = utcnow()
    later = now + RETRY_LATER
    if error.retryable and (r.row.deadline is None or r.row.deadline > later) and attempts < MAX_ATTEMPTS:
        store.update(r.row.id, expect=[ImportState.FETCHING], state=ImportState.PENDING, failure=error.failure,
                     last_error=str(error), attempts=attempts, lease_until=later)
        log(f"import {r.row.id} tried again after {RETRY_LATER.seconds} s: {error}")
        return
    state = ImportState.EXPIRED if error.failure == FetchFailure.DEADLINE else ImportState.FAILED
    store.update(r.row.id, expect=[ImportState.FETCHING], state=state, failure=error.failure, last_error=str(error),
                 attempts=attempts, lease_until=None, done_at=now)
    shutil.rmtree(work_dir / r.row.id, ignore_errors=True)
    log(f"import {r.row.id} {state}: {error}")



def _ingest_fetched(catalog: Catalog, store: ImportStore, whole: list[_Fetched], *, run_id: str,
                    storages: IngestStorages, engine_for: Callable[[StorageBackend | None], IngestEngine],
                    work_dir: Path, day: dt.date | None, log: Callable[[str], None],
                    batches: list[IngestedBatch]) -> list[str]:
    """2.4–2.6 Whole files through ingest as one batch (appended to ``batches``); each import settled
    from what the run recorded (one catalog transaction for the chunk's fetch figures, one for its
    outcomes)."""
    from videolake.ingest.sources import FetchedFile
    from videolake.usecases.ingest import IngestRequest, ingest_sources

    store.update_all([(r.row.id, {"attempts": r.row.attempts + r.attempts, "bytes_fetched": r.size,
                                  "sha256": r.sha256, "final_url": r.final_url}) for r in whole])
    sources = tuple(FetchedFile(r.path, source=r.row.source or DEFAULT_SOURCE,  # type: ignore[arg-type]
                                given_metadata=_sidecar(r.row), url=r.row.url) for r in whole)
    try:
        batches.append(ingest_sources(IngestRequest(sources=sources, thumbnails=True), day or utcnow().date(),
                                      run_id=run_id, storages=storages, engine_for=engine_for, log=log))
    except Exception as exc:  # noqa: BLE001 - the fetched files are fetched again by a later run
        store.update_all([(r.row.id, {"state": ImportState.PENDING, "lease_until": None,
                                      "last_error": f"ingest failed: {exc}"[:2000]}) for r in whole])
        for r in whole:
            shutil.rmtree(work_dir / r.row.id, ignore_errors=True)
        raise
    # 2.5 Each import's outcome, from what the run recorded.
    uris = {FetchedFile(r.path, url=r.row.url).origin_uri for r in whole}  # type: ignore[arg-type]
    by_uri = {f.uri: f for f in catalog.run_files([run_id]) if f.uri in uris}
    settled: list[tuple[str, dict[str, Any]]] = []
    for r in whole:
        recorded = by_uri.get(FetchedFile(r.path, url=r.row.url).origin_uri)  # type: ignore[arg-type]
        if recorded is not None and recorded.outcome in (FileOutcome.INGESTED, FileOutcome.DUPLICATE):
            settled.append((r.row.id, {"state": ImportState.DONE, "video_id": recorded.video_id, "failure": None,
                                       "last_error": None, "lease_until": None, "done_at": utcnow()}))
        elif recorded is not None and recorded.outcome == FileOutcome.QUARANTINED:
            settled.append((r.row.id, {"state": ImportState.FAILED, "failure": "not_a_video", "lease_until": None,
                                       "last_error": f"fetched, but not a usable video: {recorded.detail}",
                                       "done_at": utcnow()}))
        else:  # failed or skipped: tried again by a later run
            settled.append((r.row.id, {"state": ImportState.PENDING, "lease_until": None, "last_error":
                                       f"ingest did not keep it: {recorded.detail if recorded else 'no record'}"}))
    store.update_all(settled)
    # 2.6 The work files go (ingest stored them, quarantined them, or they are fetched again).
    for r in whole:
        shutil.rmtree(work_dir / r.row.id, ignore_errors=True)
    return [r.row.id for r in whole]


def _record_run(catalog: Catalog, run_id: str, trigger: str, day: dt.date, started: dt.datetime,
                ledger: _RunLedger, *, stopped: bool = False) -> None:
    """2.7 A run outside Dagster, recorded when it took or expired any import: the ingest counts of
    its chunks and what became of its imports (read back from the catalog), in one row the
    catalog-runs sensor reports as materializations of url_imports and of the ingest lineage. The
    run succeeded when it did its work (``stopped``: it did not) and ingest lost no file; an import
    that failed or expired is that import's outcome, counted, not the run's failure."""
    from videolake.catalog.models import IngestRunRecord

    if not ledger.import_ids:
        return
    mine, batches = ImportStore(catalog).get_all(ledger.import_ids), ledger.batches
    summary: dict[str, Any] = {k: 0 for k in RUN_COUNTS}
    for batch in batches:
        for key, value in batch.report.summary().items():
            if key in summary:
                summary[key] += value
        summary["thumbnailed"] += len(batch.new_video_ids)
    states = [row.state for row in mine]
    summary |= {"imports_taken": ledger.taken, **{f"imports_{state}": states.count(state) for state in RUN_IMPORT_STATES},
                "stored_on": batches[-1].stored_on if batches else None}
    catalog.record_ingest_run(IngestRunRecord(
        run_id=run_id, trigger=trigger, zone=ZONE_UPLOADS, day=day.isoformat(),
        success=not stopped and not summary["failed"], summary=summary, started_at=started, finished_at=utcnow()))


def _outcome(run_id: str, taken: int, store: ImportStore, ids: list[str]) -> ImportRunOutcome:
    views = [ImportView.of(r) for r in store.get_all(ids)]
    count = lambda state: sum(1 for v in views if v.state == state)  # noqa: E731
    return ImportRunOutcome(run_id, taken, count(ImportState.DONE), count(ImportState.FAILED),
                            count(ImportState.EXPIRED), views)
