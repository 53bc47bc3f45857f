"""Watch the landing zone: record what is there, claim stable files in batches, launch a run per batch.

Per-file state (size, mtime, claims) lives in the catalog; the cursor only counts ticks, so a file
counts as stable once an earlier tick saw it with the same size and mtime, or when it has not
been modified for ``stable_after_seconds``.
"""


import json
import time

import dagster as dg

from pipelines.jobs import ingest_job
from resources import CatalogResource, IngestSettingsResource, LandingZoneResource, StorageResource
from resources.engine_builder import build_ingest_engine
from videolake import constants as c
from videolake.catalog.models import utcnow
from videolake.storage import StorageError


def ingest_run_config(batch_id: str) -> dict:
    return {"ops": {c.OP_INGEST_LINEAGE: {"config": {"batch_id": batch_id}}}}


@dg.sensor(
    name=c.SENSOR_LANDING,
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Claims stable files in the landing zone in batches and launches one ingest run per batch.",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext,
    catalog: CatalogResource,
    hot_storage: StorageResource,
    quarantine_storage: StorageResource,
    landing: LandingZoneResource,
    ingest_settings: IngestSettingsResource,
) -> dg.SensorResult | dg.SkipReason:
    state = json.loads(context.cursor) if context.cursor else {}
    tick = int(state.get("tick", 0)) + 1
    started = time.perf_counter()
    engine = build_ingest_engine(catalog, hot_storage, quarantine_storage, landing, ingest_settings)
    try:
        summary, batches, listing = engine.observe_and_claim(tick)
    except StorageError as exc:
        return dg.SkipReason(f"landing zone {landing.url} cannot be listed: {exc}")
    day = utcnow().date().isoformat()
    cursor = json.dumps(
        {
            "tick": tick,
            "listed": summary.listed,
            "in_progress": listing.in_progress,
            "orphan_sidecars": listing.orphan_sidecars,
            "seconds": round(time.perf_counter() - started, 3),
        }
    )
    if not batches:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"{summary.listed} files listed ({summary.new} new, {summary.changed} changed, "
                f"{listing.in_progress} uploads in progress): nothing stable to claim yet"
            ),
            cursor=cursor,
        )
    context.log.info(
        f"claimed {sum(b.files for b in batches)} files in {len(batches)} batches "
        f"({summary.listed} listed, {summary.new} new) in {time.perf_counter() - started:.2f}s"
    )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"ingest-{b.batch_id}",
                partition_key=day,
                run_config=ingest_run_config(b.batch_id),
                tags={c.TAG_BATCH: b.batch_id, c.TAG_TRIGGER: "landing_sensor", "videolake/files": str(b.files)},
            )
            for b in batches
        ],
        cursor=cursor,
    )
