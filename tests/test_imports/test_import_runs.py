"""The import queue and its fetch runs, over a real catalog and the real ingest: earliest deadline
first, a per-host limit, every import ending done, failed or expired with a clear reason, nothing
half-fetched cataloged, and the video's sidecar naming its origin URL and expiry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import cli
from tests.test_imports.conftest import in_seconds
from videolake.catalog.imports import ImportStore
from videolake.catalog.repository import Catalog
from videolake.catalog.video_search import list_video_records
from videolake.constants import ImportState, WriteMode
from videolake.imports.run_settings import FetchRunSettings
from videolake.imports.urls import FetchPolicy
from videolake.ingest.engine import IngestEngine, IngestSettings
from videolake.storage import open_backend
from videolake.usecases.errors import InvalidInput
from videolake.usecases.imports import ImportRequest, fetch_imports, get_imports, queue_imports
from videolake.usecases.ingest import IngestStorages

FAST = FetchPolicy(allow_private=True, wait_initial_s=0.05, wait_max_s=0.2, wait_jitter_s=0.0, max_attempts=4,
                   read_timeout_s=2)


@pytest.fixture
def lake(cli_env, tmp_path):
    assert cli(cli_env, "db", "upgrade").returncode == 0
    home = Path(cli_env["VIDEOLAKE_HOME"])
    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite'}")
    hot, quarantine = open_backend((home / "storage").as_uri()), open_backend((home / "quarantine").as_uri())

    def run(**kwargs):
        settings = IngestSettings(workers=1)
        run_id = kwargs.pop("run_id", "run-1")
        fetch = FetchRunSettings(work_dir=home / "imports", policy=kwargs.pop("policy", FAST), **kwargs)
        return fetch_imports(catalog, run_id=run_id, storages=IngestStorages(hot=hot, archive=None, mode=WriteMode.LOCAL),
                             engine_for=lambda target: IngestEngine(catalog, target or hot, quarantine, settings=settings),
                             settings=fetch)

    return catalog, run, home


def test_a_batch_ends_done_failed_or_expired_each_with_its_reason(flaky, lake):
    base, clip, sha = flaky
    catalog, run, home = lake
    queued = queue_imports(catalog, [
        ImportRequest(f"{base}/cut/clip.mp4", deadline=in_seconds(120), name="scene-1.mp4",
                      details={"provider": "replicate", "model": "kling-v2", "prompt": "a lighthouse at dusk",
                               "job_id": "p-123"}),
        ImportRequest(f"{base}/html/clip.mp4", deadline=in_seconds(120)),
        ImportRequest(f"{base}/gone/clip.mp4"),
        ImportRequest(f"{base}/ok/notes.txt", deadline=in_seconds(120)),
        ImportRequest(f"{base}/silent/clip.mp4", deadline=in_seconds(3)),
    ])
    outcome = run(per_host=5)
    assert (outcome.taken, outcome.done, outcome.failed, outcome.expired) == (5, 1, 3, 1), outcome
    by_url = {v.url.rsplit("/", 2)[-2]: v for v in get_imports(catalog, [q.id for q in queued])}
    done = by_url["cut"]
    assert done.state == ImportState.DONE and done.video_id is not None and done.bytes_fetched == clip.stat().st_size
    assert done.attempts >= 2  # cut once, then resumed (a retry may be cut as well when the server is slow)
    assert (by_url["html"].state, by_url["html"].failure) == (ImportState.FAILED, "not_a_file")
    assert "HTML page" in by_url["html"].last_error
    assert (by_url["gone"].state, by_url["gone"].failure) == (ImportState.FAILED, "http_status")
    assert "404" in by_url["gone"].last_error
    assert (by_url["ok"].state, by_url["ok"].failure) == (ImportState.FAILED, "not_a_video")
    assert (by_url["silent"].state, by_url["silent"].failure) == (ImportState.EXPIRED, "deadline")
    # The video: its content, where it came from, until when that worked, and how it was made.
    video = catalog.get_video(done.video_id)
    assert video.sha256 == sha and video.name == "scene-1.mp4" and video.source_type == "generated"
    assert video.sidecar["origin_url"] == f"{base}/cut/clip.mp4" and video.sidecar["prompt"] == "a lighthouse at dusk"
    assert dt.datetime.fromisoformat(video.sidecar["origin_expires_at"]) == done.deadline
    assert video.landing_uri == f"{base}/cut/clip.mp4"
    # Nothing half-fetched is left or cataloged: one video, no work files.
    assert len(list_video_records(catalog)) == 1
    assert not any(p.is_file() for p in (home / "imports").rglob("*"))


def test_earliest_deadline_first_and_hosts_other_runs_are_busy_with_left_alone(flaky, lake):
    base, _, _ = flaky
    catalog, run, _ = lake
    late = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4?n={n}", deadline=in_seconds(3600 + n))
                                   for n in range(3)])
    soon = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4?soon=1", deadline=in_seconds(600))])
    taken = ImportStore(catalog).claim_due(run_id="r", limit=2, per_host=10, lease=dt.timedelta(minutes=5))
    assert [t.id for t in taken] == [soon[0].id, late[0].id]
    # That run fetches two from the host: another run leaves the host alone at a limit of 2 …
    assert ImportStore(catalog).claim_due(run_id="r2", limit=10, per_host=2, lease=dt.timedelta(minutes=5)) == []
    # … and takes the rest at a limit of 3 (it then fetches at most 3 at once from it itself).
    more = ImportStore(catalog).claim_due(run_id="r3", limit=10, per_host=3, lease=dt.timedelta(minutes=5))
    assert [t.id for t in more] == [late[1].id, late[2].id]


def test_a_run_that_died_lets_its_imports_go_when_the_lease_ends(flaky, lake):
    base, _, sha = flaky
    catalog, run, _ = lake
    queued = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4", deadline=in_seconds(600))])
    store = ImportStore(catalog)
    assert store.claim_due(run_id="dead", limit=5, per_host=5, lease=dt.timedelta(seconds=-1))  # already over
    outcome = run(run_id="next")
    assert outcome.done == 1 and get_imports(catalog, [queued[0].id])[0].state == ImportState.DONE


def test_a_transient_failure_with_time_left_waits_for_a_later_run_and_continues(flaky, lake):
    base, clip, sha = flaky
    catalog, run, home = lake
    [queued] = queue_imports(catalog, [ImportRequest(f"{base}/fail500/clip.mp4", deadline=in_seconds(3600))])
    import dataclasses

    outcome = run(policy=dataclasses.replace(FAST, max_attempts=2))  # both answers are 500s
    [view] = get_imports(catalog, [queued.id])
    assert (outcome.done, outcome.failed, view.state) == (0, 0, ImportState.PENDING)
    assert "HTTP 500" in view.last_error and view.attempts == 2
    assert view.waits_until > in_seconds(50)  # not asked again at once
    assert run(run_id="run-2").taken == 0
    ImportStore(catalog).update(queued.id, lease_until=in_seconds(-1))  # the wait is over
    outcome = run(run_id="run-3")
    [view] = get_imports(catalog, [queued.id])
    assert outcome.done == 1 and view.state == ImportState.DONE and catalog.get_video(view.video_id).sha256 == sha


def test_a_running_fetch_keeps_its_hold_and_reports_its_progress(flaky, lake):
    """A lease of 4 s over a fetch of ~8 s: renewed while the run lives, so no other run takes it."""
    import threading
    import time

    base, clip, _ = flaky
    catalog, run, _ = lake
    [queued] = queue_imports(catalog, [ImportRequest(f"{base}/slow/clip.mp4", deadline=in_seconds(600))])
    outcomes = []
    worker = threading.Thread(target=lambda: outcomes.append(run(lease=dt.timedelta(seconds=4))))
    worker.start()
    time.sleep(6)
    assert ImportStore(catalog).claim_due(run_id="other", limit=5, per_host=5, lease=dt.timedelta(minutes=1)) == []
    [view] = get_imports(catalog, [queued.id])
    assert view.state == ImportState.FETCHING and 0 < view.bytes_fetched < clip.stat().st_size
    worker.join(timeout=120)
    assert outcomes and outcomes[0].done == 1


def test_a_batch_larger_than_a_chunk_is_ingested_in_chunks_while_fetched(flaky, lake):
    base, _, sha = flaky
    catalog, run, home = lake
    queued = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4?n={n}") for n in range(20)])
    outcome = run(per_host=4)
    views = get_imports(catalog, [q.id for q in queued])
    assert outcome.done == 20 and {v.state for v in views} == {ImportState.DONE}
    assert len({v.video_id for v in views}) == 1 and catalog.get_video(views[0].video_id).sha256 == sha  # deduplicated
    assert not any(p.is_file() for p in (home / "imports").rglob("*"))


def test_queueing_checks_every_url_and_queues_none_of_a_bad_batch(flaky, lake):
    base, _, _ = flaky
    catalog, _, _ = lake
    with pytest.raises(InvalidInput, match=r"import 2 \(ftp://x/y.mp4\): only http and https"):
        queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4"), ImportRequest("ftp://x/y.mp4")])
    with pytest.raises(InvalidInput, match="has passed; nothing was queued"):
        queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4", deadline=in_seconds(-60))])
    assert ImportStore(catalog).claim_due(run_id="r", limit=10, per_host=10, lease=dt.timedelta(minutes=1)) == []
    # The same URL twice while it is open: one import.
    first = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4")])
    again = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4")])
    assert first[0].id == again[0].id


def test_an_import_left_pending_past_its_deadline_expires_with_its_last_error(flaky, lake):
    base, _, _ = flaky
    catalog, run, _ = lake
    queued = queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4", deadline=in_seconds(1))])
    ImportStore(catalog).update(queued[0].id, last_error="HTTP 503 Service Unavailable")
    import time

    time.sleep(1.2)
    outcome = run()
    view = get_imports(catalog, [queued[0].id])[0]
    assert outcome.expired == 1 and view.state == ImportState.EXPIRED
    assert "passed before it could be fetched; the last attempt: HTTP 503" in view.last_error


def test_the_storage_report_counts_imports(flaky, lake):
    from videolake.reports.storage_report import build_report, prometheus_text

    base, _, _ = flaky
    catalog, run, _ = lake
    queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4"), ImportRequest(f"{base}/gone/clip.mp4")])
    run()
    queue_imports(catalog, [ImportRequest(f"{base}/ok/clip.mp4?later=1", deadline=in_seconds(120))])
    text = prometheus_text(build_report(catalog, {})).decode()
    for line in ('videolake_imports{state="done"} 1.0', 'videolake_imports{state="failed"} 1.0',
                 'videolake_imports{state="pending"} 1.0', 'videolake_imports{state="at_risk"} 1.0'):
        assert line in text, text
