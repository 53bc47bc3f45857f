"""Migration throughput: `videolake migrate` local → SeaweedFS S3 (verified) next to `rclone copy --checksum`.

Two sets: 100 × 5 MB and 5 × 500 MB of random bytes, registered in a fresh SQLite catalog as
videos with a verified replica on local storage. Each timed run gets a fresh SeaweedFS (so both
tools write into an empty server), starts after `sync`, and the two tools alternate; the best of
``--runs`` and the median are reported. Our figure is the whole `videolake migrate` process (catalog rows pending
→ verified, the S3 SHA256 of every object checked); rclone's is the whole `rclone copy --checksum`
process with its default settings.

    ./scripts/setup --bench && .venv/bin/python -m bench.migrate [--runs 3] [--sets small,large]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import OUT_DIR
from tests.servers import S3Server, start_seaweedfs, stop_seaweedfs

MB = 1024 * 1024
SETS = {"small": (100, 5 * MB), "large": (5, 500 * MB)}
VIDEOLAKE = str(Path(sys.executable).with_name("videolake"))


def make_files(name: str, count: int, size: int) -> Path:
    folder = OUT_DIR / f"migrate-{name}-{count}x{size // MB}MB"
    if folder.exists() and len(list(folder.glob("*.bin"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i in range(count):
        with open(folder / f"file-{i:04d}.bin", "wb") as fh:
            left = size
            while left:
                n = min(left, 64 * MB)
                fh.write(os.urandom(n))
                left -= n
    return folder


def register(files: Path, work: Path) -> tuple[str, str]:
    """A catalog whose videos are the files, verified on a local hot store (content-addressed keys)."""
    from videolake.catalog.models import Replica, Video, utcnow
    from videolake.catalog.repository import Catalog
    from videolake.storage.layout import video_key

    hot = work / "hot"
    url = f"sqlite:///{work / f'catalog-{uuid.uuid4().hex[:8]}.sqlite'}"  # engines are cached per URL in this process
    catalog = Catalog(url)
    with catalog.write() as s:
        for path in sorted(files.glob("*.bin")):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            key = video_key(digest)
            (hot / key).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, hot / key)
            video = Video(sha256=digest, size_bytes=path.stat().st_size, name=path.name, extension="bin", source="bench",
                          source_type="upload", landing_uri=path.as_uri(), landing_date=dt.date(2026, 1, 1))
            video.replicas.append(Replica(backend=hot.as_uri(), key=key, state="verified", size_bytes=video.size_bytes,
                                          verified_sha256=digest, verified_at=utcnow()))
            s.add(video)
    return url, hot.as_uri()


def run_videolake(server: S3Server, catalog_url: str, hot_url: str, home: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOLAKE_", "AWS_"))}
    env.update(server.env())
    env.update({"VIDEOLAKE_HOME": str(home), "VIDEOLAKE_CATALOG_URL": catalog_url})
    bucket = server.create_bucket()
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    done = subprocess.run([VIDEOLAKE, "migrate", "--from", hot_url, "--to", f"s3://{bucket}/archive", "--quiet", "--json"],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"videolake migrate failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if report["errors"]:
        raise SystemExit(f"videolake migrate reported errors: {report['errors'][:3]}")
    return seconds


def run_rclone(server: S3Server, files: Path) -> float:
    bucket = server.create_bucket()
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}  # it breaks rclone's S3 client here
    env.update({
        "RCLONE_CONFIG_SW_TYPE": "s3", "RCLONE_CONFIG_SW_PROVIDER": "SeaweedFS",
        "RCLONE_CONFIG_SW_ACCESS_KEY_ID": server.access_key, "RCLONE_CONFIG_SW_SECRET_ACCESS_KEY": server.secret_key,
        "RCLONE_CONFIG_SW_ENDPOINT": server.endpoint_url, "RCLONE_CONFIG_SW_REGION": "us-east-1",
    })
    subprocess.run(["sync"], check=True)
    start = time.perf_counter()
    subprocess.run(["rclone", "copy", "--checksum", str(files), f"sw:{bucket}/archive"], env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sets", default="small,large")
    args = parser.parse_args()
    if not shutil.which("rclone"):
        raise SystemExit("rclone is not installed: ./scripts/setup --bench")
    version = subprocess.run(["rclone", "version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"baseline: {version}, `rclone copy --checksum` with its defaults")
    rows = []
    for name in args.sets.split(","):
        count, size = SETS[name]
        files = make_files(name, count, size)
        total = count * size
        ours, theirs = [], []
        for run in range(args.runs):
            for tool in (("videolake", "rclone") if run % 2 == 0 else ("rclone", "videolake")):
                work = OUT_DIR / "migrate-run"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                server = start_seaweedfs(work / "seaweedfs")
                try:
                    if tool == "videolake":
                        catalog_url, hot_url = register(files, work)
                        ours.append(run_videolake(server, catalog_url, hot_url, work / "home"))
                    else:
                        theirs.append(run_rclone(server, files))
                finally:
                    stop_seaweedfs(server)
                    shutil.rmtree(work, ignore_errors=True)
                print(f"  {name} run {run + 1} {tool}: {(ours if tool == 'videolake' else theirs)[-1]:.2f} s", flush=True)
        rows.append((name, count, size, total, ours, theirs))
    print()
    print("| set | videolake migrate (verified), best / median | rclone copy --checksum, best / median "
          "| ratio best | ratio median |")
    print("|---|---|---|---|---|")
    for name, count, size, total, ours, theirs in rows:
        o, t, om, tm = min(ours), min(theirs), statistics.median(ours), statistics.median(theirs)
        print(f"| {count} × {size // MB} MB | {o:.2f} / {om:.2f} s = {total / MB / o:.0f} MB/s "
              f"| {t:.2f} / {tm:.2f} s = {total / MB / t:.0f} MB/s | {t / o:.2f} | {tm / om:.2f} |")


if __name__ == "__main__":
    main()
