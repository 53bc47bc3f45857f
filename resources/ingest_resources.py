
import dagster as dg
from pydantic import Field

from videolake import constants as c
from videolake.ingest.engine import IngestSettings
from videolake.media.inspection import MediaLimits
from videolake.segments.naming import DEFAULT_TEMPLATE, SegmentTemplate
from videolake.storage import StorageBackend, open_backend


class LandingZoneResource(dg.ConfigurableResource):
    """Where files land: a local folder or an S3 prefix (``s3://bucket/prefix``)."""

    url: str = Field(description="a folder path, file:///path or s3://bucket/prefix")
    endpoint_url: str | None = None

    def backend(self) -> StorageBackend:
        from videolake.storage.s3_backend import S3Options

        # Folders people and cameras write into stay, even when ingest has emptied them.
        return open_backend(self.url, s3_options=S3Options(endpoint_url=self.endpoint_url or None)).keeping_folders()


class SegmentNamingResource(dg.ConfigurableResource):
    """How camera and start time are read from a segment's path (a JSON sidecar wins)."""

    template: str = Field(
        default=DEFAULT_TEMPLATE,
        description="e.g. {camera}/{start:%Y/%m/%d/%H%M%S}.ts; times without an offset are UTC",
    )

    def parser(self) -> SegmentTemplate:
        return SegmentTemplate(self.template)


class IngestSettingsResource(dg.ConfigurableResource):
    """How landed files are batched and judged."""

    stable_after_seconds: int = Field(
        default=c.DEFAULT_STABLE_AFTER_SECONDS,
        description="the age rule, for network file systems: a file must also be untouched this long (0: off)",
    )
    min_unchanged_seconds: int = Field(
        default=c.DEFAULT_SETTLE_SECONDS,
        description="the settle: a local file unchanged this long, with no process writing it, is complete",
    )
    requeue_after_seconds: int = Field(default=c.DEFAULT_REQUEUE_AFTER_SECONDS, description="claims older than this are retried")
    batch_max_files: int = c.DEFAULT_BATCH_MAX_FILES
    batch_max_gb: float = c.DEFAULT_BATCH_MAX_BYTES / 1024**3
    max_batches_per_tick: int = c.DEFAULT_MAX_BATCHES_PER_TICK
    default_source: str = c.DEFAULT_SOURCE
    workers: int = Field(default=0, description="processes for per-file work; 0 means two per core")
    min_dimension: int = c.MIN_DIMENSION
    max_dimension: int = c.MAX_DIMENSION
    max_aspect_ratio: float = c.MAX_ASPECT_RATIO

    def settings(self) -> IngestSettings:
        return IngestSettings(
            default_source=self.default_source,
            stable_after_seconds=self.stable_after_seconds,
            min_unchanged_seconds=self.min_unchanged_seconds,
            requeue_after_seconds=self.requeue_after_seconds,
            batch_max_files=self.batch_max_files,
            batch_max_bytes=int(self.batch_max_gb * 1024**3),
            max_batches_per_tick=self.max_batches_per_tick,
            limits=MediaLimits(self.min_dimension, self.max_dimension, self.max_aspect_ratio),
            workers=self.workers or None,
        )
