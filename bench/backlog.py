"""A backlog through the daemon: 3,000 distinct clips copied at once into the landing zone of a
running ``./scripts/run``, timed until every one is cataloged, beside the whole ``videolake
ingest`` process over 300 of the same clips in the same run; the UI's runs page is asked for
every 2 s meanwhile.

    .venv/bin/python bench/backlog.py [--clips 3000] [--baseline-clips 300]

1. Baseline: ``videolake ingest`` as a whole process over 300 clips (``bench/ingest.py``'s
   headline, one round), in files per second.
2. ``./scripts/run`` on a fresh home (its demo clips ingested first), then the clips copied into
   ``landing/backlog/``; the figure is from the end of the copy to the first poll (every 0.5 s,
   read-only on the catalog) that counts all of them as landed (a video each).
3. Meanwhile a GraphQL query of the runs page (the 25 latest runs with their status, times and
   tags) every 2 s, each timed.
4. The parts: each ingest run of the backlog with its files, when it was created, started and
   ended, from the end of the copy.
Targets: backlog throughput ≥ 0.8× the baseline's files per second; every runs-page answer ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, clip_set, scripts_run  # noqa: E402
from bench.ingest import whole_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS_PAGE = ("{ runsOrError(limit: 25) { ... on Runs { results { runId status creationTime startTime endTime "
             "pipelineName tags { key value } } } } }")


def ask(port: int, query: str) -> float:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        json.load(response)
    return time.perf_counter() - started


def landed(db: Path, prefix: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM landings WHERE landing_uri LIKE ?", (f"%{prefix}%",)).fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=3000)
    parser.add_argument("--baseline-clips", type=int, default=300)
    args = parser.parse_args()
    work = OUT_DIR / "backlog"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    # 1. The baseline, in this run.
    small = clip_set(args.baseline_clips)
    n_small = len(list(small.glob("*.mp4")))
    baseline_s = whole_process(small, work / "baseline", 0, n_small)
    baseline = n_small / baseline_s
    print(f"baseline: videolake ingest over {n_small} clips, whole process {baseline_s:.2f} s = {baseline:.1f} files/s",
          flush=True)
    # 2. The daemon.
    clips = sorted(clip_set(args.clips).glob("*.mp4"))
    home = work / "home"
    db = home / "catalog.sqlite"
    answers: list[float] = []
    stop = threading.Event()

    def poll_ui(port: int) -> None:
        while not stop.wait(2.0):
            try:
                answers.append(ask(port, RUNS_PAGE))
            except Exception:  # noqa: BLE001 - a timeout counts as the worst answer
                answers.append(30.0)

    with scripts_run(home, work / "run.log") as (port, env):
        poller = threading.Thread(target=poll_ui, args=(port,), daemon=True)
        poller.start()
        target = home / "landing" / "backlog"
        target.mkdir(parents=True)
        copy_started = time.monotonic()
        for clip in clips:
            shutil.copyfile(clip, target / clip.name)
        dropped = time.monotonic()
        print(f"{len(clips)} clips copied in {dropped - copy_started:.1f} s", flush=True)
        last = 0
        while (count := landed(db, "/backlog/")) < len(clips):
            if time.monotonic() - dropped > 1800:
                raise SystemExit(f"only {count} of {len(clips)} cataloged after 30 minutes")
            if count - last >= 500:
                print(f"  {count} cataloged at {time.monotonic() - dropped:.0f} s", flush=True)
                last = count
            time.sleep(0.5)
        seconds = time.monotonic() - dropped
        stop.set()
        poller.join()
        query = ('{ runsOrError(filter: {pipelineName: "ingest_job"}) { ... on Runs { results { runId status '
                 "creationTime startTime endTime tags { key value } } } } }")
        runs = json.loads(subprocess.run(["curl", "-s", "-X", "POST", "-H", "content-type: application/json", "-d",
                                          json.dumps({"query": query}), f"http://127.0.0.1:{port}/graphql"],
                                         capture_output=True, text=True).stdout)["data"]["runsOrError"]["results"]
    # 4. Where the time went, run by run (times from the drop; the epoch is the wall clock's).
    dropped_wall = time.time() - (time.monotonic() - dropped)
    backlog_runs = sorted((r for r in runs if r["creationTime"] >= dropped_wall - (dropped - copy_started) - 1),
                          key=lambda r: r["creationTime"])
    print("\nrun   files  created  started  ended   queued  running  (seconds from the end of the copy)")
    for r in backlog_runs:
        tags = {t["key"]: t["value"] for t in r["tags"]}
        at = [(r[k] or float("nan")) - dropped_wall for k in ("creationTime", "startTime", "endTime")]
        print(f"{r['runId'][:8]}  {tags.get('videolake/files', '?'):>4}  {at[0]:7.1f}  {at[1]:7.1f}  {at[2]:6.1f}  "
              f"{at[1] - at[0]:6.1f}  {at[2] - at[1]:7.1f}")
    rate = len(clips) / seconds
    print(f"\nbacklog: {len(clips)} clips cataloged {seconds:.1f} s after they were dropped = {rate:.1f} files/s, "
          f"{rate / baseline:.2f}x the whole-process CLI's {baseline:.1f} files/s (target >= 0.8: "
          f"{'met' if rate / baseline >= 0.8 else 'NOT met'}); {len(backlog_runs)} ingest runs")
    print(f"runs page during the backlog: {len(answers)} answers, median {statistics.median(answers):.2f} s, "
          f"max {max(answers):.2f} s (target <= 2 s: {'met' if max(answers) <= 2 else 'NOT met'})")
    (OUT_DIR / "backlog-results.json").write_text(json.dumps({"seconds": seconds, "clips": len(clips),
                                                              "baseline_files_per_s": baseline, "ui": answers}))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
