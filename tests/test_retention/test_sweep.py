"""The retention sweep on a real catalog and real objects: policies, holds, guardrails, cascades,
audit rows, quota eviction order, and a sweep killed midway then rerun."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from videolake.catalog.models import AuditEvent, Derivative, Replica, Segment, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.retention.holds import add_hold
from videolake.retention.policy import parse_policy
from videolake.retention.sweep import RetentionSweep, SweepRefused
from videolake.storage import open_backend
from videolake.storage.layout import video_key

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 21, tzinfo=UTC)


class World:
    def __init__(self, tmp_path):
        self.catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
        self.hot = open_backend((tmp_path / "hot").as_uri())
        self.cold = open_backend((tmp_path / "cold").as_uri())
        self.n = 0

    def video(self, *, days_old: float, source: str = "uploads", camera: str | None = None, cold: bool = False,
              size: int = 1000) -> int:
        self.n += 1
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        when = AS_OF - dt.timedelta(days=days_old)
        key = video_key(digest)
        self.hot.put_bytes(key, data)
        self.hot.put_bytes(f"derivatives/{digest}/poster.jpg", b"jpg")
        with self.catalog.write() as s:
            v = Video(sha256=digest, size_bytes=size, name=f"v{self.n}.mp4", extension="mp4", source=source,
                      source_type="segment" if camera else "upload", landing_uri="file:///x", landing_date=when.date(),
                      ingested_at=when)
            v.replicas.append(Replica(backend=self.hot.url, key=key, state="verified", size_bytes=size,
                                      verified_sha256=digest, verified_at=utcnow()))
            if cold:
                self.cold.put_bytes(key, data)
                v.replicas.append(Replica(backend=self.cold.url, key=key, state="verified", size_bytes=size,
                                          verified_sha256=digest, verified_at=utcnow()))
            v.derivatives.append(Derivative(kind="poster", backend=self.hot.url, key=f"derivatives/{digest}/poster.jpg",
                                            size_bytes=3, sha256=hashlib.sha256(b"jpg").hexdigest(), width=1, height=1))
            s.add(v)
            s.flush()
            if camera:
                s.add(Segment(video_id=v.id, camera_id=camera, start_at=when, end_at=when + dt.timedelta(seconds=10),
                              duration_s=10, recording_date=when.date(), time_source="template"))
            return v.id

    def sweep(self, text: str) -> RetentionSweep:
        return RetentionSweep(self.catalog, parse_policy(text), self.hot.url)

    def ids(self) -> set[int]:
        with self.catalog.read() as s:
            return set(s.scalars(select(Video.id)))


POLICY = """
default: {keep_hot_days: 30, keep_days: 365}
sources: {uploads: {keep_days: 90}}
cameras: {cam1: {keep_hot_days: 7, keep_days: 30}}
max_delete_share: 0.9
"""


def test_policies_cascade_to_derivatives_and_write_one_audit_row_per_object(tmp_path):
    w = World(tmp_path)
    old_upload = w.video(days_old=100)                    # uploads keep 90 days: goes
    young_upload = w.video(days_old=10)                   # stays
    old_cam1 = w.video(days_old=31, source="cctv", camera="cam1", cold=True)   # cam1 keep 30: goes everywhere
    warm_cam1 = w.video(days_old=8, source="cctv", camera="cam1", cold=True)   # past keep_hot 7: hot copy goes
    warm_only_hot = w.video(days_old=8, source="cctv", camera="cam1")          # no other copy: hot copy stays
    other = w.video(days_old=200, source="cctv", camera="cam2")                # default keep 365: stays
    sweep = w.sweep(POLICY)
    plan = sweep.plan(AS_OF)
    assert plan.videos_deleted == {old_upload, old_cam1} and plan.hot_copies_dropped == {warm_cam1}
    report = sweep.apply(plan, run_id="r1")
    assert w.ids() == {young_upload, warm_cam1, warm_only_hot, other}
    assert report.deleted_objects == 2 + 3 + 1  # video + poster; video hot+cold + poster; one hot copy
    with w.catalog.read() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action.like("retention_%"))).all()
        replicas = {(r.video_id, r.backend) for r in s.scalars(select(Replica))}
    assert len(audit) == 6 and all(a.run_id == "r1" and a.backend and a.key for a in audit)
    assert {a.detail["policy"] for a in audit} == {"sources.uploads.keep_days=90", "cameras.cam1.keep_days=30",
                                                   "cameras.cam1.keep_hot_days=7"}
    assert (warm_cam1, w.hot.url) not in replicas and (warm_cam1, w.cold.url) in replicas
    assert (warm_only_hot, w.hot.url) in replicas  # never the last verified copy of what has not expired
    assert len(list(w.hot.list())) == 2 * 3 + 1  # young, warm_only_hot, other (+ posters), warm_cam1's poster
    assert sweep.plan(AS_OF).items == []  # rerunning changes nothing


def test_holds_protect_footage_and_as_of_rehearses(tmp_path):
    w = World(tmp_path)
    cam = w.video(days_old=40, source="cctv", camera="cam1")
    vid = w.video(days_old=100)
    w.video(days_old=1)
    add_hold(w.catalog, camera="cam1", start=AS_OF - dt.timedelta(days=41), end=AS_OF - dt.timedelta(days=39),
             reason="incident")
    add_hold(w.catalog, video_id=vid, reason="complaint")
    sweep = w.sweep(POLICY)
    plan = sweep.plan(AS_OF)
    assert plan.items == [] and plan.held_skipped == 2
    later = sweep.plan(AS_OF + dt.timedelta(days=400))  # "what goes by then"
    assert later.held_skipped == 2 and cam not in later.videos_deleted


def test_guardrails_refuse_loudly_and_delete_nothing(tmp_path):
    w = World(tmp_path)
    empty = w.sweep(POLICY)
    with pytest.raises(SweepRefused, match="no videos"):
        empty.apply(empty.plan(AS_OF))
    for _ in range(4):
        w.video(days_old=100)
    w.video(days_old=1)
    strict = w.sweep("default: {keep_days: 90}\nmax_delete_share: 0.5\n")
    plan = strict.plan(AS_OF)
    with pytest.raises(SweepRefused, match=r"4 of 5 videos \(80%\)"):
        strict.apply(plan)
    assert len(w.ids()) == 5
    assert strict.apply(plan, force=True).videos_deleted == 4
    broken = RetentionSweep(w.catalog, parse_policy("default: {keep_days: 0}\nmax_delete_share: 1\n"), w.hot.url)
    (tmp_path / "hot").rename(tmp_path / "hot-gone")
    (tmp_path / "hot").write_text("not a folder any more")
    with pytest.raises(SweepRefused, match="cannot be listed"):
        broken.apply(broken.plan(AS_OF))
    assert len(w.ids()) == 1


def test_quota_evicts_the_oldest_copies_verified_elsewhere(tmp_path):
    w = World(tmp_path)
    oldest = w.video(days_old=20, cold=True, size=4000)
    middle = w.video(days_old=10, cold=True, size=4000)
    only_hot = w.video(days_old=30, size=4000)  # the oldest, but its only copy: never evicted
    newest = w.video(days_old=1, cold=True, size=4000)
    # hot holds 16,000 bytes of video + 12 of posters; a 9 KB quota needs two evictions
    sweep = w.sweep(f'quotas: {{"{w.hot.url}": 9000}}\n')
    plan = sweep.plan(AS_OF)
    assert [(i.action, i.video_id) for i in plan.items] == [("quota_evict", oldest), ("quota_evict", middle)]
    sweep.apply(plan)
    with w.catalog.read() as s:
        hot_left = set(s.scalars(select(Replica.video_id).where(Replica.backend == w.hot.url)))
    assert hot_left == {only_hot, newest}


def test_a_sweep_killed_midway_is_finished_by_the_next_one(tmp_path):
    w = World(tmp_path)
    for i in range(600):
        w.video(days_old=100 + i % 5, size=200)
    keep = w.video(days_old=1)
    script = f"""
import datetime as dt, time, videolake.retention.sweep as sw
from videolake.catalog.repository import Catalog
from videolake.retention.policy import parse_policy
sw.BATCH = 10
delete_objects, calls = sw.RetentionSweep._delete_objects, []
def killed_in_the_third_batch(self, items, report):
    done = delete_objects(self, items, report)
    calls.append(1)
    if len(calls) == 3:  # its objects are gone, its rows not yet: the worst moment to die
        print("mid-batch", flush=True)
        time.sleep(600)
    return done
sw.RetentionSweep._delete_objects = killed_in_the_third_batch
sweep = sw.RetentionSweep(Catalog({w.catalog.url!r}), parse_policy("default: {{keep_days: 90}}\\nmax_delete_share: 1\\n"),
                          {w.hot.url!r})
print("planned", flush=True)
sweep.apply(sweep.plan(dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)))
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "planned"
    assert proc.stdout.readline().strip() == "mid-batch"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = w.ids()
    assert keep in left and len(left) == 601 - 2 * 10, len(left)  # two batches gone, the third killed midway
    sweep = w.sweep("default: {keep_days: 90}\nmax_delete_share: 1\n")
    report = sweep.apply(sweep.plan(AS_OF))
    assert report.failures == [] and w.ids() == {keep}
    assert sorted(p.key for p in w.hot.list()) == sorted(
        k for k in (r for r in _keys(w)))  # only the kept video's objects remain
    with w.catalog.read() as s:
        audited = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "retention_delete_video"))
    assert audited == 600 * 2  # one row per deleted object, none twice


def _keys(w: World) -> list[str]:
    with w.catalog.read() as s:
        return list(s.scalars(select(Replica.key))) + list(s.scalars(select(Derivative.key)))


def test_exports_expire_at_expires_at_unless_held(tmp_path):
    from videolake.catalog.models import Export, ExportOutput

    w = World(tmp_path)
    w.video(days_old=1)
    with w.catalog.write() as s:
        for export_id, hours in (("old", -1), ("fresh", 24), ("evidence", -1)):
            w.hot.put_bytes(f"exports/{export_id}/cam1.mp4", b"mp4" * 100)
            w.hot.put_bytes(f"exports/{export_id}/manifest.json", b"{}")
            s.add(Export(id=export_id, status="COMPLETED", cameras=["cam1"], start_at=AS_OF - dt.timedelta(days=3),
                         end_at=AS_OF - dt.timedelta(days=3, minutes=-5), mode="fast", ttl_seconds=3600,
                         requested_at=AS_OF - dt.timedelta(days=2), expires_at=AS_OF + dt.timedelta(hours=hours),
                         backend=w.hot.url, manifest_key=f"exports/{export_id}/manifest.json"))
            s.flush()
            s.add(ExportOutput(export_id=export_id, camera_id="cam1", key=f"exports/{export_id}/cam1.mp4", size_bytes=300,
                               sha256="0" * 64, duration_s=300, covered_start=AS_OF - dt.timedelta(days=3),
                               covered_end=AS_OF - dt.timedelta(days=3, minutes=-5)))
    add_hold(w.catalog, camera="cam1", start=AS_OF - dt.timedelta(days=3, minutes=-1),
             end=AS_OF - dt.timedelta(days=3, minutes=-2), reason="incident")
    with w.catalog.write() as s:  # the hold covers only the "evidence" export's range: narrow the others
        s.get(Export, "old").cameras = ["cam9"]
    sweep = w.sweep("max_delete_share: 1\n")
    plan = sweep.plan(AS_OF)
    assert plan.exports_expired == {"old"} and plan.held_skipped == 1
    report = sweep.apply(plan, run_id="r")
    assert report.exports_expired == 1 and report.deleted_objects == 2
    assert not w.hot.exists("exports/old/cam1.mp4") and w.hot.exists("exports/fresh/cam1.mp4")
    assert w.hot.exists("exports/evidence/cam1.mp4")
    with w.catalog.read() as s:
        assert s.get(Export, "old").status == "EXPIRED"
        rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention_expire_export")).all()
    assert sorted(r.key for r in rows) == ["exports/old/cam1.mp4", "exports/old/manifest.json"]


def test_an_unreachable_catalog_fails_the_sweep_loudly(tmp_path):
    import dagster as dg

    from assets import retention_sweep
    from resources import CatalogResource, RetentionPolicyResource, StorageResource
    from tests.servers import free_port

    result = dg.materialize([retention_sweep], raise_on_error=False, resources={
        "catalog": CatalogResource(url=f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/catalog"),
        "hot_storage": StorageResource(url=(tmp_path / "hot").as_uri()),
        "retention": RetentionPolicyResource(path=str(tmp_path / "none.yaml")),
    }, run_config={"ops": {"retention_sweep": {"config": {"apply": True}}}})
    assert not result.success
    failure = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "could not be read, nothing deleted" in failure.event_specific_data.user_failure_data.description
