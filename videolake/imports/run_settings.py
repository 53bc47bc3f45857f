"""How a fetch run works: where it fetches to, how much it takes and at what pace, which addresses
it may reach. One mapping from the settings (``VIDEOLAKE_IMPORT_*``) for every runner: the Dagster
resource (``resources/import_resources.py``) and ``videolake import --wait``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from videolake.constants import DEFAULT_IMPORT_LEASE_SECONDS, Env
from videolake.imports.urls import FetchPolicy

GiB = 1024**3
MIN_LEASE_SECONDS = 4  # the shortest hold a run takes on its imports (renewed a quarter of it apart)
DEFAULT_BATCH_SIZE = 50
DEFAULT_PER_HOST = 4
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_GB = 20.0


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class FetchRunSettings:
    work_dir: Path  # fetched files wait here until ingest has stored them
    policy: FetchPolicy
    batch_size: int = DEFAULT_BATCH_SIZE  # imports one run takes, earliest deadline first
    per_host: int = DEFAULT_PER_HOST  # fetches from one host at once
    concurrency: int = DEFAULT_CONCURRENCY  # fetches at once in one run
    lease: dt.timedelta = dt.timedelta(seconds=DEFAULT_IMPORT_LEASE_SECONDS)  # a run's hold on its imports

    @classmethod
    def build(cls, *, work_dir: str, allow_private: str = "0", batch_size: int = DEFAULT_BATCH_SIZE,
              per_host: int = DEFAULT_PER_HOST, concurrency: int = DEFAULT_CONCURRENCY, max_gb: float = DEFAULT_MAX_GB,
              lease_seconds: int = DEFAULT_IMPORT_LEASE_SECONDS) -> FetchRunSettings:
        """From the settings as written (``allow_private`` "1", "true" or "yes"; sizes in GB)."""
        return cls(work_dir=Path(work_dir).expanduser(),
                   policy=FetchPolicy(allow_private=_truthy(allow_private), max_bytes=int(max_gb * GiB)),
                   batch_size=batch_size, per_host=per_host, concurrency=concurrency,
                   lease=dt.timedelta(seconds=max(MIN_LEASE_SECONDS, lease_seconds)))

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> FetchRunSettings:
        """From the settings with their defaults filled in (``videolake.settings.default_environment``,
        which has checked the whole numbers)."""
        return cls.build(work_dir=values[Env.IMPORT_DIR], allow_private=values[Env.IMPORT_ALLOW_PRIVATE],
                         batch_size=int(values[Env.IMPORT_BATCH]), per_host=int(values[Env.IMPORT_PER_HOST]),
                         lease_seconds=int(values[Env.IMPORT_LEASE_SECONDS]))
