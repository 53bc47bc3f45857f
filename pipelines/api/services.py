"""What the API's requests work with: the catalog, the backends, the spool, the ingest wiring and
the link secret — built once, at start-up, from the environment (never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from videolake import constants as c
from videolake.archive.write_modes import parse_write_mode
from videolake.catalog.database import server_engine
from videolake.catalog.repository import Catalog
from videolake.constants import WriteMode
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.ingest.parallel import prewarm, run_workers_nicer, submit
from videolake.ingest.spool import UploadSpool
from videolake.links.tokens import load_or_create_secret
from videolake.settings import default_environment
from videolake.storage import StorageBackend, open_backend
from videolake.usecases.errors import Unavailable
from videolake.usecases.ingest import IngestStorages
from videolake.usecases.uploads import UploadView, ingest_interrupted

T = TypeVar("T")
INGEST_THREADS = 2  # uploads ingested at once by one API process, each in a worker process (upload_worker.py)
# Threads for the catalog reads and writes of requests. SQLite is in-process and fast: threads only
# add GIL hand-offs around each step (measured here: 1,609 reads/s on 1 thread, 527/s on 16), so
# one thread serves them all; PostgreSQL waits on the network, where threads overlap the waits.
SQLITE_CATALOG_THREADS = 1
INGEST_NICENESS = 10  # the ingest workers leave the CPU to receiving uploads and answering requests
SERVER_CATALOG_THREADS = 8


@dataclass
class ApiServices:
    catalog: Catalog
    hot: StorageBackend
    quarantine: StorageBackend
    archive_url: str
    write_mode: WriteMode
    spool: UploadSpool
    ingest_settings: IngestSettings
    link_secret: bytes
    public_url: str
    max_upload_bytes: int
    upload_expiry: dt.timedelta
    retention_policy_path: str
    home: Path
    dagster_home: str | None
    free_key_failures: int = 3  # per client per 5 minutes, before failed keys are answered more slowly
    environment: dict[str, str] = field(default_factory=dict)
    ingest_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        INGEST_THREADS, thread_name_prefix="videolake-ingest"))
    catalog_pool: ThreadPoolExecutor | None = None
    # Uploads of the same content are ingested one after the other (the second is a duplicate).
    _content_locks: dict[str, list] = field(default_factory=dict)  # sha256 -> [lock, holders and waiters]
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)
    _backends: dict[str, StorageBackend] = field(default_factory=dict)
    _ingest_warm: bool = False

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> ApiServices:
        values = default_environment(os.environ if env is None else env)
        home = Path(values[c.ENV_HOME])
        return cls(
            catalog=Catalog(values[c.ENV_CATALOG_URL], engine=server_engine(values[c.ENV_CATALOG_URL])),
            hot=open_backend(values[c.ENV_HOT_STORAGE]),
            quarantine=open_backend(values[c.ENV_QUARANTINE]),
            archive_url=values[c.ENV_ARCHIVE_STORAGE],
            write_mode=parse_write_mode(values[c.ENV_WRITE_MODE]),
            spool=UploadSpool(values[c.Env.UPLOAD_SPOOL]),
            # Every upload's media work runs in worker processes (at least 2, so the pool is used),
            # never in a request's thread.
            ingest_settings=IngestSettings(workers=max(2, int(values[c.ENV_WORKERS])) if int(values[c.ENV_WORKERS])
                                           else None, pool_min_items=1, group_commit=False),
            link_secret=load_or_create_secret((env or os.environ).get(c.ENV_LINK_SECRET), home),
            public_url=values[c.ENV_PUBLIC_URL].rstrip("/"),
            max_upload_bytes=int(values[c.Env.MAX_UPLOAD_BYTES]),
            upload_expiry=dt.timedelta(hours=float(values[c.Env.UPLOAD_EXPIRES_HOURS])),
            retention_policy_path=values[c.ENV_RETENTION],
            home=home,
            dagster_home=(env or os.environ).get("DAGSTER_HOME"),
            free_key_failures=int(values[c.Env.API_FREE_KEY_FAILURES]),
            environment=values,
        )

    def __post_init__(self) -> None:
        run_workers_nicer(INGEST_NICENESS)
        if self.catalog_pool is None:
            threads = SQLITE_CATALOG_THREADS if self.catalog.engine.dialect.name == "sqlite" else SERVER_CATALOG_THREADS
            self.catalog_pool = ThreadPoolExecutor(threads, thread_name_prefix="videolake-catalog")

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a use case (catalog work) off the event loop, on the catalog's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.catalog_pool, functools.partial(fn, *args, **kwargs))

    def prewarm_ingest(self) -> None:
        """Start the ingest worker processes (once), so that they start while an upload's bytes are
        still arriving instead of after (not at start-up: an API that is never sent a file never needs them)."""
        with self._locks_guard:
            if self._ingest_warm:
                return
            self._ingest_warm = True
        prewarm(INGEST_THREADS)

    def ingest_upload(self, upload_id: str) -> UploadView:
        """Ingest a received upload on a worker process and wait for its outcome (a worker that
        dies leaves the upload to the next resume round)."""
        from pipelines.api.upload_worker import UploadIngestTask, ingest_upload_task

        task = UploadIngestTask(tuple(sorted(self.environment.items())), upload_id)
        try:
            return submit(ingest_upload_task, task, workers=INGEST_THREADS).result()
        except BrokenProcessPool as exc:
            ingest_interrupted(self.catalog, upload_id, f"its worker process died ({exc})")
            raise Unavailable("the process ingesting this upload died; it is tried again shortly") from exc

    def storages(self) -> IngestStorages:
        archive = open_backend(self.archive_url) if self.write_mode is not WriteMode.LOCAL else None
        return IngestStorages(hot=self.hot, archive=archive, mode=self.write_mode)

    def engine_for(self, target: StorageBackend | None) -> IngestEngine:
        """The ingestor of uploads: the spool is its landing zone."""
        return IngestEngine(self.catalog, target or self.hot, self.quarantine, landing=self.spool.backend,
                            settings=self.ingest_settings)

    def backend(self, url: str) -> StorageBackend:
        """The backend a replica or derivative names (opened once per URL)."""
        with self._locks_guard:
            if url not in self._backends:
                self._backends[url] = {self.hot.url: self.hot, self.quarantine.url: self.quarantine}.get(url) \
                    or open_backend(url)
            return self._backends[url]

    @contextlib.contextmanager
    def content_lock(self, sha256: str) -> Iterator[None]:
        """Held while one upload of this content is ingested (released entries are dropped)."""
        with self._locks_guard:
            entry = self._content_locks.setdefault(sha256, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._locks_guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._content_locks.pop(sha256, None)

    def close(self) -> None:
        self.ingest_pool.shutdown(wait=True, cancel_futures=False)
        if self.catalog_pool is not None:
            self.catalog_pool.shutdown(wait=True)
        self.catalog.engine.dispose()
