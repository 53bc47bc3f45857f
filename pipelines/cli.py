"""The ``videolake`` command line for operators.

``ingest`` runs the same Dagster job the sensor launches, in this process, recorded in the
Dagster instance ($DAGSTER_HOME) so it shows in the UI. Exit codes: 0 done, 1 failed,
2 bad usage or configuration, 3 done but some files were quarantined or skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, NoReturn

from videolake.display import TerminalSafeStream, shorten

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def _environment() -> dict[str, str]:
    from videolake.settings import apply_default_environment

    return apply_default_environment()


def _catalog():  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import DBAPIError

    from videolake.catalog.database import CatalogConfigError
    from videolake.catalog.repository import Catalog
    from videolake.constants import ENV_CATALOG_URL

    url = _environment()[ENV_CATALOG_URL]
    try:
        return Catalog(url)
    except CatalogConfigError as exc:
        raise CliError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - driver errors vary
        raise CliError(_one_line(exc) if isinstance(exc, DBAPIError) else
                       f"cannot open the catalog at {_redact(url)}: {_one_line(exc)}", EXIT_FAILED) from exc


def _existing_catalog():  # type: ignore[no-untyped-def]
    """The catalog, for a command that reads or changes what is in it (see ``_require_catalog``)."""
    _require_catalog()
    return _catalog()


def _require_catalog() -> None:
    """Where the embedded catalog does not exist, say so: a command run from another folder would
    otherwise open a new, empty one and report nothing."""
    from sqlalchemy.engine import make_url

    from videolake.constants import ENV_CATALOG_URL, ENV_HOME

    url = make_url(_environment()[ENV_CATALOG_URL])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not Path(url.database).exists():
        where = ("VIDEOLAKE_CATALOG_URL" if ENV_CATALOG_URL in _USER_SET else
                 "VIDEOLAKE_HOME" if ENV_HOME in _USER_SET else "VIDEOLAKE_HOME (default: .videolake in this folder)")
        raise CliError(f"no catalog at {url.database} (from {where}): run videolake from the folder that holds "
                       "its .videolake, or set VIDEOLAKE_HOME to that .videolake folder (or VIDEOLAKE_CATALOG_URL to the "
                       "catalog); `videolake ingest` or `videolake db upgrade` creates a new one")


def _run_log(verbose: bool) -> dict[str, Any]:
    """Run config for a job run in this process: its outcome is printed as one line; Dagster's own
    log (a failed step's traceback) only with --verbose."""
    return {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}


def _redact(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<catalog URL>"


def _dagster_instance():  # type: ignore[no-untyped-def]
    import dagster as dg

    env = _environment()
    if not os.environ.get("DAGSTER_HOME"):
        home = Path(env["VIDEOLAKE_HOME"]) / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        os.environ["DAGSTER_HOME"] = str(home)
    from videolake.catalog.locks import file_lock

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # Two commands starting at once in a new home would both create the instance's SQLite tables
    # ("table runs already exists"): the first creates them under this lock, the second finds them.
    with file_lock(home / ".videolake-instance.lock"):
        config = home / "dagster.yaml"
        if not config.exists():
            template = Path(__file__).resolve().parent.parent / "dagster.yaml"
            tmp = home / f".dagster.yaml.{os.getpid()}.tmp"
            tmp.write_text(template.read_text() if template.exists() else "telemetry:\n  enabled: false\n")
            os.replace(tmp, config)
        instance = dg.DagsterInstance.get()
        if not (home / ".videolake-instance-ready").exists():
            instance.get_runs(limit=1)  # creates the run, event log and schedule storages' tables now
            instance.get_run_records(limit=1)
            instance.all_instigator_state()
            (home / ".videolake-instance-ready").touch()
    return instance


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str, ensure_ascii=False)
    sys.stdout.write("\n")


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


# -- commands ---------------------------------------------------------------------------------------
def cmd_env(args: argparse.Namespace) -> int:
    values = _environment()
    for key, value in sorted(values.items()):
        print(f"export {key}={shlex.quote(value)}" if args.shell else f"{key}={value}")
    return EXIT_OK


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from videolake.media.samples import seed_demo_landing

    landing = _environment()["VIDEOLAKE_LANDING"]
    if "://" in landing and not landing.startswith("file://"):
        print(f"landing zone {landing} is not a local folder; not seeding", file=sys.stderr)
        return EXIT_OK
    folder = Path(landing.removeprefix("file://"))
    if args.if_empty and folder.exists() and any(folder.rglob("*")):
        print(f"not seeding: the landing zone {folder} already holds files (--if-empty)")
        return EXIT_OK
    made = seed_demo_landing(folder, args.count)
    print(f"seeded {len(made)} sample clips into {folder}")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipelines.definitions import defs
    from pipelines.partitions import add_landing_days
    from videolake import constants as c

    env = _environment()
    missing = [p for p in args.paths if not Path(p).expanduser().exists()]
    if missing:
        raise CliError("no such file or folder: " + ", ".join(missing))
    if env.get(c.ENV_WRITE_MODE, "LOCAL").upper() == "LOCAL":  # BOTH and REMOTE fall back when hot is down
        _require_storage(env[c.ENV_HOT_STORAGE], "hot storage")
    instance = _dagster_instance()
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    if args.paths:
        config: dict[str, Any] = {"paths": [str(Path(p).expanduser().resolve()) for p in args.paths]}
        if args.source:
            config["source"] = args.source
        plan = [(c.ZONE_UPLOADS, today, config)]
    else:
        # Every landing zone: the uploads (today's partition), then segments per recording day.
        reclaim = {"reclaim": True} if args.reclaim else {}
        plan = [(c.ZONE_UPLOADS, today, {**({"source": args.source} if args.source else {}), **reclaim})]
        plan += [(c.ZONE_SEGMENTS, day, {"zone": c.ZONE_SEGMENTS, **reclaim}) for day in _segment_days(env, today)]
    job = defs.resolve_job_def(c.JOB_INGEST)
    add_landing_days(instance, [day for _, day, _ in plan])  # each run's day is a partition first
    runs = []
    for zone, day, config in plan:
        result = job.execute_in_process(
            instance=instance,
            partition_key=day,
            run_config={
                "ops": {c.OP_INGEST_LINEAGE: {"config": config}},
                "loggers": _run_log(args.verbose),
            },
            tags={c.TAG_TRIGGER: "cli", "videolake/zone": zone},
            raise_on_error=False,
        )
        metadata, failure = _step_outcome(result, c.OP_INGEST_LINEAGE, c.ASSET_INGESTED_VIDEOS)
        runs.append({"zone": zone, "day": day, "run_id": result.run_id, "success": result.success,
                     "metadata": metadata, "error": failure})
    counts = ("files", "ingested", "duplicates", "quarantined", "skipped", "failed")
    summary = {k: sum(int(r["metadata"].get(k) or 0) for r in runs) for k in counts}
    problems = [p for r in runs for p in (r["metadata"].get("problems") or [])]
    waiting = sum(int(r["metadata"].get("waiting_for_stability") or 0) for r in runs)
    held = [h for r in runs for h in (r["metadata"].get("held_by_other_runs") or [])]
    failures = [f"{r['zone']} {r['day']}: {r['error']}" for r in runs if r["error"]]
    if args.json:
        _print_json({
            "run_id": runs[0]["run_id"], "success": all(r["success"] for r in runs), **summary,
            "waiting_for_stability": waiting, "problems": problems, "held_by_other_runs": held,
            "runs": [{k: r[k] for k in ("zone", "day", "run_id", "success", "error")} for r in runs],
            **({"error": "; ".join(failures)} if failures else {}),
        })
    else:
        print(", ".join(f"{v} {k}" for k, v in summary.items()) + f"  ({len(runs)} runs: "
              + ", ".join(f"{r['zone']} {r['day']} {r['run_id'][:8]}" for r in runs) + ")")
        for p in problems:
            print(f"  {p['outcome']}: {p['file']}: {p['detail']}")
        if waiting:
            age_rule = env[c.ENV_STABLE_AFTER_SECONDS]
            print(f"  {waiting} files in the landing zones are still being written (open for writing, or changed "
                  f"within the last {env[c.ENV_SETTLE_SECONDS]} s"
                  + (f", or modified less than {age_rule} s ago" if age_rule != "0" else "")
                  + "); the sensors (or a later `videolake ingest`) take them once complete")
        for h in held:
            print(f"  {h['files']} files are held by {h['claimant']} since {h['since']} (a run still going, or on "
                  f"another machine); they are taken again at {h['retried_at']}, or now with "
                  "`videolake ingest --reclaim`")
        for failure in failures:
            print(f"ingest failed: {failure}", file=sys.stderr)
    if not all(r["success"] for r in runs):
        return EXIT_FAILED
    return EXIT_PARTIAL if problems else EXIT_OK


def _require_storage(url: str, role: str) -> None:
    """One line and exit 1 when a backend cannot be reached, before any run starts or any file is claimed."""
    from videolake.storage import StorageError, UnsupportedStorageUrl, open_backend

    try:
        open_backend(url).check()
    except UnsupportedStorageUrl as exc:
        raise CliError(f"{role}: {exc}") from exc
    except StorageError as exc:
        raise CliError(f"{role} cannot be reached, nothing was ingested (landed files are untouched): "
                       f"{str(exc).splitlines()[0]}", EXIT_FAILED) from exc


def _segment_days(env: dict[str, str], today: str) -> list[str]:
    """Recording days present in the segments landing zone (plus today for names with no time)."""
    from videolake import constants as c
    from videolake.ingest.engine import IngestEngine
    from videolake.ingest.landing import list_landing
    from videolake.segments.naming import SegmentTemplate
    from videolake.storage import StorageError, open_backend

    try:
        zone = open_backend(env[c.ENV_SEGMENTS_LANDING])
        listing = list_landing(zone)
    except StorageError as exc:
        print(f"videolake: segments landing zone skipped: {exc}", file=sys.stderr)
        return []
    if not listing.videos:
        return []
    engine = IngestEngine(_catalog(), zone, zone, zone, segment_template=SegmentTemplate(env[c.ENV_SEGMENT_TEMPLATE]))
    days = {engine.recording_day(v.key) for v in listing.videos}
    return sorted({d or today for d in days})


def _step_outcome(result: Any, step_key: str, asset_key: str) -> tuple[dict[str, Any], str | None]:
    """(metadata of ``asset_key``'s materialization — or of the step's failure —, failure or None) of an
    in-process run; a failure of any other step of the run is reported with that step's name."""
    metadata: dict[str, Any] = {}
    failure = None
    for event in result.all_events:
        if event.step_key != step_key:
            continue
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            if materialization.asset_key.to_user_string() == asset_key:
                metadata = {k: v.value for k, v in materialization.metadata.items()}
        elif event.event_type_value == "STEP_FAILURE":
            data = event.event_specific_data
            if data.user_failure_data is not None:
                metadata = {k: v.value for k, v in data.user_failure_data.metadata.items()}
                failure = data.user_failure_data.description
            else:
                failure = data.error.to_string() if data.error else "unknown error"
    if failure is None and not result.success:
        failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        if not failed:
            failure = "the run failed"
        else:
            message = failed[0].event_specific_data.error.message.strip()
            failure = message if failed[0].step_key == step_key else f"{failed[0].step_key} failed: {message}"
    return metadata, failure


def _uri(backend: str, key: str) -> str:
    return f"{backend.rstrip('/')}/{key}"


def video_to_dict(video: Any) -> dict[str, Any]:
    derivatives = {d.kind: d for d in video.derivatives}
    poster, sprite = derivatives.get("poster"), derivatives.get("sprite")
    return {
        "id": video.id,
        "sha256": video.sha256,
        "name": video.name,
        "source": video.source,
        "source_type": video.source_type,
        "size_bytes": video.size_bytes,
        "duration_s": video.duration_s,
        "width": video.width,
        "height": video.height,
        "aspect_ratio": video.aspect_ratio,
        "video_codec": video.video_codec,
        "audio_codec": video.audio_codec,
        "fps": video.fps,
        "bitrate": video.bitrate,
        "container": video.container,
        "rotation": video.rotation,
        "landing_uri": video.landing_uri,
        "landing_date": video.landing_date.isoformat() if video.landing_date else None,
        "ingested_at": video.ingested_at.isoformat() if video.ingested_at else None,
        "sidecar": video.sidecar,
        "poster_uri": _uri(poster.backend, poster.key) if poster else None,
        "sprite_uri": _uri(sprite.backend, sprite.key) if sprite else None,
        "sprite": sprite.meta if sprite else None,
        "replicas": [
            {
                "backend": r.backend,
                "key": r.key,
                "uri": _uri(r.backend, r.key),
                "state": r.state,
                "size_bytes": r.size_bytes,
                "verified_at": r.verified_at.isoformat() if r.verified_at else None,
            }
            for r in video.replicas
        ],
    }


def cmd_videos(args: argparse.Namespace) -> int:
    from videolake.display import human_bytes

    videos = _existing_catalog().list_videos(limit=args.limit, source=args.source)
    if args.json:
        _print_json([video_to_dict(v) for v in videos])
        return EXIT_OK
    rows = [
        [str(v.id), v.name[:40], v.source, v.source_type, human_bytes(v.size_bytes),
         f"{v.duration_s:.1f}s" if v.duration_s else "-", f"{v.width}x{v.height}" if v.width else "-",
         f"{v.video_codec or '-'}/{v.audio_codec or '-'}", v.sha256[:12]]
        for v in videos
    ]
    print(_table(rows, ["id", "name", "source", "type", "size", "duration", "size px", "codecs", "sha256"]))
    print(f"{len(videos)} videos")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from videolake.display import human_bytes

    env = _environment()
    status = _existing_catalog().status()
    status["configuration"] = {
        "home": env["VIDEOLAKE_HOME"],
        "landing": env["VIDEOLAKE_LANDING"],
        "hot_storage": env["VIDEOLAKE_HOT_STORAGE"],
        "quarantine": env["VIDEOLAKE_QUARANTINE"],
        "archive_storage": env["VIDEOLAKE_ARCHIVE_STORAGE"],
        "write_mode": env["VIDEOLAKE_WRITE_MODE"],
        "migration": env["VIDEOLAKE_MIGRATION"],
        "catalog": _redact(env["VIDEOLAKE_CATALOG_URL"]),
    }
    if args.json:
        _print_json(status)
        return EXIT_OK
    print(f"videos       {status['videos']} ({human_bytes(status['bytes'])}, {status['duration_s'] / 3600:.2f} h)")
    print("landings     " + (", ".join(f"{k} {v}" for k, v in sorted(status["landings"].items())) or "none"))
    print(f"quarantined  {status['quarantined']}")
    print(f"unprobed     {status['unprobed']}")
    print("thumbnails   " + (", ".join(f"{k} {v}" for k, v in sorted(status["derivatives"].items())) or "none"))
    for r in status["replicas"]:
        print(f"replicas     {r['backend']}  {r['state']}  {r['count']} ({human_bytes(r['bytes'])})")
    for b in status["landing_backlog"]:
        print(f"backlog      {b['zone']}  {b['state']}  {b['files']}")
    pending = sum(r["count"] for r in status["replicas"] if r["state"] == "pending")
    if pending:
        print(f"PENDING      {pending} replicas wait for a copy (a backend was down or a copy failed); the next "
              "ingest or archive run catches them up")
    for k, v in status["configuration"].items():
        print(f"{k:<15} {v}")
    return EXIT_OK


def cmd_quarantine(args: argparse.Namespace) -> int:
    items = _existing_catalog().list_quarantine(limit=args.limit)
    data = [
        {
            "id": q.id,
            "name": q.name,
            "source": q.source,
            "reason": q.reason,
            "detail": q.detail,
            "landing_uri": q.landing_uri,
            "quarantined_uri": q.quarantined_uri,
            "size_bytes": q.size_bytes,
            "sha256": q.sha256,
            "quarantined_at": q.quarantined_at.isoformat(),
        }
        for q in items
    ]
    if args.json:
        _print_json(data)
        return EXIT_OK
    rows = [[str(q["id"]), shorten(q["name"], 40), q["reason"], shorten(q["detail"], 70),
             q["quarantined_uri"] or "(left in place)"] for q in data]
    print(_table(rows, ["id", "name", "reason", "detail", "moved to"]))
    print(f"{len(data)} quarantined files")
    return EXIT_OK


def parse_cli_time(text: str, what: str) -> dt.datetime:
    """ISO 8601 (``2026-11-20T10:00:00Z``, ``…+01:00``, ``2026-11-20 10:00``); no offset means UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise CliError(f"--{what} {text!r} is not an ISO 8601 time such as 2026-11-20T10:00:00Z") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def cmd_segments(args: argparse.Namespace) -> int:
    from videolake.segments.index import (
        UnknownCamera,
        coverage_gaps,
        find_segments,
        longest_segment_seconds,
        require_cameras,
    )

    start, end = parse_cli_time(args.start, "start"), parse_cli_time(args.end, "end")
    if end <= start:
        raise CliError(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    catalog = _existing_catalog()
    try:
        require_cameras(catalog, [args.camera])
    except UnknownCamera as exc:
        raise CliError(str(exc)) from exc
    longest = longest_segment_seconds(catalog, args.camera)
    hits = find_segments(catalog, args.camera, start, end, max_segment_s=longest)
    gaps = coverage_gaps(hits, start, end)
    requested = (end - start).total_seconds()
    missing = sum(g.seconds for g in gaps)
    if args.json:
        _print_json({
            "camera": args.camera, "start": start.isoformat(), "end": end.isoformat(),
            "covered_s": round(requested - missing, 3), "requested_s": requested,
            "segments": [
                {"segment_id": h.segment_id, "video_id": h.video_id, "start": h.start.isoformat(), "end": h.end.isoformat(),
                 "duration_s": round((h.end - h.start).total_seconds(), 3), "sha256": h.sha256, "video_codec": h.video_codec,
                 "width": h.width, "height": h.height}
                for h in hits
            ],
            "gaps": [{"start": g.start.isoformat(), "end": g.end.isoformat(), "seconds": round(g.seconds, 3)} for g in gaps],
        })
        return EXIT_OK
    rows = [[h.start.isoformat(), h.end.isoformat(), f"{(h.end - h.start).total_seconds():.1f}s", str(h.video_id),
             f"{h.video_codec or '-'} {h.width}x{h.height}"] for h in hits]
    print(_table(rows, ["start", "end", "length", "video", "codec"]))
    for g in gaps:
        print(f"gap  {g.start.isoformat()} .. {g.end.isoformat()}  ({g.seconds:.1f} s)")
    print(f"{len(hits)} segments, {requested - missing:.0f} of {requested:.0f} s covered, {len(gaps)} gaps")
    return EXIT_OK


def parse_duration(text: str) -> int:
    """``90s``, ``30m``, ``48h``, ``7d`` (or plain seconds) to seconds; there is no "never"."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not match:
        raise CliError(f"--ttl {text!r} is not a duration such as 30m, 48h or 7d (links always expire)")
    seconds = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds <= 0:
        raise CliError("--ttl must be longer than 0 s: links always expire")
    return int(seconds)


def _run_export(export_id: str, verbose: bool = False) -> Any:
    from pipelines.definitions import defs
    from videolake import constants as c

    job = defs.resolve_job_def(c.JOB_EXPORT)
    return job.execute_in_process(
        instance=_dagster_instance(),
        run_config={
            "ops": {c.ASSET_VIDEO_EXPORTS: {"config": {"export_id": export_id}}},
            "loggers": _run_log(verbose),
        },
        tags={c.TAG_TRIGGER: "cli", "videolake/export": export_id},
        raise_on_error=False,
    )


def _print_export(info: dict[str, Any]) -> None:
    print(f"export {info['id']}: {info['status']}" + (f" — {info['error']}" if info["error"] else ""))
    print(f"  cameras {', '.join(info['cameras'])}  {info['start']} .. {info['end']}  mode {info['mode']}"
          + (f"  reason: {info['reason']}" if info["reason"] else ""))
    for o in info["outputs"]:
        print(f"  {o['camera']}: {o['uri']}  {o['duration_s']:.1f} s  {o['size_bytes']} bytes  sha256 {o['sha256'][:16]}")
    for g in info["gaps"]:
        print(f"  gap {g['camera']}: {g['start']} .. {g['end']} ({g['seconds']:.1f} s)")
    if info["manifest_uri"]:
        print(f"  manifest {info['manifest_uri']}  expires {info['expires_at']}")


def cmd_export_create(args: argparse.Namespace) -> int:
    from videolake.exports.engine import ExportError, ExportRequest, NoFootage, create_export, export_to_dict, load_export
    from videolake.segments.index import UnknownCamera

    request = ExportRequest(args.camera, parse_cli_time(args.start, "start"), parse_cli_time(args.end, "end"),
                            args.mode, args.reason, parse_duration(args.ttl))
    catalog = _existing_catalog()
    try:
        export_id = create_export(catalog, request)
    except NoFootage as exc:
        raise CliError(f"{exc}; nothing was exported", EXIT_FAILED) from exc
    except (ExportError, UnknownCamera) as exc:
        raise CliError(str(exc)) from exc
    if not args.wait:
        print(json.dumps({"id": export_id, "status": "PENDING"}) if args.json else export_id)
        return EXIT_OK
    _run_export(export_id, args.verbose)
    info = export_to_dict(load_export(catalog, export_id))
    _print_json(info) if args.json else _print_export(info)
    return EXIT_OK if info["status"] == "COMPLETED" else EXIT_FAILED


def cmd_export_status(args: argparse.Namespace) -> int:
    from videolake.exports.engine import export_to_dict, load_export

    export = load_export(_existing_catalog(), args.export_id)
    if export is None:
        raise CliError(f"no export {args.export_id!r}")
    info = export_to_dict(export)
    _print_json(info) if args.json else _print_export(info)
    return EXIT_OK if info["status"] != "FAILED" else EXIT_FAILED


def cmd_export_link(args: argparse.Namespace) -> int:
    from videolake import constants as c
    from videolake.exports.engine import load_export
    from videolake.links.tokens import load_or_create_secret, sign
    from videolake.storage import open_backend
    from videolake.storage.local_backend import LocalBackend

    env = _environment()
    export = load_export(_existing_catalog(), args.export_id)
    if export is None:
        raise CliError(f"no export {args.export_id!r}")
    if export.status != "COMPLETED":
        raise CliError(f"export {export.id} is {export.status}; links exist once it is COMPLETED"
                       + (f" ({export.error})" if export.error else ""))
    now = dt.datetime.now(dt.timezone.utc)
    if export.expires_at is None or export.expires_at <= now:
        raise CliError(f"export {export.id} expired at {export.expires_at.isoformat() if export.expires_at else '?'}")
    ttl = parse_duration(args.ttl)
    remaining = int((export.expires_at - now).total_seconds())
    capped = ttl > remaining
    ttl = min(ttl, remaining)
    expires = now + dt.timedelta(seconds=ttl)
    backend = open_backend(export.backend)
    files = [(o.camera_id, o.key, f"{export.id}-{o.camera_id}.mp4") for o in export.outputs]
    files.append(("manifest", export.manifest_key, f"{export.id}-manifest.json"))
    if isinstance(backend, LocalBackend):
        secret = load_or_create_secret(os.environ.get(c.ENV_LINK_SECRET), Path(env[c.ENV_HOME]))
        base = _link_base(env)
        links = [(name, f"{base}/d/{sign(secret, key, filename, int(expires.timestamp()))}") for name, key, filename in files]
    else:
        links = [(name, backend.readable_url(key, expires_in=ttl)) for name, key, _ in files]
    if args.json:
        _print_json({"id": export.id, "expires_at": expires.isoformat(), "capped_to_export_expiry": capped,
                     "links": [{"camera": n, "url": u} for n, u in links if n != "manifest"],
                     "manifest_url": links[-1][1]})
        return EXIT_OK
    for name, url in links:
        print(f"{name}: {url}")
    print(f"links expire {expires.isoformat()}" + (" (capped: the export itself expires then)" if capped else ""))
    if isinstance(backend, LocalBackend):
        print("local storage: `videolake serve` answers these links")
    return EXIT_OK


def _link_base(env: dict[str, str]) -> str:
    """Where links point: VIDEOLAKE_PUBLIC_URL when set (a proxy), else the `videolake serve` running
    for this home; with neither, the default base, and a warning that no server answers it yet."""
    from videolake import constants as c
    from videolake.links.announce import running_server_base

    if c.ENV_PUBLIC_URL in _USER_SET:
        return env[c.ENV_PUBLIC_URL].rstrip("/")
    running = running_server_base(Path(env[c.ENV_HOME]))
    if running:
        return running.rstrip("/")
    base = env[c.ENV_PUBLIC_URL].rstrip("/")
    print(f"videolake: no `videolake serve` is running for {env[c.ENV_HOME]}: these links answer once one runs on "
          f"{base} (`videolake serve`), or set {c.ENV_PUBLIC_URL} to where a server answers them", file=sys.stderr)
    return base


def cmd_serve(args: argparse.Namespace) -> int:
    import signal

    from videolake import constants as c
    from videolake.links.server import make_server
    from videolake.links.tokens import load_or_create_secret
    from videolake.storage import open_backend
    from videolake.storage.local_backend import LocalBackend

    env = _environment()
    storage = open_backend(env[c.ENV_HOT_STORAGE])
    if not isinstance(storage, LocalBackend):
        raise CliError(f"hot storage {storage.url} is not local: its links are presigned URLs, nothing to serve")
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a TCP port (0-65535; 0 picks a free one)")
    secret = load_or_create_secret(os.environ.get(c.ENV_LINK_SECRET), Path(env[c.ENV_HOME]))
    try:
        server = make_server(storage, secret, args.host, args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", EXIT_FAILED) from exc
    from videolake.links.announce import clear_server, record_server

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    home = Path(env[c.ENV_HOME])
    base = f"http://{args.host}:{server.server_port}"
    record_server(home, base)  # `videolake export link` mints links for this base from now on
    print(f"videolake: serving download links from {storage.url} on {base}/d/… (links are minted for {base}"
          + (f"; {c.ENV_PUBLIC_URL}={os.environ[c.ENV_PUBLIC_URL]} overrides that" if c.ENV_PUBLIC_URL in _USER_SET else "")
          + ")", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        clear_server(home)
    return EXIT_OK


def cmd_stitch(args: argparse.Namespace) -> int:
    from videolake import constants as c
    from videolake.exports.stitch import StitchError, stitch
    from videolake.ingest.engine import IngestEngine, IngestSettings
    from videolake.storage import open_backend

    env = _environment()
    hot = open_backend(env[c.ENV_HOT_STORAGE])
    engine = IngestEngine(_existing_catalog(), hot, open_backend(env[c.ENV_QUARANTINE]), settings=IngestSettings(workers=1))
    try:
        result = stitch(engine, args.ids, args.name)
    except StitchError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        _print_json({"video_id": result.video_id, "name": result.name, "reencoded": result.reencoded,
                     "duplicate_of_existing": result.duplicate})
    else:
        how = f"re-encoded: {result.reencoded}" if result.reencoded else "stream copy"
        print(f"video {result.video_id} {result.name} ({how})" + (" — same content as an existing video" if result.duplicate else ""))
    return EXIT_OK


def cmd_adopt(args: argparse.Namespace) -> int:
    from videolake.archive.adopt import adopt
    from videolake.storage import StorageError, UnsupportedStorageUrl, open_backend

    _environment()
    try:
        backend = open_backend(args.url)
    except UnsupportedStorageUrl as exc:
        raise CliError(str(exc)) from exc

    def progress(n: int, key: str) -> None:
        if not args.json and n % 100 == 0:
            print(f"  {n} objects looked at ({key})", file=sys.stderr, flush=True)

    try:
        report = adopt(_catalog(), backend, source=args.source, prefix=args.prefix, progress=progress)
    except StorageError as exc:
        raise CliError(f"cannot list {args.url}: {exc}", EXIT_FAILED) from exc
    summary = {"registered": len(report.registered), "linked_to_existing": len(report.linked),
               "already_registered": report.skipped, "not_adopted": [{"key": k, "reason": r} for k, r in report.rejected],
               "bytes_hashed": report.bytes_hashed}
    if args.json:
        _print_json(summary)
    else:
        print(f"{summary['registered']} new videos, {summary['linked_to_existing']} already known (replica added), "
              f"{report.skipped} already registered, {len(report.rejected)} left alone")
        for key, reason in report.rejected:
            print(f"  not adopted: {key}: {reason}")
    return EXIT_PARTIAL if report.rejected else EXIT_OK


def _day(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CliError(f"{flag} {value!r} is not a day (YYYY-MM-DD)") from exc


def cmd_migrate(args: argparse.Namespace) -> int:
    import time
    import uuid

    from videolake import constants as c
    from videolake.archive.engine import COPY, MOVE, ArchiveEngine
    from videolake.storage import StorageError, UnsupportedStorageUrl, open_backend

    env = _environment()
    since, until = _day(args.since, "--since"), _day(args.until, "--until")
    if since and until and until < since:
        raise CliError(f"--until {until} is before --since {since}")
    mode = args.mode or env.get(c.ENV_MIGRATION, COPY)
    if mode not in (COPY, MOVE):
        raise CliError(f"{c.ENV_MIGRATION} must be {COPY!r} or {MOVE!r}, not {mode!r}")
    try:
        source, target = open_backend(args.source_url), open_backend(args.target_url)
    except (UnsupportedStorageUrl, ValueError) as exc:
        raise CliError(str(exc)) from exc
    if source.url == target.url:
        raise CliError(f"--from and --to name the same storage ({source.url})")
    catalog = _existing_catalog()
    engine = ArchiveEngine(catalog, source, target, mode=mode, transfers=args.transfers, source_only=True,
                           verify_batch=args.batch)
    work = engine.todo(since=since, until=until)
    total_bytes = sum(size for _, _, size in work)
    if not work and not catalog.knows_backend(source.url):
        raise CliError(f"no video in the catalog has a verified replica on {source.url}; "
                       "register what is there with `videolake adopt URL` first")
    if args.dry_run:
        summary = {"from": source.url, "to": target.url, "mode": mode, "videos": len(work), "bytes": total_bytes,
                   "since": since, "until": until}
        _print_json(summary) if args.json else print(
            f"would {mode} {len(work)} videos ({_human(total_bytes)}) from {source.url} to {target.url}")
        return EXIT_OK

    from tqdm import tqdm

    bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{mode} → {target.url}",
               disable=args.json or args.quiet, file=sys.stderr, mininterval=0.5, dynamic_ncols=True)
    done_files = 0

    def progress(files: int, nbytes: int) -> None:
        nonlocal done_files
        done_files += files
        bar.set_postfix_str(f"{done_files}/{len(work)} videos", refresh=False)
        bar.update(nbytes)

    run_id = f"cli-migrate-{uuid.uuid4().hex[:12]}"
    started = time.perf_counter()
    try:
        report = engine.run(since=since, until=until, run_id=run_id, progress=progress, work=work)
    except StorageError as exc:
        raise CliError(f"migration stopped: {exc}", EXIT_FAILED) from exc
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    summary = {
        "from": source.url, "to": target.url, "mode": mode, "run_id": run_id,
        "videos_copied": len(report.archived), "bytes_copied": report.bytes_copied,
        "source_copies_deleted": report.hot_deleted, "source_deletes_failed": report.hot_delete_errors,
        "errors": [{"video_id": v, "error": e} for v, e in report.errors], "seconds": round(seconds, 3),
        "mb_per_second": round(report.bytes_copied / 1e6 / seconds, 1) if seconds > 0 else None,
    }
    if args.json:
        _print_json(summary)
    else:
        print(f"{len(report.archived)} videos ({_human(report.bytes_copied)}) copied and verified on {target.url} "
              f"in {seconds:.1f} s" + (f"; {report.hot_deleted} source copies deleted" if mode == MOVE else ""))
        for vid, error in report.errors:
            print(f"  video {vid}: {error}", file=sys.stderr)
        if report.errors:
            print(f"{len(report.errors)} videos not migrated; nothing was deleted for them — rerun to retry", file=sys.stderr)
    return EXIT_PARTIAL if report.errors or report.hot_delete_errors else EXIT_OK


def _human(n: int) -> str:
    from videolake.display import human_bytes

    return human_bytes(n)


def _operator() -> str:
    import getpass

    return os.environ.get("VIDEOLAKE_OPERATOR") or getpass.getuser()


def cmd_hold_add(args: argparse.Namespace) -> int:
    from videolake.retention.holds import HoldError, add_hold, hold_to_dict

    start = parse_cli_time(args.start, "start") if args.start else None
    end = parse_cli_time(args.end, "end") if args.end else None
    catalog = _existing_catalog()
    try:
        hold = add_hold(catalog, reason=args.reason, camera=args.camera, start=start, end=end, video_id=args.video,
                        by=_operator())
    except HoldError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        _print_json(hold_to_dict(hold))
        return EXIT_OK
    print(f"hold {hold.id} added: " + (f"video {hold.video_id}" if hold.video_id else
                                       f"{hold.camera_id} {start.isoformat()} → {end.isoformat()}")  # type: ignore[union-attr]
          + f" ({hold.reason})")
    if args.camera:
        from videolake.segments.index import UnknownCamera, require_cameras

        try:
            require_cameras(catalog, [args.camera])
        except UnknownCamera as exc:
            print(f"note: {exc}; the hold covers its footage in that range once it is ingested", file=sys.stderr)
    return EXIT_OK


def cmd_hold_list(args: argparse.Namespace) -> int:
    from videolake.retention.holds import hold_to_dict, list_holds

    holds = [hold_to_dict(h) for h in list_holds(_existing_catalog(), include_released=args.all)]
    if args.json:
        _print_json(holds)
        return EXIT_OK
    rows = [[str(h["id"]), f"video {h['video_id']}" if h["video_id"] else f"{h['camera']} {h['start']} → {h['end']}",
             h["reason"][:50], f"{h['created_at'][:19]} {h['created_by'] or ''}",
             f"released {h['released_at'][:19]}" if h["released_at"] else "active"] for h in holds]
    print(_table(rows, ["id", "covers", "reason", "added", "state"]))
    print(f"{sum(1 for h in holds if not h['released_at'])} active holds")
    return EXIT_OK


def cmd_hold_release(args: argparse.Namespace) -> int:
    from videolake.retention.holds import HoldError, release_hold

    try:
        hold = release_hold(_existing_catalog(), args.id, by=_operator())
    except HoldError as exc:
        raise CliError(str(exc)) from exc
    print(f"hold {hold.id} released; its footage follows the retention policies again")
    return EXIT_OK


def cmd_retention(args: argparse.Namespace) -> int:
    """`retention plan|apply`: the same Dagster job the daily schedule runs, in this process."""
    from pipelines.definitions import defs
    from videolake import constants as c

    from videolake.retention.policy import PolicyError, load_policy

    env = _environment()
    try:
        load_policy(env[c.ENV_RETENTION])  # a bad file is a configuration error (exit 2), before any run starts
    except PolicyError as exc:
        raise CliError(f"{exc}\nnothing was planned or deleted", EXIT_USAGE) from exc
    _require_catalog()
    as_of = parse_cli_time(args.as_of, "as-of").isoformat() if args.as_of else None
    apply = args.action == "apply"
    config = {"apply": apply, "as_of": as_of, "force": bool(getattr(args, "force", False))}
    result = defs.resolve_job_def(c.JOB_RETENTION).execute_in_process(
        instance=_dagster_instance(),
        run_config={"ops": {c.ASSET_RETENTION_SWEEP: {"config": config}}, "loggers": _run_log(args.verbose)},
        tags={"videolake/trigger": "cli"},
        raise_on_error=False,
    )
    # The storage report runs after the sweep in the same job; its failure is reported by name.
    metadata, failure = _step_outcome(result, c.ASSET_RETENTION_SWEEP, c.ASSET_RETENTION_SWEEP)
    summary = dict(metadata.get("summary") or {})
    out = {"run_id": result.run_id, "mode": "apply" if apply else "plan", **summary,
           "items": metadata.get("plan_items", []),
           **({k: metadata[k] for k in ("deleted_objects", "bytes_deleted", "videos_deleted", "failures") if k in metadata}),
           **({"refused": metadata["refused"]} if "refused" in metadata else {}),
           **({"error": failure} if failure else {})}
    if args.json:
        _print_json(out)
    else:
        if summary:
            verb = "deleted" if apply and not failure else "would go"
            print(f"as of {summary['as_of']}: {summary['videos_to_delete']} videos, {summary['hot_copies_to_drop']} hot "
                  f"copies, {summary['exports_to_expire']} exports {verb} — {summary['objects']} objects, "
                  f"{_human(summary['bytes_freed'])} ({summary['delete_share']:.1%} of {summary['videos_in_catalog']} "
                  f"videos); {summary['held_skipped']} held items kept")
            for url, n in summary.get("by_backend", {}).items():
                print(f"  {url}: {n['objects']} objects, {_human(n['bytes'])}")
            for warning in summary.get("warnings", []):
                print(f"  warning: {warning}")
            if not apply and "refused" in metadata:
                print("applying this plan would be refused: " + "; ".join(metadata["refused"]))
        if failure:
            print(f"videolake: {failure}", file=sys.stderr)
    return EXIT_FAILED if failure else EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from videolake.catalog.models import AuditEvent

    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(args.limit)
    if args.action:
        stmt = stmt.where(AuditEvent.action.like(args.action.replace("*", "%")))
    if args.video is not None:
        stmt = stmt.where(AuditEvent.video_id == args.video)
    with _existing_catalog().read() as s:
        rows = [{"id": e.id, "at": e.at.isoformat(), "action": e.action, "video_id": e.video_id, "backend": e.backend,
                 "key": e.key, "size_bytes": e.size_bytes, "detail": e.detail, "run_id": e.run_id}
                for e in s.scalars(stmt)]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    table = [[str(r["id"]), r["at"][:19], r["action"], str(r["video_id"] or ""), str(r["size_bytes"] or ""),
              _audit_detail(r)] for r in rows]
    print(_table(table, ["id", "at", "action", "video", "bytes", "detail"]))
    return EXIT_OK


def _audit_detail(row: dict[str, Any]) -> str:
    """One line on what an audit row is about: the hold (what it covers and why), else the policy and where."""
    from videolake.retention.holds import describe_hold

    detail = row["detail"] or {}
    if row["action"] in ("hold_added", "hold_released"):
        verb = "hold" if row["action"] == "hold_added" else "released hold"
        return f"{verb} {detail.get('hold')}: {describe_hold(detail, row['video_id'])}"
    parts = [f"policy {detail['policy']}" if detail.get("policy") else "", row["backend"] or "", row["key"] or ""]
    return shorten(" ".join(p for p in parts if p), 100)


def cmd_scrub(args: argparse.Namespace) -> int:
    """The integrity checks now: each backend against the catalog; the result also shows on the checks in the UI."""
    import dagster as dg

    from assets.integrity_checks import check_outcome
    from videolake import constants as c
    from videolake.archive.scrub import IN_FLIGHT, scrub
    from videolake.storage import StorageError, open_backend

    if args.sample < 0:
        raise CliError("--sample must be 0 or more")
    env = _environment()
    catalog = _existing_catalog()
    targets = {"hot": (env[c.ENV_HOT_STORAGE], c.ASSET_INGESTED_VIDEOS, c.CHECK_HOT_INTEGRITY),
               "archive": (env[c.ENV_ARCHIVE_STORAGE], c.ASSET_ARCHIVED_VIDEOS, c.CHECK_ARCHIVE_INTEGRITY)}
    chosen = list(targets) if args.storage == "all" else [args.storage]
    instance = _dagster_instance()
    reports, failed = [], False
    for role in chosen:
        url, asset, check = targets[role]
        backend = open_backend(url)
        try:
            findings, checked = scrub(catalog, backend, sample=args.sample)
        except StorageError as exc:
            raise CliError(f"{role} storage {url} cannot be listed: {str(exc).splitlines()[0]}", EXIT_FAILED) from exc
        passed, metadata = check_outcome(backend.url, findings, checked, args.sample)
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(asset), check_name=check, passed=passed, metadata=metadata))
        failed |= not passed
        reports.append({"storage": role, "backend": backend.url, "objects_cataloged": checked,
                        "sample_rehashed": min(args.sample, checked), "passed": passed,
                        "findings": [{"problem": f.problem, "key": f.key, "video_id": f.video_id, "detail": f.detail}
                                     for f in findings]})
    if args.json:
        _print_json({"passed": not failed, "storage": reports})
    else:
        for r in reports:
            problems = [f for f in r["findings"] if f["problem"] != IN_FLIGHT]
            verdict = "catalog and storage agree" if not r["findings"] else (
                f"{len(problems)} problems" if problems else "only work in flight (a later run finishes it)")
            print(f"{r['storage']} {r['backend']}: {r['objects_cataloged']} objects cataloged, "
                  f"{r['sample_rehashed']} re-read and re-hashed: {verdict}")
            for f in r["findings"]:
                print(f"  {f['problem']}: {f['key']}" + (f" (video {f['video_id']})" if f["video_id"] else "")
                      + f": {shorten(f['detail'], 120)}")
    return EXIT_FAILED if failed else EXIT_OK


def cmd_db(args: argparse.Namespace) -> int:
    from videolake.catalog.database import create_catalog_engine, current_revision, head_revision, upgrade_schema

    url = _environment()["VIDEOLAKE_CATALOG_URL"]
    if args.action == "upgrade":
        print(f"catalog at revision {upgrade_schema(url)}")
    else:
        print(f"catalog at revision {current_revision(create_catalog_engine(url)) or '(empty)'}; newest is {head_revision()}")
    return EXIT_OK


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line (and exit 2), with where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videolake", description="Store, catalog and move video (a Dagster code location).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="ingest files now (without paths: every landing zone) through the Dagster job")
    p.add_argument("paths", nargs="*", help="files or folders; outside the landing zone they are copied, never moved")
    p.add_argument("--source", help="source name recorded for these files")
    p.add_argument("--reclaim", action="store_true",
                   help="also take files other runs hold claimed (a run that stopped on another machine)")
    p.add_argument("--json", action="store_true",
                   help="print the outcome as one JSON object instead of the summary: the counts (files, ingested, "
                        "duplicates, quarantined, skipped, failed), problems (each file not ingested, with why), "
                        "waiting_for_stability, held_by_other_runs, and the runs with their ids")
    p.add_argument("--verbose", action="store_true", help="show the Dagster run log")
    p.set_defaults(fn=cmd_ingest)

    p = sub.add_parser("videos", help="list cataloged videos")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int)
    p.add_argument("--source")
    p.set_defaults(fn=cmd_videos)

    p = sub.add_parser("status", help="catalog totals, replicas, backlog and configuration")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)

    p = sub.add_parser("quarantine", help="files that were moved aside, with the reason")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int)
    p.set_defaults(fn=cmd_quarantine)

    p = sub.add_parser("segments", help="recording segments of a camera overlapping a time range, and the gaps")
    p.add_argument("--camera", required=True)
    p.add_argument("--start", required=True, help="ISO 8601; no offset means UTC")
    p.add_argument("--end", required=True)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_segments)

    export = sub.add_parser("export", help="cut footage of cameras over a time range").add_subparsers(dest="action", required=True)
    p = export.add_parser("create", help="request an export (a sensor runs it; --wait runs it now)")
    p.add_argument("--camera", action="append", required=True, help="repeat for several cameras")
    p.add_argument("--start", required=True, help="ISO 8601; no offset means UTC")
    p.add_argument("--end", required=True)
    p.add_argument("--reason", help="e.g. the incident number")
    p.add_argument("--mode", choices=["fast", "accurate"], default="fast",
                   help="fast: stream copy, cuts on keyframes; accurate: re-encode, exact cuts")
    p.add_argument("--ttl", default="48h", help="how long download links live (e.g. 30m, 48h, 7d)")
    p.add_argument("--wait", action="store_true", help="run it now, in this process, and wait for the end")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(fn=cmd_export_create)
    p = export.add_parser("link", help="download links that expire (presigned for S3, signed for `videolake serve`)")
    p.add_argument("export_id")
    p.add_argument("--ttl", default="48h", help="how long the links live (e.g. 30m, 48h); never past the export's expiry")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_export_link)
    p = export.add_parser("status", help="an export's status, outputs, gaps and manifest")
    p.add_argument("export_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_export_status)

    p = sub.add_parser("stitch", help="join catalog videos into one new video (re-encodes only when formats differ)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--name", help="file name of the new video")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_stitch)

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
    p.add_argument("--transfers", type=int, default=8, help="videos copied in parallel")
    p.add_argument("--batch", type=int, default=50, help="verified copies recorded per catalog transaction")
    p.add_argument("--dry-run", action="store_true", help="only say what would be copied")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_migrate)

    hold = sub.add_parser("hold", help="legal holds: footage no retention sweep may delete").add_subparsers(
        dest="action", required=True)
    p = hold.add_parser("add", help="hold a camera's footage over a time range, or one video")
    p.add_argument("--camera")
    p.add_argument("--start", help="ISO 8601; no offset means UTC")
    p.add_argument("--end")
    p.add_argument("--video", type=int, metavar="ID")
    p.add_argument("--reason", required=True, help="the case, ticket or order")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_hold_add)
    p = hold.add_parser("list", help="active holds (--all: released ones too)")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_hold_list)
    p = hold.add_parser("release", help="release a hold (it stays listed with --all)")
    p.add_argument("id", type=int)
    p.set_defaults(fn=cmd_hold_release)

    retention = sub.add_parser("retention", help="plan or apply the retention policies (the retention_job)").add_subparsers(
        dest="action", required=True)
    p = retention.add_parser("plan", help="what the sweep would delete (nothing is deleted)")
    p.add_argument("--as-of", help="ISO 8601: what goes by then (default: now)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", action="store_true", help="show the Dagster run log")
    p.set_defaults(fn=cmd_retention)
    p = retention.add_parser("apply", help="delete what the policies say (guardrails may refuse)")
    p.add_argument("--as-of", help="ISO 8601 (default: now)")
    p.add_argument("--force", action="store_true", help="past the max_delete_share guardrail")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verbose", action="store_true", help="show the Dagster run log")
    p.set_defaults(fn=cmd_retention)

    p = sub.add_parser("audit", help="the audit trail: deletions, holds, verified copies")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--action", help="e.g. retention_* or hold_added")
    p.add_argument("--video", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_audit)

    p = sub.add_parser("serve", help="serve signed download links for local storage (HTTP, Range requests)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (loopback by default)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(fn=cmd_serve)

    p = sub.add_parser("scrub", help="run the integrity checks now: storage against the catalog, a sample re-hashed")
    p.add_argument("--storage", choices=["hot", "archive", "all"], default="all")
    p.add_argument("--sample", type=int, default=20, help="objects re-read in full and re-hashed per storage")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_scrub)

    p = sub.add_parser("db", help="catalog schema migrations")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(fn=cmd_db)

    p = sub.add_parser("env", help="the effective VIDEOLAKE_* configuration")
    p.add_argument("--shell", action="store_true", help="as export lines for eval")
    p.set_defaults(fn=cmd_env)

    p = sub.add_parser("seed-demo", help="put generated sample clips into the local landing zone")
    p.add_argument("--if-empty", action="store_true")
    p.add_argument("--count", type=int, default=6)
    p.set_defaults(fn=cmd_seed_demo)
    _add_verbose(parser)
    return parser


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """Every command takes --verbose: tracebacks (and Dagster's run log) instead of one line."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_verbose(command)
            return
    if not any("--verbose" in action.option_strings for action in parser._actions):
        parser.add_argument("--verbose", action="store_true", help="show tracebacks")


# The VIDEOLAKE_* variables the user set (before defaults are filled in).
_USER_SET: frozenset[str] = frozenset()


def main(argv: list[str] | None = None) -> int:
    import faulthandler
    import signal

    global _USER_SET
    _USER_SET = frozenset(k for k, v in os.environ.items() if k.startswith("VIDEOLAKE_") and v)

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` prints where a stuck command is
    # Names come from the outside world: none of what is printed may drive the terminal.
    if not isinstance(sys.stdout, TerminalSafeStream):
        sys.stdout = TerminalSafeStream(sys.stdout)  # type: ignore[assignment]
        sys.stderr = TerminalSafeStream(sys.stderr)  # type: ignore[assignment]
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except CliError as exc:
        if getattr(args, "verbose", False) and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"videolake: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever went wrong is one line; the traceback with --verbose
        if getattr(args, "verbose", False):
            raise
        print(f"videolake: {_one_line(exc)} (--verbose shows the traceback)", file=sys.stderr)
        return EXIT_FAILED


def _one_line(exc: BaseException) -> str:
    """What failed, in one line: the catalog or a backend that cannot be reached, or the error itself."""
    from sqlalchemy.exc import DBAPIError

    from videolake.storage import StorageError

    if isinstance(exc, DBAPIError):
        url = _environment().get("VIDEOLAKE_CATALOG_URL", "")
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return f"the catalog at {_redact(url)} cannot be used: {reason}"
    if isinstance(exc, StorageError):
        return str(exc).splitlines()[0]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run() -> None:
    """The `videolake` command: ``main`` tuned for a short-lived process."""
    import gc

    # Start-up imports (SQLAlchemy, botocore, Dagster) create several hundred thousand long-lived
    # objects; collecting the young generation every 700 allocations while they load costs ~30 ms.
    gc.set_threshold(20_000, 10, 10)
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`videolake videos | head`): not an error. Point stdout at /dev/null
        # so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    # The process is about to end: spare the interpreter its final collections over every object
    # (~0.1 s once SQLAlchemy and botocore are loaded). Cleanup handlers still run; the OS reclaims the rest.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
