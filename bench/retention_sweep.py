"""Retention sweep at scale: 1,000,000 catalog videos, 100,000 of them expired, SQLite and PostgreSQL.

    .venv/bin/python bench/retention_sweep.py [--videos 1000000] [--expired 100000]

Every video has a verified replica on a local hot store and one landing row (as ingest records
it: retention weighs every landing of the same content); the expired ones also have their object
on disk (so the sweep really deletes 100,000 files). The retention use case, as the daily job runs
it (plan from the catalog: policy per video, holds; guardrails — backend listed, delete share; the
plan recorded under the run id; batched apply: rows marked deleting, objects unlinked, rows
deleted, one audit row per object), and the plan alone, are timed next to, in the same
run, a bare ``DELETE … WHERE`` of the same rows (replicas, then videos; rolled back). Target: the
sweep within 60 s on both databases on this 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 21, tzinfo=UTC)
OLD = AS_OF - dt.timedelta(days=400)
YOUNG = AS_OF - dt.timedelta(days=10)
POLICY = "default: {keep_days: 365}\nmax_delete_share: 0.2\n"


def key_of(vid: int) -> str:
    from videolake.storage.layout import video_key

    return video_key(f"{vid:064x}")


def fill(url: str, total: int, expired: int, hot: Path) -> None:
    from videolake.catalog.database import get_engine

    engine = get_engine(url)
    hot_url = hot.as_uri()

    def rows():
        for vid in range(1, total + 1):
            when = OLD if vid <= expired else YOUNG
            yield vid, when

    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            videos, replicas, landings = io.StringIO(), io.StringIO(), io.StringIO()
            for vid, when in rows():
                videos.write(f"{vid}\t{vid:064x}\t1000\tv.mp4\tmp4\tuploads\tupload\tfile:///x\t{when.date()}\t{when.isoformat()}\n")
                replicas.write(f"{vid}\t{vid}\t{hot_url}\t{key_of(vid)}\tverified\t1000\t{vid:064x}\t{when.isoformat()}\t{when.isoformat()}\n")
                landings.write(f"{vid}\t{vid}\tfile:///x/{vid}.mp4\tv.mp4\tuploads\tupload\t{vid:064x}\t1000\tingested\t{when.isoformat()}\n")
            videos.seek(0)
            replicas.seek(0)
            landings.seek(0)
            cur.copy_expert("COPY videos (id, sha256, size_bytes, name, extension, source, source_type, landing_uri, "
                            "landing_date, ingested_at) FROM STDIN", videos)
            cur.copy_expert("COPY replicas (id, video_id, backend, key, state, size_bytes, verified_sha256, verified_at, "
                            "created_at) FROM STDIN", replicas)
            cur.copy_expert("COPY landings (id, video_id, landing_uri, name, source, source_type, sha256, size_bytes, "
                            "outcome, landed_at) FROM STDIN", landings)
            cur.execute("SELECT setval('landings_id_seq', %s)", (total,))
            cur.execute("SELECT setval('videos_id_seq', %s)", (total,))
            cur.execute("SELECT setval('replicas_id_seq', %s)", (total,))
            cur.execute("ANALYZE")
        else:
            def fmt(t: dt.datetime) -> str:
                return t.strftime("%Y-%m-%d %H:%M:%S.%f")

            batch_v, batch_r, batch_l = [], [], []
            insert_l = ("INSERT INTO landings (id, video_id, landing_uri, name, source, source_type, sha256, size_bytes, "
                        "outcome, landed_at) VALUES (?,?,?,?,?,?,?,?,?,?)")
            for vid, when in rows():
                batch_l.append((vid, vid, f"file:///x/{vid}.mp4", "v.mp4", "uploads", "upload", f"{vid:064x}", 1000,
                                "ingested", fmt(when)))
                batch_v.append((vid, f"{vid:064x}", 1000, "v.mp4", "mp4", "uploads", "upload", "file:///x", str(when.date()),
                                fmt(when)))
                batch_r.append((vid, vid, hot_url, key_of(vid), "verified", 1000, f"{vid:064x}", fmt(when), fmt(when)))
                if len(batch_v) == 100_000:
                    cur.executemany("INSERT INTO videos (id, sha256, size_bytes, name, extension, source, source_type, "
                                    "landing_uri, landing_date, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_v)
                    cur.executemany("INSERT INTO replicas (id, video_id, backend, key, state, size_bytes, verified_sha256, "
                                    "verified_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)", batch_r)
                    cur.executemany(insert_l, batch_l)
                    batch_v, batch_r, batch_l = [], [], []
            if batch_v:
                cur.executemany("INSERT INTO videos (id, sha256, size_bytes, name, extension, source, source_type, "
                                "landing_uri, landing_date, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)", batch_v)
                cur.executemany("INSERT INTO replicas (id, video_id, backend, key, state, size_bytes, verified_sha256, "
                                "verified_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)", batch_r)
                cur.executemany(insert_l, batch_l)
            cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    for vid in range(1, expired + 1):  # the expired videos' objects, really on disk
        path = hot / key_of(vid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 1000)


def bare_delete(url: str) -> float:
    """The same rows with two plain DELETEs in one transaction, rolled back."""
    from videolake.catalog.database import get_engine

    raw = get_engine(url).raw_connection()
    try:
        cur = raw.cursor()
        pg = get_engine(url).dialect.name == "postgresql"
        cutoff = (AS_OF - dt.timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S")
        p = "%s" if pg else "?"
        if not pg:
            cur.execute("BEGIN")  # the catalog's SQLite connections run in autocommit mode otherwise
        start = time.perf_counter()
        cur.execute(f"DELETE FROM replicas WHERE video_id IN (SELECT id FROM videos WHERE ingested_at < {p})", (cutoff,))
        cur.execute(f"DELETE FROM videos WHERE ingested_at < {p}", (cutoff,))
        seconds = time.perf_counter() - start
        raw.rollback()
        return seconds
    finally:
        raw.close()


def sweep(url: str, hot: Path) -> tuple[float, float, int, int]:
    """(plan seconds, whole seconds, videos deleted, objects deleted): the plan alone (read only),
    then the retention use case as the daily job runs it — plan, guardrails, the plan recorded
    under the run id, apply."""
    from videolake.catalog.repository import Catalog
    from videolake.retention.policy import parse_policy
    from videolake.retention.sweep import RetentionSweep
    from videolake.usecases.retention import RetentionRequest, run_retention

    catalog, policy = Catalog(url), parse_policy(POLICY)
    engine = RetentionSweep(catalog, policy, hot.as_uri())
    start = time.perf_counter()
    engine.plan(AS_OF)
    planned = time.perf_counter() - start
    start = time.perf_counter()
    outcome = run_retention(catalog, policy, hot.as_uri(), RetentionRequest(as_of=AS_OF, apply=True), run_id="bench",
                            sweep=engine)
    total = time.perf_counter() - start
    applied = outcome.applied or {}
    return planned, total, applied.get("videos_deleted", 0), applied.get("deleted_objects", 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=1_000_000)
    parser.add_argument("--expired", type=int, default=100_000)
    args = parser.parse_args()

    from bench.common import catalog_databases

    rows = []
    with catalog_databases() as (work, databases):
        for name, url in databases:
            hot = work / f"hot-{name.split()[0].lower()}"
            t = time.perf_counter()
            fill(url, args.videos, args.expired, hot)
            print(f"{name}: loaded {args.videos} videos + replicas, {args.expired} objects in {time.perf_counter() - t:.0f} s",
                  flush=True)
            baseline = bare_delete(url)
            planned, total, videos, objects = sweep(url, hot)
            left = sum(1 for _ in hot.rglob("*") if _.is_file())
            print(f"{name}: sweep {total:.1f} s (plan {planned:.1f} s), {videos} videos and {objects} objects deleted, "
                  f"{left} files left; bare DELETE {baseline:.1f} s", flush=True)
            rows.append((name, total, planned, baseline, videos))
            shutil.rmtree(hot, ignore_errors=True)
    print(f"\nretention sweep over {args.videos:,} videos, {args.expired:,} expired (target ≤ 60 s)")
    print("| database | retention run (plan + guardrails + record + apply) | of which plan | bare DELETE … WHERE (baseline) | videos deleted |")
    print("|---|---:|---:|---:|---:|")
    for name, total, planned, baseline, videos in rows:
        print(f"| {name} | {total:.1f} s | {planned:.1f} s | {baseline:.1f} s | {videos:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
