"""``videolake ingest``: the ingest lineage over named paths, or over every landing zone, in this process."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.common import backend, environment, print_json, require_ingest_target
from videolake import constants as c
from videolake.constants import Env, ExitCode
from videolake.usecases.errors import InvalidInput


def register(sub: Any) -> None:
    p = sub.add_parser("ingest", help="ingest files now (without paths: every landing zone), in this process")
    p.add_argument("paths", nargs="*", help="files or folders; outside the landing zone they are copied, never moved")
    p.add_argument("--source", help="source name recorded for these files")
    p.add_argument("--reclaim", action="store_true",
                   help="also take files other runs hold claimed (a run that stopped on another machine)")
    p.add_argument("--json", action="store_true",
                   help="print the outcome as one JSON object instead of the summary: the counts (files, ingested, "
                        "duplicates, quarantined, skipped, failed), problems (each file not ingested, with why; all "
                        "of them), waiting_for_stability, held_by_other_runs, and the runs with their ids")
    p.add_argument("--verbose", action="store_true", help="show the run's log")
    p.set_defaults(fn=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    """The ingest lineage run in this process through the application layer (no Dagster run: its
    start-up cost a third of a 300-clip ingest); the catalog records each run, and the catalog-runs
    sensor reports it to Dagster as materializations of the lineage's assets."""
    import uuid

    from pipelines.cli.common import catalog
    from videolake.ingest.configured import ConfiguredIngest
    from videolake.ingest.parallel import prewarm
    from videolake.usecases.ingest import IngestRequest, ingest_result, run_ingest_lineage

    env = environment()
    missing = [p for p in args.paths if not Path(p).expanduser().exists()]
    if missing:
        raise InvalidInput("no such file or folder: " + ", ".join(missing))
    require_ingest_target(env)
    # The worker processes start, and load the media stack, on the other cores while this one opens
    # the catalog and lists the landing zone (the run then finds them ready: the same count, so the same pool).
    prewarm(int(env.get(Env.WORKERS) or 0) or None)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    if args.paths:
        plan = [IngestRequest(paths=tuple(str(Path(p).expanduser().resolve()) for p in args.paths),
                              source=args.source)]
        days = [today]
    else:
        # Every landing zone: the uploads (today's partition), then segments per recording day.
        segment_days = _segment_days(env, today)
        plan = [IngestRequest(source=args.source, reclaim=args.reclaim)]
        plan += [IngestRequest(zone=c.ZONE_SEGMENTS, reclaim=args.reclaim) for _ in segment_days]
        days = [today, *segment_days]
    wired = ConfiguredIngest(env, catalog())
    storages = wired.storages()
    landing = {c.ZONE_UPLOADS: backend(env[Env.LANDING]).url, c.ZONE_SEGMENTS: backend(env[Env.SEGMENTS_LANDING]).url}
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda _: None)
    runs = [run_ingest_lineage(request, dt.date.fromisoformat(day), run_id=str(uuid.uuid4()), trigger=c.RunTrigger.CLI,
                               landing=landing[request.zone], storages=storages,
                               engine_for=wired.engine_for(request.zone), log=log)
            for request, day in zip(plan, days)]
    outcome = ingest_result(wired.catalog, runs, requeue_after_seconds=c.DEFAULT_REQUEUE_AFTER_SECONDS)
    if args.json:
        print_json(outcome.to_dict())
    else:
        _print_outcome(outcome, env)
    if not outcome.success:
        return ExitCode.FAILED
    return ExitCode.PARTIAL if outcome.problems else ExitCode.OK


def _print_outcome(outcome: Any, env: dict[str, str]) -> None:
    counts = ("files", "ingested", "duplicates", "quarantined", "skipped", "failed")
    print(", ".join(f"{getattr(outcome, k)} {k}" for k in counts) + f"  ({len(outcome.runs)} runs: "
          + ", ".join(f"{r.zone} {r.day} {r.run_id[:8]}" for r in outcome.runs) + ")")
    for p in outcome.problems:
        print(f"  {p.outcome}: {p.file}: {p.detail}")
    if outcome.waiting_for_stability:
        age_rule = env[Env.STABLE_AFTER_SECONDS]
        print(f"  {outcome.waiting_for_stability} files in the landing zones are still being written (open for "
              f"writing, or changed within the last {env[Env.SETTLE_SECONDS]} s"
              + (f", or modified less than {age_rule} s ago" if age_rule != "0" else "")
              + "); the sensors (or a later `videolake ingest`) take them once complete")
    for h in outcome.held_by_other_runs:
        print(f"  {h.files} files are held by {h.claimant} since {h.since.isoformat()} (a run still going, or on "
              f"another machine); they are taken again at {h.retried_at.isoformat()}, or now with "
              "`videolake ingest --reclaim`")
    for error in outcome.errors:
        print(f"ingest failed: {error}", file=sys.stderr)


def _segment_days(env: dict[str, str], today: str) -> list[str]:
    """Recording days present in the segments landing zone (plus today for names with no time)."""
    from pipelines.cli.common import catalog
    from videolake.ingest.engine import IngestEngine
    from videolake.ingest.landing import list_landing
    from videolake.segments.naming import SegmentTemplate
    from videolake.storage import StorageError, open_backend

    try:
        zone = open_backend(env[Env.SEGMENTS_LANDING])
        listing = list_landing(zone)
    except StorageError as exc:
        print(f"videolake: segments landing zone skipped: {exc}", file=sys.stderr)
        return []
    if not listing.videos:
        return []
    engine = IngestEngine(catalog(), zone, zone, zone, segment_template=SegmentTemplate(env[Env.SEGMENT_TEMPLATE]))
    return sorted({engine.recording_day(v.key) or today for v in listing.videos})
