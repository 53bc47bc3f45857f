"""After `videolake ingest` is SIGKILLed: no worker outlives it, and the rerun straight after takes
back the files the dead run held claimed, at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import cli
from videolake.catalog.models import LandingFile, QuarantineItem, Video
from videolake.catalog.repository import Catalog

FILES = 120


def session_members(sid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # field 6: session; zombies are gone already
            members.append(int(entry))
    return members


def test_a_sigkilled_ingest_leaves_no_workers_and_the_rerun_takes_its_files_back(tmp_path, cli_env, clips):
    home = Path(cli_env["VIDEOLAKE_HOME"])
    zone = home / "landing" / "uploads"
    zone.mkdir(parents=True)
    data = clips.good.read_bytes()
    for i in range(FILES):
        (zone / f"clip {i:03d}.mp4").write_bytes(data + i.to_bytes(8, "big"))
    env = {**cli_env, "VIDEOLAKE_WORKERS": "2", "VIDEOLAKE_BATCH_MAX_FILES": "20"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("videolake")), "ingest"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    videos = home / "storage" / "videos"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(1 for p in videos.rglob("*") if p.is_file()) < 5 if videos.exists() \
            else time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.02)
    assert len(session_members(proc.pid)) >= 3, "the run's worker processes were running"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while session_members(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_members(proc.pid) == [], "worker processes outlived the killed command"

    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite'}")
    with catalog.read() as s:
        assert s.scalar(select(func.count(LandingFile.id)).where(LandingFile.state == "claimed")) > 0
    rerun = cli(cli_env, "ingest", "--json")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["held_by_other_runs"] == []
    assert not list(zone.glob("*.mp4")) if zone.exists() else True, "every file was taken back and ingested"
    with catalog.read() as s:
        assert s.scalar(select(func.count(Video.id))) == FILES
        assert s.scalar(select(func.count(LandingFile.id))) == 0, "no landing row stays claimed"
        assert s.scalar(select(func.count(QuarantineItem.id))) == 0


def test_files_held_by_a_live_run_are_reported_with_when_they_are_retried(tmp_path, cli_env, clips):
    home = Path(cli_env["VIDEOLAKE_HOME"])
    zone = home / "landing" / "uploads"
    zone.mkdir(parents=True)
    (zone / "held.mp4").write_bytes(clips.good.read_bytes())
    first = cli(cli_env, "db", "upgrade")  # creates the catalog
    assert first.returncode == 0, first.stderr
    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite'}")
    from videolake.catalog.repository import ListedFile
    from videolake.catalog.models import utcnow

    st = (zone / "held.mp4").stat()
    zone_url = (home / "landing").resolve().as_uri()
    catalog.observe_landing(zone_url, [ListedFile("uploads/held.mp4", st.st_size, st.st_mtime)], tick=1)
    # Claimed by a process on another machine, a minute ago: not known dead, not stale yet.
    batches = catalog.claim_stable(zone_url, 2, now=utcnow(), stable_after_seconds=0, requeue_after_seconds=3600,
                                   max_files=10, min_unchanged_seconds=0, max_bytes=10**12, max_batches=1,
                                   claimant="other-host/4242/123")
    assert batches
    result = cli(cli_env, "ingest")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 files are held by process 4242 on other-host" in result.stdout
    assert "`videolake ingest --reclaim`" in result.stdout
    assert (zone / "held.mp4").exists()
    taken = cli(cli_env, "ingest", "--reclaim", "--json")
    assert json.loads(taken.stdout)["ingested"] == 1, taken.stdout + taken.stderr
