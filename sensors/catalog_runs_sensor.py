"""Report ingest runs made outside Dagster (``videolake ingest`` runs the lineage in its own
process, ``videolake import --wait`` its fetch runs, the API its uploads' ingest) as
materializations of the lineage's assets, and of url_imports for fetch runs, so that the asset
graph, its day partitions and the catalog-quality sensor see them.

Per tick: the runs the catalog recorded since the cursor (one page, oldest first), folded into one
materialization per asset and landing day — never one per file, nor one per run. The cursor is the
last run reported; a tick that fails reports nothing, and the next reports the same runs.
"""

from collections import defaultdict

import dagster as dg

from pipelines import names
from pipelines.partitions import missing_days
from resources import CatalogResource

RUNS_PER_TICK = 500
RUN_IDS_SHOWN = 50
COUNTS = ("files", "ingested", "duplicates", "quarantined", "skipped", "failed", "bytes_ingested")
IMPORT_COUNTS = {"taken": "imports_taken", "done": "imports_done", "failed": "imports_failed",
                 "expired": "imports_expired", "pending": "imports_pending"}  # url_imports' figures: a fetch run's


@dg.sensor(
    name=names.SENSOR_CATALOG_RUNS,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reports ingest runs made outside Dagster (videolake ingest, import --wait, API uploads) as "
                "materializations of ingested_videos, video_probes and video_thumbnails (and url_imports for "
                "fetch runs), one per landing day.",
)
def catalog_runs_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult | dg.SkipReason:
    after = int(context.cursor) if context.cursor else 0
    runs = catalog.catalog().ingest_runs_after(after, RUNS_PER_TICK)
    if not runs:
        return dg.SkipReason("no ingest run outside Dagster since the last report")
    by_day = defaultdict(list)
    for run in runs:
        by_day[run.day].append(run)
    events: list[dg.AssetMaterialization] = []
    for day, day_runs in sorted(by_day.items()):
        fetches = [r for r in day_runs if IMPORT_COUNTS["taken"] in r.summary]
        if fetches:
            events.append(_url_imports(day, fetches))
        # A fetch run that ingested nothing (every link failed or expired) changed none of the lineage.
        day_runs = [r for r in day_runs if IMPORT_COUNTS["taken"] not in r.summary or r.summary.get("files")]
        if not day_runs:
            continue
        summaries = [r.summary for r in day_runs]
        common = {
            "runs": dg.MetadataValue.int(len(day_runs)),
            "run_ids": dg.MetadataValue.json([r.run_id for r in day_runs][:RUN_IDS_SHOWN]),
            "triggers": dg.MetadataValue.json(sorted({r.trigger for r in day_runs})),
            "failed_runs": dg.MetadataValue.int(sum(not r.success for r in day_runs)),
            "finished_at": dg.MetadataValue.text(max(r.finished_at for r in day_runs).isoformat()),
        }
        totals = {k: dg.MetadataValue.int(sum(int(s.get(k, 0)) for s in summaries)) for k in COUNTS}
        described = f"{len(day_runs)} ingest runs outside Dagster ({', '.join(sorted({r.trigger for r in day_runs}))})"
        events.append(dg.AssetMaterialization(names.ASSET_INGESTED_VIDEOS, partition=day, description=described,
                                              metadata={**common, **totals}))
        events.append(dg.AssetMaterialization(names.ASSET_VIDEO_PROBES, partition=day, description=described,
                                              metadata={**common, "probed_now": dg.MetadataValue.int(
                                                  sum(int(s.get("ingested", 0)) + int(s.get("probed", 0)) for s in summaries))}))
        events.append(dg.AssetMaterialization(names.ASSET_VIDEO_THUMBNAILS, partition=day, description=described,
                                              metadata={**common, "videos_thumbnailed": dg.MetadataValue.int(
                                                  sum(int(s.get("thumbnailed", 0)) for s in summaries))}))
    new_days = missing_days(context.instance, by_day)
    context.log.info(f"reporting {len(runs)} ingest runs outside Dagster over {len(by_day)} days")
    return dg.SensorResult(
        asset_events=events,
        cursor=str(runs[-1].id),
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(names.PARTITIONS_LANDING_DAYS, new_days)] if new_days else None,
    )


def _url_imports(day: str, runs: list) -> dg.AssetMaterialization:
    """The day's fetch runs made outside Dagster, as one materialization of url_imports."""
    return dg.AssetMaterialization(
        names.ASSET_URL_IMPORTS, partition=day,
        description=f"{len(runs)} fetch runs outside Dagster ({', '.join(sorted({r.trigger for r in runs}))})",
        metadata={"runs": dg.MetadataValue.int(len(runs)),
                  "run_ids": dg.MetadataValue.json([r.run_id for r in runs][:RUN_IDS_SHOWN]),
                  "failed_runs": dg.MetadataValue.int(sum(not r.success for r in runs)),
                  **{figure: dg.MetadataValue.int(sum(int(r.summary.get(key, 0)) for r in runs))
                     for figure, key in IMPORT_COUNTS.items()}})
