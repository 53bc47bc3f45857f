"""The catalog-runs sensor: ingest runs made outside Dagster, reported as one materialization per
asset and landing day per tick, a page at a time, each run once."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipelines.definitions import defs
from resources import CatalogResource
from sensors import catalog_runs_sensor
from sensors.catalog_runs_sensor import RUNS_PER_TICK
from videolake.catalog.models import IngestRunRecord
from videolake.catalog.repository import Catalog


def record(catalog: Catalog, n: int, day: str, **summary: int) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    catalog.record_ingest_run(IngestRunRecord(
        run_id=f"run-{day}-{n}", trigger="cli", zone="uploads", day=day, success=True,
        summary={"files": 2, "ingested": 1, "duplicates": 1, "bytes_ingested": 10, "thumbnailed": 1, **summary},
        started_at=now, finished_at=now))


def test_runs_are_reported_per_day_a_page_per_tick_and_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    catalog = Catalog(url)
    for n in range(RUNS_PER_TICK - 1):
        record(catalog, n, "2026-11-30")
    record(catalog, 0, "2026-12-01", files=5, ingested=5, duplicates=0)
    record(catalog, 1, "2026-12-01")  # past the first page
    record(catalog, 2, "2026-12-02")
    with dg.instance_for_test() as instance:
        def tick(cursor):
            context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                              resources={"catalog": CatalogResource(url=url)}, definitions=defs)
            result = catalog_runs_sensor.evaluate_tick(context)
            for request in result.dynamic_partitions_requests or []:
                instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
            for event in result.asset_events:
                instance.report_runless_asset_event(event)
            return result

        first = tick(None)
        assert sorted({(e.asset_key.to_user_string(), e.partition) for e in first.asset_events}) == sorted(
            (asset, day) for asset in ("ingested_videos", "video_probes", "video_thumbnails")
            for day in ("2026-11-30", "2026-12-01"))
        by_day = {e.partition: e.metadata for e in first.asset_events if e.asset_key.to_user_string() == "ingested_videos"}
        assert by_day["2026-11-30"]["runs"].value == RUNS_PER_TICK - 1
        assert by_day["2026-11-30"]["ingested"].value == RUNS_PER_TICK - 1
        assert len(by_day["2026-11-30"]["run_ids"].value) == 50  # a sample of ids, not all of them
        assert by_day["2026-12-01"]["ingested"].value == 5 and by_day["2026-12-01"]["files"].value == 5

        second = tick(first.cursor)
        assert {e.partition for e in second.asset_events} == {"2026-12-01", "2026-12-02"}
        assert sorted(instance.get_dynamic_partitions("landing_days")) == ["2026-11-30", "2026-12-01", "2026-12-02"]
        third = tick(second.cursor)
        assert not third.asset_events and third.cursor == second.cursor
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(dg.AssetKey("ingested_videos"), asset_partitions=["2026-12-01"]), limit=10).records
        assert sorted(r.asset_materialization.metadata["runs"].value for r in records) == [1, 1]
