"""Uploads are ingested in worker processes, never in the API's own.

Ingest is CPU work (hashing, probing, decoding keyframes for the poster and sprite, encoding JPEGs)
and catalog bookkeeping in Python. In the API process its bookkeeping alone held the interpreter
lock for about as long as the requests did (sampled during 100 uploads one after another), and
every upload being received waited for it. Here a whole upload — ``ingest_upload``, media work
inline — runs on one of the shared pool's worker processes (``videolake.ingest.parallel``: niced,
gone with the API process), which opens its own catalog and backends from the API's environment
once. The API process only waits for the outcome (or not: 202), which is also in the catalog.

``UploadIngestTask`` and ``ingest_upload_task`` are picklable: a task is what crosses to the worker.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from videolake.usecases.uploads import UploadView, ingest_upload

if TYPE_CHECKING:
    from pipelines.api.services import ApiServices


@dataclass(frozen=True)
class UploadIngestTask:
    environment: tuple[tuple[str, str], ...]  # the API's settings (``default_environment``), as items
    upload_id: str


_opened: dict[tuple[tuple[str, str], ...], ApiServices] = {}
_opening = threading.Lock()


def _services_for(environment: tuple[tuple[str, str], ...]) -> ApiServices:
    """This worker's catalog and backends for those settings, opened on its first upload."""
    from pipelines.api.services import ApiServices

    with _opening:
        if environment not in _opened:
            services = ApiServices.from_environment(dict(environment))
            # One upload at a time in a worker: its media work runs right here, in no further pool.
            services.ingest_settings = dataclasses.replace(services.ingest_settings, workers=1)
            _opened[environment] = services
        return _opened[environment]


def ingest_upload_task(task: UploadIngestTask) -> UploadView:
    services = _services_for(task.environment)
    return ingest_upload(services.catalog, task.upload_id, spool=services.spool, storages=services.storages(),
                         engine_for=services.engine_for)
