"""The storage report: tables, PNG charts, days left per quota, Prometheus textfile."""

from __future__ import annotations

import base64

import dagster as dg

from assets import storage_report
from resources import CatalogResource, RetentionPolicyResource, StorageReportResource
from tests.test_retention.test_sweep import World


def test_report_tables_charts_runway_and_metrics(tmp_path):
    w = World(tmp_path)
    for _ in range(3):
        w.video(days_old=1, size=7000, cold=True)
    w.video(days_old=2, source="cctv", camera="cam1", size=5000)
    (tmp_path / "retention.yaml").write_text(f'quotas: {{"{w.hot.url}": 280KB}}\n')
    metrics = tmp_path / "metrics" / "videolake.prom"
    result = dg.materialize([storage_report], resources={
        "catalog": CatalogResource(url=w.catalog.url),
        "retention": RetentionPolicyResource(path=str(tmp_path / "retention.yaml")),
        "reports": StorageReportResource(metrics_file=str(metrics)),
    })
    meta = {k: v.value for k, v in result.asset_materializations_for_node("storage_report")[0].metadata.items()}
    hot_bytes = 3 * 7000 + 5000 + 4 * 3  # videos + posters
    assert meta["total_bytes"] == hot_bytes + 3 * 7000 and meta["objects"] == 4 + 4 + 3
    assert meta["total_bytes_readable"] == "45.9 KB"  # 47,012 bytes, for people, beside the raw number
    for chart in ("growth_chart", "quota_chart"):
        png = base64.b64decode(meta[chart].split("base64,")[1].rstrip(")"))
        assert png.startswith(b"\x89PNG") and len(png) > 2000
    assert w.hot.url in meta["runway"] and "cctv" in meta["by_source"] and "cam1" in meta["by_camera"]
    assert meta["by_day"].count(w.hot.url) >= 1 and "| backend | day | bytes |" in meta["by_day"]
    # 26,012 bytes stored in the last 14 days → ~1,858 a day; 280,000 - 26,012 left → ~136.7 days
    assert meta["soonest_full"] == f"{w.hot.url}: 136.7 days"
    text = metrics.read_text()
    assert f'videolake_stored_bytes{{backend="{w.hot.url}",kind="video"}} 26000.0' in text
    assert f'videolake_quota_days_left{{backend="{w.hot.url}"}} 136.7' in text
    assert 'videolake_source_bytes{source="uploads"}' in text
