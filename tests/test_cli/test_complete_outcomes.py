"""`--json` says everything a run did, whatever its size: the commands read a run's outcome from the
catalog by run id, never from the run's Dagster metadata (which the assets cap for the UI)."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from pipelines import names
from tests.conftest import cli

# The assets keep at most this many problems / plan items in their metadata; the batches here are larger.
METADATA_PROBLEMS_CAP = 200
METADATA_PLAN_ROWS_CAP = 1000


def test_ingest_json_lists_every_problem_of_a_batch_larger_than_the_metadata_caps(cli_env, clips, tmp_path):
    landing = tmp_path / "home" / "landing"
    landing.mkdir(parents=True)
    bad = 260
    for i in range(bad):
        (landing / f"note {i:03}.mp4").write_bytes(b"not a video, note %d\n" % i * 40)
    shutil.copyfile(clips.good, landing / "good.mp4")

    done = cli(cli_env, "ingest", "--json")
    assert done.returncode == 3, done.stderr  # done, some files quarantined
    outcome = json.loads(done.stdout)
    assert outcome["files"] == bad + 1 and outcome["ingested"] == 1 and outcome["quarantined"] == bad
    assert len(outcome["problems"]) == bad > METADATA_PROBLEMS_CAP
    assert sorted(p["file"] for p in outcome["problems"]) == [f"note {i:03}.mp4" for i in range(bad)]
    assert all(p["outcome"] == "quarantined" and p["detail"] for p in outcome["problems"])

    # The run's summary (what Dagster is told) holds counts; the command's output held every file.
    from videolake.catalog.repository import Catalog
    from videolake.settings import default_environment

    [run] = Catalog(default_environment(cli_env)["VIDEOLAKE_CATALOG_URL"]).ingest_runs_after(0, 10)
    assert run.run_id == outcome["run_id"] and run.summary["quarantined"] == bad and run.trigger == "cli"
    quarantine = json.loads(cli(cli_env, "quarantine", "--json").stdout)
    assert len(quarantine) == bad


def test_retention_plan_json_lists_every_item_of_a_plan_larger_than_the_metadata_caps(cli_env, clips, tmp_path):
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    videos = METADATA_PLAN_ROWS_CAP // 3 + 10  # a video, its poster and its sprite each
    data = clips.good.read_bytes()
    for i in range(videos):
        (home / "landing" / f"clip {i:03}.mp4").write_bytes(data + i.to_bytes(2, "big"))
    assert cli(cli_env, "ingest").returncode == 0
    (home / "retention.yaml").write_text("default: {keep_days: 30}\nmax_delete_share: 1\n")

    plan = json.loads(cli(cli_env, "retention", "plan", "--as-of", "2099-01-01T00:00:00Z", "--json").stdout)
    assert plan["videos_to_delete"] == videos and plan["objects"] == len(plan["items"]) > METADATA_PLAN_ROWS_CAP
    assert len({i["video_id"] for i in plan["items"]}) == videos

    applied = cli(cli_env, "retention", "apply", "--as-of", "2099-01-01T00:00:00Z", "--json")
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["deleted_objects"] == len(result["items"]) == plan["objects"] and result["failures"] == []
    assert json.loads(cli(cli_env, "videos", "--json").stdout) == []
    # The UI's table of the plan shows its first rows only; the command listed them all.
    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    shown = instance.get_latest_materialization_event(dg.AssetKey(names.ASSET_RETENTION_SWEEP))
    assert "more (`videolake retention` prints them all)" in shown.asset_materialization.metadata["plan"].value
