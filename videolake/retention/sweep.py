"""The retention sweep: plan what the policies say goes, refuse when that looks wrong, then delete.

Planning reads the catalog only (decisions come from its records, never from "not in the
catalog"): videos past ``keep_days`` go everywhere with their thumbnails; past ``keep_hot_days``
the hot copy goes when a verified copy exists elsewhere; exports go at ``expires_at``; a backend
over its quota loses its oldest copies that are verified elsewhere. Held footage is never touched.

Guardrails refuse the whole sweep (nothing deleted) when the catalog is empty, when more than
``max_delete_share`` of the videos would go (unless forced, or asked for video by video), or when
a backend the plan touches cannot be listed.

An operator's deletion of named videos (``plan_deletion``) goes through the same guard and apply:
held footage and videos other things depend on are kept, and every deleted object is audited.

Applying is crash-safe and idempotent, in batches: rows are marked ``deleting``, the objects
deleted (a missing object is fine), then in one transaction the rows go and one audit row per
deleted object is written. A sweep killed midway is finished by the next one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update

from videolake import constants as c
from videolake.catalog.models import (
    AuditEvent,
    Derivative,
    Export,
    ExportOutput,
    Landing,
    Replica,
    Segment,
    Video,
    VideoInput,
    utcnow,
)
from videolake.catalog.repository import Catalog
from videolake.constants import CatalogLock
from videolake.retention.holds import held_export_ids, held_video_ids
from videolake.retention.policy import RetentionPolicy
from videolake.storage import StorageBackend, StorageError, open_backend

DELETE_VIDEO, DROP_HOT, QUOTA_EVICT, EXPIRE_EXPORT = "delete_video", "drop_hot_copy", "quota_evict", "expire_export"
BATCH = 2000
OPEN_EXPORT_STATES = (c.ExportStatus.PENDING, c.ExportStatus.PROCESSING)


@dataclass(frozen=True)
class Deletion:
    action: str
    backend: str
    key: str
    size_bytes: int
    policy: str
    what: str  # video, replica, poster, sprite, export output, manifest
    video_id: int | None = None
    export_id: str | None = None


@dataclass
class SweepPlan:
    as_of: dt.datetime
    policy_origin: str
    items: list[Deletion] = field(default_factory=list)
    videos_total: int = 0
    videos_deleted: set[int] = field(default_factory=set)
    hot_copies_dropped: set[int] = field(default_factory=set)
    exports_expired: set[str] = field(default_factory=set)
    held_skipped: int = 0
    kept_as_inputs: int = 0
    refusals: list[str] = field(default_factory=list)
    requested: bool = False  # videos an operator asked to delete: no policy needs to have expired them

    @property
    def bytes(self) -> int:
        return sum(i.size_bytes for i in self.items)

    def by_backend(self) -> dict[str, tuple[int, int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for i in self.items:
            out[i.backend][0] += 1
            out[i.backend][1] += i.size_bytes
        return {k: (v[0], v[1]) for k, v in out.items()}

    def delete_share(self) -> float:
        return len(self.videos_deleted) / self.videos_total if self.videos_total else 0.0


@dataclass
class SweepReport:
    deleted_objects: int = 0
    bytes_freed: int = 0
    videos_deleted: int = 0
    hot_copies_dropped: int = 0
    exports_expired: int = 0
    held_skipped: int = 0  # held when their batch came (a hold added after the plan was made)
    kept_in_use: int = 0  # a use of the same content appeared after the plan was made
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


class SweepRefused(RuntimeError):
    """A guardrail stopped the sweep; nothing was deleted."""


class RetentionSweep:
    def __init__(self, catalog: Catalog, policy: RetentionPolicy, hot_url: str,
                 backend_for: Callable[[str], StorageBackend] = open_backend) -> None:
        self.catalog, self.policy, self.hot_url = catalog, policy, hot_url
        self._backend_for = backend_for
        self._backends: dict[str, StorageBackend] = {}

    def backend(self, url: str) -> StorageBackend:
        if url not in self._backends:
            self._backends[url] = self._backend_for(url)
        return self._backends[url]

    # -- planning ----------------------------------------------------------------------------------
    def plan(self, as_of: dt.datetime) -> SweepPlan:
        plan = SweepPlan(as_of=as_of, policy_origin=self.policy.origin)
        with self.catalog.read() as s:
            plan.videos_total = int(s.scalar(select(func.count(Video.id))) or 0)
            held = held_video_ids(s)
            kept = set(s.scalars(select(VideoInput.input_video_id).distinct()))  # inputs of stitched videos
            kept |= videos_needed_by_open_exports(s)
            uses = UseExpiry(self.policy)
            uses.read(s)
            expired: dict[int, str] = {}
            hot_due: dict[int, str] = {}
            for vid in uses.videos():
                if uses.expired(vid, as_of):
                    if vid in held:
                        plan.held_skipped += 1
                    elif vid in kept:
                        plan.kept_as_inputs += 1
                    else:
                        expired[vid] = uses.policy_name(vid)
                elif uses.hot_expired(vid, as_of):
                    if vid in held:
                        plan.held_skipped += 1
                    else:
                        hot_due[vid] = uses.hot_policy_name(vid)
            self._plan_videos(s, plan, expired)
            self._plan_hot_drops(s, plan, hot_due)
            self._plan_exports(s, plan, as_of)
            self._plan_quotas(s, plan, held, uses.first_use)
        return plan

    def plan_deletion(self, video_ids: list[int], why: str, as_of: dt.datetime | None = None) -> SweepPlan:
        """A plan deleting these videos (every copy and thumbnail) because an operator asked: held
        videos, inputs of stitched videos and footage of open exports are kept all the same."""
        plan = SweepPlan(as_of=as_of or utcnow(), policy_origin=why, requested=True)
        with self.catalog.read() as s:
            plan.videos_total = int(s.scalar(select(func.count(Video.id))) or 0)
            held = held_video_ids(s)
            kept = set(s.scalars(select(VideoInput.input_video_id).where(VideoInput.input_video_id.in_(video_ids))))
            kept |= videos_needed_by_open_exports(s)
            going: dict[int, str] = {}
            for vid in video_ids:
                if vid in held:
                    plan.held_skipped += 1
                elif vid in kept:
                    plan.kept_as_inputs += 1
                else:
                    going[vid] = why
            self._plan_videos(s, plan, going)
        return plan

    def _plan_videos(self, s, plan: SweepPlan, expired: dict[int, str]) -> None:  # type: ignore[no-untyped-def]
        ids = sorted(expired)
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            for vid, backend, key, size in s.execute(select(Replica.video_id, Replica.backend, Replica.key,
                                                            Replica.size_bytes).where(Replica.video_id.in_(chunk))):
                plan.items.append(Deletion(DELETE_VIDEO, backend, key, int(size or 0), expired[vid], "video", vid))
            for vid, kind, backend, key, size in s.execute(select(Derivative.video_id, Derivative.kind, Derivative.backend,
                                                                  Derivative.key, Derivative.size_bytes)
                                                           .where(Derivative.video_id.in_(chunk))):
                plan.items.append(Deletion(DELETE_VIDEO, backend, key, int(size or 0), expired[vid], kind, vid))
        plan.videos_deleted.update(ids)

    def _plan_hot_drops(self, s, plan: SweepPlan, due: dict[int, str]) -> None:  # type: ignore[no-untyped-def]
        ids = sorted(due)
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            elsewhere = set(s.scalars(select(Replica.video_id).where(
                Replica.video_id.in_(chunk), Replica.backend != self.hot_url, Replica.state == c.REPLICA_VERIFIED)))
            for vid, key, size in s.execute(select(Replica.video_id, Replica.key, Replica.size_bytes).where(
                    Replica.video_id.in_(chunk), Replica.backend == self.hot_url)):
                if vid in elsewhere:  # never the last verified copy of an item that has not expired
                    plan.items.append(Deletion(DROP_HOT, self.hot_url, key, int(size or 0), due[vid], "replica", vid))
                    plan.hot_copies_dropped.add(vid)

    def _plan_exports(self, s, plan: SweepPlan, as_of: dt.datetime) -> None:  # type: ignore[no-untyped-def]
        held = held_export_ids(s)
        for export in s.scalars(select(Export).where(Export.expires_at.is_not(None), Export.expires_at <= as_of,
                                                     Export.status != c.ExportStatus.EXPIRED)):
            if export.id in held:
                plan.held_skipped += 1
                continue
            policy = f"export expires_at={export.expires_at.isoformat()}"
            for out in s.scalars(select(ExportOutput).where(ExportOutput.export_id == export.id)):
                plan.items.append(Deletion(EXPIRE_EXPORT, export.backend or "", out.key, int(out.size_bytes or 0), policy,
                                           "export output", export_id=export.id))
            if export.manifest_key:
                plan.items.append(Deletion(EXPIRE_EXPORT, export.backend or "", export.manifest_key, 0, policy, "manifest",
                                           export_id=export.id))
            plan.exports_expired.add(export.id)

    def _plan_quotas(self, s, plan: SweepPlan, held: set[int], age_of: dict[int, dt.datetime]) -> None:  # type: ignore[no-untyped-def]
        planned = {(i.backend, i.key) for i in plan.items}
        for url, quota in self.policy.quotas.items():
            used = int(s.scalar(select(func.coalesce(func.sum(Replica.size_bytes), 0)).where(Replica.backend == url)) or 0)
            used += int(s.scalar(select(func.coalesce(func.sum(Derivative.size_bytes), 0))
                                 .where(Derivative.backend == url)) or 0)
            used += int(s.scalar(select(func.coalesce(func.sum(ExportOutput.size_bytes), 0))
                                 .join(Export, Export.id == ExportOutput.export_id).where(Export.backend == url)) or 0)
            used -= sum(i.size_bytes for i in plan.items if i.backend == url)
            if used <= quota:
                continue
            elsewhere = select(Replica.video_id).where(Replica.backend != url, Replica.state == c.REPLICA_VERIFIED)
            candidates = s.execute(select(Replica.video_id, Replica.key, Replica.size_bytes).where(
                Replica.backend == url, Replica.state == c.REPLICA_VERIFIED, Replica.video_id.in_(elsewhere))).all()
            candidates.sort(key=lambda r: (age_of.get(r[0]) or dt.datetime.max.replace(tzinfo=dt.timezone.utc), r[0]))
            for vid, key, size in candidates:  # the oldest first
                if used <= quota:
                    break
                if vid in held or vid in plan.videos_deleted or (url, key) in planned:
                    continue
                plan.items.append(Deletion(QUOTA_EVICT, url, key, int(size or 0), f"quota {url} {quota} bytes", "replica", vid))
                used -= int(size or 0)
            if used > quota:
                plan.refusals.append(f"{url} stays over its quota ({used} > {quota} bytes): nothing more there is "
                                     "verified elsewhere and unheld (warning only)")

    # -- guardrails --------------------------------------------------------------------------------
    def guard(self, plan: SweepPlan, *, force: bool = False) -> list[str]:
        """Reasons to refuse the sweep (empty: go ahead)."""
        reasons = []
        if plan.videos_total == 0:
            reasons.append("the catalog holds no videos: a sweep against an empty (or the wrong) catalog is refused")
        share = plan.delete_share()
        if share > self.policy.max_delete_share and not force and not plan.requested:
            reasons.append(f"it would delete {len(plan.videos_deleted)} of {plan.videos_total} videos ({share:.0%}), more "
                           f"than max_delete_share {self.policy.max_delete_share:.0%}; check the policy and --as-of, "
                           "or force it")
        for url in sorted({i.backend for i in plan.items}):
            try:
                backend = self.backend(url)
                backend.check()
                next(iter(backend.list(c.VIDEOS_PREFIX + "/")), None)
            except (StorageError, OSError, ValueError) as exc:
                reasons.append(f"{url} cannot be listed ({exc}); nothing is deleted while a backend is unreachable")
        return reasons

    # -- applying ----------------------------------------------------------------------------------
    def apply(self, plan: SweepPlan, *, run_id: str | None = None, force: bool = False) -> SweepReport:
        refusals = self.guard(plan, force=force)
        if refusals:
            raise SweepRefused("; ".join(refusals))
        started = time.perf_counter()
        report = SweepReport()
        video_items = [i for i in plan.items if i.action == DELETE_VIDEO]
        ids = sorted(plan.videos_deleted)
        by_video: dict[int, list[Deletion]] = defaultdict(list)
        for item in video_items:
            by_video[item.video_id].append(item)  # type: ignore[index]
        # 1. Whole videos, a batch at a time. Under the holds lock (a hold lands before a batch or after
        #    it, never in between) and with the batch's rows locked, holds and uses are read again: a
        #    hold or a new use of the same content committed since the plan keeps the video.
        for i in range(0, len(ids), BATCH):
            chunk = ids[i : i + BATCH]
            with self.catalog.lock(CatalogLock.HOLDS):  # to the rows' removal: no hold lands on a half-deleted video
                chunk = self._mark_deleting(chunk, plan, report)
                items = [d for vid in chunk for d in by_video.get(vid, [])]
                done = self._delete_objects(items, report)
                done_set = set(done)
                failed = {d.video_id for d in items if d not in done_set}
                chunk = [vid for vid in chunk if vid not in failed]  # rows stay (deleting) until every object is gone
                with self.catalog.write() as s:
                    for table in (Replica, Derivative, Segment):
                        s.execute(delete(table).where(table.video_id.in_(chunk)))
                    s.execute(delete(VideoInput).where(VideoInput.video_id.in_(chunk)))
                    s.execute(delete(Video).where(Video.id.in_(chunk)))
                    self._audit(s, done, plan, run_id)
            report.videos_deleted += len(chunk)
        # 2. Copies that go because a verified copy exists elsewhere (age on hot storage, quotas).
        for action in (DROP_HOT, QUOTA_EVICT):
            items = [i for i in plan.items if i.action == action]
            for j in range(0, len(items), BATCH):
                part = items[j : j + BATCH]
                with self.catalog.lock(CatalogLock.HOLDS):
                    with self.catalog.read() as s:
                        held = held_video_ids(s)
                    report.held_skipped += sum(1 for d in part if d.video_id in held)
                    part = [d for d in part if d.video_id not in held]
                    done = self._delete_objects(part, report)
                with self.catalog.write() as s:
                    for d in done:
                        s.execute(delete(Replica).where(Replica.video_id == d.video_id, Replica.backend == d.backend))
                    self._audit(s, done, plan, run_id)
                report.hot_copies_dropped += len(done)
        # 3. Expired exports.
        exports = [i for i in plan.items if i.action == EXPIRE_EXPORT]
        with self.catalog.lock(CatalogLock.HOLDS):
            with self.catalog.read() as s:
                held_exports = held_export_ids(s)
            report.held_skipped += len({i.export_id for i in exports if i.export_id in held_exports})
            exports = [i for i in exports if i.export_id not in held_exports]
            done = self._delete_objects(exports, report)
        with self.catalog.write() as s:
            gone = {d.export_id for d in done}
            failed = {i.export_id for i in exports} - gone
            expired = sorted((plan.exports_expired - held_exports) - failed)
            if expired:
                s.execute(delete(ExportOutput).where(ExportOutput.export_id.in_(expired)))
                s.execute(update(Export).where(Export.id.in_(expired)).values(status=c.ExportStatus.EXPIRED))
            self._audit(s, done, plan, run_id)
        report.exports_expired = len(expired)
        report.seconds = time.perf_counter() - started
        return report

    def _mark_deleting(self, video_ids: list[int], plan: SweepPlan, report: SweepReport) -> list[int]:
        """Mark the batch's copies ``deleting`` and return the videos that may go, checked in the same
        transaction, with their rows locked (an ingest recording a duplicate waits for it, then sees
        ``deleting``): no active hold, every use expired, not the input of a stitched video."""
        with self.catalog.write() as s:
            s.execute(select(Replica.id).where(Replica.video_id.in_(video_ids)).with_for_update()).all()
            held = held_video_ids(s)
            kept = set(s.scalars(select(VideoInput.input_video_id).where(VideoInput.input_video_id.in_(video_ids))))
            kept |= videos_needed_by_open_exports(s)
            uses = UseExpiry(self.policy)
            uses.read(s, video_ids)
            going = []
            for vid in video_ids:
                if vid in held:
                    report.held_skipped += 1
                elif vid in kept or (not plan.requested and not uses.expired(vid, plan.as_of)):
                    report.kept_in_use += 1
                else:
                    going.append(vid)
            if going:
                s.execute(update(Replica).where(Replica.video_id.in_(going)).values(state=c.REPLICA_DELETING))
        return going

    def _delete_objects(self, items: Iterable[Deletion], report: SweepReport) -> list[Deletion]:
        """Delete per backend in bulk; returns the deletions that happened (or were already done)."""
        grouped: dict[str, list[Deletion]] = defaultdict(list)
        for item in items:
            grouped[item.backend].append(item)
        done: list[Deletion] = []
        for url, group in grouped.items():
            try:
                self.backend(url).delete_many([d.key for d in group])
            except (StorageError, OSError) as exc:
                report.failures.append(f"{url}: {exc}")
                continue
            done += group
            report.deleted_objects += len(group)
            report.bytes_freed += sum(d.size_bytes for d in group)
        return done

    @staticmethod
    def _audit(s, done: list[Deletion], plan: SweepPlan, run_id: str | None) -> None:  # type: ignore[no-untyped-def]
        if not done:
            return
        now = utcnow()
        s.execute(insert(AuditEvent), [
            {"at": now, "action": f"retention_{d.action}", "video_id": d.video_id, "backend": d.backend, "key": d.key,
             "size_bytes": d.size_bytes, "run_id": run_id,
             "detail": {"policy": d.policy, "what": d.what, "export": d.export_id, "as_of": plan.as_of.isoformat()}}
            for d in done
        ])


class UseExpiry:
    """When each video's content may go: only once every use of it has expired under its own policy.

    The uses are the video's own record (its first source), every landing of the same bytes under
    any source (a duplicate is a catalog link to the same content), and every recording segment
    (by its camera's policy, from its start). Derived files (thumbnails) share their video's fate.
    """

    def __init__(self, policy: RetentionPolicy) -> None:
        self.policy = policy
        self._until: dict[int, dt.datetime | None] = {}  # None: some use keeps it forever
        self._hot_until: dict[int, dt.datetime | None] = {}
        self._name: dict[int, str] = {}
        self._hot_name: dict[int, str] = {}
        self._rules: dict[tuple[str | None, str | None], tuple] = {}  # type: ignore[type-arg]
        self.first_use: dict[int, dt.datetime] = {}

    def read(self, s, video_ids: list[int] | None = None) -> None:  # type: ignore[no-untyped-def]
        """Every use of ``video_ids`` (all videos when None), streamed."""
        def where(column):  # type: ignore[no-untyped-def]
            return [column.in_(video_ids)] if video_ids is not None else []

        for vid, source, ingested_at, camera, start_at in s.execute(
            select(Video.id, Video.source, Video.ingested_at, Segment.camera_id, Segment.start_at)
            .outerjoin(Segment, Segment.video_id == Video.id).where(*where(Video.id))
        ).yield_per(20000):
            self.add(vid, start_at or ingested_at, source, camera)
        # Other landings of the same bytes; a segment's own landing is its segment row (camera policy).
        for vid, source, landed_at in s.execute(
            select(Landing.video_id, Landing.source, Landing.landed_at)
            .where(Landing.video_id.is_not(None), Landing.source != c.SEGMENTS_SOURCE, *where(Landing.video_id))
        ).yield_per(20000):
            if vid in self._until or video_ids is None:
                self.add(vid, landed_at, source, None)

    def _rule(self, source: str | None, camera: str | None) -> tuple:  # type: ignore[type-arg]
        """(keep, keep name, hot keep, hot keep name) for a source and camera, worked out once."""
        rule = self._rules.get((source, camera))
        if rule is None:
            keep, name = self.policy.for_video(source, camera)
            rule = (None if keep.keep_days is None else dt.timedelta(days=keep.keep_days), f"{name}.keep_days={keep.keep_days}",
                    None if keep.keep_hot_days is None else dt.timedelta(days=keep.keep_hot_days),
                    f"{name}.keep_hot_days={keep.keep_hot_days}")
            self._rules[(source, camera)] = rule
        return rule

    def add(self, vid: int, at: dt.datetime, source: str | None, camera: str | None) -> None:
        keep, name, hot_keep, hot_name = self._rule(source, camera)
        first = self.first_use.get(vid)
        if first is None or at < first:
            self.first_use[vid] = at
        _keep_latest(self._until, self._name, vid, None if keep is None else at + keep, name)
        _keep_latest(self._hot_until, self._hot_name, vid, None if hot_keep is None else at + hot_keep, hot_name)

    def videos(self) -> list[int]:
        return list(self._until)

    def expired(self, vid: int, as_of: dt.datetime) -> bool:
        ends = self._until.get(vid)
        return ends is not None and ends <= as_of

    def hot_expired(self, vid: int, as_of: dt.datetime) -> bool:
        ends = self._hot_until.get(vid)
        return ends is not None and ends <= as_of

    def policy_name(self, vid: int) -> str:
        return self._name[vid]

    def hot_policy_name(self, vid: int) -> str:
        return self._hot_name[vid]


def _keep_latest(until: dict[int, dt.datetime | None], names: dict[int, str], vid: int, ends: dt.datetime | None,
                 name: str) -> None:
    """Record ``ends`` for ``vid`` if it is later than what is recorded (None, forever, is latest)."""
    if vid not in until:
        until[vid], names[vid] = ends, name
        return
    current = until[vid]
    if current is not None and (ends is None or ends > current):
        until[vid], names[vid] = ends, name


def videos_needed_by_open_exports(s) -> set[int]:  # type: ignore[no-untyped-def]
    """Segments an export still being cut (PENDING or PROCESSING) covers: they stay until it is done."""
    needed: set[int] = set()
    for cameras, start, end in s.execute(select(Export.cameras, Export.start_at, Export.end_at)
                                         .where(Export.status.in_(OPEN_EXPORT_STATES))):
        needed.update(s.scalars(select(Segment.video_id).where(
            Segment.camera_id.in_(list(cameras or [])), Segment.start_at < end, Segment.end_at > start)))
    return needed
