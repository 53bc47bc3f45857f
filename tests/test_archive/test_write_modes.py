"""Write modes at ingest (LOCAL / BOTH / REMOTE): dual writes, a down backend, and the catch-up run."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from resources import ArchivePolicyResource, StorageResource
from tests.servers import free_port
from tests.test_ingest.test_ingest_pipeline import run_ingest
from videolake.archive.write_modes import parse_write_mode
from videolake.catalog.models import AuditEvent, Derivative, Replica, Video


def replica_states(lake) -> dict[int, set[tuple[str, str]]]:
    out: dict[int, set[tuple[str, str]]] = {}
    with lake.catalog().read() as s:
        for r in s.scalars(select(Replica)):
            out.setdefault(r.video_id, set()).add((r.backend, r.state))
    return out


def ingest_meta(result) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node("ingest_lineage")[0].metadata.items()}


def land_two(lake, clips):
    lake.drop(clips.good, "a.mp4")
    lake.drop(clips.other, "b.mp4")


def test_both_writes_a_verified_copy_on_each_backend(sqlite_lake, clips, s3_env):
    lake = sqlite_lake
    land_two(lake, clips)
    archive_url = f"s3://{s3_env.create_bucket()}/archive"
    meta = ingest_meta(run_ingest(lake, archive=ArchivePolicyResource(archive_url=archive_url, write_mode="BOTH")))
    assert (meta["write_mode"], meta["replicas_copied"], meta["replicas_pending"]) == ("BOTH", 2, 0)
    hot = lake.storage.as_uri()
    assert list(replica_states(lake).values()) == [{(hot, "verified"), (archive_url, "verified")}] * 2
    with lake.catalog().read() as s:
        videos = {v.sha256 for v in s.scalars(select(Video))}
        keys = [r.key for r in s.scalars(select(Replica).where(Replica.backend == archive_url))]
    client = s3_env.client()
    bucket = archive_url.split("/")[2]
    assert {hashlib.sha256(client.get_object(Bucket=bucket, Key=f"archive/{k}")["Body"].read()).hexdigest()
            for k in keys} == videos
    assert not any(lake.landing.rglob("*.mp4"))  # landed files removed once stored and cataloged


def test_both_with_the_archive_down_ingests_hot_and_catches_up_next_run(sqlite_lake, clips, s3_env, monkeypatch):
    lake = sqlite_lake
    land_two(lake, clips)
    archive_url = f"s3://{s3_env.create_bucket()}/archive"
    policy = ArchivePolicyResource(archive_url=archive_url, write_mode="BOTH")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # the archive is down
    meta = ingest_meta(run_ingest(lake, archive=policy))
    assert (meta["ingested"], meta["replicas_copied"], meta["replicas_pending"]) == (2, 0, 2)
    assert "| video | pending on | why |" in meta["pending_replicas"]
    hot = lake.storage.as_uri()
    assert list(replica_states(lake).values()) == [{(hot, "verified"), (archive_url, "pending")}] * 2
    assert not any(lake.landing.rglob("*.mp4"))  # ingest itself succeeded

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_env.endpoint_url)  # back up: the next run (no new files) catches up
    meta = ingest_meta(run_ingest(lake, archive=policy))
    assert (meta["ingested"], meta["replicas_copied"], meta["replicas_pending"]) == (0, 2, 0)
    assert list(replica_states(lake).values()) == [{(hot, "verified"), (archive_url, "verified")}] * 2


def test_both_with_hot_storage_down_ingests_into_the_archive_then_fills_hot(sqlite_lake, clips, tmp_path):
    lake = sqlite_lake
    land_two(lake, clips)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the hot storage folder should be")
    hot = StorageResource(url=(blocker / "storage").as_uri())
    archive_url = (tmp_path / "cold").as_uri()
    policy = ArchivePolicyResource(archive_url=archive_url, write_mode="BOTH")
    meta = ingest_meta(run_ingest(lake, archive=policy, hot_storage=hot))
    assert meta["ingested"] == 2 and meta["stored_on"] == archive_url and meta["replicas_pending"] == 2
    assert "hot storage unreachable" in str(meta["write_notes"])
    assert list(replica_states(lake).values()) == [{(archive_url, "verified"), (hot.url, "pending")}] * 2
    with lake.catalog().read() as s:
        assert {d.backend for d in s.scalars(select(Derivative))} == {archive_url}  # thumbnails made too

    blocker.unlink()  # hot storage is back
    meta = ingest_meta(run_ingest(lake, archive=policy, hot_storage=hot))
    assert (meta["replicas_copied"], meta["replicas_pending"]) == (2, 0)
    assert list(replica_states(lake).values()) == [{(archive_url, "verified"), (hot.url, "verified")}] * 2


def test_remote_keeps_only_the_verified_archive_copy(sqlite_lake, clips, s3_env, monkeypatch):
    lake = sqlite_lake
    land_two(lake, clips)
    archive_url = f"s3://{s3_env.create_bucket()}/archive"
    policy = ArchivePolicyResource(archive_url=archive_url, write_mode="REMOTE")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # down at first
    meta = ingest_meta(run_ingest(lake, archive=policy))
    assert (meta["ingested"], meta["replicas_pending"], meta["hot_copies_deleted"]) == (2, 2, 0)
    hot = lake.storage.as_uri()
    assert list(replica_states(lake).values()) == [{(hot, "verified"), (archive_url, "pending")}] * 2  # nothing lost

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_env.endpoint_url)
    lake.drop(clips.variant(lake.home / "variant.mp4", 3), "c.mp4")
    meta = ingest_meta(run_ingest(lake, archive=policy))
    assert (meta["ingested"], meta["replicas_copied"], meta["hot_copies_deleted"]) == (1, 3, 3)
    assert list(replica_states(lake).values()) == [{(archive_url, "verified")}] * 3
    assert not any((lake.storage / "videos").rglob("*.mp4"))
    with lake.catalog().read() as s:
        deleted = s.scalars(select(AuditEvent).where(AuditEvent.action == "hot_copy_deleted")).all()
        posters = s.scalars(select(Derivative).where(Derivative.kind == "poster")).all()
    assert len(deleted) == 3 and {e.detail["policy"] for e in deleted} == {"write_mode=REMOTE"}
    assert len(posters) == 3  # thumbnails were made from the staging copy and stay hot


def test_both_backends_down_fails_without_touching_landed_files(sqlite_lake, clips, tmp_path, monkeypatch):
    lake = sqlite_lake
    land_two(lake, clips)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    result = run_ingest(lake, raise_on_error=False, hot_storage=StorageResource(url=(blocker / "s").as_uri()),
                        archive=ArchivePolicyResource(archive_url="s3://videolake-archive/x", write_mode="BOTH"))
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "neither storage can be reached" in failure.event_specific_data.user_failure_data.description
    assert sorted(p.name for p in lake.landing.rglob("*.mp4")) == ["a.mp4", "b.mp4"]


def test_write_mode_is_validated():
    assert parse_write_mode("both").value == "BOTH"
    with pytest.raises(ValueError, match="LOCAL, REMOTE or BOTH"):
        parse_write_mode("everywhere")


def test_a_sensor_batch_the_run_cannot_store_goes_back_to_the_zone_at_once(sqlite_lake, clips, tmp_path):
    """Hot storage down (LOCAL): the run fails touching nothing, and its batch is no longer claimed,
    so the next tick claims it again (it would otherwise wait for the claim to expire, 15 min)."""
    from resources.engine_builder import build_landing_watcher

    lake = sqlite_lake
    land_two(lake, clips)
    res = lake.resources()
    watcher = build_landing_watcher(res["catalog"], res["quarantine_storage"], res["landing"], res["ingest_settings"])
    _summary, [batch], _listing = watcher.observe_and_claim(1)
    assert watcher.catalog.landing_backlog(watcher.zone)["claimed"] == 2
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    result = run_ingest(lake, raise_on_error=False, config={"batch_id": batch.batch_id},
                        hot_storage=StorageResource(url=(blocker / "s").as_uri()))
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "nothing was ingested (landed files are untouched)" in failure.event_specific_data.user_failure_data.description
    assert sorted(p.name for p in lake.landing.rglob("*.mp4")) == ["a.mp4", "b.mp4"]
    backlog = watcher.catalog.landing_backlog(watcher.zone)
    assert (backlog["claimed"], backlog["seen"]) == (0, 2)
    _summary, again, _listing = watcher.observe_and_claim(2)
    assert sum(b.files for b in again) == 2
