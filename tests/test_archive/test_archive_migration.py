"""Archival migration to a real SeaweedFS and to a local archive: verified, idempotent, move-safe."""

from __future__ import annotations

import datetime as dt
import hashlib

import dagster as dg
from sqlalchemy import select

from tests.conftest import materialize_day
from assets import archived_videos
from resources import ArchivePolicyResource
from tests.test_ingest.test_ingest_pipeline import DAY, run_ingest
from videolake.catalog.models import AuditEvent, Replica, Video
from videolake.storage.layout import video_key


def archive(lake, policy, raise_on_error=True):
    return materialize_day([archived_videos], DAY, resources=lake.resources(archive=policy),
                          raise_on_error=raise_on_error)


def meta(result):
    return {k: v.value for k, v in result.asset_materializations_for_node("archived_videos")[0].metadata.items()}


def test_copy_to_s3_is_verified_and_idempotent(sqlite_lake, clips, s3_env):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    lake.drop(clips.other, "b.mp4")
    run_ingest(lake)
    bucket = s3_env.create_bucket()
    policy = ArchivePolicyResource(archive_url=f"s3://{bucket}/archive", migration="copy")
    first = meta(archive(lake, policy))
    assert first["archived_now"] == 2 and first["hot_copies_deleted"] == 0
    with lake.catalog().read() as s:
        replicas = s.scalars(select(Replica)).all()
        videos = {v.id: v.sha256 for v in s.scalars(select(Video))}
    archived = [r for r in replicas if r.backend.startswith("s3://")]
    assert len(archived) == 2 and all(r.state == "verified" and r.verified_at for r in archived)
    assert len([r for r in replicas if r.backend.startswith("file://")]) == 2  # copy keeps the hot copies
    client = s3_env.client()
    for r in archived:
        body = client.get_object(Bucket=bucket, Key=f"archive/{r.key}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == videos[r.video_id]
    assert meta(archive(lake, policy))["archived_now"] == 0  # rerunning a done day changes nothing


def test_move_frees_the_hot_copy_only_after_verification(sqlite_lake, clips):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)
    policy = ArchivePolicyResource(archive_url=(lake.home / "cold").as_uri(), migration="move")
    with lake.catalog().read() as s:
        video = s.scalars(select(Video)).one()
    key = video_key(video.sha256)
    # Something else already sits at the archive key with the same size: it is replaced, never trusted.
    (lake.home / "cold" / key).parent.mkdir(parents=True)
    (lake.home / "cold" / key).write_bytes(b"\0" * video.size_bytes)
    done = meta(archive(lake, policy))
    assert (done["archived_now"], done["hot_copies_deleted"]) == (1, 1)
    assert hashlib.sha256((lake.home / "cold" / key).read_bytes()).hexdigest() == video.sha256
    assert not (lake.storage / key).exists()
    with lake.catalog().read() as s:
        replicas = s.scalars(select(Replica)).all()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "hot_copy_deleted")).all()
    assert [(r.backend.endswith("/cold"), r.state) for r in replicas] == [(True, "verified")]
    assert len(audit) == 1 and audit[0].size_bytes == video.size_bytes
    assert meta(archive(lake, policy))["archived_now"] == 0


def test_unreachable_archive_keeps_everything(sqlite_lake, clips, s3_env, monkeypatch):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    policy = ArchivePolicyResource(archive_url="s3://videolake-archive/x", migration="move")
    result = archive(lake, policy, raise_on_error=False)
    assert not result.success
    with lake.catalog().read() as s:
        states = {(r.backend.split(":")[0], r.state) for r in s.scalars(select(Replica))}
    assert states == {("file", "verified"), ("s3", "pending")}  # the failed copy stays visible as pending
    assert any(p.is_file() for p in (lake.storage / "videos").rglob("*"))


def test_nightly_schedule_requests_the_days_past_the_threshold(sqlite_lake, clips):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)  # landing day 2026-11-20
    from pipelines.jobs import archive_job
    from pipelines.schedules import archive_nightly

    # A Definitions of its own: the schedule context binds the repository to this test's instance.
    resources = lake.resources(archive=ArchivePolicyResource(archive_url=(lake.home / "cold").as_uri(), archive_after_days=3))
    repo = dg.Definitions(assets=[archived_videos], jobs=[archive_job], schedules=[archive_nightly],
                          resources=resources).get_repository_def()
    schedule = archive_nightly
    early = dg.build_schedule_context(resources=resources, repository_def=repo,
                                      scheduled_execution_time=dt.datetime(2026, 11, 22, 2, tzinfo=dt.timezone.utc))
    assert schedule.evaluate_tick(early).skip_message
    with dg.instance_for_test() as instance:
        due = dg.build_schedule_context(instance=instance, resources=resources, repository_def=repo,
                                        scheduled_execution_time=dt.datetime(2026, 11, 24, 2, tzinfo=dt.timezone.utc))
        [request] = schedule.evaluate_tick(due).run_requests
        assert request.partition_key == DAY
        # A day cataloged before it was a partition (an instance made before) becomes one for its run.
        assert instance.get_dynamic_partitions("landing_days") == [DAY]
