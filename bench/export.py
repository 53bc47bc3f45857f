"""Export benchmark: a fast-mode export of one hour of 10 s segments next to a hand-run
`ffmpeg -f concat -c copy` of the same files, in the same run.

    .venv/bin/python bench/export.py [--minutes 60] [--size 640x360]

The segments are cut from one generated recording (`-f segment`), ingested through the real
segments path, then exported with `ExportEngine` (what the export job runs: plan from the
catalog, join on one continuous timeline by stream copy, probe, sha256, store, manifest). Target:
at most 1.3x the hand-run ffmpeg time. The hand-run concat is the yardstick for speed only: on
segments whose clocks do not line up it leaves holes (see tests/test_exports/test_export_timeline.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR  # noqa: E402


def recording(minutes: int, size: str) -> Path:
    """minutes of 10 s .ts segments named by the default template (cached under bench/out)."""
    from videolake.media.ffmpeg_tools import ffmpeg_executable

    folder = OUT_DIR / f"segments-{minutes}m-{size}"
    expected = minutes * 6
    if folder.exists() and len(list(folder.glob("*.ts"))) == expected:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"recording {minutes} min of {size} video in 10 s segments ...", flush=True)
    subprocess.run(
        [ffmpeg_executable(), "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(minutes * 60),
         "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-f", "segment", "-segment_time", "10", "-reset_timestamps", "1", "-strftime", "0",
         str(folder / "seg%05d.ts")],
        check=True,
    )
    for i, seg in enumerate(sorted(folder.glob("seg*.ts"))):
        seconds = i * 10
        seg.rename(folder / f"20261120T{10 + seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}Z.ts")
    return folder


def main() -> int:
    import datetime as dt

    import dagster as dg

    from assets import ingest_lineage, landing_zone
    from pipelines.partitions import add_landing_days
    from pipelines.definitions import build_resources
    from videolake.exports.engine import ExportEngine, ExportRequest, create_export
    from videolake.media.ffmpeg_tools import ffmpeg_executable
    from videolake.media.inspection import inspect_video
    from videolake.storage.local_backend import LocalBackend

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    segments = recording(args.minutes, args.size)
    files = sorted(segments.glob("*.ts"))
    total_mb = sum(f.stat().st_size for f in files) / 1e6
    work = Path(tempfile.mkdtemp(dir=OUT_DIR))
    try:
        zone = work / "segments" / "cam1"
        zone.mkdir(parents=True)
        for f in files:
            shutil.copyfile(f, zone / f.name)
        resources = build_resources({
            "VIDEOLAKE_HOME": str(work), "VIDEOLAKE_LANDING": str(work / "landing"),
            "VIDEOLAKE_SEGMENTS_LANDING": str(work / "segments"), "VIDEOLAKE_SETTLE_SECONDS": "0",
            "VIDEOLAKE_BATCH_MAX_FILES": "100000"})
        print(f"ingesting {len(files)} segments ...", flush=True)
        instance = dg.DagsterInstance.ephemeral()
        add_landing_days(instance, ["2026-11-20"])
        dg.materialize([landing_zone, ingest_lineage], instance=instance, partition_key="2026-11-20", resources=resources,
                       run_config={"ops": {"ingest_lineage": {"config": {"zone": "segments"}}}})
        catalog = resources["catalog"].catalog()
        storage = LocalBackend(work / "storage")
        start = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
        end = start + dt.timedelta(minutes=args.minutes)

        # The hand-run baseline reads the same stored segment files.
        listing = work / "list.txt"
        from sqlalchemy import select

        from videolake.catalog.models import Replica, Segment

        with catalog.read() as s:
            keys = [k for (k,) in s.execute(select(Replica.key).join(Segment, Segment.video_id == Replica.video_id)
                                            .where(Segment.camera_id == "cam1").order_by(Segment.start_at))]
        listing.write_text("".join(f"file '{work / 'storage' / k}'\n" for k in keys))
        assert len(keys) == len(files), (len(keys), len(files))

        hand, ours = [], []
        for _ in range(args.repeat):
            out = work / "hand.mp4"
            out.unlink(missing_ok=True)
            os.sync()  # both start with no dirty pages from the other's 1 GB of output
            t = time.perf_counter()
            subprocess.run([ffmpeg_executable(), "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0",
                            "-i", str(listing), "-c", "copy", str(out)], check=True)
            hand.append(time.perf_counter() - t)
            export_id = create_export(catalog, ExportRequest(["cam1"], start, end, "fast", "benchmark"))
            hand_duration = inspect_video(out).duration_s
            out.unlink()
            os.sync()
            t = time.perf_counter()
            done = ExportEngine(catalog, storage).run(export_id)
            ours.append(time.perf_counter() - t)
            assert done.status == "COMPLETED"
        ours_duration = done.outputs[0].duration_s
        best_hand, best_ours = min(hand), min(ours)
        print(f"\nexport benchmark: {args.minutes} min of 10 s {args.size} segments ({len(files)} files, {total_mb:.0f} MB), "
              f"best of {args.repeat}")
        print(f"{'path':<52} {'seconds':>8} {'output s':>9}")
        print(f"{'hand-run ffmpeg -f concat -c copy':<52} {best_hand:>8.2f} {hand_duration:>9.1f}")
        print(f"{'videolake fast export (plan, cut, probe, hash, store)':<52} {best_ours:>8.2f} {ours_duration:>9.1f}")
        ratio = best_ours / best_hand
        print(f"\ntarget <= 1.3x the hand-run time: {'met' if ratio <= 1.3 else 'NOT met'} ({ratio:.2f}x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
