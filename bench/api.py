"""The HTTP API under load, as clients use it: uploads next to a bare PUT on the same server stack,
the API's memory during a 2 GB upload, and reads of a 100,000-video catalog by 16 clients.

    .venv/bin/python bench/api.py [--files 100] [--rounds 3] [--large-gb 2] [--videos 100000]

1. Uploads: ``curl -F video=@clip.mp4`` to ``POST /api/v1/videos`` of a real ``videolake api``
   (streamed into the spool, hashed, synced, recorded; answered 202 while ingest runs beside), and
   ``curl -T clip.mp4`` to a minimal ASGI app on the same server stack that only hashes and writes,
   synced (bench/bare_upload.py): 100 distinct 5 MB clips per round (new clips each round, so the
   API never answers from known content), then one 2 GB video. Throughput of each, and the ratio
   (target ≥ 0.8); the API process's resident memory sampled every 20 ms during the 2 GB upload
   (target ≤ 150 MB peak), and its peak over the ingest that follows.
2. Reads: 100,000 videos (each with a replica, a poster and a sprite) in the API's SQLite catalog;
   wrk with 16 connections for 20 s: ``GET /api/v1/videos/{id}`` at random ids (target p99 ≤ 20 ms)
   and a filtered list page at random cursors (target p99 ≤ 100 ms), next to the stack's floor
   (the bare app's ``GET /ping``) under the same load; with one API process (the default) and with
   ``--workers 2`` (one per core here).
"""

from __future__ import annotations

import argparse
import json
import os
import random
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

from bench.common import OUT_DIR  # noqa: E402
from tests.servers import free_port, stop_pid, wait_for_port  # noqa: E402
from videolake.media.ffmpeg_tools import ffmpeg_executable  # noqa: E402
from videolake.media.samples import make_clip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VIDEOLAKE = str(ROOT / ".venv" / "bin" / "videolake")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
MB = 1024 * 1024


def cbr_clip(path: Path, seconds: float, mbit: int, seed: int) -> Path:
    return make_clip(path, duration=seconds, size="1280x720", pattern="testsrc2", frequency=300 + seed,
                     extra_output_args={"b:v": f"{mbit}M", "minrate": f"{mbit}M", "maxrate": f"{mbit}M",
                                        "bufsize": f"{mbit}M", "x264-params": "nal-hrd=cbr:force-cfr=1"})


def small_set(folder: Path, rounds: int, count: int) -> list[list[Path]]:
    """``rounds`` sets of ``count`` distinct ~5 MB clips (stream copies of a few bases, retagged)."""
    sets = [[folder / f"r{r}" / f"clip-{n:03d}.mp4" for n in range(count)] for r in range(rounds)]
    if all(p.exists() for s in sets for p in s):
        return sets
    shutil.rmtree(folder, ignore_errors=True)
    bases = [cbr_clip(folder / f"_base{i}.mp4", 5, 8, i) for i in range(4)]
    for r, paths in enumerate(sets):
        for n, path in enumerate(paths):
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-i", str(bases[n % 4]), "-c", "copy",
                            "-metadata", f"comment=round {r} clip {n}", str(path)], check=True)
    for base in bases:
        base.unlink()
    return sets


def large_video(folder: Path, gib: float) -> Path:
    path = folder / f"large-{gib:g}g.mp4"
    if path.exists() and path.stat().st_size >= gib * 1024**3 * 0.97:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    base = cbr_clip(folder / "_large_base.mp4", 10, 24, 99)
    loops = int(gib * 1024**3 / base.stat().st_size) + 1
    subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(base),
                    "-c", "copy", "-metadata", "comment=large", str(path)], check=True)
    base.unlink()
    return path


def curl(args: list[str]) -> None:
    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", *args], check=True)


def upload_all(paths: list[Path], api: str, key: str) -> float:
    started = time.perf_counter()
    for path in paths:
        curl(["-H", f"X-API-Key: {key}", "-F", f"video=@{path}", f"{api}/api/v1/videos"])
    return time.perf_counter() - started


def put_all(paths: list[Path], bare: str) -> float:
    started = time.perf_counter()
    for path in paths:
        curl(["-T", str(path), f"{bare}/put/{path.name}"])
    return time.perf_counter() - started


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_ingested(api: str, key: str, expected_videos: int, timeout: float = 1800) -> float:
    """Until the catalog holds that many videos and nothing is left to ingest."""
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{api}/api/storage/status", headers={"X-API-Key": key})
        status = json.load(urllib.request.urlopen(request, timeout=30))
        if status["spool_files"] == 0 and videos_count(api, key) >= expected_videos:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise TimeoutError("uploads were not ingested")


def videos_count(api: str, key: str) -> int:
    request = urllib.request.Request(f"{api}/api/v1/videos?limit=200", headers={"X-API-Key": key})
    count, cursor = 0, None
    while True:
        url = f"{api}/api/v1/videos?limit=200" + (f"&cursor={cursor}" if cursor else "")
        page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=request.headers), timeout=30))
        count += len(page["videos"])
        cursor = page["next_cursor"]
        if not cursor:
            return count


def seed_catalog(path: Path, videos: int, hot_url: str) -> None:
    """``videos`` videos with a replica, a poster and a sprite each, by bulk INSERT (as after ingest)."""
    rng = random.Random(7)
    codecs, sources = ("h264", "hevc", "av1", "vp9"), ("cctv", "uploads", "generator", "exports")
    db = sqlite3.connect(path)
    base_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM videos").fetchone()[0] + 1
    stamp = "2026-11-01 12:00:00.000000"
    rows_v, rows_r, rows_d = [], [], []
    for i in range(videos):
        vid = base_id + i
        sha = f"{vid:064x}"
        source = sources[i % 4]
        rows_v.append((vid, sha, rng.randint(100_000, 50_000_000), f"video-{vid}.mp4", "mp4", source,
                       "generated" if source == "generator" else "uploaded", f"upload:{vid}", "2026-11-01", stamp,
                       json.dumps({"prompt": f"scene {vid} by the sea"}) if source == "generator" else None,
                       "mov,mp4,m4a,3gp,3g2,mj2", round(rng.uniform(1, 600), 2), 1280, 720, "16:9", codecs[i % 4], "aac",
                       25.0, 4_000_000, 0, stamp))
        rows_r.append((vid, vid, hot_url, f"videos/{sha[:2]}/{sha[2:4]}/{sha}", "verified", 1000, sha, stamp, stamp))
        for k, kind in enumerate(("poster", "sprite")):
            rows_d.append((2 * vid + k, vid, kind, hot_url, f"derivatives/{sha}/{kind}.jpg", 640, 360, 20_000, sha,
                           json.dumps({"tiles": 10}) if kind == "sprite" else None, stamp))
    db.executemany("INSERT INTO videos (id, sha256, size_bytes, name, extension, source, source_type, landing_uri, "
                   "landing_date, ingested_at, sidecar, container, duration_s, width, height, aspect_ratio, video_codec, "
                   "audio_codec, fps, bitrate, rotation, probed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   rows_v)
    db.executemany("INSERT INTO replicas (id, video_id, backend, key, state, size_bytes, verified_sha256, verified_at, "
                   "created_at) VALUES (?,?,?,?,?,?,?,?,?)", rows_r)
    db.executemany("INSERT INTO derivatives (id, video_id, kind, backend, key, width, height, size_bytes, sha256, meta, "
                   "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows_d)
    db.commit()
    db.execute("ANALYZE")
    db.close()


def wrk(base: str, template: str, key: str, maximum: int, seconds: int, connections: int) -> dict:
    env = {**os.environ, "WRK_KEY": key, "WRK_PATH": template, "WRK_MAX": str(maximum)}
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s",
                          str(ROOT / "bench" / "wrk_get.lua"), base], env=env, capture_output=True, text=True, check=True)
    line = next(l for l in out.stdout.splitlines() if l.startswith("RESULT"))
    return {k: float(v) for k, v in (part.split("=") for part in line.split()[1:])}


def report(name: str, r: dict, args: argparse.Namespace) -> dict:
    print(f"{name}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, {r['rps']:.0f} requests/s, "
          f"{int(r['non2xx'])} not 2xx, {int(r['errors'])} errors ({args.clients} connections)", flush=True)
    return r


def start(cmd: list[str], env: dict, port: int, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=60, proc=proc)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--large-gb", type=float, default=2.0)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--read-workers", type=lambda t: [int(n) for n in t.split(",")], default=[1, 2],
                        help="API processes (--workers) to measure the reads with, comma-separated")
    parser.add_argument("--reads-only", action="store_true", help="skip the uploads (part 2 alone)")
    args = parser.parse_args()
    for tool in ("curl", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/api.py needs {tool}: ./scripts/setup --bench installs it")

    inputs = OUT_DIR / "api-inputs"
    print(f"making inputs in {inputs} ...", flush=True)
    sets = [] if args.reads_only else small_set(inputs / "small", args.rounds, args.files)
    large = None if args.reads_only else large_video(inputs, args.large_gb)
    small_bytes = sum(p.stat().st_size for p in sets[0]) if sets else 0
    work = OUT_DIR / "api-work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "bare-spool").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(work / "home"), "VIDEOLAKE_MAX_UPLOAD_BYTES": str(8 * 1024**3),
                "BARE_SPOOL": str(work / "bare-spool"), "PYTHONPATH": str(ROOT), "PYTHONFAULTHANDLER": "1"})
    subprocess.run([VIDEOLAKE, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    key = subprocess.run([VIDEOLAKE, "apikey", "create", "--name", "bench", "--scope", "admin"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    api_port, bare_port = free_port(), free_port()
    api_url, bare_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
    bare = start([PYTHON, "-m", "uvicorn", "bench.bare_upload:app", "--host", "127.0.0.1", "--port", str(bare_port),
                  "--log-level", "warning", "--no-access-log"], env, bare_port, work / "bare.log")
    api = start([VIDEOLAKE, "api", "--port", str(api_port)], env, api_port, work / "api.log")
    results: dict = {"small": [], "large": {}}
    try:
        # 1. Uploads, round by round: the bare PUT, then the API; ingest finishes before the next round.
        uploaded = 0
        for r, paths in enumerate(sets):
            bare_s = put_all(paths, bare_url)
            api_s = upload_all(paths, api_url, key)
            uploaded += len(paths)
            ingest_s = wait_ingested(api_url, key, uploaded)
            results["small"].append({"bare_s": bare_s, "api_s": api_s, "ingest_tail_s": ingest_s})
            print(f"round {r + 1}: {len(paths)} x {small_bytes / len(paths) / MB:.1f} MB — bare PUT "
                  f"{small_bytes / MB / bare_s:.0f} MB/s, API {small_bytes / MB / api_s:.0f} MB/s "
                  f"({bare_s / api_s:.2f}x); ingest finished {ingest_s:.1f} s after the last answer", flush=True)
        if large is not None:
            # 2 GB: the bare PUT, then the API with its memory sampled.
            size = large.stat().st_size
            started = time.perf_counter()
            curl(["-T", str(large), f"{bare_url}/put/large.mp4"])
            bare_s = time.perf_counter() - started
            samples: list[float] = []
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    samples.append(rss_mb(api.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            before = rss_mb(api.pid)
            sampler.start()
            started = time.perf_counter()
            curl(["-H", f"X-API-Key: {key}", "-F", f"video=@{large}", f"{api_url}/api/v1/videos"])
            api_s = time.perf_counter() - started
            stop.set()
            sampler.join()
            ingest_s = wait_ingested(api_url, key, uploaded + 1)
            results["large"] = {"bytes": size, "bare_s": bare_s, "api_s": api_s, "rss_before_mb": before,
                                "rss_peak_upload_mb": max(samples), "rss_peak_ever_mb": rss_mb(api.pid, "VmHWM"),
                                "ingest_tail_s": ingest_s}
            print(f"{size / 1024**3:.2f} GB: bare PUT {size / MB / bare_s:.0f} MB/s, API {size / MB / api_s:.0f} MB/s "
                  f"({bare_s / api_s:.2f}x); API memory {before:.0f} MB before, peak {max(samples):.0f} MB during the "
                  f"upload, peak {results['large']['rss_peak_ever_mb']:.0f} MB over its life (ingest included, "
                  f"{ingest_s:.1f} s after the answer)", flush=True)
        # 2. Reads of a 100,000-video catalog, by one API process and by --workers N.
        stop_pid(api.pid)
        seed_catalog(work / "home" / "catalog.sqlite", args.videos, (work / "home" / "storage").as_uri())
        total = args.videos + uploaded + 1
        reads = {}
        floor = ("floor: bare GET /ping", bare_url, "/ping")
        wrk(bare_url, "/ping", key, total, 3, args.clients)  # warm-up
        reads[floor[0]] = report(floor[0], wrk(bare_url, "/ping", key, total, args.seconds, args.clients), args)
        for workers in args.read_workers:
            api = start([VIDEOLAKE, "api", "--port", str(api_port), "--workers", str(workers)], env, api_port,
                        work / "api.log")
            for route, template in (
                    ("GET /api/v1/videos/{id}", "/api/v1/videos/%d"),
                    ("GET /api/v1/videos?codec=h264&min_duration_s=60&limit=50&cursor=…",
                     "/api/v1/videos?codec=h264&min_duration_s=60&limit=50&cursor=v1.%d")):
                name = f"{route}, {workers} worker{'s' if workers > 1 else ''}"
                wrk(api_url, template, key, total, 3, args.clients)  # warm-up (and every worker started)
                reads[name] = report(name, wrk(api_url, template, key, total, args.seconds, args.clients), args)
            stop_pid(api.pid)
        results["reads"] = reads
    finally:
        stop_pid(api.pid)
        stop_pid(bare.pid)
    ratios = [s["bare_s"] / s["api_s"] for s in results["small"]]
    if ratios:
        print(f"\nsmall uploads, API / bare PUT throughput: best {max(ratios):.2f}, median {statistics.median(ratios):.2f}"
              f" (target ≥ 0.8); 2 GB: {results['large']['bare_s'] / results['large']['api_s']:.2f}; "
              f"peak RSS during the 2 GB upload {results['large']['rss_peak_upload_mb']:.0f} MB (target ≤ 150)")
    (OUT_DIR / "api-results.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
