"""Retention never deletes what something still uses: the same bytes landed under a source that keeps
them longer, a segment an export is still being cut from, a hold committed while a large sweep runs,
a duplicate recorded while its content is being deleted."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time

import pytest
from sqlalchemy import insert, select

from videolake.catalog.models import AuditEvent, Export, Landing, Replica, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.retention.holds import HoldError, add_hold
from videolake.retention.policy import parse_policy
from videolake.retention.sweep import RetentionSweep
from videolake.storage import open_backend
from videolake.storage.layout import video_key

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 21, tzinfo=UTC)
POLICY = """
default: {keep_days: 30}
sources: {scratch: {keep_days: 7}, evidence: {keep_days: null}}
cameras: {cam1: {keep_days: 7}}
max_delete_share: 1
"""


class Lake:
    def __init__(self, tmp_path, catalog_url: str) -> None:
        self.catalog = Catalog(catalog_url)
        self.hot = open_backend((tmp_path / "hot").as_uri())

    def video(self, days_old: float, source: str = "scratch", size: int = 64) -> int:
        data = os.urandom(size)
        sha = hashlib.sha256(data).hexdigest()
        when = AS_OF - dt.timedelta(days=days_old)
        self.hot.put_bytes(video_key(sha), data)
        with self.catalog.write() as s:
            v = Video(sha256=sha, size_bytes=size, name=f"{sha[:8]}.mp4", extension="mp4", source=source,
                      source_type="upload", landing_uri=f"file:///landing/{source}/{sha[:8]}.mp4",
                      landing_date=when.date(), ingested_at=when)
            v.replicas.append(Replica(backend=self.hot.url, key=video_key(sha), state="verified", size_bytes=size,
                                      verified_sha256=sha, verified_at=when))
            s.add(v)
            s.flush()
            s.add(Landing(video_id=v.id, landing_uri=v.landing_uri, name=v.name, source=source, source_type="upload",
                          sha256=sha, size_bytes=size, outcome="ingested", landed_at=when))
            return v.id

    def land_again(self, vid: int, source: str, days_old: float) -> None:
        """The same bytes landed under another source: a duplicate, i.e. one more landing row."""
        with self.catalog.write() as s:
            v = s.get(Video, vid)
            s.add(Landing(video_id=vid, landing_uri=f"file:///landing/{source}/{v.name}", name=v.name, source=source,
                          source_type="upload", sha256=v.sha256, size_bytes=v.size_bytes, outcome="duplicate",
                          landed_at=AS_OF - dt.timedelta(days=days_old)))

    def ids(self) -> set[int]:
        with self.catalog.read() as s:
            return set(s.scalars(select(Video.id)))

    def sweep(self, backend_for=open_backend) -> RetentionSweep:
        return RetentionSweep(self.catalog, parse_policy(POLICY), self.hot.url, backend_for=backend_for)


@pytest.fixture
def world(tmp_path, catalog_url) -> Lake:
    return Lake(tmp_path, catalog_url)


def test_shared_content_goes_only_when_every_use_has_expired(world):
    only_scratch = world.video(days_old=10)                  # scratch keeps 7 days: goes
    also_evidence = world.video(days_old=10)                 # the same bytes landed as evidence (forever): stays
    world.land_again(also_evidence, "evidence", days_old=9)
    landed_again_lately = world.video(days_old=10)           # landed again under scratch 2 days ago: stays
    world.land_again(landed_again_lately, "scratch", days_old=2)
    first_forever = world.video(days_old=40, source="evidence")  # first landed as evidence, then as scratch
    world.land_again(first_forever, "scratch", days_old=39)
    both_expired = world.video(days_old=40)                  # scratch and default (30 days) both expired: goes
    world.land_again(both_expired, "uploads", days_old=35)

    plan = world.sweep().plan(AS_OF)
    assert plan.videos_deleted == {only_scratch, both_expired}
    world.sweep().apply(plan)
    assert world.ids() == {also_evidence, landed_again_lately, first_forever}
    for vid in (also_evidence, landed_again_lately, first_forever):
        with world.catalog.read() as s:
            key = s.scalar(select(Replica.key).where(Replica.video_id == vid))
        assert world.hot.exists(key)


def test_a_segment_an_open_export_covers_is_kept_until_the_export_is_done(world):
    from videolake.catalog.models import Segment

    vid = world.video(days_old=10, source="segments")
    start = AS_OF - dt.timedelta(days=10)
    with world.catalog.write() as s:
        s.add(Segment(video_id=vid, camera_id="cam1", start_at=start, end_at=start + dt.timedelta(seconds=10),
                      duration_s=10, recording_date=start.date(), time_source="template"))
        s.add(Export(id="exp-open", status="PENDING", cameras=["cam1"], start_at=start,
                     end_at=start + dt.timedelta(seconds=5), mode="fast", ttl_seconds=3600))
    assert vid not in world.sweep().plan(AS_OF).videos_deleted
    with world.catalog.write() as s:
        s.get(Export, "exp-open").status = "COMPLETED"
    assert vid in world.sweep().plan(AS_OF).videos_deleted


class SlowDeletes:
    """A real local backend whose bulk deletes call ``on_delete`` first (to act while a sweep runs)."""

    def __init__(self, inner, on_delete) -> None:
        self.inner, self.on_delete, self.url = inner, on_delete, inner.url

    def delete_many(self, keys) -> None:
        keys = list(keys)
        self.on_delete(keys)
        self.inner.delete_many(keys)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_hold_added_while_a_large_sweep_runs_saves_its_video(world):
    from videolake.retention import sweep as sweep_module

    n = sweep_module.BATCH * 3 + 10
    # Many expired videos at once, in bulk: three batches and a bit.
    rows, objects = [], []
    for i in range(n):
        data = f"video {i}".encode()
        sha = hashlib.sha256(data).hexdigest()
        objects.append((video_key(sha), data))
        rows.append({"sha256": sha, "size_bytes": len(data), "name": f"v{i}.mp4", "extension": "mp4",
                     "source": "scratch", "source_type": "upload", "landing_uri": f"file:///l/v{i}.mp4",
                     "landing_date": (AS_OF - dt.timedelta(days=10)).date(),
                     "ingested_at": AS_OF - dt.timedelta(days=10)})
    for key, data in objects:
        world.hot.put_bytes(key, data)
    with world.catalog.write() as s:
        ids = [vid for (vid,) in s.execute(insert(Video).returning(Video.id), rows)]
        s.execute(insert(Replica), [{"video_id": vid, "backend": world.hot.url, "key": key, "state": "verified",
                                     "size_bytes": len(data), "verified_sha256": rows[i]["sha256"],
                                     "verified_at": utcnow(), "created_at": utcnow()}
                                    for i, (vid, (key, data)) in enumerate(zip(ids, objects))])
    ids.sort()
    in_current_batch = ids[5]                          # batch 1, being deleted when the hold is asked for
    in_a_later_batch = ids[sweep_module.BATCH * 2 + 3]  # batch 3
    outcomes: dict[int, str] = {}
    hold_threads: list[threading.Thread] = []

    def hold(vid: int) -> None:
        try:
            add_hold(world.catalog, reason="court order", video_id=vid)
            outcomes[vid] = "held"
        except HoldError as exc:
            outcomes[vid] = str(exc)

    def on_delete(keys) -> None:
        if hold_threads:
            return
        for vid in (in_current_batch, in_a_later_batch):
            thread = threading.Thread(target=hold, args=(vid,))
            hold_threads.append(thread)
            thread.start()
        time.sleep(0.3)  # the holds are asked for while this batch's deletions run
        assert outcomes == {}, "a hold may not commit while a batch that was checked is deleting"

    sweep = world.sweep(backend_for=lambda url: SlowDeletes(open_backend(url), on_delete))
    plan = sweep.plan(AS_OF)
    assert in_a_later_batch in plan.videos_deleted  # the plan was made before the hold
    report = sweep.apply(plan)
    for thread in hold_threads:
        thread.join(timeout=30)
    # The hold asked for during its video's batch lands after that batch: the video is gone by then.
    assert outcomes == {in_current_batch: f"no video {in_current_batch} in the catalog", in_a_later_batch: "held"}
    left = world.ids()
    assert left == {in_a_later_batch}, "the hold committed before its batch saves it; nothing else stays"
    assert report.held_skipped == 1
    assert world.hot.exists(objects[ids.index(in_a_later_batch)][0])
    with world.catalog.read() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.video_id == in_a_later_batch))]
    assert actions == ["hold_added"]


def test_a_duplicate_recorded_while_its_content_is_deleted_is_not_lost(world, tmp_path, clips):
    """The ingest of the same bytes meets a sweep deleting them: the landed file stays and goes in later."""
    from videolake.ingest.engine import IngestEngine, IngestSettings
    from videolake.storage.local_backend import LocalBackend

    landing = tmp_path / "landing"
    (landing / "evidence").mkdir(parents=True)
    engine = IngestEngine(world.catalog, world.hot, LocalBackend(tmp_path / "quarantine"), LocalBackend(landing),
                          IngestSettings(stable_after_seconds=0, min_unchanged_seconds=0, workers=1))
    first = landing / "evidence" / "a.mp4"
    first.write_bytes(clips.good.read_bytes())
    batches, _ = engine.claim_all_now()
    engine.ingest(engine.items_for_batch(batches[0].batch_id), AS_OF.date())
    with world.catalog.write() as s:
        vid = s.scalar(select(Video.id))
        s.get(Video, vid).source = "scratch"
        s.get(Video, vid).ingested_at = AS_OF - dt.timedelta(days=10)
        for landing_row in s.scalars(select(Landing)):
            landing_row.source, landing_row.landed_at = "scratch", AS_OF - dt.timedelta(days=10)
        s.query(Replica).filter(Replica.video_id == vid).update({"state": "deleting"})  # a sweep is at it
    again = landing / "evidence" / "again.mp4"
    again.parent.mkdir(parents=True, exist_ok=True)
    again.write_bytes(clips.good.read_bytes())
    batches, _ = engine.claim_all_now()
    report = engine.ingest(engine.items_for_batch(batches[0].batch_id), AS_OF.date())
    assert [r.outcome for r in report.results] == ["skipped"]
    assert again.exists(), "the landed file is the only copy left once the sweep is done"
