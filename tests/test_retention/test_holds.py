"""Legal holds: added, listed, released (audited); what they cover; the CLI's errors."""

from __future__ import annotations

import datetime as dt
import json
import shutil

from sqlalchemy import select

from tests.conftest import cli
from videolake.catalog.models import AuditEvent, Export, Segment, Video
from videolake.catalog.repository import Catalog
from videolake.retention.holds import add_hold, held_export_ids, held_video_ids, release_hold

UTC = dt.timezone.utc


def t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 1, hour, minute, tzinfo=UTC)


def segment_videos(catalog: Catalog) -> dict[str, int]:
    """cam1 segments at 10:00, 10:10, 10:20 (10 min each); cam2 at 10:00."""
    ids = {}
    with catalog.write() as s:
        for name, cam, start in (("a", "cam1", t(10)), ("b", "cam1", t(10, 10)), ("c", "cam1", t(10, 20)),
                                 ("d", "cam2", t(10))):
            v = Video(sha256=name * 64, size_bytes=1, name=f"{name}.mp4", extension="mp4", source="cctv",
                      source_type="segment", landing_uri=f"file:///x/{name}.mp4", landing_date=start.date())
            s.add(v)
            s.flush()
            s.add(Segment(video_id=v.id, camera_id=cam, start_at=start, end_at=start + dt.timedelta(minutes=10),
                          duration_s=600, recording_date=start.date(), time_source="template"))
            ids[name] = v.id
        s.add(Export(id="exp-held", status="COMPLETED", cameras=["cam1"], start_at=t(10, 5), end_at=t(10, 8), mode="fast",
                     ttl_seconds=60, requested_at=t(11)))
        s.add(Export(id="exp-free", status="COMPLETED", cameras=["cam2"], start_at=t(10, 5), end_at=t(10, 8), mode="fast",
                     ttl_seconds=60, requested_at=t(11)))
    return ids


def test_a_camera_range_hold_covers_overlapping_segments_and_exports(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    ids = segment_videos(catalog)
    hold = add_hold(catalog, camera="cam1", start=t(10, 5), end=t(10, 15), reason="incident 42", by="ana")
    direct = add_hold(catalog, video_id=ids["d"], reason="complaint 7")
    with catalog.read() as s:
        assert held_video_ids(s) == {ids["a"], ids["b"], ids["d"]}  # c starts at 10:20, after the range
        assert held_export_ids(s) == {"exp-held"}
    release_hold(catalog, hold.id, by="ana")
    with catalog.read() as s:
        assert held_video_ids(s) == {ids["d"]} and held_export_ids(s) == set()
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["hold_added", "hold_added", "hold_released"]
    assert direct.video_id == ids["d"]


def test_hold_cli_add_list_release_and_refusals(cli_env, clips, tmp_path):
    landing = tmp_path / "home" / "landing" / "uploads"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "a.mp4")
    assert cli(cli_env, "ingest").returncode == 0
    video_id = json.loads(cli(cli_env, "videos", "--json").stdout)[0]["id"]

    added = cli(cli_env, "hold", "add", "--video", str(video_id), "--reason", "case 1", "--json")
    assert added.returncode == 0, added.stderr
    ranged = cli(cli_env, "hold", "add", "--camera", "lobby", "--start", "2026-11-01T10:00:00Z",
                 "--end", "2026-11-01T12:00:00+01:00", "--reason", "incident 9")
    # The words every command uses for a camera with no footage; a hold is kept (it covers footage ingested later).
    assert ranged.returncode == 0 and ranged.stderr.startswith("note: unknown camera lobby: no segments of it in the catalog")
    segments = cli(cli_env, "segments", "--camera", "lobby", "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T11:00:00Z")
    assert segments.returncode == 2 and segments.stderr.startswith("videolake: unknown camera lobby: no segments of it")
    listed = json.loads(cli(cli_env, "hold", "list", "--json").stdout)
    assert [(h["video_id"], h["camera"]) for h in listed] == [(video_id, None), (None, "lobby")]
    assert listed[1]["end"].startswith("2026-11-01T11:00:00")  # +01:00 is normalized to UTC

    # The audit says what each hold covers and why.
    audit = cli(cli_env, "audit", "--action", "hold_*").stdout
    assert "lobby 2026-11-01T10:00:00+00:00 → 2026-11-01T11:00:00+00:00 (incident 9)" in audit
    assert f"video {video_id} (case 1)" in audit
    assert cli(cli_env, "hold", "release", str(listed[0]["id"])).returncode == 0
    assert f"released hold {listed[0]['id']}: video {video_id} (case 1)" in cli(cli_env, "audit").stdout
    assert len(json.loads(cli(cli_env, "hold", "list", "--json").stdout)) == 1
    assert len(json.loads(cli(cli_env, "hold", "list", "--all", "--json").stdout)) == 2

    for args, message in [
        (("hold", "add", "--video", "999", "--reason", "x"), "no video 999"),
        (("hold", "add", "--camera", "lobby", "--reason", "x"), "--camera with --start and --end"),
        (("hold", "add", "--camera", "lobby", "--start", "2026-11-01T10:00:00Z", "--end", "2026-11-01T09:00:00Z",
          "--reason", "x"), "is not after"),
        (("hold", "add", "--video", str(video_id), "--reason", "  "), "needs a --reason"),
        (("hold", "release", str(listed[0]["id"])), "already released"),
        (("hold", "release", "12345"), "no hold 12345"),
    ]:
        done = cli(cli_env, *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
