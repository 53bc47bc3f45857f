"""Plan and apply retention: the same use case for the daily schedule, ``videolake retention`` and the API.

Steps (the sweep's own: plan → guard → apply), and around them:
1. Plan from the catalog as of a moment.
2. Guard: the guardrails (delete share, backends listed) may refuse; a plan that would be refused
   is still a plan, an apply is refused and deletes nothing.
3. Record the plan, every item, under the run id (before anything is deleted).
4. Apply, when asked; record what was done.
The outcome of any run is read back by run id (``retention_outcome``), complete for any plan size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from videolake.catalog.models import RetentionRun
from videolake.catalog.repository import Catalog
from videolake.retention.policy import RetentionPolicy
from videolake.retention.sweep import RetentionSweep, SweepPlan, SweepRefused
from videolake.usecases.errors import NotFound
from videolake.usecases.results import Result


@dataclass(frozen=True)
class RetentionRequest:
    as_of: dt.datetime
    apply: bool = False
    force: bool = False  # past the max_delete_share guardrail


@dataclass(frozen=True)
class RetentionOutcome(Result):
    run_id: str
    mode: str  # "plan" or "apply"
    summary: dict[str, Any]
    items: list[dict[str, Any]]
    refused: list[str] = field(default_factory=list)  # guardrails that refuse applying this plan
    applied: dict[str, Any] | None = None  # deleted_objects, bytes_deleted, videos_deleted, failures, seconds

    @property
    def refused_to_apply(self) -> bool:
        return self.mode == "apply" and bool(self.refused)

    @property
    def failures(self) -> list[str]:
        return list((self.applied or {}).get("failures") or [])

    def to_dict(self) -> dict[str, Any]:
        """The figures at the top level (``videos_to_delete``, ``bytes_freed`` …), then the items."""
        out: dict[str, Any] = {"run_id": self.run_id, "mode": self.mode, **self.summary, "items": self.items}
        if self.applied is not None:
            out.update(self.applied)
        if self.refused:
            out["refused"] = self.refused
        return out


def plan_summary(plan: SweepPlan) -> dict[str, Any]:
    return {
        "as_of": plan.as_of.isoformat(),
        "policy_file": plan.policy_origin,
        "videos_in_catalog": plan.videos_total,
        "videos_to_delete": len(plan.videos_deleted),
        "delete_share": round(plan.delete_share(), 4),
        "hot_copies_to_drop": len(plan.hot_copies_dropped),
        "exports_to_expire": len(plan.exports_expired),
        "objects": len(plan.items),
        "bytes_freed": plan.bytes,
        "held_skipped": plan.held_skipped,
        "kept_as_stitch_inputs": plan.kept_as_inputs,
        "by_backend": {url: {"objects": n, "bytes": b} for url, (n, b) in plan.by_backend().items()},
        "warnings": plan.refusals,
    }


def _item(i: Any) -> dict[str, Any]:
    return {"action": i.action, "video_id": i.video_id, "export_id": i.export_id, "what": i.what,
            "backend": i.backend, "key": i.key, "size_bytes": i.size_bytes, "policy": i.policy}


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    """An item as results show it (``bytes``, the name the plan has always used)."""
    return {k if k != "size_bytes" else "bytes": v for k, v in item.items() if k not in ("id", "run_id")}


def run_retention(catalog: Catalog, policy: RetentionPolicy, hot_url: str, request: RetentionRequest, *,
                  run_id: str, sweep: RetentionSweep | None = None) -> RetentionOutcome:
    """Plan (and with ``request.apply``, apply) retention as of ``request.as_of``.

    Raises nothing for a refusal: the outcome says it (``refused_to_apply``), the plan is recorded.
    """
    sweep = sweep or RetentionSweep(catalog, policy, hot_url)
    # 1. Plan.
    plan = sweep.plan(request.as_of)
    summary = plan_summary(plan)
    # 2. Guard.
    refused = sweep.guard(plan, force=request.force)
    # 3. Record the plan.
    items = [_item(i) for i in plan.items]
    catalog.record_retention_run(RetentionRun(run_id=run_id, applied=request.apply, summary=summary, refused=refused),
                                 items)
    outcome = RetentionOutcome(run_id, "apply" if request.apply else "plan", summary, [_shown(i) for i in items],
                               refused)
    if not request.apply or refused:
        return outcome
    # 4. Apply.
    try:
        report = sweep.apply(plan, run_id=run_id, force=request.force)
    except SweepRefused as exc:  # a guardrail that tripped between the plan and the apply
        refused = [str(exc)]
        return RetentionOutcome(run_id, "apply", summary, outcome.items, refused)
    applied = {"deleted_objects": report.deleted_objects, "bytes_deleted": report.bytes_freed,
               "videos_deleted": report.videos_deleted, "failures": report.failures,
               "seconds": round(report.seconds, 3)}
    catalog.finish_retention_run(run_id, applied)
    return RetentionOutcome(run_id, "apply", summary, outcome.items, refused, applied)


def retention_outcome(catalog: Catalog, run_id: str) -> RetentionOutcome:
    """What retention run ``run_id`` planned and did, from the catalog."""
    found = catalog.retention_run(run_id)
    if found is None:
        raise NotFound(f"no retention run {run_id!r} in the catalog")
    run, items = found
    return RetentionOutcome(run.run_id, "apply" if run.applied else "plan", dict(run.summary),
                            [_shown({c: getattr(i, c) for c in ("action", "video_id", "export_id", "what", "backend",
                                                                 "key", "size_bytes", "policy")}) for i in items],
                            list(run.refused or []), run.report)


def delete_videos(catalog: Catalog, video_ids: list[int], *, hot_url: str, why: str, run_id: str,
                  policy: RetentionPolicy | None = None, sweep: RetentionSweep | None = None) -> RetentionOutcome:
    """Delete named videos (every copy, every thumbnail) through the retention sweep's guard and
    apply, recorded and audited under ``run_id`` like any retention run.

    Refused (nothing deleted): a video under a legal hold (WrongState), one that a stitched video or
    an open export still needs (WrongState), a backend that cannot be reached (Unavailable).
    """
    from videolake.retention.holds import held_video_ids
    from videolake.usecases.errors import Unavailable, WrongState

    missing = [vid for vid in video_ids if catalog.get_video(vid) is None]
    if missing:
        raise NotFound(f"no video {missing[0]} in the catalog")
    sweep = sweep or RetentionSweep(catalog, policy or RetentionPolicy(), hot_url)
    plan = sweep.plan_deletion(video_ids, why)
    if plan.held_skipped or plan.kept_as_inputs:
        with catalog.read() as s:
            held = sorted(set(video_ids) & held_video_ids(s))
        reason = (f"video {held[0]} is under a legal hold (`videolake hold list`)" if held else
                  "a stitched video or an open export still needs it")
        raise WrongState(f"{reason}; nothing was deleted")
    refused = sweep.guard(plan)
    if refused:
        raise Unavailable(f"nothing was deleted: {'; '.join(refused)}")
    summary = plan_summary(plan)
    items = [_item(i) for i in plan.items]
    catalog.record_retention_run(RetentionRun(run_id=run_id, applied=True, summary=summary, refused=[]), items)
    report = sweep.apply(plan, run_id=run_id)
    applied = {"deleted_objects": report.deleted_objects, "bytes_deleted": report.bytes_freed,
               "videos_deleted": report.videos_deleted, "failures": report.failures,
               "seconds": round(report.seconds, 3)}
    catalog.finish_retention_run(run_id, applied)
    if report.held_skipped:  # a hold that landed between the plan and the apply
        raise WrongState(f"a legal hold was added meanwhile; {report.videos_deleted} of {len(video_ids)} deleted")
    return RetentionOutcome(run_id, "apply", summary, [_shown(i) for i in items], [], applied)
