"""The storage report: tables and PNG charts in the asset's metadata, the same figures as Prometheus metrics."""

from pathlib import Path

import dagster as dg

from assets.readable import with_readable
from pipelines import names
from resources import CatalogResource, RetentionPolicyResource, StorageReportResource
from videolake.reports.storage_report import (
    build_report,
    charts_png,
    markdown_table,
    png_markdown,
    prometheus_text,
    recent_days,
)


@dg.asset(
    name=names.ASSET_STORAGE_REPORT,
    group_name=names.GROUP_RETENTION,
    deps=[names.ASSET_RETENTION_SWEEP],
    kinds={"pandas", "prometheus"},
    description="Bytes and counts per backend, source, camera and day; growth; days left per quota (charts + metrics).",
)
def storage_report(catalog: CatalogResource, retention: RetentionPolicyResource,
                   reports: StorageReportResource) -> dg.MaterializeResult:
    policy = retention.policy()
    report = build_report(catalog.catalog(), policy.quotas)
    charts = charts_png(report)
    metrics_path = Path(reports.metrics_file)
    metrics_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = metrics_path.with_suffix(".prom.tmp")
    tmp.write_bytes(prometheus_text(report))
    tmp.replace(metrics_path)  # node_exporter never reads a half-written file
    runway = report.runway
    soonest = runway.dropna(subset=["days_left"]).sort_values("days_left").head(1)
    return dg.MaterializeResult(metadata=with_readable({
        "total_bytes": dg.MetadataValue.int(int(report.objects["bytes"].sum()) if len(report.objects) else 0),
        "objects": dg.MetadataValue.int(len(report.objects)),
        "growth_chart": dg.MetadataValue.md(png_markdown(charts["growth"], "bytes stored per day")),
        "quota_chart": dg.MetadataValue.md(png_markdown(charts["quota"], "used and quota per backend")),
        "runway": dg.MetadataValue.md(markdown_table(runway)),
        "by_backend": dg.MetadataValue.md(markdown_table(report.by_backend)),
        "by_source": dg.MetadataValue.md(markdown_table(report.by_source)),
        "by_camera": dg.MetadataValue.md(markdown_table(report.by_camera.head(50))),
        "by_day": dg.MetadataValue.md(markdown_table(recent_days(report))),
        "soonest_full": dg.MetadataValue.text(
            f"{soonest.iloc[0]['backend']}: {soonest.iloc[0]['days_left']} days" if len(soonest) else "no quota set"),
        "prometheus_textfile": dg.MetadataValue.path(str(metrics_path)),
    }))
