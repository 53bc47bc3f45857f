"""Segments whose bytes are identical (a camera that wrote the same frames twice, two cameras fed one
signal) share one stored copy, and each keeps its own time in the segment index."""

from __future__ import annotations

import datetime as dt
import shutil

from sqlalchemy import func, select

from tests.conftest import materialize_day
from assets import ingest_lineage, landing_zone
from videolake.catalog.models import Replica, Segment, Video
from videolake.media.samples import make_clip
from videolake.segments.index import find_segments

UTC = dt.timezone.utc


def run_segments(lake, day):
    return materialize_day([landing_zone, ingest_lineage], day, resources=lake.resources(),
                          run_config={"ops": {"ingest_lineage": {"config": {"zone": "segments"}}}})


def test_identical_segments_at_different_times_are_all_indexed(lake, tmp_path):
    clip = make_clip(tmp_path / "same.ts", duration=4, size="320x180")
    for key in ("cam3/20261120T100000Z.ts", "cam3/20261120T100004Z.ts", "cam9/20261120T100000Z.ts"):
        dest = lake.segments / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, dest)
    assert run_segments(lake, "2026-11-20").success
    # And one more of the same bytes in a later run, when the first copy is long cataloged.
    later = lake.segments / "cam3/20261120T100008Z.ts"
    shutil.copyfile(clip, later)
    assert run_segments(lake, "2026-11-20").success
    catalog = lake.catalog()
    with catalog.read() as s:
        assert s.scalar(select(func.count(Video.id))) == 1
        assert s.scalar(select(func.count(Replica.id))) == 1
        rows = s.execute(select(Segment.camera_id, Segment.start_at, Segment.end_at).order_by(Segment.camera_id,
                                                                                          Segment.start_at)).all()
    t0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert [(cam, start, round((end - start).total_seconds())) for cam, start, end in rows] == [
        ("cam3", t0, 4), ("cam3", t0 + dt.timedelta(seconds=4), 4), ("cam3", t0 + dt.timedelta(seconds=8), 4),
        ("cam9", t0, 4)]
    found = find_segments(catalog, "cam3", t0, t0 + dt.timedelta(seconds=12))
    assert len(found) == 3


def test_a_batch_of_identical_segments_on_every_worker_keeps_each_length(lake, tmp_path):
    """Workers race to store the same bytes: whichever file finds the object already stored, every
    segment ends up with its real length, not a zero-length entry (a gap in the index)."""
    clip = make_clip(tmp_path / "same.ts", duration=4, size="320x180")
    t0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for i in range(12):
        start = t0 + dt.timedelta(seconds=4 * i)
        dest = lake.segments / f"cam5/{start:%Y%m%dT%H%M%SZ}.ts"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(clip, dest)
    assert run_segments(lake, "2026-11-20").success
    with lake.catalog().read() as s:
        lengths = [round(d) for (d,) in s.execute(select(Segment.duration_s).order_by(Segment.start_at))]
        assert s.scalar(select(Video.duration_s)) > 3.9
    assert lengths == [4] * 12


def test_segments_whose_content_was_stored_before_a_crash_get_their_length(lake, tmp_path):
    """A run died after storing the bytes and before cataloging them: the rerun finds the object
    (verified by its hash) and does not probe it in the same pass; the probe step then gives the
    video and every one of its segments their length."""
    import hashlib

    from videolake.storage.layout import video_key
    from videolake.storage.local_backend import LocalBackend

    clip = make_clip(tmp_path / "same.ts", duration=4, size="320x180")
    data = clip.read_bytes()
    LocalBackend(lake.storage).put_bytes(video_key(hashlib.sha256(data).hexdigest()), data)
    t0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for i in range(3):
        dest = lake.segments / f"cam6/{t0 + dt.timedelta(seconds=4 * i):%Y%m%dT%H%M%SZ}.ts"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    assert run_segments(lake, "2026-11-20").success
    with lake.catalog().read() as s:
        lengths = [round(d) for (d,) in s.execute(select(Segment.duration_s).order_by(Segment.start_at))]
    assert lengths == [4, 4, 4]
    found = find_segments(lake.catalog(), "cam6", t0, t0 + dt.timedelta(seconds=12))
    assert len(found) == 3
