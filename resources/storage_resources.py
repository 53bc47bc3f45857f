
import dagster as dg
from pydantic import Field

from videolake.storage import StorageBackend, open_backend
from videolake.storage.s3_backend import S3Options


class StorageResource(dg.ConfigurableResource):
    """A storage backend chosen by URL: file:///path or s3://bucket/prefix.

    S3 credentials, region and endpoint come from the standard AWS variables
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, ...) unless set here.
    """

    url: str = Field(description="file:///path or s3://bucket/prefix")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint; AWS_ENDPOINT_URL otherwise")
    region_name: str | None = None
    multipart_threshold_mb: int = 64
    part_size_mb: int = 16
    max_concurrency: int = 8

    def backend(self) -> StorageBackend:
        return open_backend(
            self.url,
            s3_options=S3Options(
                endpoint_url=self.endpoint_url or None,
                region_name=self.region_name or None,
                multipart_threshold=self.multipart_threshold_mb * 1024 * 1024,
                part_size=self.part_size_mb * 1024 * 1024,
                max_concurrency=self.max_concurrency,
            ),
        )
