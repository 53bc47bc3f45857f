"""The retention sweep as an asset: a dry run shows the plan; applying deletes what the policies say."""

import datetime as dt

import dagster as dg

from assets.readable import with_readable
from pipelines import names
from resources import CatalogResource, RetentionPolicyResource, StorageResource
from videolake.display import human_bytes
from videolake.inputs import parse_instant
from videolake.retention.policy import PolicyError
from videolake.usecases.retention import RetentionOutcome, RetentionRequest, run_retention

PLAN_ROWS_SHOWN = 200


class RetentionConfig(dg.Config):
    apply: bool = False  # False: a dry run that only shows the plan
    as_of: str | None = None  # ISO 8601; "what goes by then" (default: now)
    force: bool = False  # past the max_delete_share guardrail


def plan_markdown(outcome: RetentionOutcome) -> str:
    if not outcome.items:
        return "nothing to delete"
    rows = ["| action | video / export | what | backend | key | bytes | policy |", "|---|---|---|---|---|---:|---|"]
    for i in outcome.items[:PLAN_ROWS_SHOWN]:
        rows.append(f"| {i['action']} | {i['video_id'] or i['export_id']} | {i['what']} | {i['backend']} | {i['key']} "
                    f"| {i['bytes']} | {i['policy']} |")
    if len(outcome.items) > PLAN_ROWS_SHOWN:
        rows.append(f"| … | {len(outcome.items) - PLAN_ROWS_SHOWN} more (`videolake retention` prints them all) "
                    "| | | | | |")
    return "\n".join(rows)


@dg.asset(
    name=names.ASSET_RETENTION_SWEEP,
    group_name=names.GROUP_RETENTION,
    deps=[names.ASSET_INGESTED_VIDEOS, names.ASSET_ARCHIVED_VIDEOS, names.ASSET_VIDEO_EXPORTS],
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
        as_of = parse_instant(config.as_of) if config.as_of else dt.datetime.now(dt.timezone.utc)
    except ValueError as exc:
        raise dg.Failure(description=f"as_of: {exc}; nothing deleted") from exc
    request = RetentionRequest(as_of=as_of, apply=config.apply, force=config.force)
    try:
        outcome = run_retention(catalog.catalog(), policy, hot_storage.backend().url, request, run_id=context.run_id)
    except Exception as exc:  # noqa: BLE001 - an unreachable catalog must fail loudly, not delete
        raise dg.Failure(description=f"the catalog could not be read, nothing deleted: {exc}") from exc
    summary = outcome.summary
    metadata = {
        "mode": dg.MetadataValue.text("apply" if config.apply else "dry run"),
        "as_of": dg.MetadataValue.text(summary["as_of"]),
        "videos_to_delete": dg.MetadataValue.int(summary["videos_to_delete"]),
        "hot_copies_to_drop": dg.MetadataValue.int(summary["hot_copies_to_drop"]),
        "exports_to_expire": dg.MetadataValue.int(summary["exports_to_expire"]),
        "bytes_freed": dg.MetadataValue.int(summary["bytes_freed"]),
        "freed": dg.MetadataValue.text(human_bytes(summary["bytes_freed"])),
        "delete_share": dg.MetadataValue.float(summary["delete_share"]),
        "held_skipped": dg.MetadataValue.int(summary["held_skipped"]),
        "plan": dg.MetadataValue.md(plan_markdown(outcome)),
        "summary": dg.MetadataValue.json(summary),
    }
    if outcome.refused:
        metadata["refused"] = dg.MetadataValue.json(outcome.refused)
        if outcome.refused_to_apply:
            raise dg.Failure(description="retention sweep refused, nothing deleted: " + "; ".join(outcome.refused),
                             metadata=with_readable(metadata))
        # A dry run is a plan: it succeeds, and says that applying it would be refused, and why.
        context.log.info("applying this plan would be refused: " + "; ".join(outcome.refused))
    if outcome.applied is not None:
        applied = outcome.applied
        metadata.update({
            "deleted_objects": dg.MetadataValue.int(applied["deleted_objects"]),
            "bytes_deleted": dg.MetadataValue.int(applied["bytes_deleted"]),
            "videos_deleted": dg.MetadataValue.int(applied["videos_deleted"]),
            "failures": dg.MetadataValue.json(applied["failures"][:100]),
            "seconds": dg.MetadataValue.float(applied["seconds"]),
        })
        if outcome.failures:
            raise dg.Failure(description="some objects could not be deleted (their rows are kept; the next sweep "
                             "retries): " + "; ".join(outcome.failures[:5]), metadata=with_readable(metadata))
    return dg.MaterializeResult(metadata=with_readable(metadata))
