"""URL imports against the download tools people would use instead, over the same list in the same run.

    .venv/bin/python bench/imports.py [--files 200] [--rounds 3] [--per-host 8] [--batch 200]

200 distinct ~5 MB clips served by a loopback HTTP server (tests/test_imports/flaky_server.py,
its plain ``/ok/`` path: Content-Length, ETag, Range), then per round:

1. ``aria2c -i list.txt -j 8`` (8 parallel downloads, the issue's yardstick) into a fresh folder;
2. ``curl --parallel --parallel-max 8`` over the same URLs;
3. the fetch phase of an import run alone: videolake's fetcher, 8 at once (step 2.3 of
   ``usecases/imports.py``: streamed, hashed, synced, size-checked);
4. the headline: ``videolake import --from list.jsonl --wait`` as a whole process — queued, fetched,
   ingested (hashed, probed, poster and sprite, stored, cataloged) — on a fresh home, with
   ``VIDEOLAKE_IMPORT_PER_HOST`` and ``VIDEOLAKE_IMPORT_BATCH`` as given (all from one host here).

Targets: the fetch phase ≥ 1.0× aria2c's throughput, the whole import ≥ 0.7×.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api import small_set  # noqa: E402
from bench.common import OUT_DIR  # noqa: E402
from tests.servers import free_port, stop_pid, wait_for_port  # noqa: E402
from videolake.imports.fetch import Fetcher  # noqa: E402
from videolake.imports.urls import FetchPolicy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VIDEOLAKE = str(ROOT / ".venv" / "bin" / "videolake")
MB = 1024 * 1024


def served_folder(folder: Path, count: int) -> list[Path]:
    """``count`` distinct clips under flat names (hard links to bench/api.py's inputs)."""
    sets = small_set(OUT_DIR / "api-inputs" / "small", max(1, -(-count // 100)), 100)
    clips = [p for s in sets for p in s][:count]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for clip in clips:
        link = folder / f"{clip.parent.name}-{clip.name}"
        if not link.exists():
            os.link(clip, link)
        out.append(link)
    return out


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run_timed(cmd: list[str], **kwargs) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - started


def fetch_phase(urls: list[str], folder: Path, parallel: int) -> float:
    fetcher = Fetcher(FetchPolicy(allow_private=True))
    started = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda u: fetcher.fetch(u, folder / (u.rsplit("/", 1)[-1] + ".part")), urls))
    return time.perf_counter() - started


def whole_import(listing: Path, home: Path, env: dict[str, str]) -> tuple[float, list[dict]]:
    fresh(home)
    env = {**env, "VIDEOLAKE_HOME": str(home)}
    subprocess.run([VIDEOLAKE, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    done = subprocess.run([VIDEOLAKE, "import", "--from", str(listing), "--wait", "--json"], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"videolake import failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--per-host", type=int, default=8)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    for tool in ("aria2c", "curl"):
        if not shutil.which(tool):
            raise SystemExit(f"bench/imports.py needs {tool}: ./scripts/setup --bench installs it")
    work = OUT_DIR / "imports-work"
    files = served_folder(OUT_DIR / "imports-served", args.files)
    total = sum(p.stat().st_size for p in files)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.test_imports.flaky_server", "--port", str(port),
                               "--root", str(files[0].parent)], cwd=ROOT)
    wait_for_port(port, timeout=30, proc=server)
    urls = [f"http://127.0.0.1:{port}/ok/{p.name}" for p in files]
    fresh(work)
    (work / "list.txt").write_text("\n".join(urls) + "\n")
    listing = work / "list.jsonl"
    listing.write_text("".join(json.dumps({"url": u, "expires_in": "2h", "model": "bench"}) + "\n" for u in urls))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_IMPORT_ALLOW_PRIVATE": "1", "VIDEOLAKE_IMPORT_PER_HOST": str(args.per_host),
                "VIDEOLAKE_IMPORT_BATCH": str(args.batch)})
    print(f"{len(files)} files, {total / MB:.0f} MB, from 127.0.0.1:{port}; {args.parallel} at once", flush=True)
    rounds = []
    try:
        for r in range(args.rounds):
            aria = run_timed(["aria2c", "-q", "-i", str(work / "list.txt"), "-j", str(args.parallel), "-x", "1",
                              "--allow-overwrite=true", "--auto-file-renaming=false", "--file-allocation=none",
                              "-d", str(fresh(work / "aria"))])
            curl_dir = fresh(work / "curl")
            curl = run_timed(["curl", "-sS", "--no-progress-meter", "-f", "--parallel", "--parallel-max", str(args.parallel),
                              *[a for i, u in enumerate(urls) for a in ("-o", str(curl_dir / f"{i}.mp4"), u)]])
            fetch = fetch_phase(urls, fresh(work / "fetch"), args.parallel)
            whole, imported = whole_import(listing, work / "home", env)
            states = {i["state"] for i in imported}
            if states != {"done"}:
                raise SystemExit(f"not every import was kept: {states}")
            row = {"aria2c_s": aria, "curl_s": curl, "fetch_s": fetch, "import_s": whole}
            rounds.append(row)
            print(f"round {r + 1}: aria2c {total / MB / aria:.0f} MB/s, curl --parallel {total / MB / curl:.0f} MB/s, "
                  f"fetch phase {total / MB / fetch:.0f} MB/s ({aria / fetch:.2f}x aria2c), whole `videolake import` "
                  f"{total / MB / whole:.0f} MB/s, {len(files) / whole:.1f} files/s ({aria / whole:.2f}x aria2c)",
                  flush=True)
    finally:
        stop_pid(server.pid)
    fetch_ratios = [x["aria2c_s"] / x["fetch_s"] for x in rounds]
    whole_ratios = [x["aria2c_s"] / x["import_s"] for x in rounds]
    print(f"\nfetch phase / aria2c: best {max(fetch_ratios):.2f}, median {statistics.median(fetch_ratios):.2f} "
          f"(target ≥ 1.0); whole import / aria2c: best {max(whole_ratios):.2f}, median "
          f"{statistics.median(whole_ratios):.2f} (target ≥ 0.7)")
    (OUT_DIR / "imports-results.json").write_text(json.dumps({"bytes": total, "files": len(files), "rounds": rounds},
                                                             indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
