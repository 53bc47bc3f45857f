"""Ingest benchmark: the real path (the ingest Dagster job) next to a per-file shell loop.

    .venv/bin/python bench/ingest.py [--clips 300] [--workers 0]

Prints files/s and MB/s for, in the same run and on the same files:
  - videolake: the ingest job (ingest -> probe -> thumbnails) run in process on a SQLite Dagster
    instance, as `videolake ingest` does; timed from job start to end, and as a whole CLI process;
  - shell loop: for each file `sha256sum`, `ffprobe`, `ffmpeg` poster, `cp` (Debian's ffmpeg);
  - bare hash-and-copy: hashlib sha256 + copy of the same bytes in one Python process.
Target: videolake >= 15x the shell loop on 2 cores for 300 clips.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR, clip_set, ensure_debian_ffmpeg, folder_bytes, timed  # noqa: E402

SHELL_LOOP = r'''
set -e
src="$1"; out="$2"; ffmpeg="$3"; ffprobe="$4"
for f in "$src"/*.mp4; do
  name="$(basename "$f")"
  sha256sum "$f" > "$out/$name.sha256"
  "$ffprobe" -v error -show_format -show_streams -of json "$f" > "$out/$name.json"
  "$ffmpeg" -nostdin -v error -y -ss 0.5 -i "$f" -frames:v 1 "$out/$name.jpg"
  cp "$f" "$out/$name"
done
'''


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def fill_landing(clips: Path, landing: Path) -> None:
    fresh(landing)
    for clip in sorted(clips.glob("*.mp4")):
        shutil.copyfile(clip, landing / clip.name)
    os.sync()


def lake_env(home: Path, workers: int) -> dict[str, str]:
    return {
        "VIDEOLAKE_HOME": str(home),
        "VIDEOLAKE_STABLE_AFTER_SECONDS": "0",
        "VIDEOLAKE_BATCH_MAX_FILES": "100000",
        "VIDEOLAKE_WORKERS": str(workers or os.cpu_count() or 1),
        "DAGSTER_HOME": str(home / "dagster"),
    }


def run_job_in_process(home: Path, workers: int) -> tuple[float, dict]:
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.partitions import add_landing_days
    from videolake.settings import apply_default_environment

    for key in [k for k in os.environ if k.startswith("VIDEOLAKE_")]:
        del os.environ[key]
    os.environ.update(lake_env(home, workers))
    apply_default_environment()
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).resolve().parents[1] / "dagster.yaml", home / "dagster" / "dagster.yaml")
    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("ingest_job")
    day = time.strftime("%Y-%m-%d", time.gmtime())
    start = time.perf_counter()
    add_landing_days(instance, [day])  # what the CLI and the sensors do before a run
    result = job.execute_in_process(
        instance=instance,
        partition_key=day,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    elapsed = time.perf_counter() - start
    [ingested] = [m for m in result.asset_materializations_for_node("ingest_lineage")
                  if m.asset_key.to_user_string() == "ingested_videos"]
    meta = {k: v.value for k, v in ingested.metadata.items()}
    return elapsed, meta


def bare_hash_and_copy(src: Path, dest: Path) -> None:
    for clip in sorted(src.glob("*.mp4")):
        digest = hashlib.sha256()
        with open(clip, "rb") as fin, open(dest / clip.name, "wb") as fout:
            while chunk := fin.read(1024 * 1024):
                digest.update(chunk)
                fout.write(chunk)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    args = parser.parse_args()

    ffmpeg, ffprobe = ensure_debian_ffmpeg()
    clips = clip_set(args.clips)
    n = len(list(clips.glob("*.mp4")))
    total_mb = folder_bytes(clips) / 1e6
    work = OUT_DIR / "ingest-run"
    times: dict[str, float] = {}

    # 1. videolake, in process (the job only: imports and instance set-up are outside the timer).
    home = fresh(work / "lake-inprocess")
    fill_landing(clips, home / "landing")
    elapsed, meta = run_job_in_process(home, args.workers)
    times["videolake job (in process)"] = elapsed
    assert meta["ingested"] == n, meta

    # 2. videolake, the whole CLI process (imports, instance, job) as an operator runs it.
    home = fresh(work / "lake-cli")
    fill_landing(clips, home / "landing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_")}
    env.update(lake_env(home, args.workers))
    cli = str(Path(sys.executable).with_name("videolake"))
    with timed(times, "videolake ingest (whole CLI)"):
        done = subprocess.run([cli, "ingest"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{n} ingested" in done.stdout, done.stdout

    # 3. the per-file shell loop.
    out = fresh(work / "shell")
    with timed(times, "shell loop (sha256sum+ffprobe+ffmpeg+cp)"):
        subprocess.run(["bash", "-c", SHELL_LOOP, "loop", str(clips), str(out), ffmpeg, ffprobe], check=True)

    # 4. bare hash and copy.
    out = fresh(work / "bare")
    with timed(times, "bare hash+copy (hashlib, one process)"):
        bare_hash_and_copy(clips, out)

    shell = times["shell loop (sha256sum+ffprobe+ffmpeg+cp)"]
    print(f"\ningest benchmark: {n} clips, 5 s 640x360 h264+aac, {total_mb:.1f} MB, {os.cpu_count()} cores")
    print(f"{'path':<44} {'seconds':>8} {'files/s':>9} {'MB/s':>8} {'vs shell':>9}")
    for name, secs in times.items():
        print(f"{name:<44} {secs:>8.2f} {n / secs:>9.1f} {total_mb / secs:>8.1f} {shell / secs:>8.1f}x")
    ratio = shell / times["videolake job (in process)"]
    print(f"\ntarget >= 15x the shell loop: {'met' if ratio >= 15 else 'NOT met'} ({ratio:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
