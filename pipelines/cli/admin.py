"""Setting up: ``db upgrade|current``, ``env``, ``seed-demo``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from pipelines.cli.common import environment, whole_number
from videolake.constants import Env, ExitCode


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="catalog schema migrations")
    p.add_argument("action", choices=["upgrade", "current"])
    p.set_defaults(fn=cmd_db)

    p = sub.add_parser("env", help="the effective VIDEOLAKE_* configuration")
    p.add_argument("--shell", action="store_true", help="as export lines for eval")
    p.set_defaults(fn=cmd_env)

    p = sub.add_parser("seed-demo", help="put generated sample clips into the local landing zone")
    p.add_argument("--if-empty", action="store_true")
    p.add_argument("--count", type=whole_number(1), default=6)
    p.set_defaults(fn=cmd_seed_demo)


def cmd_db(args: argparse.Namespace) -> int:
    from videolake.catalog.database import create_catalog_engine, current_revision, head_revision, upgrade_schema

    url = environment()[Env.CATALOG_URL]
    if args.action == "upgrade":
        print(f"catalog at revision {upgrade_schema(url)}")
    else:
        print(f"catalog at revision {current_revision(create_catalog_engine(url)) or '(empty)'}; newest is {head_revision()}")
    return ExitCode.OK


def cmd_env(args: argparse.Namespace) -> int:
    for key, value in sorted(environment().items()):
        print(f"export {key}={shlex.quote(value)}" if args.shell else f"{key}={value}")
    return ExitCode.OK


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from videolake.media.samples import seed_demo_landing

    landing = environment()[Env.LANDING]
    if "://" in landing and not landing.startswith("file://"):
        print(f"landing zone {landing} is not a local folder; not seeding", file=sys.stderr)
        return ExitCode.OK
    folder = Path(landing.removeprefix("file://"))
    if args.if_empty and folder.exists() and any(folder.rglob("*")):
        print(f"not seeding: the landing zone {folder} already holds files (--if-empty)")
        return ExitCode.OK
    made = seed_demo_landing(folder, args.count)
    print(f"seeded {len(made)} sample clips into {folder}")
    return ExitCode.OK
