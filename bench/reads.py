"""Reads as users type them: `videolake videos --limit 50`, `status` and `segments` as whole
processes on a catalog of 100,000 videos (SQLite), median of 5, beside floors measured in the
same run.

    .venv/bin/python bench/reads.py [--videos 100000] [--runs 5] [--against REV]

``--against REV`` times the same commands of an earlier commit too (a git worktree of it put first on
``PYTHONPATH``), run for run interleaved with this code's, on the same catalog.

The catalog: half recording segments (100 cameras of continuous 10 s segments, as
``bench/segments_query.py`` loads them), half videos with a verified replica, a poster and a
sprite each (as ``bench/api.py`` loads them). Floors: `videolake --help` (the interpreter and the
command's own start-up) and a Python process that only imports SQLAlchemy. Target: each command
≤ 0.4 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import seed_catalog  # noqa: E402
from bench.common import OUT_DIR, REPO, baseline_tree, remove_baseline_tree, user_env  # noqa: E402
from bench.segments_query import fill  # noqa: E402

VIDEOLAKE = str(Path(sys.executable).with_name("videolake"))
TARGET_S = 0.4


def timed_runs(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", metavar="REV", help="an earlier commit to time beside this code")
    args = parser.parse_args()
    home = OUT_DIR / "reads-home"
    shutil.rmtree(home, ignore_errors=True)
    env = user_env(home)
    subprocess.run([VIDEOLAKE, "db", "upgrade"], env=env, check=True, capture_output=True)
    fill(f"sqlite:///{home / 'catalog.sqlite'}", args.videos // 2)
    seed_catalog(home / "catalog.sqlite", args.videos - args.videos // 2, (home / "storage").as_uri())
    commands = {
        "videolake videos --limit 50": [VIDEOLAKE, "videos", "--limit", "50"],
        "videolake status": [VIDEOLAKE, "status"],
        "videolake segments (one camera, 30 min)": [VIDEOLAKE, "segments", "--camera", "cam001", "--start",
                                                    "2026-01-01T01:00:00", "--end", "2026-01-01T01:30:00"],
        "floor: videolake --help": [VIDEOLAKE, "--help"],
        "floor: python -c 'import sqlalchemy'": [sys.executable, "-c", "import sqlalchemy"],
    }
    # Both codes through PYTHONPATH, so both pay for the same longer module search path.
    codes = {"this code": {**env, "PYTHONPATH": str(REPO)}}
    tree = baseline_tree(args.against, "reads-baseline") if args.against else None
    if tree is not None:
        codes[args.against] = {**env, "PYTHONPATH": str(tree)}
    print(f"{args.videos} videos in the catalog; {args.runs} runs each (whole processes)")
    header = "".join(f" {label[:12]:>12} best {'median':>7}" for label in codes)
    print(f"{'command':<44}{header}  target")
    try:
        for name, cmd in commands.items():
            times: dict[str, list[float]] = {label: [] for label in codes}
            for _ in range(args.runs):  # interleaved, so both codes meet the same machine
                for label, code_env in codes.items():
                    times[label] += timed_runs(cmd, code_env, 1)
            median = statistics.median(times["this code"])
            verdict = "" if name.startswith("floor") else ("met" if median <= TARGET_S else "NOT met")
            figures = "".join(f" {min(t):>17.2f} {statistics.median(t):>7.2f}" for t in times.values())
            print(f"{name:<44}{figures}  {verdict}", flush=True)
    finally:
        if tree is not None:
            remove_baseline_tree(tree)
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
