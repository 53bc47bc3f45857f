from __future__ import annotations

import datetime as dt

import pytest

from videolake.segments.naming import SegmentNameError, SegmentTemplate, segment_times

UTC = dt.timezone.utc


def test_default_template():
    times = SegmentTemplate().parse("cam3/20261120T101500Z.ts")
    assert (times.camera_id, times.start, times.end, times.source) == ("cam3", dt.datetime(2026, 11, 20, 10, 15, tzinfo=UTC), None, "template")


def test_custom_template_with_folders_and_offset():
    template = SegmentTemplate("{camera}/{start:%Y/%m/%d/%H%M%S%z}.mkv")
    times = template.parse("lobby-east/2026/11/20/101500+0100.mkv")
    assert times.start == dt.datetime(2026, 11, 20, 9, 15, tzinfo=UTC)  # stored in UTC
    assert SegmentTemplate("{camera}/{start:%Y/%m/%d/%H%M%S}.ts").parse("7/2026/01/31/235959.ts").camera_id == "7"


@pytest.mark.parametrize(
    "key",
    ["cam3/20261120T101500Z", "cam3/sub/20261120T101500Z.ts", "cam3/20261320T101500Z.ts", "notes.txt", "20261120T101500Z.ts"],
)
def test_names_that_do_not_fit_are_refused(key):
    with pytest.raises(SegmentNameError):
        SegmentTemplate().parse(key)


def test_sidecar_wins_and_is_checked():
    sidecar = {"camera_id": "cam9", "start_time": "2026-11-20T11:00:00+02:00", "end_time": "2026-11-20T11:00:10+02:00"}
    times = segment_times(SegmentTemplate(), "whatever/name.ts", sidecar)
    assert (times.camera_id, times.start.hour, (times.end - times.start).seconds, times.source) == ("cam9", 9, 10, "sidecar")
    with pytest.raises(SegmentNameError, match="not after"):
        segment_times(SegmentTemplate(), "x.ts", {**sidecar, "end_time": "2026-11-20T10:00:00+02:00"})
    with pytest.raises(SegmentNameError, match="ISO 8601"):
        segment_times(SegmentTemplate(), "x.ts", {"camera_id": "c", "start_time": "yesterday"})


def test_bad_templates_are_explained():
    with pytest.raises(ValueError, match="needs"):
        SegmentTemplate("{start:%Y}.ts")
    with pytest.raises(ValueError, match="not supported"):
        SegmentTemplate("{camera}/{start:%A}.ts")
