"""What the catalog knows: ``videos``, ``status``, ``quarantine``, ``audit``."""

from __future__ import annotations

import argparse
from typing import Any

from pipelines.cli.common import (
    environment,
    existing_catalog,
    existing_catalog_reader,
    print_json,
    redact,
    table,
    whole_number,
)
from videolake.constants import Env, ExitCode
from videolake.display import human_bytes, shorten


def register(sub: Any) -> None:
    p = sub.add_parser("videos", help="list cataloged videos")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=whole_number(1))
    p.add_argument("--source")
    p.set_defaults(fn=cmd_videos)

    p = sub.add_parser("status", help="catalog totals, replicas, backlog and configuration")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)

    p = sub.add_parser("quarantine", help="files that were moved aside, with the reason")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=whole_number(1))
    p.set_defaults(fn=cmd_quarantine)

    p = sub.add_parser("audit", help="the audit trail: deletions, holds, verified copies")
    p.add_argument("--limit", type=whole_number(1), default=100)
    p.add_argument("--action", help="e.g. retention_* or hold_added")
    p.add_argument("--video", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_audit)


def cmd_videos(args: argparse.Namespace) -> int:
    from videolake.usecases.videos import list_videos

    videos = list_videos(existing_catalog_reader(), limit=args.limit, source=args.source)
    if args.json:
        print_json([v.to_dict() for v in videos])
        return ExitCode.OK
    rows = [
        [str(v.id), v.name[:40], v.source, v.source_type, human_bytes(v.size_bytes),
         f"{v.duration_s:.1f}s" if v.duration_s else "-", f"{v.width}x{v.height}" if v.width else "-",
         f"{v.video_codec or '-'}/{v.audio_codec or '-'}", v.sha256[:12]]
        for v in videos
    ]
    print(table(rows, ["id", "name", "source", "type", "size", "duration", "size px", "codecs", "sha256"]))
    print(f"{len(videos)} videos")
    return ExitCode.OK


def cmd_status(args: argparse.Namespace) -> int:
    from videolake.usecases.status import catalog_status

    env = environment()
    status = catalog_status(existing_catalog_reader(), {
        "home": env[Env.HOME],
        "landing": env[Env.LANDING],
        "hot_storage": env[Env.HOT_STORAGE],
        "quarantine": env[Env.QUARANTINE],
        "archive_storage": env[Env.ARCHIVE_STORAGE],
        "write_mode": env[Env.WRITE_MODE],
        "migration": env[Env.MIGRATION],
        "catalog": redact(env[Env.CATALOG_URL]),
    })
    if args.json:
        print_json(status)
        return ExitCode.OK
    print(f"videos       {status['videos']} ({human_bytes(status['bytes'])}, {status['duration_s'] / 3600:.2f} h)")
    print("landings     " + (", ".join(f"{k} {v}" for k, v in sorted(status["landings"].items())) or "none"))
    print(f"quarantined  {status['quarantined']}")
    print(f"unprobed     {status['unprobed']}")
    print("thumbnails   " + (", ".join(f"{k} {v}" for k, v in sorted(status["derivatives"].items())) or "none"))
    for r in status["replicas"]:
        print(f"replicas     {r['backend']}  {r['state']}  {r['count']} ({human_bytes(r['bytes'])})")
    for b in status["landing_backlog"]:
        print(f"backlog      {b['zone']}  {b['state']}  {b['files']}")
    imports = status["imports"]
    if imports["by_state"]:
        print("imports      " + ", ".join(f"{k} {v}" for k, v in sorted(imports["by_state"].items())))
    for item in imports["at_risk"]:
        print(f"AT RISK      import {item['id'][:12]} ({item['state']}) must be fetched by {item['deadline'][:19]} UTC: "
              f"{item['url'][:100]}" + (f" — last error: {item['last_error'][:120]}" if item["last_error"] else ""))
    for item in imports["missed"][:20]:
        print(f"MISSED       import {item['id'][:12]} expired {(item['deadline'] or '')[:19]} UTC: {item['url'][:100]}"
              f" — {(item['last_error'] or '')[:160]}")
    if len(imports["missed"]) > 20:
        print(f"MISSED       … and {len(imports['missed']) - 20} more (`videolake status --json` lists them)")
    pending = sum(r["count"] for r in status["replicas"] if r["state"] == "pending")
    if pending:
        print(f"PENDING      {pending} replicas wait for a copy (a backend was down or a copy failed); the next "
              "ingest or archive run catches them up")
    for k, v in status["configuration"].items():
        print(f"{k:<15} {v}")
    return ExitCode.OK


def cmd_quarantine(args: argparse.Namespace) -> int:
    from videolake.usecases.videos import list_quarantine

    items = list_quarantine(existing_catalog(), limit=args.limit)
    if args.json:
        print_json([q.to_dict() for q in items])
        return ExitCode.OK
    rows = [[str(q.id), shorten(q.name, 40), q.reason, shorten(q.detail, 70), q.quarantined_uri or "(left in place)"]
            for q in items]
    print(table(rows, ["id", "name", "reason", "detail", "moved to"]))
    print(f"{len(items)} quarantined files")
    return ExitCode.OK


def cmd_audit(args: argparse.Namespace) -> int:
    from videolake.usecases.audit import audit_trail

    entries = audit_trail(existing_catalog(), limit=args.limit, action=args.action, video_id=args.video)
    if args.json:
        print_json([e.to_dict() for e in entries])
        return ExitCode.OK
    rows = [[str(e.id), e.at.isoformat()[:19], e.action, str(e.video_id or ""), str(e.size_bytes or ""),
             _audit_detail(e)] for e in entries]
    print(table(rows, ["id", "at", "action", "video", "bytes", "detail"]))
    return ExitCode.OK


def _audit_detail(entry: Any) -> str:
    """One line on what an audit row is about: the hold (what it covers and why), else the policy and where."""
    from videolake.retention.holds import describe_hold

    detail = entry.detail or {}
    if entry.action in ("hold_added", "hold_released"):
        verb = "hold" if entry.action == "hold_added" else "released hold"
        return f"{verb} {detail.get('hold')}: {describe_hold(detail, entry.video_id)}"
    parts = [f"policy {detail['policy']}" if detail.get("policy") else "", entry.backend or "", entry.key or ""]
    return shorten(" ".join(p for p in parts if p), 100)
