"""SIGKILL a real `videolake migrate --move` (local hot → SeaweedFS) at many points, then rerun.

After every kill, before anything is repaired: every video still has a verified replica whose
object exists and hashes to the catalog's sha256 (nothing was deleted before its verified copy
existed), and every object on either backend is accounted for by a catalog row — verified, or
reported as in flight by the integrity scrub (no unreported orphan). The final rerun finishes the
job: every video verified in the archive, no hot copy left, the scrub clean.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from videolake.archive.scrub import IN_FLIGHT, scrub
from videolake.catalog.models import Replica, Video, utcnow
from videolake.catalog.repository import Catalog
from videolake.storage import open_backend
from videolake.storage.layout import video_key

VIDEOS = 150
SIZE = 256 * 1024
FIRST_KILL_AFTER = 0.6  # seconds after start; lengthened whenever a run was killed before it got anywhere


def register_random_videos(catalog: Catalog, hot_root: Path, count: int) -> dict[int, str]:
    """Videos with a verified local hot replica (random bytes: the migration does not care)."""
    ids: dict[int, str] = {}
    with catalog.write() as s:
        for i in range(count):
            data = os.urandom(SIZE - i * 512)
            digest = hashlib.sha256(data).hexdigest()
            key = video_key(digest)
            (hot_root / key).parent.mkdir(parents=True, exist_ok=True)
            (hot_root / key).write_bytes(data)
            video = Video(sha256=digest, size_bytes=len(data), name=f"v{i}.mp4", extension="mp4", source="crash-test",
                          source_type="upload", landing_uri=f"file:///nowhere/v{i}.mp4", landing_date=dt.date(2026, 3, 1))
            video.replicas.append(Replica(backend=hot_root.as_uri(), key=key, state="verified", size_bytes=len(data),
                                          verified_sha256=digest, verified_at=utcnow()))
            s.add(video)
            s.flush()
            ids[video.id] = digest
    return ids


def check_invariants(catalog: Catalog, hot, archive, digests: dict[int, str]) -> dict[str, int]:
    with catalog.read() as s:
        replicas = s.scalars(select(Replica)).all()
    verified: dict[int, list[Replica]] = {}
    for r in replicas:
        if r.state == "verified":
            verified.setdefault(r.video_id, []).append(r)
    backends = {hot.url: hot, archive.url: archive}
    for vid, digest in digests.items():
        good = 0
        for r in verified.get(vid, []):
            with backends[r.backend].open(r.key) as stream:
                good += hashlib.sha256(stream.read()).hexdigest() == digest
        assert good >= 1, f"video {vid} has no verified replica that still holds its bytes"
    counts = {"in_flight": 0}
    for backend in (hot, archive):
        findings, _ = scrub(catalog, backend, sample=0, stale_upload_seconds=0)
        unexplained = [f for f in findings if f.problem != IN_FLIGHT]
        assert unexplained == [], f"{backend.url}: {unexplained[:5]}"
        counts["in_flight"] += len(findings)
    counts["archived"] = sum(1 for r in replicas if r.backend == archive.url and r.state == "verified")
    return counts


def test_sigkill_at_many_points_never_loses_a_video(tmp_path, s3_env):
    hot_root = tmp_path / "hot"
    catalog_url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    catalog = Catalog(catalog_url)
    digests = register_random_videos(catalog, hot_root, VIDEOS)
    archive_url = f"s3://{s3_env.create_bucket()}/cold"
    hot, archive = open_backend(hot_root.as_uri()), open_backend(archive_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_")}
    env.update({"VIDEOLAKE_HOME": str(tmp_path / "home"), "VIDEOLAKE_CATALOG_URL": catalog_url})
    command = [str(Path(sys.executable).with_name("videolake")), "migrate", "--from", hot.url, "--to", archive_url,
               "--move", "--transfers", "2", "--batch", "4", "--quiet", "--json"]

    phases: set[str] = set()
    kills, delay, last = 0, FIRST_KILL_AFTER, None
    for round_ in range(80):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay + 0.05 * (round_ % 3))
        if proc.poll() is not None:
            break  # it finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        state = check_invariants(catalog, hot, archive, digests)
        hot_left = len(list(hot.list("videos/")))
        if (state, hot_left) == last:
            delay += 0.15  # killed during start-up: give the next run a little longer
        last = (state, hot_left)
        if state["in_flight"]:
            phases.add("copies or deletes in flight")
        if 0 < state["archived"] < VIDEOS:
            phases.add("partly archived")
        if state["archived"] == VIDEOS and 0 < hot_left < VIDEOS:
            phases.add("hot copies partly deleted")
    print(f"{kills} kills; phases hit: {sorted(phases)}")
    assert kills >= 6 and len(phases) == 3, (kills, phases)  # the kills landed in every phase of the migration

    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    final = check_invariants(catalog, hot, archive, digests)
    assert final == {"in_flight": 0, "archived": VIDEOS}
    with catalog.read() as s:
        assert {(r.backend, r.state) for r in s.scalars(select(Replica))} == {(archive_url, "verified")}
    assert list(hot.list("videos/")) == []  # move: every hot copy went, each after its archive copy was verified
