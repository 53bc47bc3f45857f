"""Landing-sensor tick benchmark: 100,000 files landed, ticks timed through build_sensor_context.

    .venv/bin/python bench/sensor_tick.py [--files 100000] [--s3]

Prints the duration of the first tick (every file new), the second (stable files claimed into
batches) and a steady-state tick, next to a bare listing of the same zone (os.walk + stat, or a
paginated ListObjectsV2) as the baseline. Dagster stops a tick after 60 s; the target is to stay
well under it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT_DIR  # noqa: E402


def make_local_zone(root: Path, files: int) -> None:
    if root.exists() and sum(1 for _ in root.rglob("*.mp4")) == files:
        return
    shutil.rmtree(root, ignore_errors=True)
    old = time.time() - 3600
    for i in range(files):
        folder = root / f"source{i % 10}" / f"{i // 1000:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"clip {i:06d}.mp4"
        path.write_bytes(b"x")
        os.utime(path, (old, old))


def bare_local_listing(root: Path) -> int:
    n = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            os.lstat(os.path.join(folder, name))
            n += 1
    return n


def main() -> int:
    import dagster as dg

    from pipelines.definitions import build_resources, defs
    from sensors import landing_zone_sensor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--s3", action="store_true", help="land the files in a SeaweedFS bucket instead")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(dir=OUT_DIR if OUT_DIR.exists() else None))
    server = None
    try:
        if args.s3:
            from concurrent.futures import ThreadPoolExecutor

            from tests.servers import start_seaweedfs

            server = start_seaweedfs(work / "seaweedfs")
            os.environ.update(server.env())
            bucket = server.create_bucket()
            client = server.client()
            print(f"uploading {args.files} objects to SeaweedFS ...", flush=True)
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"in/source{i % 10}/clip {i:06d}.mp4", Body=b"x"),
                              range(args.files)))
            landing_url = f"s3://{bucket}/in"

            def baseline() -> int:
                n = 0
                for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="in/"):
                    n += len(page.get("Contents", []))
                return n
        else:
            zone = OUT_DIR / f"landing-{args.files}"
            print(f"making {args.files} files in {zone} ...", flush=True)
            make_local_zone(zone, args.files)
            landing_url = str(zone)

            def baseline() -> int:
                return bare_local_listing(zone)

        resources = build_resources({
            "VIDEOLAKE_HOME": str(work), "VIDEOLAKE_LANDING": landing_url,
            "VIDEOLAKE_SEGMENTS_LANDING": str(work / "segments"), "VIDEOLAKE_STABLE_AFTER_SECONDS": "60"})
        start = time.perf_counter()
        listed = baseline()
        bare = time.perf_counter() - start
        rows = [("bare listing (baseline)", bare, listed, 0)]
        cursor = None
        with dg.instance_for_test() as instance:
            for label in ("tick 1 (all new, old files claimed)", "tick 2 (claims the rest)", "tick 3 (steady, all claimed)"):
                ctx = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                              resources=resources, definitions=defs)
                start = time.perf_counter()
                result = landing_zone_sensor.evaluate_tick(ctx)
                elapsed = time.perf_counter() - start
                cursor = result.cursor
                files = sum(int(r.tags["videolake/files"]) for r in result.run_requests)
                rows.append((label, elapsed, files, len(result.run_requests)))
        kind = "SeaweedFS S3 prefix" if args.s3 else "local folder"
        print(f"\nlanding sensor tick: {args.files} files in a {kind}, SQLite catalog")
        print(f"{'tick':<40} {'seconds':>8} {'files claimed':>14} {'runs':>6}")
        for label, secs, files, runs in rows:
            print(f"{label:<40} {secs:>8.2f} {files:>14} {runs:>6}")
        worst = max(r[1] for r in rows[1:])
        print(f"\nslowest tick {worst:.1f} s of Dagster's 60 s limit ({worst / bare:.1f}x the bare listing)")
    finally:
        if server is not None:
            from tests.servers import stop_seaweedfs

            stop_seaweedfs(server)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
