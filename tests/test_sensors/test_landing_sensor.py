"""The landing sensor via build_sensor_context/evaluate_tick, then the runs it requests."""

from __future__ import annotations

import hashlib
import os

import dagster as dg
from sqlalchemy import func, select

from tests.conftest import materialize_day
from assets import ingest_lineage, landing_zone
from pipelines.definitions import defs
from resources import IngestSettingsResource
from sensors import catalog_quality_sensor, landing_zone_sensor
from videolake.catalog.models import Landing, LandingFile, Video


def tick(instance, lake, cursor=None, **overrides):
    """One tick as the daemon runs it, the partitions it asks for added (its runs' days)."""
    context = dg.build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), cursor=cursor, resources=lake.resources(**overrides),
        definitions=defs,
    )
    result = landing_zone_sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def age(path, seconds):
    past = path.stat().st_mtime - seconds
    os.utime(path, (past, past))


LINEAGE = [landing_zone, ingest_lineage]


def run_requested(instance, lake, request):
    """Launch what a RunRequest asks for, in process, as the daemon would (its day a partition first)."""
    return materialize_day(
        LINEAGE,
        request.partition_key,
        instance=instance,
        run_config=request.run_config,
        tags=request.tags,
        resources=lake.resources(),
    )


def test_complete_files_go_at_the_first_tick_and_files_being_written_wait(sqlite_lake, clips):
    """Dropped files are claimed by the tick that first sees them (after a one-second settle); a file a
    process holds open for writing, or one that grows during the settle, waits for a later tick."""
    import threading
    import time

    lake = sqlite_lake
    settings = IngestSettingsResource(min_unchanged_seconds=1, batch_max_files=2)
    with dg.instance_for_test() as instance:
        lake.drop(clips.other, "uploads/b.mp4")
        lake.drop(clips.segment_ts, "c.ts")
        held = lake.landing / "uploads" / "a.mp4"
        writer = open(held, "wb")  # a copy still going: open for writing, half the bytes there
        data = clips.good.read_bytes()
        writer.write(data[: len(data) // 2])
        writer.flush()
        growing = lake.landing / "uploads" / "growing.mp4"
        growing.write_bytes(data[:1000])
        stop = threading.Event()

        def append_now_and_then() -> None:  # opens, appends and closes: only the settle can tell
            sent = 1000
            while not stop.is_set() and sent < len(data):
                time.sleep(0.2)
                with open(growing, "ab") as fh:
                    fh.write(data[sent : sent + 2000])
                sent += 2000

        thread = threading.Thread(target=append_now_and_then)
        thread.start()
        try:
            result = tick(instance, lake, ingest_settings=settings)
        finally:
            stop.set()
            thread.join()
        requests = result.run_requests
        assert sum(int(r.tags["videolake/files"]) for r in requests) == 2  # b.mp4 and c.ts
        assert {r.tags["videolake/trigger"] for r in requests} == {"landing_zone_sensor"}  # the sensor's own name
        assert len({r.run_key for r in requests}) == len(requests) == 1
        assert requests[0].partition_key and requests[0].run_config["ops"]["ingest_lineage"]["config"]["batch_id"]
        with open(growing, "ab") as fh:
            fh.write(data[len(growing.read_bytes()):])
        # Claimed files are not requested twice; the file still open keeps waiting.
        result = tick(instance, lake, result.cursor, ingest_settings=settings)
        assert [int(r.tags["videolake/files"]) for r in result.run_requests] == [1]  # growing.mp4, now complete
        later = result.run_requests
        writer.write(data[len(data) // 2 :])
        writer.close()
        result = tick(instance, lake, result.cursor, ingest_settings=settings)
        assert [int(r.tags["videolake/files"]) for r in result.run_requests] == [1]  # a.mp4, closed
        for request in requests + later + result.run_requests:
            assert run_requested(instance, lake, request).success
    with lake.catalog().read() as s:
        # a.mp4 and growing.mp4 ended with the same bytes (the whole clip): one video, two landings.
        assert s.scalar(select(func.count(Video.id))) == 3
        assert s.scalar(select(func.count(Landing.id))) == 4
        assert s.scalar(select(func.count(LandingFile.id))) == 0
        assert hashlib.sha256(data).hexdigest() in set(s.scalars(select(Video.sha256)))
    assert not any(p.is_file() for p in lake.landing.rglob("*"))


def test_old_files_are_stable_at_once_and_big_zones_make_many_batches(sqlite_lake, clips):
    lake = sqlite_lake
    for i in range(25):
        age(lake.drop(clips.good, f"bulk/{i:02d}.mp4"), 3600)
    # The age rule on (network file systems): these are an hour old, so they go at once.
    settings = IngestSettingsResource(stable_after_seconds=60, min_unchanged_seconds=0, batch_max_files=10,
                                      max_batches_per_tick=2)
    with dg.instance_for_test() as instance:
        result = tick(instance, lake, ingest_settings=settings)
        assert [int(r.tags["videolake/files"]) for r in result.run_requests] == [10, 10]
        result = tick(instance, lake, result.cursor, ingest_settings=settings)
        assert [int(r.tags["videolake/files"]) for r in result.run_requests] == [5]


def test_unreachable_landing_zone_skips_the_tick(sqlite_lake, s3_env):
    with dg.instance_for_test() as instance:
        from resources import LandingZoneResource

        result = tick(instance, sqlite_lake,
                      landing=LandingZoneResource(url="s3://videolake-landing/x", endpoint_url="http://127.0.0.1:9"))
    assert result.run_requests == [] and "cannot be listed" in result.skip_message


def test_s3_prefix_landing_zone(sqlite_lake, clips, s3_env):
    from resources import LandingZoneResource

    bucket = s3_env.create_bucket()
    client = s3_env.client()
    for i in range(3):
        client.upload_file(str(clips.good), bucket, f"in/cam{i}/clip.mp4")
    landing = LandingZoneResource(url=f"s3://{bucket}/in")
    with dg.instance_for_test() as instance:
        first = tick(instance, sqlite_lake, landing=landing)
        second = tick(instance, sqlite_lake, first.cursor, landing=landing)
        claimed = first.run_requests + second.run_requests
        assert sum(int(r.tags["videolake/files"]) for r in claimed) == 3


def test_quality_sensor_requests_checks_after_new_probes(sqlite_lake, clips):
    lake = sqlite_lake
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, definitions=defs)
        assert "never materialized" in catalog_quality_sensor.evaluate_tick(ctx).skip_message
        lake.drop(clips.good, "a.mp4")
        materialize_day(LINEAGE, "2026-11-20", instance=instance, resources=lake.resources())
        ctx = dg.build_sensor_context(instance=instance, definitions=defs)
        result = catalog_quality_sensor.evaluate_tick(ctx)
        assert len(result.run_requests) == 1
        ctx = dg.build_sensor_context(instance=instance, cursor=result.cursor, definitions=defs)
        assert "no new probes" in catalog_quality_sensor.evaluate_tick(ctx).skip_message
