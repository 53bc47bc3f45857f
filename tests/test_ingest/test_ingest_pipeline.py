"""The whole path: landing zone -> ingested videos -> probes -> thumbnails -> catalog."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assets import ingest_lineage, landing_zone
from resources import IngestSettingsResource, LandingZoneResource, StorageResource
from tests.conftest import Lake, materialize_day
from videolake.catalog.models import Derivative, Landing, QuarantineItem, Replica, Video
from videolake.ingest.engine import IngestEngine

DAY = "2026-11-20"
LINEAGE = [landing_zone, ingest_lineage]


def run_ingest(lake: Lake, *, config: dict | None = None, raise_on_error: bool = True, **resource_overrides):
    run_config = {"ops": {"ingest_lineage": {"config": config}}} if config else None
    return materialize_day(
        LINEAGE,
        DAY,
        resources=lake.resources(**resource_overrides),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def materialization(result, asset: str) -> dict:
    events = [m for m in result.asset_materializations_for_node("ingest_lineage") if m.asset_key.to_user_string() == asset]
    assert len(events) == 1, "one MaterializeResult per asset per run"
    return {k: v.value for k, v in events[0].metadata.items()}


def stored_objects(root: Path) -> list[Path]:
    return [p for p in (root / "videos").rglob("*") if p.is_file()] if (root / "videos").exists() else []


def test_landing_to_catalog_with_bad_input_and_duplicates(lake, clips):
    good = lake.drop(clips.good, "uploads/Holiday clip 01.mp4")
    lake.drop(clips.good, "uploads/копия — holiday.mp4")  # same bytes, unicode name
    lake.drop(clips.other, "other.mp4")  # top level: the default source
    gen = lake.drop(clips.segment_ts, "generated/harbour.ts")
    Path(f"{gen}.json").write_text(json.dumps({"provider": "acme", "model": "v2", "prompt": "a harbour"}))
    originals = {}
    for reason, path in clips.bad.items():
        dropped = lake.drop(path, f"uploads/bad/{path.name}")
        originals[dropped.name] = (reason, digest(dropped))
    good_sha = digest(good)

    result = run_ingest(lake)
    assert result.success
    meta = materialization(result, "ingested_videos")
    assert (meta["ingested"], meta["duplicates"], meta["quarantined"], meta["failed"]) == (3, 1, len(originals), 0)
    assert "Holiday clip 01.mp4" in meta["file_table"]

    # Every landed file ended ingested or quarantined: the landing zone holds no file any more.
    assert [p for p in lake.landing.rglob("*") if p.is_file()] == []
    catalog = lake.catalog()
    with catalog.read() as s:
        videos = {v.name: v for v in s.scalars(select(Video))}
        assert set(videos) == {"Holiday clip 01.mp4", "other.mp4", "harbour.ts"}
        holiday = videos["Holiday clip 01.mp4"]
        assert holiday.sha256 == good_sha and holiday.source == "uploads" and holiday.source_type == "uploaded"
        assert videos["other.mp4"].source == "default"
        harbour = videos["harbour.ts"]
        assert harbour.source_type == "generated" and harbour.sidecar["model"] == "v2"
        assert (holiday.width, holiday.height, holiday.video_codec, holiday.audio_codec) == (640, 360, "h264", "aac")
        assert holiday.duration_s == pytest.approx(5.0, abs=0.1) and holiday.fps == pytest.approx(25.0)
        assert holiday.landing_date == dt.date.fromisoformat(DAY)
        # The duplicate is a link to the same video, never a second stored copy.
        dup = s.scalars(select(Landing).where(Landing.outcome == "duplicate")).one()
        assert dup.video_id == holiday.id and dup.name == "копия — holiday.mp4"
        assert s.scalar(select(func.count(Replica.id))) == 3
        replica = s.scalars(select(Replica).where(Replica.video_id == holiday.id)).one()
        assert replica.state == "verified" and replica.verified_sha256 == good_sha and replica.verified_at
        kinds = s.execute(select(Derivative.kind, func.count()).group_by(Derivative.kind)).all()
        assert dict(kinds) == {"poster": 3, "sprite": 3}
        quarantined = {q.name: q for q in s.scalars(select(QuarantineItem))}
    assert len(stored_objects(lake.storage)) == 3
    assert digest(lake.storage / replica.key) == good_sha
    for d in holiday.derivatives if False else []:
        pass
    # Quarantined files were moved aside intact, each with a clear reason.
    assert set(quarantined) == set(originals)
    for name, (reason, sha) in originals.items():
        item = quarantined[name]
        expected = {"truncated_index": "truncated", "text_file": "not_video"}.get(reason, reason)
        assert item.reason == expected, (name, item.reason, item.detail)
        moved = Path(item.quarantined_uri.removeprefix("file://"))
        assert moved.is_file() and digest(moved) == sha

    # Thumbnails exist in storage and the preview is inlined for the UI.
    thumbs = materialization(result, "video_thumbnails")
    assert thumbs["videos_thumbnailed"] == 3 and thumbs["preview"].startswith("![posters](data:image/jpeg;base64,")
    # The contact sheet is a full grid: three posters in one row, each with a caption strip below it.
    from PIL import Image

    sheet = Image.open(io.BytesIO(base64.b64decode(thumbs["preview"].split("base64,")[1].split(")")[0])))
    assert sheet.width >= 3 * 240 and sheet.height < 240 + 60
    probes = materialization(result, "video_probes")
    assert probes["total_duration_s_readable"].endswith(" s") and thumbs["thumbnail_bytes_for_day_readable"].endswith("KB")
    with catalog.read() as s:
        for d in s.scalars(select(Derivative)):
            assert (lake.storage / d.key).is_file() and d.width > 0

    # Rerunning changes nothing.
    again = run_ingest(lake)
    assert materialization(again, "ingested_videos")["files"] == 0
    with catalog.read() as s:
        assert s.scalar(select(func.count(Video.id))) == 3
        assert s.scalar(select(func.count(Landing.id))) == 4


def test_crash_after_cataloging_before_removal_is_finished_by_the_rerun(sqlite_lake, clips, monkeypatch):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    lake.drop(clips.other, "b.mp4")

    def crash(self, removals, run_id):
        raise RuntimeError("simulated crash before the landed files were removed")

    monkeypatch.setattr(IngestEngine, "_remove_landed", crash)
    assert not run_ingest(lake, raise_on_error=False).success
    assert sorted(p.name for p in lake.landing.iterdir()) == ["a.mp4", "b.mp4"]  # nothing lost
    monkeypatch.undo()

    result = run_ingest(lake)
    meta = materialization(result, "ingested_videos")
    assert meta["duplicates"] == 2 and meta["ingested"] == 0  # recognised, not cataloged twice
    assert list(lake.landing.iterdir()) == []
    with lake.catalog().read() as s:
        assert s.scalar(select(func.count(Video.id))) == 2
        assert s.scalar(select(func.count(Landing.id))) == 2
    assert len(stored_objects(lake.storage)) == 2


def test_unreachable_hot_storage_fails_the_run_and_keeps_the_files(sqlite_lake, clips, s3_env):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    unreachable = StorageResource(url="s3://videolake-hot/x", endpoint_url="http://127.0.0.1:9")
    result = run_ingest(lake, raise_on_error=False, hot_storage=unreachable)
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    description = failure.event_specific_data.user_failure_data.description
    assert description.startswith("nothing was ingested (landed files are untouched): s3://videolake-hot/x")
    assert (lake.landing / "a.mp4").is_file()
    with lake.catalog().read() as s:
        assert s.scalar(select(func.count(Video.id))) == 0
    # Checked before anything was claimed: once storage is back, the next run ingests it at once.
    result = run_ingest(lake)
    assert materialization(result, "ingested_videos")["ingested"] == 1


def test_of_files_with_the_same_content_the_first_landed_names_the_video(sqlite_lake, clips):
    """Not the first listed (names sort "a" before "b") nor the first a worker finished."""
    lake = sqlite_lake
    first = lake.drop(clips.good, "b-landed-first.mp4")
    later = lake.drop(clips.good, "a-landed-later.mp4")
    os.utime(first, (first.stat().st_mtime - 120,) * 2)
    os.utime(later, (later.stat().st_mtime - 60,) * 2)
    result = run_ingest(lake)
    assert materialization(result, "ingested_videos")["duplicates"] == 1
    with lake.catalog().read() as s:
        assert list(s.scalars(select(Video.name))) == ["b-landed-first.mp4"]
        outcomes = {name: outcome for name, outcome in s.execute(select(Landing.name, Landing.outcome))}
    assert outcomes == {"b-landed-first.mp4": "ingested", "a-landed-later.mp4": "duplicate"}


def test_s3_landing_and_s3_hot_storage(sqlite_lake, clips, s3_env):
    lake = sqlite_lake
    landing_bucket, hot_bucket = s3_env.create_bucket(), s3_env.create_bucket()
    client = s3_env.client()
    client.upload_file(str(clips.good), landing_bucket, "drop/uploads/cam clip.mp4")
    client.upload_file(str(clips.good), landing_bucket, "drop/uploads/bell\x07.mp4")  # SeaweedFS refuses '..'

    client.upload_file(str(clips.bad["not_video"]), landing_bucket, "drop/uploads/notes.mp4")
    client.put_object(Bucket=landing_bucket, Key="drop/uploads/half.mp4.part", Body=b"partial")
    result = run_ingest(
        lake,
        landing=LandingZoneResource(url=f"s3://{landing_bucket}/drop"),
        hot_storage=StorageResource(url=f"s3://{hot_bucket}/hot"),
    )
    meta = materialization(result, "ingested_videos")
    assert (meta["ingested"], meta["quarantined"]) == (1, 2)
    left = sorted(o["Key"] for o in client.list_objects_v2(Bucket=landing_bucket).get("Contents", []))
    assert left == ["drop/uploads/half.mp4.part"]  # uploads in progress are left alone
    hot = client.list_objects_v2(Bucket=hot_bucket)["Contents"]
    assert len([o for o in hot if "/videos/" in o["Key"]]) == 1
    assert len([o for o in hot if "/derivatives/" in o["Key"]]) == 2
    with lake.catalog().read() as s:
        reasons = {q.name: q.reason for q in s.scalars(select(QuarantineItem))}
        video = s.scalars(select(Video)).one()
    assert reasons == {"bell\x07.mp4": "unsafe_name", "notes.mp4": "not_video"}
    assert video.name == "cam clip.mp4" and video.landing_uri == f"s3://{landing_bucket}/drop/uploads/cam clip.mp4"
    assert video.probed_at is not None and video.width == 640


def test_symlinks_are_quarantined_never_followed(sqlite_lake, clips, tmp_path):
    lake = sqlite_lake
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(clips.good.read_bytes())
    os.symlink(secret, lake.landing / "link.mp4")
    os.symlink(tmp_path / "nowhere.mp4", lake.landing / "dangling.mp4")
    meta = materialization(run_ingest(lake), "ingested_videos")
    assert (meta["ingested"], meta["quarantined"]) == (0, 2)
    assert secret.is_file()
    with lake.catalog().read() as s:
        assert {q.reason for q in s.scalars(select(QuarantineItem))} == {"not_regular_file"}
        assert s.scalar(select(func.count(Video.id))) == 0


def test_files_named_explicitly_are_copied_never_moved(sqlite_lake, clips, tmp_path):
    lake = sqlite_lake
    outside = tmp_path / "old server"
    good = outside / "keep me.mp4"
    good.parent.mkdir()
    good.write_bytes(clips.good.read_bytes())
    bad = outside / "broken.mp4"
    bad.write_bytes(clips.bad["not_video"].read_bytes())
    result = run_ingest(lake, config={"paths": [str(outside)], "source": "old-server"})
    meta = materialization(result, "ingested_videos")
    assert (meta["ingested"], meta["quarantined"]) == (1, 1)
    assert good.is_file() and bad.is_file()
    with lake.catalog().read() as s:
        video = s.scalars(select(Video)).one()
        item = s.scalars(select(QuarantineItem)).one()
    assert video.source == "old-server" and item.quarantined_uri is None and item.reason == "not_video"


def test_a_file_still_being_written_is_left_for_later(sqlite_lake, clips):
    lake = sqlite_lake
    fresh = lake.drop(clips.good, "fresh.mp4")
    old = lake.drop(clips.other, "old.mp4")
    past = fresh.stat().st_mtime - 3600
    os.utime(old, (past, past))
    settings = IngestSettingsResource(stable_after_seconds=60, workers=1)
    meta = materialization(run_ingest(lake, ingest_settings=settings), "ingested_videos")
    assert meta["ingested"] == 1 and fresh.is_file() and not old.exists()


def test_invalid_sidecar_is_kept_aside_and_the_video_ingested(sqlite_lake, clips):
    lake = sqlite_lake
    video = lake.drop(clips.good, "gen/clip.mp4")
    Path(f"{video}.json").write_text("{not json")
    meta = materialization(run_ingest(lake), "ingested_videos")
    assert meta["ingested"] == 1
    with lake.catalog().read() as s:
        v = s.scalars(select(Video)).one()
        q = s.scalars(select(QuarantineItem)).one()
    assert v.sidecar["_error"].startswith("sidecar is not valid JSON") and q.reason == "invalid_sidecar"
    assert Path(q.quarantined_uri.removeprefix("file://")).read_text() == "{not json"


def test_missing_probes_are_filled_and_reprobe_works(sqlite_lake, clips):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)
    catalog = lake.catalog()
    with catalog.write() as s:
        v = s.scalars(select(Video)).one()
        v.probed_at, v.width, v.duration_s = None, None, None
    result = materialize_day(LINEAGE, DAY, selection=["video_probes"], resources=lake.resources())
    assert materialization(result, "video_probes")["probed_now"] == 1
    with catalog.read() as s:
        v = s.scalars(select(Video)).one()
    assert v.width == 640 and v.duration_s == pytest.approx(5.0, abs=0.1)
    result = materialize_day(LINEAGE, DAY, selection=["video_probes"], resources=lake.resources(),
                            run_config={"ops": {"ingest_lineage": {"config": {"reprobe": True}}}})
    assert materialization(result, "video_probes")["probed_now"] == 1


def test_thumbnails_alone_fill_what_is_missing(sqlite_lake, clips):
    """Selected alone (a backfill), video_thumbnails regenerates posters and sprites that are missing."""
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    lake.drop(clips.other, "b.mp4")
    first = run_ingest(lake)
    assert materialization(first, "video_thumbnails")["made_while_ingesting"] == 2
    catalog = lake.catalog()
    with catalog.write() as s:
        gone = s.scalars(select(Derivative)).all()
        for d in gone:
            (lake.storage / d.key).unlink()
            s.delete(d)
    result = materialize_day(LINEAGE, DAY, selection=["video_thumbnails"], resources=lake.resources())
    meta = materialization(result, "video_thumbnails")
    assert (meta["filled_now"], meta["thumbnail_files_for_day"]) == (2, 4)
    assert [m.asset_key.to_user_string() for m in result.asset_materializations_for_node("ingest_lineage")] == ["video_thumbnails"]
    with catalog.read() as s:
        for d in s.scalars(select(Derivative)):
            assert (lake.storage / d.key).is_file()


@pytest.mark.parametrize("scheme", ["s3", "gs", "az"])
def test_bad_files_in_an_object_store_landing_zone_are_moved_to_quarantine(sqlite_lake, clips, request, scheme):
    """Quarantine goes through the storage contract's move (copy, confirm, delete): every landing backend."""
    from videolake.storage import open_backend

    if scheme == "s3":
        container = request.getfixturevalue("s3_env").create_bucket()
    elif scheme == "gs":
        request.getfixturevalue("gcs_env")
        container = request.getfixturevalue("gcs_server").create_bucket()
    else:
        request.getfixturevalue("azure_env")
        container = request.getfixturevalue("azure_server").create_container()
    lake = sqlite_lake
    zone = open_backend(f"{scheme}://{container}/drop")
    zone.put_file("uploads/clip.mp4", clips.good)
    zone.put_file("uploads/notes.mp4", clips.bad["not_video"])
    zone.put_bytes("uploads/notes.mp4.json", b'{"camera": "lobby"}')
    result = run_ingest(lake, landing=LandingZoneResource(url=zone.url))
    meta = materialization(result, "ingested_videos")
    assert (meta["ingested"], meta["quarantined"], meta["failed"]) == (1, 1, 0)
    assert [o.key for o in zone.list("")] == []  # nothing is left in the landing zone
    with lake.catalog().read() as s:
        [item] = s.scalars(select(QuarantineItem))
    assert item.reason == "not_video" and item.landing_uri == f"{zone.url}/uploads/notes.mp4"
    moved = Path(item.quarantined_uri.removeprefix("file://"))
    assert digest(moved) == digest(clips.bad["not_video"])  # the same bytes, moved aside, never deleted
    assert Path(f"{moved}.json").read_bytes() == b'{"camera": "lobby"}'
