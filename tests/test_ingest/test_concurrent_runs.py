"""Several `videolake ingest` processes started in lockstep, repeated: on one PostgreSQL catalog (one
landing zone, and two zones holding the same content) and in a brand-new SQLite home."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from videolake.catalog.models import Landing, LandingFile, QuarantineItem, Replica, Video
from videolake.catalog.repository import Catalog

ROUNDS = 4
PROCESSES = 3
FILES = 12


def lockstep(envs: list[dict], *args: str) -> list[subprocess.CompletedProcess]:
    """Start the commands together (each waits on one pipe until all exist), then collect them."""
    exe = str(Path(sys.executable).with_name("videolake"))
    gate_r, gate_w = __import__("os").pipe()
    script = ("import os,sys; os.read(int(sys.argv[1]), 1); os.execv(sys.argv[2], sys.argv[2:])")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(gate_r), exe, *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(gate_r,)) for env in envs]
    __import__("os").write(gate_w, b"x" * len(procs))
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def fill(zone: Path, clips, tmp_path: Path, round_no: int) -> dict[str, bytes]:
    zone.mkdir(parents=True, exist_ok=True)
    made = {}
    for i in range(FILES):
        src = tmp_path / f"r{round_no}-{i}.mp4"
        if not src.exists():
            clips.variant(src, seed=round_no * 100 + i)
        made[f"clip {round_no}-{i}.mp4"] = src.read_bytes()
    made[f"junk {round_no}.mp4"] = b"not a video at all" * 10
    for name, data in made.items():
        (zone / name).write_bytes(data)
    return made


def assert_clean(results: list[subprocess.CompletedProcess]) -> list[dict]:
    summaries = []
    for r in results:
        text = r.stdout + r.stderr
        assert "Traceback" not in text and "UniqueViolation" not in text and "IntegrityError" not in text, text[-3000:]
        assert "database is locked" not in text and "already exists" not in text, text[-3000:]
        assert r.returncode in (0, 3), text[-3000:]
        summaries.append(json.loads(r.stdout))
    return summaries


def test_ingests_at_once_on_postgresql_claim_each_file_once(tmp_path, clips, cli_env, pg_catalog_url):
    landing = tmp_path / "landing"
    storage = (tmp_path / "storage").as_uri()
    for round_no in range(ROUNDS):
        envs = [{**cli_env, "VIDEOLAKE_CATALOG_URL": pg_catalog_url, "VIDEOLAKE_LANDING": str(landing),
                 "VIDEOLAKE_HOT_STORAGE": storage, "VIDEOLAKE_HOME": str(tmp_path / f"home-{n}"),
                 "VIDEOLAKE_QUARANTINE": (tmp_path / "quarantine").as_uri(), "VIDEOLAKE_WORKERS": "1"}
                for n in range(PROCESSES)]
        fill(landing / "uploads", clips, tmp_path, round_no)
        summaries = assert_clean(lockstep(envs, "ingest", "--json"))
        assert sum(s["ingested"] for s in summaries) == FILES
        assert sum(s["quarantined"] for s in summaries) == 1
        assert not [p for p in landing.rglob("*") if p.is_file()], "every file is ingested or quarantined"
    catalog = Catalog(pg_catalog_url)
    with catalog.read() as s:
        assert s.scalar(select(func.count(Video.id))) == FILES * ROUNDS
        per_uri = s.execute(select(Landing.landing_uri, func.count()).group_by(Landing.landing_uri)).all()
        assert all(n == 1 for _, n in per_uri) and len(per_uri) == FILES * ROUNDS
        assert s.scalar(select(func.count(QuarantineItem.id))) == ROUNDS
        assert s.scalar(select(func.count(LandingFile.id))) == 0


def test_two_zones_recording_the_same_content_at_once_link_it_once(tmp_path, clips, cli_env, pg_catalog_url):
    storage = (tmp_path / "storage").as_uri()
    for round_no in range(ROUNDS):
        envs = [{**cli_env, "VIDEOLAKE_CATALOG_URL": pg_catalog_url, "VIDEOLAKE_LANDING": str(tmp_path / f"zone-{n}"),
                 "VIDEOLAKE_HOT_STORAGE": storage, "VIDEOLAKE_HOME": str(tmp_path / f"home-{n}"),
                 "VIDEOLAKE_QUARANTINE": (tmp_path / "quarantine").as_uri(), "VIDEOLAKE_WORKERS": "1"}
                for n in range(2)]
        for n in range(2):  # the same bytes arrive at both zones
            fill(tmp_path / f"zone-{n}" / "uploads", clips, tmp_path, round_no)
        summaries = assert_clean(lockstep(envs, "ingest", "--json"))
        assert sum(s["ingested"] + s["duplicates"] for s in summaries) == 2 * FILES
        assert sum(s["ingested"] for s in summaries) == FILES
    with Catalog(pg_catalog_url).read() as s:
        assert s.scalar(select(func.count(Video.id))) == FILES * ROUNDS
        assert s.scalar(select(func.count(Landing.id))) == 2 * FILES * ROUNDS
        assert s.scalar(select(func.count(Replica.id))) == FILES * ROUNDS
        assert s.scalar(select(func.count(QuarantineItem.id))) == 2 * ROUNDS


def test_ingests_at_once_in_a_brand_new_sqlite_home(tmp_path, clips, cli_env):
    for round_no in range(ROUNDS):
        home = tmp_path / f"new-home-{round_no}"
        env = {**cli_env, "VIDEOLAKE_HOME": str(home), "VIDEOLAKE_WORKERS": "1"}
        fill(home / "landing" / "uploads", clips, tmp_path, round_no)
        summaries = assert_clean(lockstep([env] * PROCESSES, "ingest", "--json"))
        assert sum(s["ingested"] for s in summaries) == FILES
        assert not [p for p in (home / "landing").rglob("*") if p.is_file()]
        shutil.rmtree(home)
