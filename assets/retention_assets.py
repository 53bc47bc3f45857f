"""The retention sweep as an asset: a dry run shows the plan; applying deletes what the policies say."""

import datetime as dt

import dagster as dg

from assets.readable import with_readable

from resources import CatalogResource, RetentionPolicyResource, StorageResource
from videolake import constants as c
from videolake.display import human_bytes
from videolake.retention.policy import PolicyError
from videolake.retention.sweep import RetentionSweep, SweepPlan, SweepRefused

PLAN_ROWS_SHOWN = 200


class RetentionConfig(dg.Config):
    apply: bool = False  # False: a dry run that only shows the plan
    as_of: str | None = None  # ISO 8601; "what goes by then" (default: now)
    force: bool = False  # past the max_delete_share guardrail


def _as_of(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.timezone.utc)
    parsed = dt.datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def plan_markdown(plan: SweepPlan) -> str:
    if not plan.items:
        return "nothing to delete"
    rows = ["| action | video / export | what | backend | key | bytes | policy |", "|---|---|---|---|---|---:|---|"]
    for i in plan.items[:PLAN_ROWS_SHOWN]:
        rows.append(f"| {i.action} | {i.video_id or i.export_id} | {i.what} | {i.backend} | {i.key} | {i.size_bytes} "
                    f"| {i.policy} |")
    if len(plan.items) > PLAN_ROWS_SHOWN:
        rows.append(f"| … | {len(plan.items) - PLAN_ROWS_SHOWN} more | | | | | |")
    return "\n".join(rows)


def plan_summary(plan: SweepPlan) -> dict:
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
        "items": [{"action": i.action, "video_id": i.video_id, "export_id": i.export_id, "what": i.what,
                   "backend": i.backend, "key": i.key, "bytes": i.size_bytes, "policy": i.policy}
                  for i in plan.items[:1000]],
    }


@dg.asset(
    name=c.ASSET_RETENTION_SWEEP,
    group_name=c.GROUP_RETENTION,
    deps=[c.ASSET_INGESTED_VIDEOS, c.ASSET_ARCHIVED_VIDEOS, c.ASSET_VIDEO_EXPORTS],
    kinds={"python", "sql"},
    description=(
        "Deletes what the retention policies say (keep_days, keep_hot_days, export expiry, quotas), never held "
        "footage nor the last verified copy of what has not expired. Dry run by default: the plan as a table."
    ),
)
def retention_sweep(context: dg.AssetExecutionContext, config: RetentionConfig, catalog: CatalogResource,
                    hot_storage: StorageResource, retention: RetentionPolicyResource) -> dg.MaterializeResult:
    try:
        policy = retention.policy()
    except PolicyError as exc:
        raise dg.Failure(description=f"retention policy rejected, nothing deleted: {exc}") from exc
    try:
        sweep = RetentionSweep(catalog.catalog(), policy, hot_storage.backend().url)
        plan = sweep.plan(_as_of(config.as_of))
    except Exception as exc:  # noqa: BLE001 - an unreachable catalog must fail loudly, not delete
        raise dg.Failure(description=f"the catalog could not be read, nothing deleted: {exc}") from exc
    summary = plan_summary(plan)
    metadata = {
        "mode": dg.MetadataValue.text("apply" if config.apply else "dry run"),
        "as_of": dg.MetadataValue.text(summary["as_of"]),
        "videos_to_delete": dg.MetadataValue.int(summary["videos_to_delete"]),
        "hot_copies_to_drop": dg.MetadataValue.int(summary["hot_copies_to_drop"]),
        "exports_to_expire": dg.MetadataValue.int(summary["exports_to_expire"]),
        "bytes_freed": dg.MetadataValue.int(plan.bytes),
        "freed": dg.MetadataValue.text(human_bytes(plan.bytes)),
        "delete_share": dg.MetadataValue.float(summary["delete_share"]),
        "held_skipped": dg.MetadataValue.int(plan.held_skipped),
        "plan": dg.MetadataValue.md(plan_markdown(plan)),
        "summary": dg.MetadataValue.json({k: v for k, v in summary.items() if k != "items"}),
        "plan_items": dg.MetadataValue.json(summary["items"]),
    }
    refusals = sweep.guard(plan, force=config.force)
    if refusals:
        metadata["refused"] = dg.MetadataValue.json(refusals)
        if config.apply:
            raise dg.Failure(description="retention sweep refused, nothing deleted: " + "; ".join(refusals),
                             metadata=with_readable(metadata))
        # A dry run is a plan: it succeeds, and says that applying it would be refused, and why.
        context.log.info("applying this plan would be refused: " + "; ".join(refusals))
        return dg.MaterializeResult(metadata=with_readable(metadata))
    if config.apply:
        try:
            report = sweep.apply(plan, run_id=context.run_id, force=config.force)
        except SweepRefused as exc:
            raise dg.Failure(description=f"retention sweep refused, nothing deleted: {exc}", metadata=with_readable(metadata)) from exc
        metadata.update({
            "deleted_objects": dg.MetadataValue.int(report.deleted_objects),
            "bytes_deleted": dg.MetadataValue.int(report.bytes_freed),
            "videos_deleted": dg.MetadataValue.int(report.videos_deleted),
            "failures": dg.MetadataValue.json(report.failures),
            "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
        })
        if report.failures:
            raise dg.Failure(description="some objects could not be deleted (their rows are kept; the next sweep "
                             "retries): " + "; ".join(report.failures[:5]), metadata=with_readable(metadata))
    return dg.MaterializeResult(metadata=with_readable(metadata))
