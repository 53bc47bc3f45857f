"""The upload-and-serve service's clients keep working: the curl commands of its migration guide
(../shared/reference, "Unified API Server with Video Storage"), run as written by bash with only
the host and the key replaced, against a real ``videolake api``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from pathlib import Path

GUIDE_HOST = "https://vigint-api-server.onrender.com"


def run_as_written(command: str, api, workdir: Path, key_scope: str = "admin") -> subprocess.CompletedProcess:
    """The guide's command with its host and key replaced, nothing else."""
    command = (command.replace(GUIDE_HOST, api.base).replace("https://vigint-api-server-new.onrender.com", api.base)
               .replace("https://your-api.onrender.com", api.base)
               .replace("your-api-key", api.keys[key_scope]).replace("your-key", api.keys[key_scope])
               .replace('"X-API-Key: key"', f'"X-API-Key: {api.keys[key_scope]}"'))
    return subprocess.run(["bash", "-c", command], cwd=workdir, capture_output=True, text=True, timeout=120)


def test_the_guides_curl_commands_work_unchanged(api, tmp_path):
    # "Test Video Upload": make the test video, upload it, read the answer.
    made = run_as_written("ffmpeg -f lavfi -i testsrc=duration=5:size=1280x720:rate=25 test.mp4", api, tmp_path)
    assert made.returncode == 0, made.stderr[-500:]
    upload = run_as_written(
        'curl https://vigint-api-server.onrender.com/api/v1/videos/upload \\\n'
        '  -H "Authorization: Bearer your-api-key" \\\n'
        '  -F "video=@test.mp4" \\\n'
        '  -F "metadata={\\"video_id\\":\\"test_$(date +%s)\\"}" \\\n'
        '  -F "expiration_hours=48"', api, tmp_path)
    assert upload.returncode == 0, upload.stderr
    answer = json.loads(upload.stdout)
    assert answer["success"] is True and answer["video_id"].startswith("test_")
    assert answer["message"] == "Video uploaded successfully"
    assert answer["private_link"].startswith(f"{api.base}/video/{answer['video_id']}?token=")
    lives = dt.datetime.fromisoformat(answer["expiration_time"]) - dt.datetime.now(dt.timezone.utc)
    assert 47.9 < lives.total_seconds() / 3600 <= 48.0  # expiration_hours=48

    # "Test Video Access": the private link, no key.
    fetched = run_as_written(f'curl "{answer["private_link"]}" -o video.mp4', api, tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    original = (tmp_path / "test.mp4").read_bytes()
    assert hashlib.sha256((tmp_path / "video.mp4").read_bytes()).digest() == hashlib.sha256(original).digest()

    # "Test API endpoints" / "Migrate Old Videos": the other upload form, with a chosen video_id.
    again = run_as_written(
        'curl https://vigint-api-server-new.onrender.com/api/v1/videos/upload \\\n'
        '  -H "Authorization: Bearer your-api-key" \\\n'
        '  -F "video=@video.mp4" \\\n'
        '  -F "metadata={\\"video_id\\":\\"VIDEO_ID\\"}"', api, tmp_path)
    duplicate = json.loads(again.stdout)
    assert duplicate["success"] is True and duplicate["video_id"] == "VIDEO_ID"
    assert duplicate["duplicate"] is True and duplicate["videolake_video_id"] == answer["videolake_video_id"]
    assert run_as_written("curl https://vigint-api-server-new.onrender.com/api/health", api, tmp_path).returncode == 0

    # "Monitoring": storage status with X-API-Key.
    status = json.loads(run_as_written(
        'curl -H "X-API-Key: your-key" \\\n  https://vigint-api-server.onrender.com/api/storage/status',
        api, tmp_path).stdout)
    for field in ("disk_free_gb", "disk_used_gb", "disk_total_gb", "temp_files_count", "temp_files_size_mb"):
        assert isinstance(status[field], (int, float)), (field, status)
    assert 0 < status["disk_free_gb"] <= status["disk_total_gb"]

    # "Cleanup Old Files": the body is sent as curl -d sends it (a form content type), with the comment.
    cleaned = run_as_written(
        "curl -X POST \\\n  -H \"X-API-Key: your-key\" \\\n  https://vigint-api-server.onrender.com/api/storage/cleanup \\\n"
        "  -d '{\"max_age_hours\": 720}'  # Clean files older than 30 days", api, tmp_path)
    plan = json.loads(cleaned.stdout)
    assert plan["mode"] == "plan" and plan["max_age_hours"] == 720 and plan["videos_to_delete"] == 0, plan
    seven_days = run_as_written(
        "curl -X POST -H \"X-API-Key: key\" \\\n     https://your-api.onrender.com/api/storage/cleanup \\\n"
        "     -d '{\"max_age_hours\": 168}'  # 7 days", api, tmp_path)
    assert json.loads(seven_days.stdout)["max_age_hours"] == 168


def test_the_old_servers_answers_for_errors_are_problems_with_success_false(api, tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_bytes(b"this is not a video at all\n" * 100)
    with api.client("write") as client, open(junk, "rb") as fh:
        resp = client.post("/api/v1/videos/upload", files={"video": ("notes.mp4", fh, "video/mp4")})
    assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["success"] is False and "not_video" in body["error"] and body["status"] == 422
