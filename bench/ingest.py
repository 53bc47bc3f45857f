"""Ingest as users run it: the whole ``videolake ingest`` process, next to the baselines, same run.

    .venv/bin/python bench/ingest.py [--clips 300] [--rounds 3] [--workers 0] [--profile] [--against REV]
    .venv/bin/python bench/ingest.py --large 4 [--large-mb 486] [--rounds 2]

On the same clips, per round (best and median printed):
  1. the headline: ``videolake ingest`` as a whole process (start-up, imports, the catalog, the
     run: ingest, probe, poster, sprite, catalog, durable; the outcome read back), on a fresh
     home made by ``videolake db upgrade`` as the README's first steps do. The clips are copied in
     more than the settle (2 s) before the command starts: a file copied in less than that before
     waits out the rest of it once (``VIDEOLAKE_SETTLE_SECONDS``);
  2. the Dagster ingest job alone, in process (what a daemon's run does; imports and instance
     set-up outside the timer);
  3. the one-core reference: one Python process pinned to one core doing hash + PyAV probe + one
     keyframe poster (JPEG) + copy per file, the loop timed;
and once:
  4. the shell loop: per file ``sha256sum``, ``ffprobe``, ``ffmpeg`` poster, ``cp`` (Debian's ffmpeg);
  5. bare hash + copy (hashlib, one process).
Targets: the whole process >= 20x the shell loop and >= 1.3x the one-core reference.
``--large N``: instead, N distinct large videos (486 MB each by default): the whole ``videolake
ingest`` next to a bare hash + copy + fsync of the same bytes in one process, same run (target:
>= 0.95x its throughput).
``--against REV`` also times the whole process of an earlier commit's code in every round (a git
worktree of it first on ``PYTHONPATH``, and this code then through ``PYTHONPATH`` too).
``--profile`` also prints where the whole process's time goes (cProfile of the main process,
and per-file CPU in a worker: hash, probe, thumbnails, store).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (  # noqa: E402
    OUT_DIR,
    REPO,
    baseline_tree,
    clip_set,
    ensure_debian_ffmpeg,
    folder_bytes,
    remove_baseline_tree,
    timed,
)

ROOT = Path(__file__).resolve().parents[1]
SETTLE_S = 2.0

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

# The one-core reference: the simple work per file, in one process on one core.
REFERENCE = r'''
import hashlib, os, sys, time
from pathlib import Path
import av
av.logging.set_level(None)
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
src, dest = Path(sys.argv[1]), Path(sys.argv[2])
clips = sorted(src.glob("*.mp4"))
started = time.perf_counter()
for clip in clips:
    digest = hashlib.sha256()
    with open(clip, "rb") as fin, open(dest / clip.name, "wb") as fout:
        while chunk := fin.read(1024 * 1024):
            digest.update(chunk)
            fout.write(chunk)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        probe = (container.format.name, container.duration, stream.codec_context.width,
                 stream.codec_context.height, stream.codec_context.codec.name, stream.average_rate)
        stream.codec_context.skip_frame = "NONKEY"
        frame = next(container.decode(stream))
        frame.to_image().save(dest / f"{clip.name}.jpg", quality=80)
print(time.perf_counter() - started)
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(home), "VIDEOLAKE_BATCH_MAX_FILES": "100000"})
    if workers:
        env["VIDEOLAKE_WORKERS"] = str(workers)
    return env


def whole_process(clips: Path, home: Path, workers: int, n: int, profile: Path | None = None,
                  code: Path | None = None) -> float:
    """1. ``videolake db upgrade`` on a fresh home, the clips copied in, then ``videolake ingest`` timed
    (``code``: the checkout whose code runs, first on ``PYTHONPATH``)."""
    fresh(home)
    env = lake_env(home, workers)
    if code is not None:
        env["PYTHONPATH"] = str(code)
    cli = str(Path(sys.executable).with_name("videolake"))
    subprocess.run([cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    fill_landing(clips, home / "landing")
    time.sleep(SETTLE_S + 0.2)  # copied in more than a settle before (see the docstring)
    cmd = [cli, "ingest"] if profile is None else [sys.executable, "-m", "cProfile", "-o", str(profile), cli, "ingest"]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert f"{n} ingested" in done.stdout, done.stdout
    return seconds


def job_in_process(clips: Path, home: Path, workers: int, n: int) -> float:
    """2. The ingest job alone, in a child process (its imports and instance outside the timer)."""
    fresh(home)
    env = lake_env(home, workers)
    subprocess.run([str(Path(sys.executable).with_name("videolake")), "db", "upgrade"], env=env, check=True,
                   capture_output=True)
    fill_landing(clips, home / "landing")
    time.sleep(SETTLE_S + 0.2)
    done = subprocess.run([sys.executable, "-c", JOB_IN_PROCESS], env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    seconds, ingested = json.loads(done.stdout.strip().splitlines()[-1])
    assert ingested == n, (ingested, n)
    return seconds


JOB_IN_PROCESS = r'''
import json, time
from pipelines.cli.runs import dagster_instance
from pipelines.definitions import defs
from pipelines.partitions import add_landing_days
from videolake.settings import apply_default_environment
apply_default_environment()
instance = dagster_instance()
job = defs.resolve_job_def("ingest_job")
day = time.strftime("%Y-%m-%d", time.gmtime())
started = time.perf_counter()
add_landing_days(instance, [day])
result = job.execute_in_process(instance=instance, partition_key=day,
                                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
seconds = time.perf_counter() - started
[m] = [m for m in result.asset_materializations_for_node("ingest_lineage")
       if m.asset_key.to_user_string() == "ingested_videos"]
print(json.dumps([seconds, m.metadata["ingested"].value]))
'''


def one_core_reference(clips: Path, out: Path) -> float:
    """3. The reference loop's own time (its start-up outside)."""
    done = subprocess.run([sys.executable, "-c", REFERENCE, str(clips), str(fresh(out))], capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip())


def bare_hash_and_copy(src: Path, dest: Path, *, durable: bool = False) -> None:
    for clip in sorted(src.glob("*.mp4")):
        digest = hashlib.sha256()
        with open(clip, "rb") as fin, open(dest / clip.name, "wb") as fout:
            while chunk := fin.read(1024 * 1024):
                digest.update(chunk)
                fout.write(chunk)
            if durable:
                fout.flush()
                os.fsync(fout.fileno())


def large_set(count: int, mb: int) -> Path:
    """``count`` distinct large videos of about ``mb`` MB (one loop of a 10 s clip, retagged)."""
    from bench.api import large_video
    from videolake.media.ffmpeg_tools import ffmpeg_executable

    folder = OUT_DIR / f"large-{count}x{mb}mb"
    if len(list(folder.glob("*.mp4"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    base = large_video(OUT_DIR / "large-base", mb / 1024)
    folder.mkdir(parents=True)
    for n in range(count):
        subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-i", str(base), "-c", "copy",
                        "-metadata", f"comment=large {n}", str(folder / f"large-{n}.mp4")], check=True)
    return folder


def large_files(args: argparse.Namespace) -> int:
    folder = large_set(args.large, args.large_mb)
    n = len(list(folder.glob("*.mp4")))
    total_mb = folder_bytes(folder) / 1e6
    work = OUT_DIR / "ingest-large"
    whole, bare = [], []
    for r in range(args.rounds):
        whole.append(whole_process(folder, work / "lake", args.workers, n))
        out = fresh(work / "bare")
        os.sync()
        started = time.perf_counter()
        bare_hash_and_copy(folder, out, durable=True)
        bare.append(time.perf_counter() - started)
        shutil.rmtree(out, ignore_errors=True)
        print(f"round {r + 1}: videolake ingest {total_mb / whole[-1]:.0f} MB/s, bare hash + copy + fsync "
              f"{total_mb / bare[-1]:.0f} MB/s", flush=True)
    ratios = [b / w for w, b in zip(whole, bare)]
    print(f"\n{n} large videos, {total_mb:.0f} MB: videolake ingest (whole process) / bare hash + copy + fsync: "
          f"best {max(ratios):.2f}, median {statistics.median(ratios):.2f} (target >= 0.95)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


def worker_profile(clips: Path, out: Path) -> dict[str, float]:
    """Per-file CPU of the ingest worker's steps, one process, the first 100 clips (ms per file)."""
    code = r'''
import json, sys, time, hashlib
from pathlib import Path
from videolake.ingest.worker import _staged_copy, store_thumbnails
from videolake.media.inspection import MediaLimits, open_media, probe_container
from videolake.media.thumbnails import thumbnails_from_container
from videolake.storage import open_backend
clips = sorted(Path(sys.argv[1]).glob("*.mp4"))[:100]
hot = open_backend(Path(sys.argv[2]).as_uri()).deferred()
spent = {"hash + copy into storage's scratch folder": 0.0, "open + probe (first frame)": 0.0,
         "poster + sprite (keyframes, scale, JPEG)": 0.0, "store: video renamed in, thumbnails written (unsynced)": 0.0}
for clip in clips:  # the steps of ingest_file for a new local file, in its order
    t = time.process_time()
    staged, sha, size = _staged_copy(clip, hot.scratch_dir())
    spent["hash + copy into storage's scratch folder"] += time.process_time() - t
    t = time.process_time()
    with open_media(staged) as (container, size, av):
        probe, first = probe_container(container, staged, size, MediaLimits(), av)
        spent["open + probe (first frame)"] += time.process_time() - t
        t = time.process_time()
        thumbs = thumbnails_from_container(container, first_frame=first)
        spent["poster + sprite (keyframes, scale, JPEG)"] += time.process_time() - t
    t = time.process_time()
    hot.put_file(f"v/{sha}", staged, sha256=sha, move=True)
    store_thumbnails(hot, sha, thumbs)
    spent["store: video renamed in, thumbnails written (unsynced)"] += time.process_time() - t
print(json.dumps({k: v / len(clips) * 1000 for k, v in spent.items()}))
'''
    done = subprocess.run([sys.executable, "-c", code, str(clips), str(fresh(out))], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_profile(prof: Path) -> None:
    import pstats

    stats = pstats.Stats(str(prof))
    total = max(v[3] for v in stats.stats.values())  # the outermost call's cumulative time
    wanted = {
        "imports (marshal.loads + module code)": ("<frozen importlib._bootstrap>", "_find_and_load"),
        "catalog opened (engine, schema check)": ("catalog/repository.py", "__init__"),
        "the runs (run_ingest_lineage)": ("usecases/ingest.py", "run_ingest_lineage"),
        "  ingest use case (ingest_sources)": ("usecases/ingest.py", "ingest_sources"),
        "    waiting for the workers (map_files)": ("ingest/parallel.py", "map_files"),
        "    catalog writes (_record)": ("ingest/engine.py", "_record"),
        "  probes and thumbnails still missing": ("ingest/engine.py", "probe_missing"),
        "outcome read back (ingest_result)": ("usecases/ingest.py", "ingest_result"),
        "landing settle (sleep)": ("~", "<built-in method time.sleep>"),
    }
    print(f"\nwhere the whole process's time goes (cProfile of the main process, {total:.2f} s under the profiler):")
    for label, (file_part, func) in wanted.items():
        cumulative = max((v[3] for (f, _, name), v in stats.stats.items() if file_part in f and name == func),
                         default=0.0)
        print(f"  {label:<44} {cumulative:6.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="0: the default (two per core)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--large", type=int, default=0, help="N large videos instead of the clips")
    parser.add_argument("--large-mb", type=int, default=486)
    parser.add_argument("--against", metavar="REV", help="an earlier commit whose whole process is timed beside")
    args = parser.parse_args()
    if args.large:
        return large_files(args)

    ffmpeg, ffprobe = ensure_debian_ffmpeg()
    clips = clip_set(args.clips)
    n = len(list(clips.glob("*.mp4")))
    total_mb = folder_bytes(clips) / 1e6
    work = OUT_DIR / "ingest-run"
    rounds: dict[str, list[float]] = {"whole": [], "job": [], "reference": []}
    tree = baseline_tree(args.against, "ingest-baseline") if args.against else None
    if tree is not None:
        rounds["against"] = []
    for r in range(args.rounds):
        if tree is not None:
            rounds["against"].append(whole_process(clips, work / "lake-cli", args.workers, n, code=tree))
        rounds["whole"].append(whole_process(clips, work / "lake-cli", args.workers, n,
                                             code=REPO if tree is not None else None))
        rounds["job"].append(job_in_process(clips, work / "lake-job", args.workers, n))
        rounds["reference"].append(one_core_reference(clips, work / "reference"))
        against = f", {args.against}'s whole process {rounds['against'][-1]:.2f} s" if tree is not None else ""
        print(f"round {r + 1}: whole process {rounds['whole'][-1]:.2f} s, job {rounds['job'][-1]:.2f} s, "
              f"one-core reference {rounds['reference'][-1]:.2f} s{against}", flush=True)
    if tree is not None:
        remove_baseline_tree(tree)
    once: dict[str, float] = {}
    out = fresh(work / "shell")
    with timed(once, "shell"):
        subprocess.run(["bash", "-c", SHELL_LOOP, "loop", str(clips), str(out), ffmpeg, ffprobe], check=True)
    out = fresh(work / "bare")
    with timed(once, "bare"):
        bare_hash_and_copy(clips, out)

    shell = once["shell"]
    reference = statistics.median(rounds["reference"])
    print(f"\ningest benchmark: {n} clips, 5 s 640x360 h264+aac, {total_mb:.1f} MB, {os.cpu_count()} cores, "
          f"{args.rounds} rounds")
    print(f"{'path':<62} {'best s':>7} {'median s':>9} {'files/s':>8} {'vs shell':>9} {'vs ref':>7}")
    rows = [
        ("videolake ingest, the whole process (the headline)", rounds["whole"]),
        ("  the Dagster ingest job alone, in process (the daemon's path)", rounds["job"]),
        *([(f"  {args.against}'s whole process (same rounds)", rounds["against"])] if tree is not None else []),
        ("one-core reference (hash + PyAV probe + poster + copy)", rounds["reference"]),
        ("shell loop (sha256sum + ffprobe + ffmpeg poster + cp)", [shell]),
        ("bare hash + copy (hashlib, one process)", [once["bare"]]),
    ]
    for name, values in rows:
        best, median = min(values), statistics.median(values)
        print(f"{name:<62} {best:>7.2f} {median:>9.2f} {n / median:>8.1f} {shell / median:>8.1f}x "
              f"{reference / median:>6.2f}x")
    whole = statistics.median(rounds["whole"])
    print(f"\nwhole process: {shell / whole:.1f}x the shell loop (target >= 20: "
          f"{'met' if shell / whole >= 20 else 'NOT met'}), {reference / whole:.2f}x the one-core reference "
          f"(target >= 1.3: {'met' if reference / whole >= 1.3 else 'NOT met'}); medians")
    if args.profile:
        prof = work / "whole.prof"
        whole_process(clips, work / "lake-cli", args.workers, n, profile=prof)
        print_profile(prof)
        print("\nper-file CPU of a worker's steps (one process, ms per file):")
        for step, ms in worker_profile(clips, work / "steps").items():
            print(f"  {step:<44} {ms:6.2f}")
    (OUT_DIR / "ingest-results.json").write_text(json.dumps({"clips": n, "rounds": rounds, **once}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
