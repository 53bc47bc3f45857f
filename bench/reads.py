"""Reads as users type them: `videolake videos --limit 50`, `status` and `segments` as whole
processes on a catalog of 100,000 videos (SQLite), median of 5, beside floors measured in the
same run.

    .venv/bin/python bench/reads.py [--videos 100000] [--runs 5]

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
from bench.common import OUT_DIR, user_env  # noqa: E402
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
    print(f"{args.videos} videos in the catalog; {args.runs} runs each (whole processes)")
    print(f"{'command':<44} {'best s':>7} {'median s':>9}  target")
    for name, cmd in commands.items():
        runs = timed_runs(cmd, env, args.runs)
        median = statistics.median(runs)
        verdict = "" if name.startswith("floor") else ("met" if median <= TARGET_S else "NOT met")
        print(f"{name:<44} {min(runs):>7.2f} {median:>9.2f}  {verdict}", flush=True)
    shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
