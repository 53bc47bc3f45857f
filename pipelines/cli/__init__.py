"""The ``videolake`` command line for operators: one module per command group, each a thin adapter
over the use cases (``videolake.usecases``): parse, call, print.

Jobs run in this process are recorded in the Dagster instance ($DAGSTER_HOME) so they show in the
UI; what they did is read back from the catalog by run id. Exit codes (``ExitCode``): 0 done,
1 failed, 2 bad usage or configuration, 3 done but some files were quarantined, skipped or left.
A use-case error is one line on stderr with its own exit code; any other error is one line too,
and ``--verbose`` (on every command) shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from pipelines.cli import admin, api, common, footage, holds, imports, ingest, retention, storage, videos
from pipelines.cli.common import one_line
from videolake.constants import ExitCode
from videolake.display import TerminalSafeStream
from videolake.usecases.errors import UseCaseError

COMMAND_GROUPS = (ingest, imports, videos, footage, storage, holds, retention, api, admin)


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line (and exit 2), with where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="videolake", description="Store, catalog and move video (a Dagster code location).")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
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


def main(argv: list[str] | None = None) -> int:
    import faulthandler
    import signal

    common.USER_SET.clear()
    common.USER_SET.update(k for k, v in os.environ.items() if k.startswith("VIDEOLAKE_") and v)

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID` prints where a stuck command is
    # Names come from the outside world: none of what is printed may drive the terminal.
    if not isinstance(sys.stdout, TerminalSafeStream):
        sys.stdout = TerminalSafeStream(sys.stdout)  # type: ignore[assignment]
        sys.stderr = TerminalSafeStream(sys.stderr)  # type: ignore[assignment]
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except UseCaseError as exc:
        if getattr(args, "verbose", False) and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"videolake: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever went wrong is one line; the traceback with --verbose
        if getattr(args, "verbose", False):
            raise
        print(f"videolake: {one_line(exc)} (--verbose shows the traceback)", file=sys.stderr)
        return ExitCode.FAILED


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
