"""Segment range-query benchmark: 1,000,000 segments, on SQLite and on PostgreSQL.

    .venv/bin/python bench/segments_query.py [--segments 1000000] [--queries 2000]

100 cameras of continuous 10 s segments. Each query asks one camera for a random 30 minute range
through ``videolake.segments.index.find_segments`` (what `videolake segments` runs) and reports
p50/p99 next to, in the same run, a plain SELECT of the same rows (DB-API, the obvious WHERE
camera = ? AND start < ? AND end > ?). Target: p50 <= 10 ms and p99 <= 50 ms on both databases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UTC = dt.timezone.utc
EPOCH = dt.datetime(2026, 1, 1, tzinfo=UTC)
SEGMENT_S = 10
CAMERAS = 100


def fill(url: str, total: int) -> None:
    """Bulk-load videos and segments with the driver's fastest path (COPY on PostgreSQL)."""
    from sqlalchemy import text

    from videolake.catalog.database import get_engine

    engine = get_engine(url)
    per_camera = total // CAMERAS

    def rows():
        vid = 0
        for cam in range(CAMERAS):
            for i in range(per_camera):
                vid += 1
                start = EPOCH + dt.timedelta(seconds=i * SEGMENT_S)
                yield vid, f"cam{cam:03d}", start, start + dt.timedelta(seconds=SEGMENT_S)

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            import io

            videos, segments = io.StringIO(), io.StringIO()
            for vid, cam, start, end in rows():
                videos.write(f"{vid}\t{vid:064x}\t1000\tseg.ts\tts\tsegments\tsegment\tfile:///x\t{start.date()}\t{start.isoformat()}\n")
                segments.write(f"{vid}\t{vid}\t{cam}\t{start.isoformat()}\t{end.isoformat()}\t{SEGMENT_S}\t{start.date()}\ttemplate\n")
            videos.seek(0)
            segments.seek(0)
            cur.copy_expert("COPY videos (id, sha256, size_bytes, name, extension, source, source_type, landing_uri, landing_date, ingested_at) FROM STDIN", videos)
            cur.copy_expert("COPY segments (id, video_id, camera_id, start_at, end_at, duration_s, recording_date, time_source) FROM STDIN", segments)
            cur.execute("ANALYZE videos")
            cur.execute("ANALYZE segments")
        else:
            def fmt(t: dt.datetime) -> str:
                return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

            batch_v, batch_s = [], []
            for vid, cam, start, end in rows():
                batch_v.append((vid, f"{vid:064x}", 1000, "seg.ts", "ts", "segments", "segment", "file:///x", str(start.date()), fmt(start)))
                batch_s.append((vid, vid, cam, fmt(start), fmt(end), SEGMENT_S, str(start.date()), "template"))
                if len(batch_v) == 50_000:
                    cur.executemany("INSERT INTO videos (id, sha256, size_bytes, name, extension, source, source_type, landing_uri, landing_date, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_v)
                    cur.executemany("INSERT INTO segments (id, video_id, camera_id, start_at, end_at, duration_s, recording_date, time_source) VALUES (?,?,?,?,?,?,?,?)", batch_s)
                    batch_v, batch_s = [], []
            if batch_v:
                cur.executemany("INSERT INTO videos (id, sha256, size_bytes, name, extension, source, source_type, landing_uri, landing_date, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_v)
                cur.executemany("INSERT INTO segments (id, video_id, camera_id, start_at, end_at, duration_s, recording_date, time_source) VALUES (?,?,?,?,?,?,?,?)", batch_s)
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from segments")).scalar() == per_camera * CAMERAS


def measure(url: str, total: int, queries: int) -> dict[str, list[float]]:
    from videolake.catalog.database import get_engine
    from videolake.catalog.repository import Catalog
    from videolake.segments.index import find_segments, longest_segment_seconds

    catalog = Catalog(url)
    engine = get_engine(url)
    per_camera = total // CAMERAS
    span = per_camera * SEGMENT_S
    rng = random.Random(7)
    asks = []
    for _ in range(queries):
        cam = f"cam{rng.randrange(CAMERAS):03d}"
        start = EPOCH + dt.timedelta(seconds=rng.randrange(0, max(1, span - 1800)))
        asks.append((cam, start, start + dt.timedelta(minutes=30)))
    postgres = engine.dialect.name == "postgresql"
    plain = (
        "SELECT s.id, s.video_id, s.camera_id, s.start_at, s.end_at, v.sha256, v.video_codec, v.width, v.height "
        "FROM segments s JOIN videos v ON v.id = s.video_id "
        + ("WHERE s.camera_id = %s AND s.start_at < %s AND s.end_at > %s ORDER BY s.start_at" if postgres
           else "WHERE s.camera_id = ? AND s.start_at < ? AND s.end_at > ? ORDER BY s.start_at")
    )
    timings: dict[str, list[float]] = {"videolake find_segments": [], "plain SELECT": []}
    raw = engine.raw_connection()
    cur = raw.cursor()
    rows_seen = 0
    for cam, start, end in asks:
        t = time.perf_counter()
        hits = find_segments(catalog, cam, start, end, max_segment_s=longest_segment_seconds(catalog, cam))
        timings["videolake find_segments"].append((time.perf_counter() - t) * 1000)
        rows_seen += len(hits)
        bind = (cam, end, start) if postgres else (cam, end.strftime("%Y-%m-%d %H:%M:%S.%f"), start.strftime("%Y-%m-%d %H:%M:%S.%f"))
        t = time.perf_counter()
        cur.execute(plain, bind)
        plain_rows = cur.fetchall()
        timings["plain SELECT"].append((time.perf_counter() - t) * 1000)
        assert len(plain_rows) == len(hits), (cam, start, len(plain_rows), len(hits))
    raw.close()
    timings["rows"] = [rows_seen / len(asks)]
    return timings


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()

    from bench.common import catalog_databases

    with catalog_databases() as (_, databases):
        results = {}
        for name, url in databases:
            t = time.perf_counter()
            fill(url, args.segments)
            print(f"{name}: loaded {args.segments} segments in {time.perf_counter() - t:.0f} s", flush=True)
            results[name] = measure(url, args.segments, args.queries)
        print(f"\nsegment range queries: {args.segments} segments, {CAMERAS} cameras, 30 min ranges, {args.queries} queries each")
        print(f"{'database':<13} {'query':<24} {'p50 ms':>8} {'p99 ms':>8} {'rows/query':>11}")
        ok = True
        for name, timings in results.items():
            for query in ("videolake find_segments", "plain SELECT"):
                p50, p99 = pct(timings[query], 50), pct(timings[query], 99)
                print(f"{name:<13} {query:<24} {p50:>8.2f} {p99:>8.2f} {timings['rows'][0]:>11.0f}")
                if query.startswith("videolake"):
                    ok = ok and p50 <= 10 and p99 <= 50
        print(f"\ntarget p50 <= 10 ms and p99 <= 50 ms on both: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
