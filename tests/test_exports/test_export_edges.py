"""Edge cases of exports: overlapping segments, and an hour of 10 s segments."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest

from tests.conftest import materialize_day
from assets import ingest_lineage, landing_zone
from tests.test_exports.conftest import at
from videolake.exports.engine import ExportEngine, ExportRequest, create_export
from videolake.media.ffmpeg_tools import ffmpeg_executable
from videolake.media.inspection import inspect_video
from videolake.media.samples import make_clip
from videolake.storage.local_backend import LocalBackend


def ingest_segments(lake):
    return materialize_day([landing_zone, ingest_lineage], "2026-11-20", resources=lake.resources(),
                          run_config={"ops": {"ingest_lineage": {"config": {"zone": "segments"}}}})


def test_overlapping_segments_are_not_shown_twice(sqlite_lake, tmp_path):
    lake = sqlite_lake
    make_clip(lake.segments / "cam5" / "20261120T100000Z.ts", duration=4, size="320x180", frequency=300)
    make_clip(lake.segments / "cam5" / "20261120T100002Z.ts", duration=4, size="320x180", frequency=600)  # overlaps 2 s
    ingest_segments(lake)
    catalog = lake.catalog()
    for mode, tolerance in (("accurate", 0.2), ("fast", 1.5)):
        export_id = create_export(catalog, ExportRequest(["cam5"], at("10:00:00"), at("10:00:06"), mode=mode))
        done = ExportEngine(catalog, LocalBackend(lake.storage)).run(export_id)
        assert done.gaps == []
        assert inspect_video(lake.storage / done.outputs[0].key).duration_s == pytest.approx(6.0, abs=tolerance)


def test_an_hour_of_ten_second_segments(sqlite_lake, tmp_path):
    lake = sqlite_lake
    folder = tmp_path / "hour"
    folder.mkdir()
    subprocess.run(
        [ffmpeg_executable(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=10",
         "-t", "3600", "-c:v", "libx264", "-preset", "ultrafast", "-g", "20", "-pix_fmt", "yuv420p",
         "-f", "segment", "-segment_time", "10", "-reset_timestamps", "1", str(folder / "s%04d.ts")],
        check=True,
    )
    segments = sorted(folder.glob("*.ts"))
    assert len(segments) == 360
    base = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    for i, seg in enumerate(segments):
        name = (base + dt.timedelta(seconds=10 * i)).strftime("%Y%m%dT%H%M%SZ")
        dest = lake.segments / "cam1" / f"{name}.ts"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(seg, dest)
    ingest_segments(lake)
    catalog = lake.catalog()
    export_id = create_export(catalog, ExportRequest(["cam1"], base, base + dt.timedelta(hours=1)))
    done = ExportEngine(catalog, LocalBackend(lake.storage)).run(export_id)
    assert done.status == "COMPLETED" and done.gaps == []
    assert inspect_video(lake.storage / done.outputs[0].key).duration_s == pytest.approx(3600, abs=2)
