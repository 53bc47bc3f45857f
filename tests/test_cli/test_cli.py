"""The videolake console script, run as operators run it (a subprocess with environment variables)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from tests.conftest import cli
from tests.media_files import copy_clip
from tests.servers import free_port

REPO = Path(__file__).resolve().parents[2]
VIDEOLAKE = str(Path(sys.executable).with_name("videolake"))


def test_ingest_videos_status_quarantine(cli_env, clips, tmp_path):
    landing = tmp_path / "home" / "landing" / "uploads"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "good one.mp4")
    shutil.copyfile(clips.bad["not_video"], landing / "notes.mp4")

    done = cli(cli_env, "ingest", "--json")
    assert done.returncode == 3, done.stderr  # done, but a file was quarantined
    report = json.loads(done.stdout)
    assert (report["ingested"], report["quarantined"]) == (1, 1)
    assert report["problems"][0]["file"] == "notes.mp4"

    videos = json.loads(cli(cli_env, "videos", "--json").stdout)
    assert len(videos) == 1
    v = videos[0]
    for field in ("id", "sha256", "name", "source", "source_type", "size_bytes", "duration_s", "width", "height",
                  "video_codec", "audio_codec", "fps", "poster_uri", "sprite_uri", "replicas"):
        assert field in v, field
    assert v["name"] == "good one.mp4" and v["source"] == "uploads" and v["width"] == 640
    assert Path(v["poster_uri"].removeprefix("file://")).is_file()
    assert v["replicas"][0]["state"] == "verified" and v["replicas"][0]["verified_at"]

    status = json.loads(cli(cli_env, "status", "--json").stdout)
    assert status["videos"] == 1 and status["quarantined"] == 1
    quarantined = json.loads(cli(cli_env, "quarantine", "--json").stdout)
    assert quarantined[0]["reason"] == "not_video" and Path(quarantined[0]["quarantined_uri"][7:]).is_file()
    assert "good one.mp4" in cli(cli_env, "videos").stdout

    # The run is recorded in the catalog; the catalog-runs sensor reports it to Dagster (the UI).
    from pipelines.definitions import defs
    from resources import CatalogResource
    from sensors import catalog_quality_sensor, catalog_runs_sensor
    from videolake.settings import default_environment

    resources = {"catalog": CatalogResource(url=default_environment(cli_env)["VIDEOLAKE_CATALOG_URL"])}
    with dg.instance_for_test() as instance:
        def tick(sensor, cursor=None):
            context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), cursor=cursor,
                                              resources=resources, definitions=defs)
            return sensor.evaluate_tick(context)

        reported = tick(catalog_runs_sensor)
        assert reported.cursor  # (with no run requested, evaluate_tick calls the result empty; the daemon reports it)
        for request in reported.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        assert len(reported.asset_events) == 3  # ingested_videos, video_probes, video_thumbnails: one day
        day = reported.asset_events[0].partition
        assert instance.get_dynamic_partitions("landing_days") == [day]
        for event in reported.asset_events:
            instance.report_runless_asset_event(event)  # as the daemon does with a tick's events
        [ingested] = instance.fetch_materializations(dg.AssetKey("ingested_videos"), limit=5).records
        meta = ingested.asset_materialization.metadata
        assert ingested.partition_key == day and meta["ingested"].value == 1 and meta["quarantined"].value == 1
        assert meta["triggers"].value == ["cli"] and meta["run_ids"].value == [report["run_id"]]
        # Reported once: the next tick has nothing, and the quality checks see the new probes.
        again = tick(catalog_runs_sensor, reported.cursor)
        assert not again.asset_events and "no ingest run" in again.skip_message
        assert tick(catalog_quality_sensor).run_requests


def test_ingest_named_paths_and_errors(cli_env, clips, tmp_path):
    src = tmp_path / "from old server"
    src.mkdir()
    shutil.copyfile(clips.other, src / "a.mp4")
    ok = cli(cli_env, "ingest", str(src), "--source", "archive-2019")
    assert ok.returncode == 0, ok.stderr
    assert "1 ingested" in ok.stdout and (src / "a.mp4").is_file()
    again = cli(cli_env, "ingest", str(src / "a.mp4"))
    assert again.returncode == 0 and "1 duplicates" in again.stdout

    missing = cli(cli_env, "ingest", str(tmp_path / "nope.mp4"))
    assert missing.returncode == 2 and "no such file" in missing.stderr

    bad_env = {**cli_env, "VIDEOLAKE_CATALOG_URL": "mysql://nobody/db"}
    broken = cli(bad_env, "videos")
    assert broken.returncode == 2 and "only sqlite" in broken.stderr


def test_cli_on_postgresql_catalog_and_postgres_dagster_instance(cli_env, clips, tmp_path, pg_server):
    """The sample deploy/dagster.postgres.yaml works against a real PostgreSQL."""
    dagster_home = tmp_path / "dagster-pg"
    dagster_home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.postgres.yaml", dagster_home / "dagster.yaml")
    instance_db = pg_server.create_database()
    env = {
        **cli_env,
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg_server.port),
        "DAGSTER_PG_DB": instance_db,
        "VIDEOLAKE_CATALOG_URL": pg_server.url(pg_server.create_database()) + "?schema=videolake",
    }
    landing = tmp_path / "home" / "landing"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "cam.mp4")
    done = cli(env, "ingest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(cli(env, "videos", "--json").stdout)[0]["name"] == "cam.mp4"
    (tmp_path / "home" / "retention.yaml").write_text("default: {keep_days: 30}\n")
    planned = cli(env, "retention", "plan", "--json")  # a command that runs its Dagster job in process
    assert planned.returncode == 0, planned.stdout + planned.stderr
    previous = {k: os.environ.get(k) for k in env if k.startswith("DAGSTER_PG_")}
    os.environ.update({k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")})
    try:
        from pipelines.definitions import defs
        from resources import CatalogResource
        from sensors import catalog_runs_sensor

        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            runs = instance.get_runs()
            assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
            # The ingest, made outside Dagster on the PostgreSQL catalog, reported into this instance.
            context = dg.build_sensor_context(instance=instance, instance_ref=instance.get_ref(), definitions=defs,
                                              resources={"catalog": CatalogResource(url=env["VIDEOLAKE_CATALOG_URL"])})
            for event in catalog_runs_sensor.evaluate_tick(context).asset_events:
                instance.report_runless_asset_event(event)
            records = instance.fetch_materializations(dg.AssetKey("ingested_videos"), limit=5).records
            assert len(records) == 1 and records[0].asset_materialization.metadata["ingested"].value == 1
    finally:
        for k, v in previous.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_env_prints_defaults(cli_env, tmp_path):
    out = cli(cli_env, "env", "--shell").stdout
    assert f"export VIDEOLAKE_LANDING={tmp_path / 'home' / 'landing'}" in out
    assert "VIDEOLAKE_CATALOG_URL=sqlite:///" in out


def test_a_file_just_copied_in_is_ingested_and_one_being_written_waits(cli_env, clips, tmp_path):
    """`cp clip.mp4 landing/ && videolake ingest` takes the clip (a 2 s settle, the default); a file a
    process holds open and appends to is reported as still being written and never ingested half-written."""
    landing = tmp_path / "home" / "landing"
    landing.mkdir(parents=True)
    env = {**cli_env, "VIDEOLAKE_SETTLE_SECONDS": "2"}
    data = clips.good.read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "with open(sys.argv[2], 'wb') as out:\n"
        "    for i in range(0, len(data), 4096):\n"
        "        out.write(data[i:i + 4096]); out.flush(); time.sleep(0.05)\n"
        "        if i == 4096: open(sys.argv[3], 'w').close()\n"
        "    sys.stdin.read()\n"), str(clips.good), str(landing / "recording.mp4"), str(tmp_path / "started")],
        stdin=subprocess.PIPE)
    try:
        while not (tmp_path / "started").exists():
            time.sleep(0.01)
        shutil.copyfile(clips.other, landing / "just copied.mp4")
        done = cli(env, "ingest")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("1 files, 1 ingested"), done.stdout
        assert "1 files in the landing zones are still being written" in done.stdout
        assert (landing / "recording.mp4").is_file() and not (landing / "just copied.mp4").exists()
    finally:
        writer.communicate(b"", timeout=60)  # the writer finishes (all bytes) and closes the file
    assert (landing / "recording.mp4").read_bytes() == data
    done = json.loads(cli(env, "ingest", "--json").stdout)
    assert done["ingested"] == 1 and done["waiting_for_stability"] == 0


def test_the_age_rule_for_network_file_systems(cli_env, clips, tmp_path):
    landing = tmp_path / "home" / "landing"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "just landed.mp4")
    env = {**cli_env, "VIDEOLAKE_STABLE_AFTER_SECONDS": "600"}
    done = cli(env, "ingest")
    assert done.returncode == 0, done.stderr
    assert "1 files in the landing zones are still being written" in done.stdout
    assert "or modified less than 600 s ago" in done.stdout
    assert (landing / "just landed.mp4").is_file()
    assert json.loads(cli(env, "ingest", "--json").stdout)["waiting_for_stability"] == 1


def test_ingest_takes_every_landing_zone_and_segments_query(cli_env, tmp_path):
    from videolake.media.samples import make_clip

    segments = tmp_path / "home" / "segments" / "cam3"
    make_clip(segments / "20261120T100000Z.ts", duration=3, size="320x180")
    make_clip(segments / "20261120T100006Z.ts", duration=3, size="320x180", frequency=500)
    done = cli(cli_env, "ingest", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ingested"] == 2
    assert [(r["zone"], r["day"]) for r in report["runs"]][1:] == [("segments", "2026-11-20")]

    out = cli(cli_env, "segments", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T10:00:10Z", "--json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert len(found["segments"]) == 2
    # .ts segments last 3.02 s: the gaps start a few milliseconds after the whole second.
    assert [(g["start"][:19], round(g["seconds"])) for g in found["gaps"]] == [("2026-11-20T10:00:03", 3), ("2026-11-20T10:00:09", 1)]
    text = cli(cli_env, "segments", "--camera", "cam3", "--start", "2026-11-20 11:00", "--end", "2026-11-20 12:00")
    assert text.returncode == 0 and "0 segments, 0 of 3600 s covered, 1 gaps" in text.stdout

    unknown = cli(cli_env, "segments", "--camera", "cam99", "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T11:00Z")
    assert unknown.returncode == 2 and "cameras with footage: cam3" in unknown.stderr
    backwards = cli(cli_env, "segments", "--camera", "cam3", "--start", "2026-11-20T11:00Z", "--end", "2026-11-20T10:00Z")
    assert backwards.returncode == 2 and "not after the start" in backwards.stderr
    garbage = cli(cli_env, "segments", "--camera", "cam3", "--start", "noon", "--end", "2026-11-20T10:00Z")
    assert garbage.returncode == 2 and "ISO 8601" in garbage.stderr


def test_export_create_wait_and_status(cli_env, tmp_path):
    from videolake.media.samples import make_clip

    for i, second in enumerate(("00", "04")):
        make_clip(tmp_path / "home" / "segments" / "cam3" / f"20261120T1000{second}Z.ts", duration=4, size="320x180",
                  frequency=300 + 100 * i)
    assert cli(cli_env, "ingest").returncode == 0
    done = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:01Z",
               "--end", "2026-11-20T10:00:07Z", "--reason", "incident 4711", "--wait", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    info = json.loads(done.stdout)
    assert info["status"] == "COMPLETED" and info["error"] is None and info["expires_at"]
    for field in ("id", "status", "error", "outputs", "manifest_uri", "gaps", "expires_at"):
        assert field in info
    out = info["outputs"][0]
    assert {"camera", "uri", "sha256", "size_bytes", "duration_s"} <= set(out) and Path(out["uri"][7:]).is_file()
    status = json.loads(cli(cli_env, "export", "status", info["id"], "--json").stdout)
    assert status["id"] == info["id"] and status["status"] == "COMPLETED"

    queued = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T10:00:05Z")
    assert queued.returncode == 0 and queued.stdout.strip().startswith("exp-")
    assert "PENDING" in cli(cli_env, "export", "status", queued.stdout.strip()).stdout

    empty = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T12:00:00Z", "--end", "2026-11-20T12:05:00Z", "--wait")
    assert empty.returncode == 1 and empty.stdout == ""
    assert empty.stderr == ("videolake: no footage of cam3 between 2026-11-20T12:00:00+00:00 and 2026-11-20T12:05:00+00:00 "
                            "(cam3 has footage from 2026-11-20T10:00:00+00:00 to 2026-11-20T10:00:08"
                            + empty.stderr.split("10:00:08", 1)[1].split(")", 1)[0] + "); nothing was exported\n")
    never = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T10:01Z", "--ttl", "never")
    assert never.returncode == 2 and "links always expire" in never.stderr
    unknown = cli(cli_env, "export", "create", "--camera", "cam9", "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T10:01Z")
    assert unknown.returncode == 2 and "unknown camera cam9" in unknown.stderr
    assert cli(cli_env, "export", "status", "exp-nope").returncode == 2


def test_export_link_served_by_videolake_serve(cli_env, tmp_path):
    import http.client
    import urllib.parse

    from tests.servers import free_port, stop_pid, wait_for_port
    from videolake.media.samples import make_clip

    make_clip(tmp_path / "home" / "segments" / "cam3" / "20261120T100000Z.ts", duration=4, size="320x180")
    assert cli(cli_env, "ingest").returncode == 0
    done = json.loads(cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z",
                          "--end", "2026-11-20T10:00:04Z", "--wait", "--json").stdout)
    port = free_port()
    env = {**cli_env, "VIDEOLAKE_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    links = json.loads(cli(env, "export", "link", done["id"], "--ttl", "10m", "--json").stdout)
    assert links["capped_to_export_expiry"] is False
    forever = json.loads(cli(env, "export", "link", done["id"], "--ttl", "400d", "--json").stdout)
    assert forever["capped_to_export_expiry"] is True and forever["expires_at"][:16] == done["expires_at"][:16]
    url = urllib.parse.urlsplit(links["links"][0]["url"])
    expected = Path(done["outputs"][0]["uri"][7:]).read_bytes()
    proc = subprocess.Popen([VIDEOLAKE, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, timeout=30, proc=proc)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", url.path, headers={"Range": "bytes=0-99"})
        resp = conn.getresponse()
        assert resp.status == 206 and resp.read() == expected[:100]
        conn.request("GET", url.path[:-4] + "AAAA")
        assert conn.getresponse().status == 403
        conn.close()
    finally:
        stop_pid(proc.pid)
    pending = cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z", "--end", "2026-11-20T10:00:02Z")
    refused = cli(cli_env, "export", "link", pending.stdout.strip())
    assert refused.returncode == 2 and "links exist once it is COMPLETED" in refused.stderr


def test_links_follow_the_server_that_answers_them(cli_env, tmp_path):
    """`videolake serve --port P` and the links `export link` prints agree, with no variable to set;
    a link minted while no server runs says so."""
    import http.client
    import urllib.parse

    from tests.servers import free_port, stop_pid
    from videolake.media.samples import make_clip

    make_clip(tmp_path / "home" / "segments" / "cam3" / "20261120T100000Z.ts", duration=4, size="320x180")
    assert cli(cli_env, "ingest").returncode == 0
    done = json.loads(cli(cli_env, "export", "create", "--camera", "cam3", "--start", "2026-11-20T10:00:00Z",
                          "--end", "2026-11-20T10:00:04Z", "--wait", "--json").stdout)
    unserved = cli(cli_env, "export", "link", done["id"])
    assert unserved.returncode == 0 and "no `videolake api` is running" in unserved.stderr
    port = free_port()
    proc = subprocess.Popen([VIDEOLAKE, "serve", "--port", str(port)], env=cli_env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline()
        assert f"links are minted for http://127.0.0.1:{port}" in line, line
        links = cli(cli_env, "export", "link", done["id"], "--json")
        assert links.stderr == "", links.stderr
        url = urllib.parse.urlsplit(json.loads(links.stdout)["links"][0]["url"])
        assert (url.hostname, url.port) == ("127.0.0.1", port)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", url.path, headers={"Range": "bytes=0-9"})
        assert conn.getresponse().status == 206
        conn.close()
    finally:
        stop_pid(proc.pid)
        proc.communicate(timeout=30)
    assert "no `videolake api` is running" in cli(cli_env, "export", "link", done["id"]).stderr


def test_serve_on_a_port_it_cannot_have_is_one_line(cli_env):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = cli(cli_env, "serve", "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 1 and busy.stdout == "", busy.stdout + busy.stderr
    assert busy.stderr.startswith("videolake: cannot listen on 127.0.0.1:") and busy.stderr.count("\n") == 1
    wrong = cli(cli_env, "serve", "--port", "99999")
    assert wrong.returncode == 2 and wrong.stderr == "videolake: --port 99999 is not a TCP port (0-65535; 0 picks a free one)\n"


def test_stitch_command(cli_env, tmp_path):
    from videolake.media.samples import make_clip

    landing = tmp_path / "home" / "landing"
    make_clip(landing / "one.mp4", duration=2, size="320x180", frequency=300)
    make_clip(landing / "two.mp4", duration=2, size="320x180", frequency=500)
    assert cli(cli_env, "ingest").returncode == 0
    ids = [v["id"] for v in json.loads(cli(cli_env, "videos", "--json").stdout)]
    done = cli(cli_env, "stitch", *map(str, ids), "--name", "both", "--json")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    video = [v for v in json.loads(cli(cli_env, "videos", "--json").stdout) if v["id"] == made["video_id"]][0]
    assert video["source_type"] == "stitched" and video["name"] == "both.mp4"
    assert [s["video_id"] for s in video["sidecar"]["stitched_from"]] == ids
    lonely = cli(cli_env, "stitch", str(ids[0]))
    assert lonely.returncode == 2 and "at least two" in lonely.stderr


def test_adopt_registers_a_legacy_folder_without_copying(cli_env, clips, tmp_path):
    legacy = tmp_path / "old server"
    (legacy / "2019").mkdir(parents=True)
    shutil.copyfile(clips.good, legacy / "2019" / "party.mp4")
    shutil.copyfile(clips.other, legacy / "2019" / "copy of other.mp4")
    (legacy / "notes.txt").write_text("not a video")
    landing = tmp_path / "home" / "landing"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.other, landing / "other.mp4")
    assert cli(cli_env, "ingest").returncode == 0  # "other" is already cataloged
    done = cli(cli_env, "adopt", legacy.as_uri(), "--source", "old-server", "--json")
    assert done.returncode == 3, done.stderr  # notes.txt was left alone
    report = json.loads(done.stdout)
    assert (report["registered"], report["linked_to_existing"]) == (1, 1)
    assert report["not_adopted"][0]["key"] == "notes.txt"
    videos = {v["name"]: v for v in json.loads(cli(cli_env, "videos", "--json").stdout)}
    party = videos["party.mp4"]
    assert party["source"] == "old-server" and party["width"] == 640
    assert [r["uri"] for r in party["replicas"]] == [(legacy / "2019" / "party.mp4").as_uri()]  # where it lies
    assert len(videos["other.mp4"]["replicas"]) == 2  # the legacy copy became a replica, not a second video
    again = json.loads(cli(cli_env, "adopt", legacy.as_uri(), "--json").stdout)
    assert (again["registered"], again["linked_to_existing"], again["already_registered"]) == (0, 0, 2)
    # The next ingest run makes the adopted video's thumbnails from where it lies, into hot storage.
    assert party["poster_uri"] is None
    assert cli(cli_env, "ingest").returncode == 0
    party = {v["name"]: v for v in json.loads(cli(cli_env, "videos", "--json").stdout)}["party.mp4"]
    assert party["poster_uri"] and party["sprite_uri"] and "/home/storage/" in party["poster_uri"]
    assert Path(party["poster_uri"].removeprefix("file://")).is_file()
    assert [r["uri"] for r in party["replicas"]] == [(legacy / "2019" / "party.mp4").as_uri()]  # still not copied


def test_expected_refusals_are_one_line_with_the_traceback_behind_verbose(cli_env, tmp_path, clips):
    """What a tired operator meets: each refusal is one line on stderr and its documented exit code."""
    closed = f"postgresql+psycopg2://videolake:secret@127.0.0.1:{free_port()}/videolake"
    no_catalog = cli({**cli_env, "VIDEOLAKE_CATALOG_URL": closed}, "videos")
    assert no_catalog.returncode == 1 and no_catalog.stdout == ""
    [line] = no_catalog.stderr.splitlines()
    assert line.startswith("videolake: the catalog at postgresql+psycopg2://videolake:***@127.0.0.1:") and "refused" in line
    assert "secret" not in no_catalog.stderr
    verbose = cli({**cli_env, "VIDEOLAKE_CATALOG_URL": closed}, "videos", "--verbose")
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr and "secret" not in verbose.stderr

    landed = copy_clip(clips.good, tmp_path / "home" / "landing" / "clip.mp4")
    unreachable = {**cli_env, "VIDEOLAKE_HOT_STORAGE": "s3://videolake-hot/x", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
                   "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_MAX_ATTEMPTS": "1"}
    down = cli(unreachable, "ingest")
    assert down.returncode == 1 and down.stdout == "" and landed.exists()
    [line] = down.stderr.splitlines()
    assert line.startswith("videolake: hot storage cannot be reached, nothing was ingested (landed files are untouched): "
                           "s3://videolake-hot/x")

    sideways = cli({**cli_env, "VIDEOLAKE_WRITE_MODE": "SIDEWAYS"}, "ingest")
    assert sideways.returncode == 2 and landed.exists()
    assert sideways.stderr == "videolake: VIDEOLAKE_WRITE_MODE must be LOCAL, REMOTE or BOTH, not 'SIDEWAYS'\n"

    for args in (["hold", "release", "999"], ["export", "status", "exp-nope"], ["videos", "--limit", "many"],
                 ["videos", "--limit", "-3"], ["audit", "--limit", "0"], ["migrate", "--to", "file:///x", "--transfers", "0"],
                 ["seed-demo", "--count", "-1"]):
        refused = cli(cli_env, *args)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr
    negative = cli(cli_env, "videos", "--limit", "-3")
    assert negative.stdout == "" and "--limit: -3 is out of range: it must be 1 or more" in negative.stderr


def test_read_commands_elsewhere_say_there_is_no_catalog_and_create_none(cli_env, tmp_path):
    """VIDEOLAKE_HOME defaults to .videolake in the current folder: run from elsewhere, a command must
    say that no catalog is there (and how to point at one), not silently open a new, empty one."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in cli_env.items() if k != "VIDEOLAKE_HOME"}
    for args in (["videos"], ["status"], ["quarantine"], ["audit"], ["hold", "list"],
                 ["segments", "--camera", "c", "--start", "2026-11-20T10:00Z", "--end", "2026-11-20T11:00Z"]):
        done = subprocess.run([VIDEOLAKE, *args], env=env, cwd=elsewhere, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stdout == "", (args, done.stdout, done.stderr)
        [line] = done.stderr.splitlines()
        assert line.startswith(f"videolake: no catalog at {elsewhere / '.videolake' / 'catalog.sqlite'} (from "
                               "VIDEOLAKE_HOME (default: .videolake in this folder)): run videolake from the folder")
    assert list(elsewhere.iterdir()) == []  # nothing was created there
    named = cli({**env, "VIDEOLAKE_HOME": str(tmp_path / "typo")}, "status")
    assert named.returncode == 2 and "(from VIDEOLAKE_HOME)" in named.stderr and not (tmp_path / "typo").exists()


def test_seed_demo_if_empty_says_when_it_did_nothing(cli_env, tmp_path):
    first = cli(cli_env, "seed-demo", "--if-empty", "--count", "2")
    assert first.returncode == 0 and first.stdout.startswith("seeded ") and "sample clips into" in first.stdout
    again = cli(cli_env, "seed-demo", "--if-empty")
    assert again.returncode == 0
    assert again.stdout.strip() == f"not seeding: the landing zone {tmp_path / 'home' / 'landing'} already holds files (--if-empty)"


def test_scrub_runs_the_integrity_checks_now_and_the_ui_shows_them(cli_env, tmp_path, clips):
    home = tmp_path / "home"
    copy_clip(clips.good, home / "landing" / "a.mp4")
    copy_clip(clips.other, home / "landing" / "b.mp4")
    assert cli(cli_env, "ingest").returncode == 0
    clean = cli(cli_env, "scrub")
    assert clean.returncode == 0, clean.stderr
    assert f"hot file://{home / 'storage'}: 6 objects cataloged, 6 re-read and re-hashed: catalog and storage agree" \
        in clean.stdout  # two videos, their posters and sprites
    [stored] = [p for p in (home / "storage" / "videos").rglob("*") if p.is_file() and p.stat().st_size == clips.good.stat().st_size]
    with stored.open("r+b") as f:  # bit rot: same size, different bytes
        f.seek(1000)
        f.write(b"\0" * 16)
    rotten = cli(cli_env, "scrub", "--storage", "hot", "--json")
    assert rotten.returncode == 1
    report = json.loads(rotten.stdout)
    assert report["passed"] is False
    assert [(f["problem"], f["key"]) for f in report["storage"][0]["findings"]] == [
        ("checksum_mismatch", str(stored.relative_to(home / "storage")))]
    # The same result is the check's latest evaluation in the Dagster instance (the UI's checks tab).
    from dagster._core.instance.ref import InstanceRef

    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster")))
    key = dg.AssetCheckKey(dg.AssetKey("ingested_videos"), "hot_storage_integrity")
    [latest] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
    assert latest.evaluation is not None and latest.evaluation.passed is False
    assert cli(cli_env, "scrub", "--sample", "-1").returncode == 2
