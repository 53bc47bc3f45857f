"""The import sensor through build_sensor_context/evaluate_tick, and the run it asks for: one run
per batch, its priority from the nearest deadline, nothing when nothing is due."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from assets import url_imports
from pipelines.definitions import build_resources, defs
from sensors import import_queue_sensor
from sensors.import_sensor import run_priority
from tests.conftest import cli, materialize_day
from tests.test_imports.conftest import in_seconds
from videolake.catalog.repository import Catalog
from videolake.catalog.video_search import list_video_records
from videolake.constants import ImportState
from videolake.usecases.imports import ImportRequest, get_imports, queue_imports


@pytest.fixture
def lake(cli_env):
    """A catalog made by the command, and the Definitions' resources for it (loopback allowed)."""
    env = {**cli_env, "VIDEOLAKE_IMPORT_ALLOW_PRIVATE": "1"}
    assert cli(env, "db", "upgrade").returncode == 0
    return Catalog(f"sqlite:///{Path(env['VIDEOLAKE_HOME']) / 'catalog.sqlite'}"), build_resources(env)


def tick(instance, resources):
    context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), resources=resources,
                                      definitions=defs)
    result = import_queue_sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_due_imports_get_one_run_with_the_deadline_s_priority(flaky, lake):
    base, _, _ = flaky
    catalog, resources = lake
    with dg.instance_for_test() as instance:
        idle = tick(instance, resources)
        assert not idle.run_requests and "no import is due" in idle.skip_message
        queued = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4?n={n}", deadline=in_seconds(3600 * 24 * 3))
                                         for n in range(3)]
                               + [ImportRequest(f"{base}/ok/clip.mp4?soon=1", deadline=in_seconds(300))])
        result = tick(instance, resources)
        [request] = result.run_requests  # four imports, one batch: one run
        today = dt.datetime.now(dt.timezone.utc).date().isoformat()
        assert request.partition_key == today and request.tags["dagster/priority"] == "100"
        done = materialize_day([url_imports], request.partition_key, instance=instance, resources=resources,
                               tags=request.tags)
        assert done.success
        meta = done.asset_materializations_for_node("url_imports")[0].metadata
        assert (meta["taken"].value, meta["done"].value) == (4, 4)
        assert {v.state for v in get_imports(catalog, [q.id for q in queued])} == {ImportState.DONE}
        assert catalog.ingest_runs_after(0, 10) == []  # a Dagster run is Dagster's: not recorded to be reported again
        assert "no import is due" in tick(instance, resources).skip_message


def test_run_priority_bands():
    now = dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc)
    assert [run_priority(now + dt.timedelta(minutes=m), now) for m in (5, 30, 600, 5000)] == [100, 50, 10, 0]
    assert run_priority(None, now) == 0


def test_the_check_after_a_run_warns_of_a_missed_deadline(flaky, lake):
    from assets import imports_on_time

    base, _, _ = flaky
    catalog, resources = lake
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    with dg.instance_for_test() as instance:
        queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4")])
        fine = materialize_day([url_imports, imports_on_time], today, instance=instance, resources=resources)
        [check] = fine.get_asset_check_evaluations()
        assert check.passed and check.metadata["missed_24h"].value == 0
        queue_imports(catalog, [ImportRequest(f"{base}/silent/clip.mp4", deadline=in_seconds(2))])
        late = materialize_day([url_imports, imports_on_time], today, instance=instance, resources=resources)
        [check] = late.get_asset_check_evaluations()
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert check.metadata["missed_24h"].value == 1 and "/silent/clip.mp4" in check.metadata["missed_imports"].value


def test_a_url_list_dropped_in_the_landing_zone_is_queued_then_fetched(flaky, lake, tmp_path):
    """``*.urls.jsonl`` copied into the landing zone: the landing sensor's tick queues its imports
    (the folder names their source) and removes it; a bad list is quarantined with the line that
    is wrong; a video beside them is claimed as always; the import sensor then fetches them."""
    import json
    import os
    import time

    from sensors import landing_zone_sensor

    base, clip, sha = flaky
    catalog, resources = lake
    landing = Path(resources["landing"].url.removeprefix("file://"))
    (landing / "generator").mkdir(parents=True, exist_ok=True)
    good = landing / "generator" / "tonight.urls.jsonl"
    good.write_text("\n".join(json.dumps(line) for line in [
        {"url": f"{base}/ok/clip.mp4", "expires_in": "2h", "model": "veo-3", "prompt": "fog over a harbour"},
        {"url": f"{base}/cut/clip.mp4", "expires_in": "3h", "name": "harbour-2.mp4"},
    ]) + "\n")
    bad = landing / "typo.urls.jsonl"
    bad.write_text(json.dumps({"url": f"{base}/ok/clip.mp4?b=1"}) + "\n" + '{"url": "https://x.example/a.mp4", "expire_in": "1h"}\n')
    (landing / "beside.mp4").write_bytes(clip.read_bytes())
    old = time.time() - 10
    for f in (good, bad, landing / "beside.mp4"):
        os.utime(f, (old, old))
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), resources=resources,
                                          definitions=defs)
        landed = landing_zone_sensor.evaluate_tick(context)
        [claim] = landed.run_requests  # the video, as always; the lists are not videos
        assert claim.tags["videolake/files"] == "1"
        assert not good.exists() and not bad.exists()
        quarantined = catalog.list_quarantine()
        [why] = [q for q in quarantined if q.name == "typo.urls.jsonl"]
        assert why.reason == "bad_url_list" and "line 2: unknown field(s) expire_in" in why.detail
        result = tick(instance, resources)
        [request] = result.run_requests
        assert materialize_day([url_imports], request.partition_key, instance=instance, resources=resources,
                               tags=request.tags).success
    from sqlalchemy import select

    from videolake.catalog.models import Import

    with catalog.read() as s:
        views = list(s.scalars(select(Import)))
    assert sorted((v.name, v.source, v.state) for v in views) == [
        ("clip.mp4", "generator", ImportState.DONE), ("harbour-2.mp4", "generator", ImportState.DONE)]
    [video] = list_video_records(catalog)  # the same bytes twice: one video
    assert video.sha256 == sha and video.source == "generator" and video.sidecar["origin_url"].startswith(base)
