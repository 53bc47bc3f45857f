from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.test_ingest.test_ingest_pipeline import run_ingest
from videolake.catalog.models import Video, VideoInput
from videolake.exports.stitch import StitchError, stitch
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.media.samples import make_clip
from videolake.storage.local_backend import LocalBackend


@pytest.fixture
def stitchable(sqlite_lake, tmp_path):
    lake = sqlite_lake
    make_clip(lake.landing / "a.mp4", duration=2, size="320x180", frequency=300)
    make_clip(lake.landing / "b.mp4", duration=3, size="320x180", frequency=400)
    make_clip(lake.landing / "wide.mp4", duration=2, size="640x360", audio=False)
    run_ingest(lake)
    with lake.catalog().read() as s:
        ids = {v.name: v.id for v in s.scalars(select(Video))}
    engine = IngestEngine(lake.catalog(), LocalBackend(lake.storage), LocalBackend(lake.quarantine),
                          settings=IngestSettings(workers=1))
    return lake, engine, ids


def test_same_format_is_stream_copied(stitchable):
    lake, engine, ids = stitchable
    result = stitch(engine, [ids["a.mp4"], ids["b.mp4"]], "day one")
    assert result.reencoded is None and not result.duplicate and result.name == "day one.mp4"
    with lake.catalog().read() as s:
        video = s.get(Video, result.video_id)
        inputs = s.scalars(select(VideoInput.input_video_id).where(VideoInput.video_id == video.id).order_by(VideoInput.position)).all()
        thumbnails = {d.kind for d in video.derivatives}
    assert video.source_type == "stitched" and video.sidecar["stitched_from"][0]["name"] == "a.mp4"
    assert video.duration_s == pytest.approx(5.0, abs=0.2) and inputs == [ids["a.mp4"], ids["b.mp4"]]
    assert thumbnails == {"poster", "sprite"}
    again = stitch(engine, [ids["a.mp4"], ids["b.mp4"]], "day one")
    assert again.duplicate and again.video_id == result.video_id  # same bytes: no second copy


def test_mixed_formats_are_reencoded(stitchable):
    lake, engine, ids = stitchable
    result = stitch(engine, [ids["wide.mp4"], ids["a.mp4"]])
    assert result.reencoded
    with lake.catalog().read() as s:
        video = s.get(Video, result.video_id)
    assert (video.width, video.height, video.audio_codec) == (640, 360, "aac")  # silence fills the silent input
    assert video.duration_s == pytest.approx(4.0, abs=0.3)


def test_bad_requests(stitchable):
    _lake, engine, ids = stitchable
    with pytest.raises(StitchError, match="at least two"):
        stitch(engine, [ids["a.mp4"]])
    with pytest.raises(StitchError, match="no video 999"):
        stitch(engine, [ids["a.mp4"], 999])
    with pytest.raises(StitchError, match="plain file name"):
        stitch(engine, [ids["a.mp4"], ids["b.mp4"]], "../evil")
