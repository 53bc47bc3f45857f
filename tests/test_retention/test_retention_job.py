"""retention_sweep through Dagster: a dry run shows the plan, refusals fail loudly; the CLI runs the
same job (`retention plan|apply`, `--as-of`), and `audit` lists what was deleted."""

from __future__ import annotations

import json
import shutil

import dagster as dg

from assets import retention_sweep
from tests.conftest import cli
from tests.test_ingest.test_ingest_pipeline import run_ingest


def test_dry_run_shows_the_plan_and_a_refused_apply_fails_loudly(sqlite_lake, clips):
    lake = sqlite_lake
    lake.drop(clips.good, "a.mp4")
    run_ingest(lake)
    (lake.home / "retention.yaml").write_text("default: {keep_days: 0}\nmax_delete_share: 1\n")
    result = dg.materialize([retention_sweep], resources=lake.resources())
    meta = {k: v.value for k, v in result.asset_materializations_for_node("retention_sweep")[0].metadata.items()}
    assert meta["mode"] == "dry run" and meta["videos_to_delete"] == 1
    assert "| delete_video |" in meta["plan"] and "default.keep_days=0" in meta["plan"]
    assert any((lake.storage / "videos").rglob("*"))  # a dry run deletes nothing

    (lake.home / "retention.yaml").write_text("default: {keep_days: 0}\nmax_delete_share: 0.5\n")
    refused = dg.materialize([retention_sweep], resources=lake.resources(), raise_on_error=False,
                             run_config={"ops": {"retention_sweep": {"config": {"apply": True}}}})
    assert not refused.success
    failure = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "refused, nothing deleted" in failure.event_specific_data.user_failure_data.description

    (lake.home / "retention.yaml").write_text("default: {keep_days: soon}\n")
    bad = dg.materialize([retention_sweep], resources=lake.resources(), raise_on_error=False)
    failure = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"][0]
    assert "line 1" in failure.event_specific_data.user_failure_data.description


def test_cli_plan_as_of_then_apply_then_audit(cli_env, clips, tmp_path):
    home = tmp_path / "home"
    landing = home / "landing" / "uploads"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "a.mp4")
    shutil.copyfile(clips.other, landing / "b.mp4")
    assert cli(cli_env, "ingest").returncode == 0
    (home / "retention.yaml").write_text("sources: {uploads: {keep_days: 30}}\nmax_delete_share: 1\n")

    now = json.loads(cli(cli_env, "retention", "plan", "--json").stdout)
    assert now["videos_to_delete"] == 0
    later = cli(cli_env, "retention", "plan", "--as-of", "2099-01-01T00:00:00Z", "--json")
    plan = json.loads(later.stdout)
    assert plan["videos_to_delete"] == 2 and plan["bytes_freed"] > 0
    assert {i["what"] for i in plan["items"]} >= {"video", "poster", "sprite"}
    assert len(json.loads(cli(cli_env, "videos", "--json").stdout)) == 2  # planning deleted nothing

    videos = json.loads(cli(cli_env, "videos", "--json").stdout)
    assert cli(cli_env, "hold", "add", "--video", str(videos[0]["id"]), "--reason", "case 3").returncode == 0
    applied = cli(cli_env, "retention", "apply", "--as-of", "2099-01-01T00:00:00Z")
    assert applied.returncode == 0, applied.stderr
    assert "1 held items kept" in applied.stdout
    left = json.loads(cli(cli_env, "videos", "--json").stdout)
    assert [v["id"] for v in left] == [videos[0]["id"]]

    audit = json.loads(cli(cli_env, "audit", "--action", "retention_*", "--json").stdout)
    assert len(audit) == 3 and {a["video_id"] for a in audit} == {videos[1]["id"]}  # video, poster, sprite
    assert all(a["detail"]["policy"] == "sources.uploads.keep_days=30" and a["backend"] and a["at"] for a in audit)


def test_a_plan_that_would_be_refused_is_still_a_plan(cli_env, clips, tmp_path):
    """`retention plan` succeeds (exit 0, no failed run) and says that applying it would be refused;
    `retention apply` is refused with one line on stderr and deletes nothing."""
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    shutil.copyfile(clips.good, home / "landing" / "a.mp4")
    assert cli(cli_env, "ingest").returncode == 0
    (home / "retention.yaml").write_text("default: {keep_days: 0}\nmax_delete_share: 0.5\n")
    plan = cli(cli_env, "retention", "plan")
    assert plan.returncode == 0 and plan.stderr == "", plan.stdout + plan.stderr
    assert "applying this plan would be refused: it would delete 1 of 1 videos (100%)" in plan.stdout
    applied = cli(cli_env, "retention", "apply")
    assert applied.returncode == 1 and "Traceback" not in applied.stderr
    assert applied.stderr.count("\n") == 1 and "refused, nothing deleted" in applied.stderr
    assert len(json.loads(cli(cli_env, "videos", "--json").stdout)) == 1
    runs = dg.DagsterInstance.from_config(str(home / "dagster")).get_runs()
    assert [r.status.value for r in runs if r.tags.get("videolake/trigger") == "cli"][-1] == "SUCCESS"  # the plan's run


def test_piping_into_head_gives_no_broken_pipe(cli_env, clips, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    for i in range(40):
        (home / "landing" / f"c{i}.mp4").write_bytes(clips.good.read_bytes() + bytes([i]))
    assert cli(cli_env, "ingest").returncode == 0
    exe = Path(sys.executable).with_name("videolake")
    piped = subprocess.run(f"'{exe}' videos --json | head -c 100", shell=True, env=cli_env, capture_output=True,
                           text=True, timeout=120)
    assert len(piped.stdout) == 100 and piped.stderr == "", piped.stderr
