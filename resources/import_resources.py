"""How URL imports are fetched: where to, how many at once, and which addresses may be reached."""

import dagster as dg
from pydantic import Field

from videolake.constants import DEFAULT_IMPORT_LEASE_SECONDS
from videolake.imports import run_settings as defaults
from videolake.imports.run_settings import FetchRunSettings


class ImportSettingsResource(dg.ConfigurableResource):
    work_dir: str = Field(description="the folder fetched files wait in until ingest has stored them")
    allow_private: str = Field(default="0", description="1: private, loopback and link-local addresses may be fetched")
    batch_size: int = Field(default=defaults.DEFAULT_BATCH_SIZE, description="imports one run takes, earliest deadline first")
    per_host: int = Field(default=defaults.DEFAULT_PER_HOST, description="fetches from one host at once")
    concurrency: int = Field(default=defaults.DEFAULT_CONCURRENCY, description="fetches at once in one run")
    max_gb: float = Field(default=defaults.DEFAULT_MAX_GB, description="the largest file an import may fetch")
    lease_seconds: int = Field(default=DEFAULT_IMPORT_LEASE_SECONDS, description="how long a run holds its imports without renewing the hold")

    def settings(self) -> FetchRunSettings:
        return FetchRunSettings.build(work_dir=self.work_dir, allow_private=self.allow_private,
                                      batch_size=self.batch_size, per_host=self.per_host, concurrency=self.concurrency,
                                      max_gb=self.max_gb, lease_seconds=self.lease_seconds)
