"""A run's records read back exactly as written, on SQLite and PostgreSQL (where a retention plan's
items go in with COPY): NULLs, quotes, commas, backslashes and new lines in keys survive."""

from __future__ import annotations

from videolake.catalog.models import RetentionRun
from videolake.catalog.repository import Catalog


def test_a_retention_plan_reads_back_as_recorded(catalog_url):
    catalog = Catalog(catalog_url)
    items = [
        {"action": "delete_video", "video_id": i, "export_id": None, "what": "video", "backend": "file:///srv/hot",
         "key": f"videos/ab/{i:04d}", "size_bytes": 1000 + i, "policy": "default.keep_days=30"}
        for i in range(2500)
    ] + [{"action": "expire_export", "video_id": None, "export_id": "exp-1", "what": "manifest",
          "backend": "s3://b/p", "key": 'exports/a "quoted", comma\\back\nslash.json', "size_bytes": 0,
          "policy": "exports.ttl"}]
    catalog.record_retention_run(RetentionRun(run_id="run-1", applied=False, summary={"objects": len(items)},
                                              refused=["a guardrail"]), items)
    run, rows = catalog.retention_run("run-1")
    assert run.summary == {"objects": 2501} and run.refused == ["a guardrail"] and run.report is None
    columns = list(items[0])
    assert [{c: getattr(r, c) for c in columns} for r in rows] == items
    catalog.finish_retention_run("run-1", {"deleted_objects": 2501})
    assert catalog.retention_run("run-1")[0].report == {"deleted_objects": 2501}
    assert catalog.retention_run("run-2") is None
