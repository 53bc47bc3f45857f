"""The storage report: tables and PNG charts in the asset's metadata, the same figures as Prometheus metrics."""

from pathlib import Path

import dagster as dg

from assets.readable import with_readable
from pipelines import names
from resources import CatalogResource, RetentionPolicyResource, StorageReportResource
from videolake.reports.storage_report import charts_png, markdown_table, png_markdown, recent_days
from videolake.usecases.storage import storage_figures


@dg.asset(
    name=names.ASSET_STORAGE_REPORT,
    group_name=names.GROUP_RETENTION,
    deps=[names.ASSET_RETENTION_SWEEP],
    kinds={"pandas", "prometheus"},
    description="Bytes and counts per backend, source, camera and day; growth; days left per quota (charts + metrics).",
)
def storage_report(catalog: CatalogResource, retention: RetentionPolicyResource,
                   reports: StorageReportResource) -> dg.MaterializeResult:
    figures = storage_figures(catalog.catalog(), retention.policy().quotas, metrics_file=Path(reports.metrics_file))
    report = figures.report
    charts = charts_png(report)
    runway = report.runway
    soonest = runway.dropna(subset=["days_left"]).sort_values("days_left").head(1)
    return dg.MaterializeResult(metadata=with_readable({
        "total_bytes": dg.MetadataValue.int(figures.total_bytes),
        "objects": dg.MetadataValue.int(figures.objects),
        "growth_chart": dg.MetadataValue.md(png_markdown(charts["growth"], "bytes stored per day")),
        "quota_chart": dg.MetadataValue.md(png_markdown(charts["quota"], "used and quota per backend")),
        "runway": dg.MetadataValue.md(markdown_table(runway)),
        "by_backend": dg.MetadataValue.md(markdown_table(report.by_backend)),
        "by_source": dg.MetadataValue.md(markdown_table(report.by_source)),
        "by_camera": dg.MetadataValue.md(markdown_table(report.by_camera.head(50))),
        "by_day": dg.MetadataValue.md(markdown_table(recent_days(report))),
        "soonest_full": dg.MetadataValue.text(
            f"{soonest.iloc[0]['backend']}: {soonest.iloc[0]['days_left']} days" if len(soonest) else "no quota set"),
        "prometheus_textfile": dg.MetadataValue.path(figures.metrics_file),
    }))
