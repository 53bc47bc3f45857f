"""`videolake migrate --from --to`: a range of days moved through the verified path, as operators run it."""

from __future__ import annotations

import hashlib
import json
import shutil

from tests.conftest import cli

TODAY_RANGE = ("--since", "2000-01-01", "--until", "2999-12-31")


def ingest_two(env, clips, tmp_path) -> list[dict]:
    landing = tmp_path / "home" / "landing" / "uploads"
    landing.mkdir(parents=True)
    shutil.copyfile(clips.good, landing / "a.mp4")
    shutil.copyfile(clips.other, landing / "b.mp4")
    assert cli(env, "ingest", "--json").returncode == 0
    return json.loads(cli(env, "videos", "--json").stdout)


def test_migrate_moves_a_range_to_s3_verified_then_changes_nothing(cli_env, clips, tmp_path, s3_env):
    env = {**cli_env, **s3_env.env()}
    env.pop("AWS_CA_BUNDLE", None)
    videos = ingest_two(env, clips, tmp_path)
    hot = videos[0]["replicas"][0]["backend"]
    bucket = s3_env.create_bucket()
    target = f"s3://{bucket}/cold"

    nothing = cli(env, "migrate", "--from", hot, "--to", target, "--since", "2000-01-01", "--until", "2000-01-31", "--json")
    assert nothing.returncode == 0, nothing.stderr
    assert json.loads(nothing.stdout)["videos_copied"] == 0  # no video landed in that range

    plan = cli(env, "migrate", "--from", hot, "--to", target, "--dry-run", "--json", *TODAY_RANGE)
    assert json.loads(plan.stdout)["videos"] == 2
    assert s3_env.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # a dry run copies nothing

    moved = cli(env, "migrate", "--from", hot, "--to", target, "--move", *TODAY_RANGE)
    assert moved.returncode == 0, moved.stderr
    assert "2 videos" in moved.stdout and "2 source copies deleted" in moved.stdout
    assert "B/s" in moved.stderr or "it/s" in moved.stderr or "%" in moved.stderr  # the progress bar

    after = {v["id"]: v for v in json.loads(cli(env, "videos", "--json").stdout)}
    client = s3_env.client()
    for video in after.values():
        assert [(r["backend"], r["state"]) for r in video["replicas"]] == [(target, "verified")]
        replica = video["replicas"][0]
        assert replica["verified_at"] and replica["key"]
        body = client.get_object(Bucket=bucket, Key=f"cold/{replica['key']}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == video["sha256"]

    again = cli(env, "migrate", "--from", hot, "--to", target, "--move", "--json", *TODAY_RANGE)
    assert again.returncode == 0
    assert json.loads(again.stdout)["videos_copied"] == 0  # rerunning changes nothing


def test_migrate_refuses_bad_requests(cli_env, clips, tmp_path):
    videos = ingest_two(cli_env, clips, tmp_path)
    hot = videos[0]["replicas"][0]["backend"]
    cases = [
        (("--from", hot, "--to", hot), "same storage"),
        (("--from", hot, "--to", "ftp://x/y"), "unknown storage scheme"),
        (("--from", hot, "--to", (tmp_path / "cold").as_uri(), "--since", "2026-02-01", "--until", "2026-01-01"), "before"),
        (("--from", hot, "--to", (tmp_path / "cold").as_uri(), "--since", "yesterday"), "not a day"),
        (("--from", (tmp_path / "nowhere").as_uri(), "--to", hot), "videolake adopt"),
    ]
    for args, message in cases:
        done = cli(cli_env, "migrate", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
    assert not (tmp_path / "cold").exists()
