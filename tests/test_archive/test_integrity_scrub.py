from __future__ import annotations

import dagster as dg
from sqlalchemy import select

from tests.test_ingest.test_ingest_pipeline import run_ingest
from videolake.archive.scrub import scrub
from videolake.catalog.models import Replica
from videolake.storage.local_backend import LocalBackend


def scrubbed(lake, **kw):
    findings, checked = scrub(lake.catalog(), LocalBackend(lake.storage), **kw)
    return {(f.problem, f.key.split("/")[0]) for f in findings}, findings, checked


def test_scrub_finds_missing_untracked_resized_and_corrupted(sqlite_lake, clips):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    lake.drop(clips.other, "b.mp4")
    run_ingest(lake)
    problems, _, checked = scrubbed(lake, sample=100)
    assert problems == set() and checked == 6  # 2 videos + 2 posters + 2 sprites
    with lake.catalog().read() as s:
        first, second = s.scalars(select(Replica).order_by(Replica.id)).all()
    (lake.storage / first.key).unlink()
    data = (lake.storage / second.key).read_bytes()
    (lake.storage / second.key).write_bytes(bytes([data[0] ^ 1]) + data[1:])  # same size, other bytes
    (lake.storage / "videos" / "stray.bin").write_bytes(b"nobody knows me")
    problems, findings, _ = scrubbed(lake, sample=100)
    assert problems == {("missing", "videos"), ("checksum_mismatch", "videos"), ("untracked", "videos")}
    assert {f.video_id for f in findings if f.problem != "untracked"} == {first.video_id, second.video_id}
    (lake.storage / second.key).write_bytes(data + b"x")
    assert ("size_mismatch", "videos") in scrubbed(lake, sample=0)[0]


def test_integrity_job_passes_then_fails_with_a_table(sqlite_lake, clips, monkeypatch):
    from pipelines.definitions import defs

    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)
    for key, value in {
        "VIDEOLAKE_CATALOG_URL": lake.catalog_url,
        "VIDEOLAKE_HOT_STORAGE": lake.storage.as_uri(),
        "VIDEOLAKE_ARCHIVE_STORAGE": (lake.home / "archive").as_uri(),
        "VIDEOLAKE_MIGRATION": "copy",
        "VIDEOLAKE_WRITE_MODE": "LOCAL",
        "VIDEOLAKE_ARCHIVE_AFTER_DAYS": "30",
    }.items():
        monkeypatch.setenv(key, value)
    job = defs.resolve_job_def("integrity_job")
    results = {e.check_name: e for e in job.execute_in_process(instance=dg.DagsterInstance.ephemeral()).get_asset_check_evaluations()}
    assert results["hot_storage_integrity"].passed and results["archive_integrity"].passed
    (lake.storage / "derivatives" / "stray.jpg").write_bytes(b"?")
    results = {e.check_name: e for e in job.execute_in_process(instance=dg.DagsterInstance.ephemeral()).get_asset_check_evaluations()}
    hot = results["hot_storage_integrity"]
    assert not hot.passed and "| untracked | derivatives/stray.jpg |" in hot.metadata["what_is_wrong"].value
