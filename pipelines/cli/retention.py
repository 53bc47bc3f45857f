"""``retention plan|apply``: the retention job the daily schedule runs, in this process; the outcome
(every planned item, what was deleted) is read back from the catalog by the run's id."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipelines import names
from pipelines.cli.common import environment, existing_catalog, parsed, print_json, require_catalog
from pipelines.cli.runs import run_failure, run_job
from videolake.constants import Env, ExitCode
from videolake.display import human_bytes
from videolake.inputs import parse_instant
from videolake.usecases.errors import ConfigurationError, NotFound


def register(sub: Any) -> None:
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


def cmd_retention(args: argparse.Namespace) -> int:
    from videolake.retention.policy import PolicyError, load_policy
    from videolake.usecases.retention import retention_outcome

    env = environment()
    try:
        load_policy(env[Env.RETENTION])  # a bad file is a configuration error (exit 2), before any run starts
    except PolicyError as exc:
        raise ConfigurationError(f"{exc}\nnothing was planned or deleted") from exc
    require_catalog()
    as_of = parsed(parse_instant, args.as_of, "--as-of").isoformat() if args.as_of else None
    apply = args.action == "apply"
    config = {"apply": apply, "as_of": as_of, "force": bool(getattr(args, "force", False))}
    result = run_job(names.JOB_RETENTION, op_config={names.ASSET_RETENTION_SWEEP: {"config": config}}, tags={},
                     verbose=args.verbose)
    # The storage report runs after the sweep in the same job; its failure is reported by name.
    failure = run_failure(result, names.ASSET_RETENTION_SWEEP)
    try:
        outcome = retention_outcome(existing_catalog(), result.run_id)
    except NotFound:
        outcome = None  # the run stopped before it had a plan (the catalog could not be read)
    data = outcome.to_dict() if outcome else {"run_id": result.run_id, "mode": "apply" if apply else "plan"}
    if failure:
        data["error"] = failure
    if args.json:
        print_json(data)
    else:
        if outcome is not None:
            s = outcome.summary
            verb = "deleted" if apply and not failure else "would go"
            print(f"as of {s['as_of']}: {s['videos_to_delete']} videos, {s['hot_copies_to_drop']} hot "
                  f"copies, {s['exports_to_expire']} exports {verb} — {s['objects']} objects, "
                  f"{human_bytes(s['bytes_freed'])} ({s['delete_share']:.1%} of {s['videos_in_catalog']} "
                  f"videos); {s['held_skipped']} held items kept")
            for url, n in s.get("by_backend", {}).items():
                print(f"  {url}: {n['objects']} objects, {human_bytes(n['bytes'])}")
            for warning in s.get("warnings", []):
                print(f"  warning: {warning}")
            if not apply and outcome.refused:
                print("applying this plan would be refused: " + "; ".join(outcome.refused))
        if failure:
            print(f"videolake: {failure}", file=sys.stderr)
    return ExitCode.FAILED if failure else ExitCode.OK
