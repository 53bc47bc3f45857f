"""Camera footage: ``segments`` (coverage and gaps), ``export create|status|link|cancel``, ``stitch``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pipelines import names
from pipelines.cli import common
from pipelines.cli.common import environment, existing_catalog, existing_catalog_reader, parsed, print_json, table
from pipelines.cli.runs import run_job
from videolake.constants import Env, ExitCode, ExportStatus
from videolake.inputs import parse_duration, parse_instant
from videolake.usecases.errors import InvalidInput


def register(sub: Any) -> None:
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
    p = export.add_parser("cancel", help="withdraw an export nobody has started cutting")
    p.add_argument("export_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_export_cancel)

    p = sub.add_parser("stitch", help="join catalog videos into one new video (re-encodes only when formats differ)")
    p.add_argument("ids", nargs="+", type=int, metavar="ID")
    p.add_argument("--name", help="file name of the new video")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_stitch)


def cmd_segments(args: argparse.Namespace) -> int:
    from videolake.usecases.footage import footage_coverage

    start, end = parsed(parse_instant, args.start, "--start"), parsed(parse_instant, args.end, "--end")
    coverage = footage_coverage(existing_catalog_reader(), args.camera, start, end)
    if args.json:
        print_json(coverage.to_dict())
        return ExitCode.OK
    rows = [[h.start.isoformat(), h.end.isoformat(), f"{h.duration_s:.1f}s", str(h.video_id),
             f"{h.video_codec or '-'} {h.width}x{h.height}"] for h in coverage.segments]
    print(table(rows, ["start", "end", "length", "video", "codec"]))
    for g in coverage.gaps:
        print(f"gap  {g.start.isoformat()} .. {g.end.isoformat()}  ({g.seconds:.1f} s)")
    print(f"{len(coverage.segments)} segments, {coverage.covered_s:.0f} of {coverage.requested_s:.0f} s covered, "
          f"{len(coverage.gaps)} gaps")
    return ExitCode.OK


def _ttl(text: str) -> int:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise InvalidInput(f"--ttl {exc} (links always expire)") from exc


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
    from videolake.constants import ExportMode
    from videolake.usecases.exports import create_export, get_export

    catalog = existing_catalog()
    export = create_export(catalog, args.camera, parsed(parse_instant, args.start, "--start"),
                           parsed(parse_instant, args.end, "--end"), mode=ExportMode(args.mode), reason=args.reason,
                           ttl_seconds=_ttl(args.ttl))
    if not args.wait:
        print(json.dumps({"id": export.id, "status": export.status}) if args.json else export.id)
        return ExitCode.OK
    run_job(names.JOB_EXPORT, op_config={names.ASSET_VIDEO_EXPORTS: {"config": {"export_id": export.id}}},
            tags={names.TAG_EXPORT: export.id}, verbose=args.verbose)
    info = get_export(catalog, export.id).to_dict()  # the outcome, from the catalog
    print_json(info) if args.json else _print_export(info)
    return ExitCode.OK if info["status"] == ExportStatus.COMPLETED else ExitCode.FAILED


def cmd_export_status(args: argparse.Namespace) -> int:
    from videolake.usecases.exports import get_export

    info = get_export(existing_catalog(), args.export_id).to_dict()
    print_json(info) if args.json else _print_export(info)
    return ExitCode.OK if info["status"] != ExportStatus.FAILED else ExitCode.FAILED


def cmd_export_cancel(args: argparse.Namespace) -> int:
    from videolake.usecases.exports import cancel_export

    info = cancel_export(existing_catalog(), args.export_id).to_dict()
    print_json(info) if args.json else print(f"export {info['id']} cancelled")
    return ExitCode.OK


def cmd_export_link(args: argparse.Namespace) -> int:
    from videolake.links.tokens import load_or_create_secret
    from videolake.usecases.exports import LocalLinkSigner, export_links

    env = environment()
    ttl = _ttl(args.ttl)
    base, answered = "", True

    def signer() -> LocalLinkSigner:  # links to local storage only: the secret and the server are theirs
        nonlocal base, answered
        base, answered = _link_base(env)
        return LocalLinkSigner(load_or_create_secret(os.environ.get(Env.LINK_SECRET), Path(env[Env.HOME])), base)

    links = export_links(existing_catalog(), args.export_id, ttl, signer=signer)
    if links.signed and not answered:
        print(f"videolake: no `videolake api` is running for {env[Env.HOME]}: these links answer once one runs on "
              f"{base} (`videolake api`), or set {Env.PUBLIC_URL} to where a server answers them", file=sys.stderr)
    if args.json:
        print_json(links.to_dict())
        return ExitCode.OK
    for link in links.links:
        print(f"{link.camera}: {link.url}")
    print(f"manifest: {links.manifest_url}")
    print(f"links expire {links.expires_at.isoformat()}"
          + (" (capped: the export itself expires then)" if links.capped_to_export_expiry else ""))
    if links.signed:
        print("local storage: `videolake api` answers these links")
    return ExitCode.OK


def _link_base(env: dict[str, str]) -> tuple[str, bool]:
    """(where signed links point, whether a server is known to answer there): VIDEOLAKE_PUBLIC_URL
    when set (a proxy), else the `videolake serve` running for this home, else the default base."""
    from videolake.links.announce import running_server_base

    if Env.PUBLIC_URL in common.USER_SET:
        return env[Env.PUBLIC_URL].rstrip("/"), True
    running = running_server_base(Path(env[Env.HOME]))
    if running:
        return running.rstrip("/"), True
    return env[Env.PUBLIC_URL].rstrip("/"), False


def cmd_stitch(args: argparse.Namespace) -> int:
    from videolake.ingest.engine import IngestEngine, IngestSettings
    from videolake.storage import open_backend
    from videolake.usecases.stitch import stitch_videos

    env = environment()
    engine = IngestEngine(existing_catalog(), open_backend(env[Env.HOT_STORAGE]), open_backend(env[Env.QUARANTINE]),
                          settings=IngestSettings(workers=1))
    result = stitch_videos(engine, args.ids, args.name)
    if args.json:
        print_json(result.to_dict())
    else:
        how = f"re-encoded: {result.reencoded}" if result.reencoded else "stream copy"
        print(f"video {result.video_id} {result.name} ({how})"
              + (" — same content as an existing video" if result.duplicate_of_existing else ""))
    return ExitCode.OK
