from pydantic import Field

import dagster as dg

from videolake.retention.policy import RetentionPolicy, load_policy


class RetentionPolicyResource(dg.ConfigurableResource):
    """The retention policy file (keep_hot_days / keep_days per source and camera, quotas, guardrails)."""

    path: str = Field(description="path of the YAML policy file; absent means keep everything")

    def policy(self) -> RetentionPolicy:
        return load_policy(self.path)


class StorageReportResource(dg.ConfigurableResource):
    """Where the storage report writes its Prometheus metrics (node_exporter textfile collector)."""

    metrics_file: str = Field(description="path of the .prom file")
