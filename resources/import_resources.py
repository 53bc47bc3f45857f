"""How URL imports are fetched: where to, how many at once, and which addresses may be reached."""

import datetime as dt
from pathlib import Path

import dagster as dg
from pydantic import Field

from videolake.constants import DEFAULT_IMPORT_LEASE_SECONDS
from videolake.imports.urls import FetchPolicy

GiB = 1024**3


class ImportSettingsResource(dg.ConfigurableResource):
    work_dir: str = Field(description="the folder fetched files wait in until ingest has stored them")
    allow_private: str = Field(default="0", description="1: private, loopback and link-local addresses may be fetched")
    batch_size: int = Field(default=50, description="imports one run takes, earliest deadline first")
    per_host: int = Field(default=4, description="fetches from one host at once")
    concurrency: int = Field(default=8, description="fetches at once in one run")
    max_gb: float = Field(default=20.0, description="the largest file an import may fetch")
    lease_seconds: int = Field(default=DEFAULT_IMPORT_LEASE_SECONDS, description="how long a run holds its imports without renewing the hold")

    def policy(self) -> FetchPolicy:
        return FetchPolicy(allow_private=self.allow_private.strip().lower() in ("1", "true", "yes"),
                           max_bytes=int(self.max_gb * GiB))

    def folder(self) -> Path:
        return Path(self.work_dir).expanduser()

    def lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=max(4, self.lease_seconds))
