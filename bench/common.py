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
