"""`./scripts/run` as a new user starts and stops it: a fresh home, the first ticks, Ctrl-C mid-run.

A terminal's Ctrl-C goes to the whole foreground process group; the test sends the signal the same
way (to the group of the script, started in a session of its own with default signal handling).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import default_signals, free_port

REPO = Path(__file__).resolve().parents[2]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def _wait(what: str, check, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f} s; ./scripts/run said:\n{log.read_text()[-5000:]}")


def _status(env: dict) -> dict:
    out = subprocess.run([str(Path(sys.executable).with_name("videolake")), "status", "--json"], env=env,
                         capture_output=True, text=True, timeout=60)
    return json.loads(out.stdout) if out.returncode == 0 else {}


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_fresh_start_ticks_cleanly_and_stops_without_tracebacks(tmp_path, clips, stop_with):
    port, api_port = free_port(), free_port()
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(home), "VIDEOLAKE_UI_PORT": str(port), "VIDEOLAKE_API_PORT": str(api_port)})
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(["./scripts/run"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=default_signals)
    try:
        _wait("the UI answers", lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200,
              180, log)
        # The HTTP API runs beside it, and says where.
        health = _wait("the API answers", lambda: json.load(urllib.request.urlopen(
            f"http://127.0.0.1:{api_port}/api/health", timeout=5)), 60, log)
        assert health["status"] == "healthy", health
        assert f"API on http://127.0.0.1:{api_port}" in log.read_text()
        # The demo clips it seeded are ingested by the landing sensor's first run.
        _wait("the seeded clips are cataloged", lambda: _status(env).get("videos", 0) >= 6, 120, log)
        # No sensor's first ticks failed (they used to, with `database is locked`, creating the schema).
        sensors = _graphql(port, "{ repositoriesOrError { ... on RepositoryConnection { nodes { sensors { name "
                                 "sensorState { ticks(limit: 20) { status error { message } } } } } } } }")
        ticks = {s["name"]: [t["status"] for t in s["sensorState"]["ticks"]]
                 for repo in sensors["repositoriesOrError"]["nodes"] for s in repo["sensors"]}
        assert ticks and all("FAILURE" not in statuses for statuses in ticks.values()), ticks
        assert {"landing_zone_sensor", "segments_sensor", "export_requests_sensor"} <= set(ticks)
        # The asset's partitions are the days that hold data (today's seeds), all materialized: green,
        # not "Missing (2525)" days since 2020.
        # (The catalog holds the videos a moment before the run's materialization is written: waited for.)
        query = ('{ assetNodeOrError(assetKey: {path: ["ingested_videos"]}) { ... on AssetNode { '
                 "partitionKeys partitionStats { numMaterialized numPartitions numFailed } } } }")
        node = _wait("the seeds' run materialized its day", lambda: (lambda n: n if n["assetNodeOrError"][
            "partitionStats"]["numMaterialized"] else None)(_graphql(port, query)), 60, log)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        assert node["assetNodeOrError"]["partitionKeys"] == [today]
        assert node["assetNodeOrError"]["partitionStats"] == {"numMaterialized": 1, "numPartitions": 1, "numFailed": 0}
        # A batch is being ingested when the user stops it.
        landed_before = sum(_status(env)["landings"].values())
        bulk = home / "landing" / "bulk"
        bulk.mkdir(parents=True)
        for i in range(40):
            shutil.copyfile(clips.good, bulk / f"clip-{i:02d}.mp4")
        _wait("a run for the new batch starts",
              lambda: any(r["status"] in ("STARTING", "STARTED") for r in _graphql(
                  port, "{ runsOrError { ... on Runs { results { status } } } }")["runsOrError"]["results"]),
              60, log)
        mark = log.stat().st_size
        os.killpg(proc.pid, stop_with)
        code = proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    said = log.read_text()[mark:]
    assert code == 0, said[-5000:]
    assert "Traceback" not in said and "KeyboardInterrupt\n" not in said, said[-8000:]
    deadline = time.monotonic() + 20
    while (left := subprocess.run(["pgrep", "-a", "-f", str(home)], capture_output=True, text=True).stdout.strip()) \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == "", f"processes left behind:\n{left[:3000]}"
    with socket.socket() as probe:  # the API stopped with the rest
        assert probe.connect_ex(("127.0.0.1", api_port)) != 0
    # Nothing was lost: every clip dropped is cataloged (a video or a duplicate of one) or still landed.
    remaining = [p for p in bulk.iterdir() if p.suffix == ".mp4"]
    assert sum(_status(env)["landings"].values()) - landed_before == 40 - len(remaining)
