"""The tick both landing-zone sensors share: observe the zone, claim stable files, request runs."""

import json
import time

import dagster as dg

from pipelines import names
from pipelines.partitions import landing_days, missing_days
from videolake import constants as c
from videolake.catalog.models import utcnow
from videolake.ingest.watcher import LandingWatcher
from videolake.usecases.errors import Unavailable
from videolake.usecases.landing import observe_and_claim


def ingest_run_config(batch_id: str, zone: str = c.ZONE_UPLOADS) -> dict:
    return {"ops": {names.OP_INGEST_LINEAGE: {"config": {"batch_id": batch_id, "zone": zone}}}}


def claim_and_request(
    context: dg.SensorEvaluationContext, watcher: LandingWatcher, zone: str, sensor_name: str
) -> dg.SensorResult | dg.SkipReason:
    """One tick. Per-file state lives in the catalog; the cursor only counts ticks. Runs are tagged
    with the sensor that launched them (``videolake/trigger``)."""
    state = json.loads(context.cursor) if context.cursor else {}
    tick = int(state.get("tick", 0)) + 1
    started = time.perf_counter()
    try:
        landed = observe_and_claim(watcher, tick)
    except Unavailable as exc:
        return dg.SkipReason(f"{zone}: {exc}")
    batches = landed.batches
    if landed.url_lists is not None:
        taken = landed.url_lists
        if taken.lists:
            context.log.info(f"{taken.lists} URL lists queued as {taken.queued} imports (the import sensor fetches them)")
        for why in taken.problems:
            context.log.warning(f"URL list {why}")
    today = utcnow().date().isoformat()
    cursor = json.dumps(
        {
            "tick": tick,
            "listed": landed.listed,
            "in_progress": landed.in_progress,
            "orphan_sidecars": landed.orphan_sidecars,
            "seconds": round(time.perf_counter() - started, 3),
            "days_synced": True,
        }
    )
    # The days the catalog already holds become partitions at the sensor's first tick (an instance
    # made before, or a catalog moved in), so their runs and status show in the UI.
    synced_days = [] if state.get("days_synced") else [d.isoformat() for d in watcher.catalog.landing_days()]
    if not batches:
        new_days = missing_days(context.instance, synced_days)
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"{landed.listed} files listed ({landed.new} new, {landed.changed} changed, "
                f"{landed.in_progress} uploads in progress): nothing stable to claim yet"
            ),
            dynamic_partitions_requests=[landing_days.build_add_request(new_days)] if new_days else None,
            cursor=cursor,
        )
    context.log.info(
        f"claimed {landed.files_claimed} files in {len(batches)} batches "
        f"({landed.listed} listed, {landed.new} new) in {time.perf_counter() - started:.2f}s"
    )
    requests = [
        dg.RunRequest(
            run_key=f"ingest-{b.batch_id}",
            # Uploads: the landing day. Segments: their recording day (unparseable names: today,
            # where the run quarantines them).
            partition_key=b.group or today,
            run_config=ingest_run_config(b.batch_id, zone),
            tags={names.TAG_BATCH: b.batch_id, names.TAG_TRIGGER: sensor_name, names.TAG_ZONE: zone,
                  "videolake/files": str(b.files)},
        )
        for b in batches
    ]
    # Each run's day becomes a partition before the run is launched.
    new_days = missing_days(context.instance, [r.partition_key for r in requests] + synced_days)
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[landing_days.build_add_request(new_days)] if new_days else None,
        cursor=cursor,
    )
