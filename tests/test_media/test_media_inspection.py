from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from videolake.media.inspection import MediaLimits, MediaRejected, inspect_video
from videolake.media.thumbnails import make_thumbnails


def test_probe_fields_of_a_good_clip(clips):
    probe = inspect_video(clips.good)
    assert probe.container.startswith("mov,mp4")
    assert probe.duration_s == pytest.approx(5.0, abs=0.1)
    assert (probe.width, probe.height, probe.aspect_ratio) == (640, 360, "16:9")
    assert (probe.video_codec, probe.audio_codec) == ("h264", "aac")
    assert probe.fps == pytest.approx(25.0)
    assert probe.bitrate and probe.bitrate > 10_000
    assert probe.rotation == 0
    assert probe.size_bytes == os.path.getsize(clips.good)


def test_mpegts_segment_and_rotation(clips):
    ts = inspect_video(clips.segment_ts)
    assert ts.container == "mpegts" and ts.duration_s == pytest.approx(3.0, abs=0.2)
    rotated = inspect_video(clips.portrait)
    assert rotated.rotation in (90, 270)
    assert (rotated.width, rotated.height) == (240, 320)  # display size


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("empty", "empty"),
        ("not_video", "not_video"),
        ("text_file", "not_video"),
        ("audio_only", "audio_only"),
        ("absurd_dimensions", "absurd_dimensions"),
        ("still_image", "still_image"),
        ("truncated", "truncated"),
        ("truncated_index", "truncated"),
    ],
)
def test_bad_inputs_are_rejected_with_a_reason(clips, kind, reason):
    with pytest.raises(MediaRejected) as info:
        inspect_video(clips.bad[kind])
    assert info.value.reason == reason
    assert len(info.value.detail) > 10


def test_limits_are_configurable(clips):
    with pytest.raises(MediaRejected, match="absurd_dimensions"):
        inspect_video(clips.good, MediaLimits(max_dimension=320))


def test_dangling_link_is_unreadable(tmp_path):
    os.symlink(tmp_path / "missing.mp4", tmp_path / "link.mp4")
    with pytest.raises(MediaRejected) as info:
        inspect_video(tmp_path / "link.mp4")
    assert info.value.reason == "unreadable"


def test_thumbnails_poster_and_sprite(clips):
    made = make_thumbnails(clips.good)
    poster = Image.open(io.BytesIO(made.poster.data))
    assert poster.format == "JPEG" and poster.size == (640, 360)
    sprite = Image.open(io.BytesIO(made.sprite.data))
    meta = made.sprite.meta
    assert meta["tiles"] == 5  # one keyframe a second in a 5 s clip
    assert sprite.size == (meta["columns"] * meta["tile_width"], meta["rows"] * meta["tile_height"])
    assert meta["times_s"] == sorted(meta["times_s"])
    # Tiles differ: the test pattern moves.
    tiles = [sprite.crop((i * 160, 0, i * 160 + 160, 90)).tobytes() for i in range(meta["tiles"])]
    assert len(set(tiles)) == meta["tiles"]


def test_rotated_video_gets_upright_poster(clips):
    made = make_thumbnails(clips.portrait)
    poster = Image.open(io.BytesIO(made.poster.data))
    assert poster.size == (240, 320)


def test_long_video_sprite_seeks_per_tile(tmp_path):
    from videolake.media.samples import make_clip

    clip = make_clip(tmp_path / "long.mp4", duration=180, size="96x64", audio=False, gop=50,
                     extra_output_args={"preset": "ultrafast"})
    made = make_thumbnails(clip, max_tiles=12)
    times = made.sprite.meta["times_s"]
    assert made.sprite.meta["tiles"] == 12 and times == sorted(times)
    assert times[0] < 15 and times[-1] > 160  # spread over the whole video, not the first keyframes
    assert made.poster.meta["time_s"] is not None


def test_a_tile_s_keyframe_is_decoded_alone_and_is_the_one_a_full_decode_gives(tmp_path):
    """Draining the decoder after the keyframe's packet gives the same frame as decoding on to the
    next keyframe (the old way, a whole GOP per tile), at the same time."""
    import av

    from videolake.media.samples import make_clip
    from videolake.media.thumbnails import _keyframe_at

    clip = make_clip(tmp_path / "gop.mp4", duration=30, size="160x96", audio=False, gop=50,
                     extra_output_args={"preset": "ultrafast"})
    with av.open(str(clip)) as fast, av.open(str(clip)) as slow:
        for container in (fast, slow):
            container.streams.video[0].codec_context.skip_frame = "NONKEY"
        for target in (1.0, 9.5, 17.2, 28.0):
            alone = _keyframe_at(fast, fast.streams.video[0], target)
            slow.seek(int(target * 1_000_000), backward=True, any_frame=False)
            reference = next(slow.decode(slow.streams.video[0]))
            assert alone.pts == reference.pts and alone.key_frame
            assert (alone.to_ndarray() == reference.to_ndarray()).all()


@pytest.mark.parametrize("container", ["mp4", "ts", "mkv"])
def test_the_ingest_pass_makes_the_sprite_a_fresh_open_makes(tmp_path, container):
    """Probe and thumbnails share one open file: MPEG-TS and Matroska have no index, so the probe
    reads to the end, and the sprite once had only the probe's first frame (one tile, not six)."""
    from pathlib import Path

    from videolake.ingest.worker import _probe_and_thumbnail
    from videolake.media.samples import make_clip

    clip = make_clip(tmp_path / f"six keyframes.{container}", duration=6, size="320x180", audio=False, gop=25,
                     extra_output_args={"preset": "ultrafast"})
    probe, made, error = _probe_and_thumbnail(Path(clip), MediaLimits(), True)
    alone = make_thumbnails(clip)
    assert error is None and probe.video_frames == 150
    assert made.sprite.meta["tiles"] == alone.sprite.meta["tiles"] == 6
    assert made.sprite.meta["times_s"] == alone.sprite.meta["times_s"]
    assert made.sprite.data == alone.sprite.data and made.poster.data == alone.poster.data


@pytest.mark.parametrize("shape", ["b-frames and audio", "more keyframes than tiles", "fragmented"])
def test_keyframes_read_by_the_index_make_the_thumbnails_demuxing_makes(tmp_path, shape):
    """An MP4 with a full index has its keyframes read by seeking to each (no other packet read):
    the same tiles at the same times, the same poster, byte for byte, as demuxing every packet."""
    from pathlib import Path

    from videolake.media.inspection import open_media, probe_container
    from videolake.media.samples import make_clip
    from videolake.media.thumbnails import indexed_keyframes, thumbnails_from_container

    args = {"preset": "ultrafast"}
    duration, gop, max_tiles = 5, 25, 100
    if shape == "more keyframes than tiles":
        duration, gop, max_tiles = 12, 11, 10  # 28 keyframes, 10 tiles kept; the poster's (1.32 s) is not one
    if shape == "fragmented":
        args = {**args, "movflags": "frag_keyframe+empty_moov"}
    clip = Path(make_clip(tmp_path / "clip.mp4", duration=duration, size="320x180", gop=gop, extra_output_args=args))

    def thumbnails(from_index: bool):  # type: ignore[no-untyped-def]
        with open_media(clip) as (container, size, av):
            probe, first = probe_container(container, clip, size, MediaLimits(), av)
            keys = indexed_keyframes(container, container.streams.video[0], probe.duration_s)
            made = thumbnails_from_container(container, first_frame=first, max_tiles=max_tiles, from_index=from_index)
            return keys, made

    keys, by_index = thumbnails(True)
    _, by_demuxing = thumbnails(False)
    assert keys is not None and len(keys) == -(-duration * 25 // gop)  # the index path was taken
    assert by_index.sprite.meta == by_demuxing.sprite.meta and by_index.sprite.meta["tiles"] == min(len(keys), max_tiles)
    assert by_index.poster.meta == by_demuxing.poster.meta
    if shape == "more keyframes than tiles":
        assert by_index.poster.meta["time_s"] == 1.32 and 1.32 not in by_index.sprite.meta["times_s"]
    assert by_index.sprite.data == by_demuxing.sprite.data and by_index.poster.data == by_demuxing.poster.data


def test_containers_without_an_index_are_demuxed(tmp_path):
    from pathlib import Path

    from videolake.media.inspection import open_media, probe_container
    from videolake.media.samples import make_clip
    from videolake.media.thumbnails import indexed_keyframes

    clip = Path(make_clip(tmp_path / "clip.ts", duration=3, size="320x180", gop=25, extra_output_args={"preset": "ultrafast"}))
    with open_media(clip) as (container, size, av):
        probe, _ = probe_container(container, clip, size, MediaLimits(), av)
        assert indexed_keyframes(container, container.streams.video[0], probe.duration_s) is None
