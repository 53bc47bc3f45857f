from pydantic import Field

import dagster as dg

from videolake import constants as c
from videolake.archive.write_modes import WriteMode, parse_write_mode
from videolake.storage import StorageBackend, open_backend


class ArchivePolicyResource(dg.ConfigurableResource):
    """The archive tier and how videos move there."""

    archive_url: str = Field(description="the archive tier: file:///path, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix")
    migration: str = Field(default="copy", description="copy (keep the hot copy) or move (delete it once the archive copy is verified)")
    archive_after_days: int = Field(default=c.DEFAULT_ARCHIVE_AFTER_DAYS, description="days a video stays hot before archiving")
    transfers: int = Field(default=8, description="parallel transfers within a run")
    write_mode: str = Field(default="LOCAL", description="at ingest: LOCAL (hot only), REMOTE (archive only) or BOTH (dual write)")

    def parsed_write_mode(self) -> WriteMode:
        return parse_write_mode(self.write_mode)

    def archive_backend(self) -> StorageBackend:
        return open_backend(self.archive_url)
