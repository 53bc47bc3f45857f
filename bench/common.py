"""Shared helpers for the benchmarks: sample sets, timing, baseline tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from videolake.media.ffmpeg_tools import ffmpeg_executable
from videolake.media.samples import PATTERNS, make_clip

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT_DIR = BENCH_DIR / "out"


@contextmanager
def timed(results: dict, name: str):
    start = time.perf_counter()
    yield
    results[name] = time.perf_counter() - start


@contextmanager
def catalog_databases():
    """Two empty catalog databases, SQLite and a real PostgreSQL 15 on loopback, in a scratch folder:
    yields ``(folder, [(name, url), ...])``; the server is stopped and the folder removed after."""
    from tests.servers import start_postgres, stop_postgres

    work = Path(tempfile.mkdtemp(prefix="videolake-bench-"))
    server, pid = start_postgres(work / "pg")
    try:
        yield work, [("SQLite", f"sqlite:///{work / 'catalog.sqlite'}"),
                     ("PostgreSQL 15", server.url(server.create_database()))]
    finally:
        stop_postgres(server, pid)
        shutil.rmtree(work, ignore_errors=True)


def clip_set(count: int, *, duration: float = 5.0, size: str = "640x360") -> Path:
    """``count`` distinct clips (different bytes), cached under bench/out."""
    folder = OUT_DIR / f"clips-{count}-{duration:g}s-{size}"
    if folder.exists() and len(list(folder.glob("*.mp4"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    bases = []
    for i in range(min(10, count)):
        bases.append(make_clip(folder / f"_base{i}.mp4", duration=duration, size=size,
                               pattern=PATTERNS[i % len(PATTERNS)], frequency=300 + 40 * i))
    exe = ffmpeg_executable()
    for n in range(count):
        base = bases[n % len(bases)]
        subprocess.run([exe, "-nostdin", "-v", "error", "-y", "-i", str(base), "-c", "copy",
                        "-metadata", f"comment=clip {n}", str(folder / f"clip {n:04d}.mp4")], check=True)
    for base in bases:
        base.unlink()
    return folder


def ensure_debian_ffmpeg() -> tuple[str, str]:
    """ffmpeg and ffprobe executables for the shell baseline (Debian's package, installed if missing)."""
    if not shutil.which("ffprobe"):
        if os.geteuid() != 0:
            raise SystemExit("the shell baseline needs ffprobe: apt-get install ffmpeg")
        print("installing Debian's ffmpeg package for the shell baseline ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "ffmpeg"], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("ffmpeg") or ffmpeg_executable(), shutil.which("ffprobe")  # type: ignore[return-value]


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without videolake's and Dagster's variables, for a fresh home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(home), **extra})
    return env


def wait_for(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


def _stop_left_behind(home: Path) -> None:
    """Every process still naming ``home`` (a daemon, a run, a code server), stopped: one left
    would tick against the next benchmark's home of the same name and take its files."""
    import signal

    deadline = time.monotonic() + 20
    while True:
        left = subprocess.run(["pgrep", "-f", str(home)], capture_output=True, text=True).stdout.split()
        if not left:
            return
        if time.monotonic() > deadline:
            print(f"stopping {len(left)} processes ./scripts/run left behind", flush=True)
            for pid in left:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        time.sleep(0.5)


@contextmanager
def scripts_run(home: Path, log: Path):
    """``./scripts/run`` on ``home`` as a user starts it (its own session; UI and API on free
    ports), up and done with its demo clips; yields ``(ui_port, env)``; stopped with Ctrl-C after."""
    import signal
    import sqlite3
    import urllib.request

    from tests.servers import default_signals, free_port

    port, api_port = free_port(), free_port()
    env = user_env(home, VIDEOLAKE_UI_PORT=str(port), VIDEOLAKE_API_PORT=str(api_port))
    with log.open("w") as out:
        # Ctrl-C must reach the daemon: one left running would claim the next round's files.
        proc = subprocess.Popen(["./scripts/run"], cwd=BENCH_DIR.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=default_signals)
    db = home / "catalog.sqlite"
    try:
        wait_for("the UI answers", lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200,
                 180)
        # The demo clips seeded at the first start are ingested first: the measuring starts after them.
        wait_for("the seeded clips are cataloged", lambda: sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
            "SELECT count(*) FROM videos WHERE probed_at IS NOT NULL").fetchone()[0] >= 6, 180)
        time.sleep(3)
        yield port, env
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        _stop_left_behind(home)


def baseline_tree(rev: str, name: str) -> Path:
    """A git worktree of ``rev`` (``OUT_DIR/name``), to run an earlier commit's code beside this one:
    put it first on ``PYTHONPATH`` and the venv's ``videolake`` runs that code. Remove it with
    ``remove_baseline_tree``."""
    tree = OUT_DIR / name
    remove_baseline_tree(tree)
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), rev], cwd=REPO, check=True, capture_output=True)
    return tree


def remove_baseline_tree(tree: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
