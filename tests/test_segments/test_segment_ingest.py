"""Segments through the same lineage, indexed by camera and time, partitioned by recording day."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import pytest
from sqlalchemy import select

from tests.conftest import materialize_day
from assets import ingest_lineage, landing_zone
from pipelines.definitions import defs
from resources import IngestSettingsResource
from sensors import segments_sensor
from videolake.catalog.models import QuarantineItem, Segment, Video
from videolake.media.samples import make_clip
from videolake.segments.index import coverage_gaps, find_segments

UTC = dt.timezone.utc
LINEAGE = [landing_zone, ingest_lineage]


@pytest.fixture(scope="module")
def segment_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segments")
    return [make_clip(folder / f"seg{i}.ts", duration=4, size="320x180", frequency=300 + 50 * i) for i in range(4)]


def drop_segment(lake, clip, key):
    dest = lake.segments / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, dest)
    return dest


def run_segments(lake, day):
    return materialize_day(
        LINEAGE, day, resources=lake.resources(),
        run_config={"ops": {"ingest_lineage": {"config": {"zone": "segments"}}}},
    )


def test_segments_are_indexed_and_queryable(lake, segment_clips):
    drop_segment(lake, segment_clips[0], "cam3/20261120T100000Z.ts")
    drop_segment(lake, segment_clips[1], "cam3/20261120T100004Z.ts")
    drop_segment(lake, segment_clips[2], "cam3/20261120T100012Z.ts")  # leaves a 4 s gap
    side = drop_segment(lake, segment_clips[3], "misc/door.ts")
    side.with_suffix(".ts.json").write_text(json.dumps({"camera_id": "cam7", "start_time": "2026-11-20T11:00:00+01:00"}))
    drop_segment(lake, segment_clips[0], "cam3/20261121T000000Z.ts")  # next day: another partition
    drop_segment(lake, segment_clips[1], "cam3/not-a-time.ts")

    result = run_segments(lake, "2026-11-20")
    assert result.success
    catalog = lake.catalog()
    with catalog.read() as s:
        segments = {(g.camera_id, g.start_at): g for g in s.scalars(select(Segment))}
        videos = s.scalars(select(Video)).all()
        quarantined = {q.name: q.reason for q in s.scalars(select(QuarantineItem))}
    assert set(segments) == {
        ("cam3", dt.datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)),
        ("cam3", dt.datetime(2026, 11, 20, 10, 0, 4, tzinfo=UTC)),
        ("cam3", dt.datetime(2026, 11, 20, 10, 0, 12, tzinfo=UTC)),
        ("cam7", dt.datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC)),
    }
    first = segments[("cam3", dt.datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC))]
    assert first.duration_s == pytest.approx(4.0, abs=0.2) and first.time_source == "template"
    assert first.recording_date == dt.date(2026, 11, 20)
    assert {v.source_type for v in videos} == {"segment"} and all(v.width == 320 for v in videos)
    assert quarantined == {"not-a-time.ts": "unknown_segment_time"}
    assert (lake.segments / "cam3" / "20261121T000000Z.ts").is_file()  # waits for its own day's run

    hits = find_segments(catalog, "cam3", dt.datetime(2026, 11, 20, 9, 59, 58, tzinfo=UTC), dt.datetime(2026, 11, 20, 10, 0, 20, tzinfo=UTC))
    assert [h.start.second for h in hits] == [0, 4, 12]
    gaps = coverage_gaps(hits, dt.datetime(2026, 11, 20, 9, 59, 58, tzinfo=UTC), dt.datetime(2026, 11, 20, 10, 0, 20, tzinfo=UTC))
    assert [(g.start.second, round(g.seconds)) for g in gaps] == [(58, 2), (8, 4), (16, 4)]

    run_segments(lake, "2026-11-21")
    assert not (lake.segments / "cam3" / "20261121T000000Z.ts").exists()


def test_segments_sensor_batches_per_recording_day(sqlite_lake, segment_clips):
    lake = sqlite_lake
    for key in ("cam1/20261119T230000Z.ts", "cam1/20261120T000000Z.ts", "cam2/20261120T010000Z.ts"):
        drop_segment(lake, segment_clips[0], key)
    resources = lake.resources(ingest_settings=IngestSettingsResource(stable_after_seconds=0))
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), resources=resources,
                                      definitions=defs)
        result = segments_sensor.evaluate_tick(ctx)
    days = sorted((r.partition_key, int(r.tags["videolake/files"])) for r in result.run_requests)
    assert days == [("2026-11-19", 1), ("2026-11-20", 2)]
    # Only days that hold footage become partitions, each before its run is launched.
    [added] = result.dynamic_partitions_requests
    assert added.partitions_def_name == "landing_days" and sorted(added.partition_keys) == ["2026-11-19", "2026-11-20"]
    assert all(r.run_config["ops"]["ingest_lineage"]["config"]["zone"] == "segments" for r in result.run_requests)
