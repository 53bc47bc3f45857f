"""``hold add|list|release``: legal holds, footage no retention sweep may delete."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipelines.cli.common import existing_catalog, operator, parsed, print_json, table
from videolake.constants import ExitCode
from videolake.inputs import parse_instant


def register(sub: Any) -> None:
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


def cmd_hold_add(args: argparse.Namespace) -> int:
    from videolake.usecases.holds import HoldRequest, add_hold

    request = HoldRequest(reason=args.reason, camera=args.camera, video_id=args.video,
                          start=parsed(parse_instant, args.start, "--start") if args.start else None,
                          end=parsed(parse_instant, args.end, "--end") if args.end else None)
    hold = add_hold(existing_catalog(), request, by=operator())
    if args.json:
        print_json(hold.to_dict())
        return ExitCode.OK
    print(f"hold {hold.id} added: " + (f"video {hold.video_id}" if hold.video_id else
                                       f"{hold.camera} {hold.start.isoformat()} → {hold.end.isoformat()}")  # type: ignore[union-attr]
          + f" ({hold.reason})")
    if hold.note:
        print(f"note: {hold.note}", file=sys.stderr)
    return ExitCode.OK


def cmd_hold_list(args: argparse.Namespace) -> int:
    from videolake.usecases.holds import list_holds

    holds = list_holds(existing_catalog(), include_released=args.all)
    if args.json:
        print_json([h.to_dict() for h in holds])
        return ExitCode.OK
    rows = [[str(h.id), f"video {h.video_id}" if h.video_id else f"{h.camera} {h.start.isoformat()} → {h.end.isoformat()}",  # type: ignore[union-attr]
             h.reason[:50], f"{h.created_at.isoformat()[:19]} {h.created_by or ''}",
             f"released {h.released_at.isoformat()[:19]}" if h.released_at else "active"] for h in holds]
    print(table(rows, ["id", "covers", "reason", "added", "state"]))
    print(f"{sum(1 for h in holds if not h.released_at)} active holds")
    return ExitCode.OK


def cmd_hold_release(args: argparse.Namespace) -> int:
    from videolake.usecases.holds import release_hold

    hold = release_hold(existing_catalog(), args.id, by=operator())
    print(f"hold {hold.id} released; its footage follows the retention policies again")
    return ExitCode.OK
