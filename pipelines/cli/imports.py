"""``videolake import``: keep videos from URLs before their links expire.

    videolake import URL... [--expires-in 1h | --expires-at T] [--metadata FILE] [--name N] [--source S] [--wait]
    videolake import --from list.jsonl [--wait]

Queued in the catalog; with ``--wait`` this command runs the fetch runs itself (no Dagster run: the
catalog records them, and the catalog-runs sensor reports them to the UI) until its imports are
settled, and says for each one whether it was kept in time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from pipelines.cli.common import existing_catalog, parsed, print_json, table
from videolake.constants import ExitCode, ImportState
from videolake.inputs import parse_duration, parse_instant
from videolake.usecases.errors import InvalidInput
MAX_METADATA_BYTES = 1024 * 1024
MAX_ROUNDS = 1000  # fetch runs one --wait may start (a batch each)


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="keep videos from URLs before their links expire (fetched, then ingested)")
    p.add_argument("urls", nargs="*", metavar="URL", help="http(s) URLs to fetch")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="a JSON Lines file, one object per line: url, expires_at, name, provider, model, prompt, "
                        "parameters, job_id ('-' reads stdin)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--expires-at", help="when the URLs stop working (ISO 8601; no offset means UTC)")
    when.add_argument("--expires-in", help="how long the URLs work from now: 90s, 30m, 1h, 3d")
    p.add_argument("--metadata", metavar="FILE", help="a JSON object: generation details (provider, model, prompt …)")
    p.add_argument("--name", help="the file name the video gets (one URL only)")
    p.add_argument("--source", help="the source name the videos get")
    p.add_argument("--wait", action="store_true", help="fetch and ingest now, and wait until each is settled")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_import)


def _deadline(args: argparse.Namespace) -> dt.datetime | None:
    if args.expires_at:
        return parsed(parse_instant, args.expires_at, "--expires-at")
    if args.expires_in:
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=parsed(parse_duration, args.expires_in, "--expires-in"))
    return None


def _metadata_file(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    file = Path(path).expanduser()
    try:
        if file.stat().st_size > MAX_METADATA_BYTES:
            raise InvalidInput(f"--metadata {path}: over {MAX_METADATA_BYTES // 1024} KB; generation details are small")
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"--metadata {path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"--metadata {path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"--metadata {path}: a JSON object is needed, not {type(data).__name__}")
    return data


def cmd_import(args: argparse.Namespace) -> int:
    from videolake.usecases.imports import ImportRequest, get_imports, queue_imports, requests_from_lines

    if not args.urls and not args.from_file:
        raise InvalidInput("name the URLs to import, or --from a JSON Lines file")
    if args.name and len(args.urls) != 1:
        raise InvalidInput("--name names one video: give it with one URL")
    deadline, details = _deadline(args), _metadata_file(args.metadata)
    requests = [ImportRequest(url, deadline=deadline, name=args.name, source=args.source, details=details)
                for url in args.urls]
    if args.from_file:
        if args.from_file == "-":
            text, where = sys.stdin.read(), "stdin"
        else:
            try:
                text, where = Path(args.from_file).expanduser().read_text(encoding="utf-8"), args.from_file
            except FileNotFoundError:
                raise InvalidInput(f"--from {args.from_file}: no such file") from None
            except UnicodeDecodeError:
                raise InvalidInput(f"--from {args.from_file}: not UTF-8 text (JSON Lines are)") from None
        lines = requests_from_lines(text, where)
        requests += [ImportRequest(r.url, deadline=r.deadline or deadline, name=r.name, source=r.source or args.source,
                                   details={**(details or {}), **(r.details or {})} or None) for r in lines]
    if not requests:
        raise InvalidInput(f"{args.from_file} holds no import; nothing was queued")
    catalog = existing_catalog()
    queued = queue_imports(catalog, requests)
    ids = [q.id for q in queued]
    if args.wait:
        _fetch_until_settled(catalog, ids, verbose=args.verbose)
        queued = get_imports(catalog, ids)
    if args.json:
        print_json([q.to_dict() for q in queued])
    else:
        rows = [[q.id[:12], q.state, f"{q.deadline:%Y-%m-%d %H:%M}" if q.deadline else "-", str(q.video_id or ""),
                 q.url[:70], (q.last_error or "")[:90]] for q in queued]
        print(table(rows, ["import", "state", "deadline (UTC)", "video", "url", "last error"]))
        if not args.wait:
            print("queued: a running videolake (./scripts/run) fetches them, earliest deadline first; "
                  "`videolake import --wait` fetches now", file=sys.stderr)
    states = {q.state for q in queued}
    if not args.wait or states <= {ImportState.DONE}:
        return ExitCode.OK
    return ExitCode.PARTIAL if ImportState.DONE in states else ExitCode.FAILED


def _fetch_until_settled(catalog: Any, ids: list[str], *, verbose: bool) -> None:
    """Fetch runs, in this process and without a Dagster run (as ``videolake ingest``), until none of
    ``ids`` is pending or fetching; each run takes a batch and is recorded in the catalog, which the
    catalog-runs sensor reports to Dagster."""
    import uuid

    from pipelines.cli.common import environment, require_ingest_target
    from videolake import constants as c
    from videolake.constants import RunTrigger
    from videolake.imports.run_settings import FetchRunSettings
    from videolake.ingest.configured import ConfiguredIngest
    from videolake.usecases.imports import fetch_imports, get_imports

    env = environment()
    require_ingest_target(env)
    settings = FetchRunSettings.from_values(env)
    wired = ConfiguredIngest(env, catalog)
    storages, engine_for = wired.storages(), wired.engine_for(c.ZONE_UPLOADS)
    log = (lambda line: print(line, file=sys.stderr)) if verbose else (lambda _: None)
    for _ in range(MAX_ROUNDS):
        open_ids = [v.id for v in get_imports(catalog, ids) if v.state in (ImportState.PENDING, ImportState.FETCHING)]
        if not open_ids:
            return
        fetch_imports(catalog, run_id=str(uuid.uuid4()), storages=storages, engine_for=engine_for, settings=settings,
                      day=dt.datetime.now(dt.timezone.utc).date(), trigger=RunTrigger.CLI, log=log)
        still = [v for v in get_imports(catalog, open_ids) if v.state in (ImportState.PENDING, ImportState.FETCHING)]
        if len(still) == len(open_ids) and not _wait_for_next_try(still):
            return  # nothing moved, and nothing will before its deadline: say where they are


def _wait_for_next_try(still: list[Any]) -> bool:
    """Sleep until the first of ``still`` may be taken again (another run's hold ends — a run killed
    mid-fetch — or a transient failure's wait) when that is before its deadline; False if none may."""
    now = dt.datetime.now(dt.timezone.utc)
    nexts = [v.waits_until for v in still if v.waits_until is not None
             and (v.deadline is None or v.waits_until < v.deadline)]
    if not nexts:
        return False
    wait_s = (min(nexts) - now).total_seconds()
    if wait_s > 0:
        print(f"waiting {wait_s:.0f} s for the next try (a run's hold, or a retry's wait)", file=sys.stderr)
        time.sleep(wait_s + 0.5)
    return True
