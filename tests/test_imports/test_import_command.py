"""``videolake import`` as users run it: a process, URLs from the loopback server that misbehaves,
``--wait`` running the fetch runs in the command, and the video showing where it came from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import cli


@pytest.fixture
def env(cli_env):
    assert cli(cli_env, "db", "upgrade").returncode == 0
    return {**cli_env, "VIDEOLAKE_IMPORT_ALLOW_PRIVATE": "1"}


def test_import_one_url_with_generation_details_and_wait(flaky, env, tmp_path):
    base, clip, sha = flaky
    meta = tmp_path / "scene.json"
    meta.write_text(json.dumps({"provider": "replicate", "model": "kling-v2", "prompt": "rain on a tin roof",
                                "parameters": {"seed": 7}, "job_id": "p-9"}))
    done = cli(env, "import", f"{base}/cut/clip.mp4", "--expires-in", "1h", "--metadata", str(meta),
               "--name", "rain.mp4", "--source", "generator", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    [imported] = json.loads(done.stdout)
    assert imported["state"] == "done" and imported["video_id"] and imported["bytes_fetched"] == clip.stat().st_size
    videos = json.loads(cli(env, "videos", "--json").stdout)
    [video] = [v for v in videos if v["id"] == imported["video_id"]]
    # Both places: the provider's URL (and until when it works) and the stored copy.
    assert video["sha256"] == sha and video["name"] == "rain.mp4" and video["source"] == "generator"
    assert video["source_type"] == "generated" and video["sidecar"]["origin_url"] == f"{base}/cut/clip.mp4"
    assert video["sidecar"]["origin_expires_at"] and video["sidecar"]["parameters"] == {"seed": 7}
    assert video["replicas"] and video["replicas"][0]["state"] == "verified"


def test_the_fetch_runs_are_recorded_and_reported_to_dagster_without_a_run(flaky, env, tmp_path):
    """``import --wait`` makes no Dagster run: each fetch run is recorded in the catalog (what its
    imports became, what its ingest did), and the catalog-runs sensor reports it as url_imports and
    the ingest lineage for the day."""
    import dagster as dg

    from pipelines.definitions import defs
    from resources import CatalogResource
    from sensors import catalog_runs_sensor
    from videolake.catalog.repository import Catalog

    base, clip, _ = flaky
    listing = tmp_path / "two.urls.jsonl"
    listing.write_text(json.dumps({"url": f"{base}/ok/clip.mp4", "expires_in": "1h"}) + "\n"
                       + json.dumps({"url": f"{base}/gone/clip.mp4", "expires_in": "1h"}) + "\n")
    done = cli(env, "import", "--from", str(listing), "--wait")
    assert done.returncode == 3, done.stdout + done.stderr  # one kept, one not
    home = Path(env["VIDEOLAKE_HOME"])
    assert not (home / "dagster").exists()  # no Dagster instance was opened, so no run was made
    url = f"sqlite:///{home / 'catalog.sqlite'}"
    [run] = Catalog(url).ingest_runs_after(0, 10)
    assert run.trigger == "cli" and run.zone == "uploads" and run.success  # a 404 is the import's outcome
    assert {k: run.summary[k] for k in ("imports_taken", "imports_done", "imports_failed", "files", "ingested")} == {
        "imports_taken": 2, "imports_done": 1, "imports_failed": 1, "files": 1, "ingested": 1}
    assert run.summary["bytes_ingested"] == clip.stat().st_size
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), definitions=defs,
                                          resources={"catalog": CatalogResource(url=url)})
        result = catalog_runs_sensor.evaluate_tick(context)
    events = {e.asset_key.to_user_string(): e for e in result.asset_events}
    assert set(events) == {"url_imports", "ingested_videos", "video_probes", "video_thumbnails"}
    figures = {k: events["url_imports"].metadata[k].value for k in ("runs", "taken", "done", "failed", "expired")}
    assert figures == {"runs": 1, "taken": 2, "done": 1, "failed": 1, "expired": 0}
    assert events["ingested_videos"].metadata["ingested"].value == 1
    assert events["url_imports"].partition == run.day


def test_a_list_with_bad_links_says_which_were_not_kept(flaky, env, tmp_path):
    base, _, _ = flaky
    listing = tmp_path / "batch.urls.jsonl"
    listing.write_text("\n".join(json.dumps(line) for line in [
        {"url": f"{base}/ok/clip.mp4", "expires_at": "2099-01-01T00:00:00Z", "model": "v1", "prompt": "a"},
        {"url": f"{base}/gone/clip.mp4", "expires_in": "2h"},
        {"url": f"{base}/html/clip.mp4"},
    ]) + "\n")
    done = cli(env, "import", "--from", str(listing), "--wait")
    assert done.returncode == 3, done.stdout + done.stderr  # some kept, some not
    lines = done.stdout.splitlines()
    assert any("done" in l and "/ok/clip.mp4" in l for l in lines)
    assert any("failed" in l and "HTTP 404" in l for l in lines)
    assert any("failed" in l and "HTML page" in l for l in lines)


def test_private_addresses_are_refused_unless_allowed(flaky, cli_env):
    base, _, _ = flaky
    assert cli(cli_env, "db", "upgrade").returncode == 0
    done = cli(cli_env, "import", f"{base}/ok/clip.mp4", "--wait", "--json")
    assert done.returncode == 1
    [imported] = json.loads(done.stdout)
    assert imported["state"] == "failed" and imported["failure"] == "refused_address"
    assert "VIDEOLAKE_IMPORT_ALLOW_PRIVATE" in imported["last_error"]


@pytest.mark.parametrize("args, message", [
    (["ftp://example.com/x.mp4"], "only http and https URLs are fetched"),
    (["https://example.com/x.mp4", "--expires-in", "soon"], "--expires-in"),
    (["https://example.com/x.mp4", "--expires-at", "2001-01-01T00:00:00Z"], "has passed; nothing was queued"),
    (["https://example.com/a.mp4", "https://example.com/b.mp4", "--name", "x.mp4"], "--name names one video"),
    ([], "name the URLs to import"),
    (["--from", "/nonexistent/list.jsonl"], "no such file"),
])
def test_wrong_input_is_one_line_and_queues_nothing(env, args, message):
    done = cli(env, "import", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_bad_line_in_a_list_queues_nothing(env, tmp_path):
    listing = tmp_path / "list.jsonl"
    listing.write_text('{"url": "https://example.com/a.mp4"}\n{"url": "https://example.com/b.mp4",\n')
    done = cli(env, "import", "--from", str(listing), "--json")
    assert done.returncode == 2 and "line 2: not JSON" in done.stderr
    listing.write_text('{"url": "https://example.com/a.mp4", "colour": "red"}\n')
    done = cli(env, "import", "--from", str(listing))
    assert done.returncode == 2 and "unknown field(s) colour" in done.stderr
    queued = cli(env, "import", "https://example.com/c.mp4", "--json")
    assert queued.returncode == 0 and [i["url"] for i in json.loads(queued.stdout)] == ["https://example.com/c.mp4"]


def test_status_lists_imports_at_risk_and_the_ones_missed(flaky, env):
    base, _, _ = flaky
    missed = cli(env, "import", f"{base}/silent/clip.mp4", "--expires-in", "2s", "--wait", "--json")
    assert missed.returncode == 1 and json.loads(missed.stdout)[0]["state"] == "expired"
    soon = cli(env, "import", f"{base}/ok/clip.mp4?soon=1", "--expires-in", "5m", "--json")  # queued, not yet fetched
    assert soon.returncode == 0
    status = cli(env, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert any(l.startswith("imports") and "pending 1" in l and "expired 1" in l for l in lines), status.stdout
    assert any(l.startswith("AT RISK") and "soon=1" in l for l in lines)
    assert any(l.startswith("MISSED") and "/silent/clip.mp4" in l and "deadline" in l for l in lines)
    data = json.loads(cli(env, "status", "--json").stdout)
    assert [i["url"] for i in data["imports"]["missed"]] == [f"{base}/silent/clip.mp4"]


def test_a_run_killed_mid_fetch_is_continued_by_the_next(flaky, env):
    """``import --wait`` killed (SIGKILL, its whole process group) while a slow server sends the
    file; the same import then continues from the bytes already on disk once the hold lapses."""
    base, clip, sha = flaky
    env = {**env, "VIDEOLAKE_IMPORT_LEASE_SECONDS": "4"}
    url = f"{base}/slow/clip.mp4"
    first = subprocess.Popen([str(Path(sys.executable).with_name("videolake")), "import", url, "--expires-in", "1h",
                              "--wait"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    imports = Path(env["VIDEOLAKE_HOME"]) / "imports"
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        parts = list(imports.glob("*/clip.mp4.part"))
        if parts and parts[0].stat().st_size >= 256 * 1024:
            break
        assert first.poll() is None, "the import ended before it could be killed"
        time.sleep(0.1)
    else:
        raise AssertionError("the fetch never got going")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    left = parts[0].stat().st_size
    assert 0 < left < clip.stat().st_size
    again = cli(env, "import", url, "--wait", "--json")  # the same URL: the import already queued
    assert again.returncode == 0, again.stderr
    [imported] = json.loads(again.stdout)
    assert imported["state"] == "done" and imported["bytes_fetched"] == clip.stat().st_size
    ranges = json.loads(urllib.request.urlopen(f"{base}/_ranges", timeout=10).read())["/slow/clip.mp4"]
    assert ranges == [f"bytes={left}-"]  # only the missing bytes were asked for
    [video] = [v for v in json.loads(cli(env, "videos", "--json").stdout) if v["id"] == imported["video_id"]]
    assert video["sha256"] == sha  # and what was kept is the whole file
    assert not list(imports.glob("*/*"))  # the work files are gone


def test_a_setting_that_is_not_a_number_is_named_in_one_line(env):
    done = cli({**env, "VIDEOLAKE_IMPORT_LEASE_SECONDS": "2m"}, "import", "https://example.com/a.mp4", "--wait")
    assert done.returncode == 2
    assert done.stderr.strip() == "videolake: VIDEOLAKE_IMPORT_LEASE_SECONDS must be a whole number, not '2m'"
