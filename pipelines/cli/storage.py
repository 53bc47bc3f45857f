"""Whole storages: ``adopt`` (register what is there), ``migrate`` (copy or move, verified), ``scrub``."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from pipelines.cli.common import backend, catalog, environment, existing_catalog, parsed, print_json, whole_number
from videolake.constants import Env, ExitCode
from videolake.display import human_bytes, shorten
from videolake.inputs import parse_day
from videolake.usecases.errors import InvalidInput


def register(sub: Any) -> None:
    p = sub.add_parser("adopt", help="register the videos already in a backend (a legacy folder or bucket) without copying")
    p.add_argument("url", help="file:///path or s3://bucket/prefix")
    p.add_argument("--source", default="adopted", help="source name recorded for these videos")
    p.add_argument("--prefix", default="", help="only keys under this prefix")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_adopt)

    p = sub.add_parser("migrate", help="copy (or move) the videos on one storage to another, verified, with a progress bar")
    p.add_argument("--from", dest="source_url", required=True, metavar="URL", help="file:///…, s3://…, gs://…, az://…")
    p.add_argument("--to", dest="target_url", required=True, metavar="URL")
    p.add_argument("--since", metavar="DAY", help="first landing day (YYYY-MM-DD), inclusive")
    p.add_argument("--until", metavar="DAY", help="last landing day, inclusive")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--move", dest="mode", action="store_const", const="move",
                      help="delete each source copy once its copy on --to is verified")
    mode.add_argument("--copy", dest="mode", action="store_const", const="copy", help="keep both (default: $VIDEOLAKE_MIGRATION)")
    p.add_argument("--transfers", type=whole_number(1), default=8, help="videos copied in parallel")
    p.add_argument("--batch", type=whole_number(1), default=50, help="verified copies recorded per catalog transaction")
    p.add_argument("--dry-run", action="store_true", help="only say what would be copied")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_migrate)

    p = sub.add_parser("scrub", help="run the integrity checks now: storage against the catalog, a sample re-hashed")
    p.add_argument("--storage", choices=["hot", "archive", "all"], default="all")
    p.add_argument("--sample", type=whole_number(0), default=20, help="objects re-read in full and re-hashed per storage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_scrub)


def cmd_adopt(args: argparse.Namespace) -> int:
    from videolake.usecases.storage import adopt_storage

    environment()
    storage = backend(args.url)

    def progress(n: int, key: str) -> None:
        if not args.json and n % 100 == 0:
            print(f"  {n} objects looked at ({key})", file=sys.stderr, flush=True)

    result = adopt_storage(catalog(), storage, source=args.source, prefix=args.prefix, progress=progress)
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.registered} new videos, {result.linked_to_existing} already known (replica added), "
              f"{result.already_registered} already registered, {len(result.not_adopted)} left alone")
        for item in result.not_adopted:
            print(f"  not adopted: {item.key}: {item.reason}")
    return ExitCode.PARTIAL if result.not_adopted else ExitCode.OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from videolake.usecases.storage import MigrationRequest, migrate, plan_migration

    env = environment()
    request = MigrationRequest(
        mode=args.mode or env.get(Env.MIGRATION, "copy"), transfers=args.transfers, verify_batch=args.batch,
        since=parsed(parse_day, args.since, "--since") if args.since else None,
        until=parsed(parse_day, args.until, "--until") if args.until else None)
    if request.mode not in ("copy", "move"):
        raise InvalidInput(f"{Env.MIGRATION} must be 'copy' or 'move', not {request.mode!r}")
    source, target = backend(args.source_url), backend(args.target_url)
    catalog = existing_catalog()
    plan = plan_migration(catalog, source, target, request)
    if args.dry_run:
        print_json(plan.to_dict()) if args.json else print(
            f"would {plan.mode} {plan.videos} videos ({human_bytes(plan.bytes)}) from {plan.source} to {plan.target}")
        return ExitCode.OK

    from tqdm import tqdm

    bar = tqdm(total=plan.bytes, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{plan.mode} → {target.url}",
               disable=args.json or args.quiet, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)
    done_files = 0

    def progress(files: int, nbytes: int) -> None:
        nonlocal done_files
        done_files += files
        bar.set_postfix_str(f"{done_files}/{plan.videos} videos", refresh=False)
        bar.update(nbytes)

    try:
        result = migrate(catalog, source, target, request, plan, run_id=f"cli-migrate-{uuid.uuid4().hex[:12]}",
                         progress=progress)
    finally:
        bar.close()
    if args.json:
        print_json(result.to_dict())
    else:
        print(f"{result.videos_copied} videos ({human_bytes(result.bytes_copied)}) copied and verified on {target.url} "
              f"in {result.seconds:.1f} s"
              + (f"; {result.source_copies_deleted} source copies deleted" if request.mode == "move" else ""))
        for e in result.errors:
            print(f"  video {e.video_id}: {e.error}", file=sys.stderr)
        if result.errors:
            print(f"{len(result.errors)} videos not migrated; nothing was deleted for them — rerun to retry", file=sys.stderr)
    return ExitCode.PARTIAL if result.errors or result.source_deletes_failed else ExitCode.OK


def cmd_scrub(args: argparse.Namespace) -> int:
    """The integrity checks now: each backend against the catalog; the result also shows on the checks in the UI."""
    import dagster as dg

    from assets.integrity_checks import check_metadata
    from pipelines import names
    from pipelines.cli.runs import dagster_instance
    from videolake.archive.scrub import IN_FLIGHT
    from videolake.usecases.storage import scrub_storage

    env = environment()
    catalog = existing_catalog()
    targets = {"hot": (env[Env.HOT_STORAGE], names.ASSET_INGESTED_VIDEOS, names.CHECK_HOT_INTEGRITY),
               "archive": (env[Env.ARCHIVE_STORAGE], names.ASSET_ARCHIVED_VIDEOS, names.CHECK_ARCHIVE_INTEGRITY)}
    chosen = list(targets) if args.storage == "all" else [args.storage]
    instance = dagster_instance()
    results = []
    for role in chosen:
        url, asset, check = targets[role]
        result = scrub_storage(catalog, backend(url), role, sample=args.sample)
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(asset), check_name=check, passed=result.passed, metadata=check_metadata(result)))
        results.append(result)
    passed = all(r.passed for r in results)
    if args.json:
        print_json({"passed": passed, "storage": [r.to_dict() for r in results]})
    else:
        for r in results:
            problems = [f for f in r.findings if f.problem != IN_FLIGHT]
            verdict = "catalog and storage agree" if not r.findings else (
                f"{len(problems)} problems" if problems else "only work in flight (a later run finishes it)")
            print(f"{r.storage} {r.backend}: {r.objects_cataloged} objects cataloged, "
                  f"{r.sample_rehashed} re-read and re-hashed: {verdict}")
            for f in r.findings:
                print(f"  {f.problem}: {f.key}" + (f" (video {f.video_id})" if f.video_id else "")
                      + f": {shorten(f.detail, 120)}")
    return ExitCode.OK if passed else ExitCode.FAILED
