"""Drop-to-catalog latency through the real daemon: ``./scripts/run`` started as a user starts it,
then one clip at a time copied into its landing zone, each timed until the catalog holds it
probed and thumbnailed (and ``videolake status`` counts it).

    .venv/bin/python bench/latency.py [--drops 20]

Each drop is a distinct clip (``cp`` of a clip made beforehand, so its bytes are new), copied in
after a random pause of 0–15 s once the one before it was cataloged (so drops fall at every point
of the sensor's tick). The figure per drop is from the end of the copy to the first poll (every
0.2 s, read-only on the catalog) that finds the video with its probe and its poster. Beside it,
what the parts cost, from the runs the daemon recorded: the wait before the run was created
(stability settle + sensor interval), the queue (created → started), and the run itself
(started → success). Targets: p50 ≤ 15 s, p95 ≤ 25 s.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, scripts_run, wait_for  # noqa: E402
from videolake.media.samples import make_clip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def cataloged(db: Path, name: str) -> bool:
    """The clip is a video with its probe and its poster (read-only; the daemon writes meanwhile)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT v.id FROM videos v JOIN derivatives d ON d.video_id = v.id AND d.kind = 'poster' "
                           "WHERE v.name = ? AND v.probed_at IS NOT NULL", (name,)).fetchone()
    return row is not None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_parts(port: int) -> list[dict]:
    """Creation, start and end of the daemon's ingest runs (seconds since the epoch)."""
    data = graphql(port, '{ runsOrError(filter: {pipelineName: "ingest_job"}) { ... on Runs { results { runId '
                         "status creationTime startTime endTime } } } }")
    return data["runsOrError"]["results"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = OUT_DIR / "latency"
    shutil.rmtree(work, ignore_errors=True)
    clips = work / "clips"
    clips.mkdir(parents=True)
    sources = [make_clip(clips / f"drop-{i:02d}.mp4", duration=5, size="640x360", frequency=500 + 7 * i)
               for i in range(args.drops)]
    home = work / "home"
    landing = home / "landing"
    db = home / "catalog.sqlite"
    latencies: list[float] = []
    with scripts_run(home, work / "run.log") as (port, env):
        print(f"./scripts/run is up (UI :{port}); {args.drops} drops", flush=True)
        for n, source in enumerate(sources):
            time.sleep(rng.uniform(0, 15))
            target = landing / source.name
            shutil.copyfile(source, target)  # what `cp` does: open, write, close
            dropped = time.monotonic()
            wait_for(f"drop {n + 1} cataloged", lambda: cataloged(db, source.name), 180)
            latencies.append(time.monotonic() - dropped)
            print(f"drop {n + 1}: {latencies[-1]:.1f} s", flush=True)
        status = subprocess.run([str(Path(sys.executable).with_name("videolake")), "status", "--json"], env=env,
                                capture_output=True, text=True, check=True)
        videos = json.loads(status.stdout)["videos"]
        runs = [r for r in run_parts(port) if r["status"] == "SUCCESS" and r["startTime"] and r["endTime"]]
    queue = [r["startTime"] - r["creationTime"] for r in runs]
    running = [r["endTime"] - r["startTime"] for r in runs]
    print(f"\ndrop-to-catalog latency over {len(latencies)} drops (./scripts/run: daemon, landing sensor, run queue, "
          f"run worker): p50 {statistics.median(latencies):.1f} s, p95 {pct(latencies, 0.95):.1f} s, "
          f"max {max(latencies):.1f} s (targets p50 <= 15 s, p95 <= 25 s); `videolake status` counts {videos} videos")
    print(f"parts, medians over {len(runs)} ingest runs: queued {statistics.median(queue):.1f} s (created -> started), "
          f"running {statistics.median(running):.1f} s (started -> success: the run's process start, imports, "
          f"instance, ingest); the rest of each drop is the settle and the sensor's interval")
    (OUT_DIR / "latency-results.json").write_text(json.dumps({"latencies": latencies, "queue": queue,
                                                              "running": running}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
