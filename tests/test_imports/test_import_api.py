"""``POST /api/v1/imports`` and ``GET /api/v1/imports/{id}`` on a real ``videolake api``: queued
in the same catalog the fetch runs take from, problem+json for wrong input."""

from __future__ import annotations

import pytest

from tests.conftest import cli
from tests.test_api.conftest import start_api, stop_api


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = start_api(tmp_path_factory.mktemp("imports-api"), {"VIDEOLAKE_IMPORT_ALLOW_PRIVATE": "1"})
    yield server
    stop_api(server)


def test_queue_over_http_then_fetched_by_a_run(flaky, api):
    base, _, sha = flaky
    client = api.client("write")
    one = client.post("/api/v1/imports", json={"url": f"{base}/ok/clip.mp4", "expires_in_s": 3600,
                                               "provider": "replicate", "prompt": "a fox in snow"})
    assert one.status_code == 202, one.text
    [queued] = one.json()["imports"]
    assert queued["state"] == "pending" and queued["deadline"]
    batch = client.post("/api/v1/imports", json={"imports": [{"url": f"{base}/gone/clip.mp4"},
                                                             {"url": f"{base}/ok/clip.mp4"}]})
    assert batch.status_code == 202
    assert batch.json()["imports"][1]["id"] == queued["id"]  # the same URL, still open: the same import
    # A fetch run takes everything due (here the command's, as the sensor's would).
    done = cli(api.env, "import", f"{base}/fail500/clip.mp4", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr  # the command answers for its own import
    assert done.stderr == ""
    got = api.client("read").get(f"/api/v1/imports/{queued['id']}").json()
    assert got["state"] == "done" and got["video_id"]
    video = api.client("read").get(f"/api/v1/videos/{got['video_id']}").json()
    assert video["sha256"] == sha and video["sidecar"]["origin_url"] == f"{base}/ok/clip.mp4"
    gone = api.client("read").get(f"/api/v1/imports/{batch.json()['imports'][0]['id']}").json()
    assert gone["state"] == "failed" and "HTTP 404" in gone["last_error"]


@pytest.mark.parametrize("body, status, text", [
    ({"url": "ftp://example.com/x.mp4"}, 422, "url"),
    ({"url": "https://example.com/x.mp4", "expires_at": "2001-01-01T00:00:00Z"}, 422, "has passed"),
    ({"url": "https://example.com/x.mp4", "colour": "red"}, 422, "colour"),
    ({"imports": []}, 422, "imports"),
])
def test_wrong_input_is_problem_json_and_queues_nothing(api, body, status, text):
    resp = api.client("write").post("/api/v1/imports", json=body)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json") and text in resp.text


def test_keys_and_unknown_imports(api):
    assert api.client(None).post("/api/v1/imports", json={"url": "https://example.com/x.mp4"}).status_code == 401
    assert api.client("read").post("/api/v1/imports", json={"url": "https://example.com/x.mp4"}).status_code == 403
    missing = api.client("read").get("/api/v1/imports/0123456789abcdef")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
