"""Operations through the API: health (and a 503 naming what is down), storage cleanup through the
guarded retention sweep (dry run, guardrail, holds, audit), Prometheus metrics checked by promtool,
the OpenAPI document and its docs page."""

from __future__ import annotations

import json
import subprocess
import time

import httpx

from tests.conftest import cli
from tests.servers import free_port
from tests.test_api.conftest import promtool, start_api, stop_api
from tests.test_api.test_uploads import upload



def test_health_names_what_is_down(tmp_path):
    closed = free_port()
    api = start_api(tmp_path, {"VIDEOLAKE_ARCHIVE_STORAGE": "s3://archive-bucket/x",
                               "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed}", "AWS_ACCESS_KEY_ID": "k",
                               "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"})
    try:
        resp = httpx.get(f"{api.base}/api/health", timeout=30)
        assert resp.status_code == 503 and resp.headers["content-type"] == "application/problem+json"
        body = resp.json()
        assert body["detail"].startswith("down: storage:archive") and body["checks"]["storage:archive"]["ok"] is False
        assert body["checks"]["catalog"]["ok"] and body["checks"]["storage:hot"]["ok"]
    finally:
        stop_api(api)


def test_cleanup_plans_then_deletes_through_the_guarded_sweep(api, clips, tmp_path):
    client = api.client("write")
    ids = []
    for seed in (301, 302, 303):
        resp = upload(client, clips.variant(tmp_path / f"old-{seed}.mp4", seed), wait=True)
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["video"]["id"])
    held = cli(api.env, "hold", "add", "--video", str(ids[0]), "--reason", "case 42")
    assert held.returncode == 0, held.stderr
    time.sleep(1.5)
    admin = api.client("admin")
    body = {"max_age_hours": 1 / 3600}  # everything older than a second
    plan = admin.post("/api/storage/cleanup", json=body).json()
    assert plan["mode"] == "plan" and plan["videos_to_delete"] == 2 and plan["held_skipped"] >= 1, plan
    assert all(client.get(f"/api/v1/videos/{i}").status_code == 200 for i in ids)  # a dry run deletes nothing
    refused = admin.post("/api/storage/cleanup", json={**body, "apply": True})
    assert refused.status_code == 422 and "refused, nothing was deleted" in refused.json()["detail"], refused.text
    assert all(client.get(f"/api/v1/videos/{i}").status_code == 200 for i in ids)
    (api.home / "retention.yaml").write_text("max_delete_share: 1.0\n")
    done = admin.post("/api/storage/cleanup", json={**body, "apply": True})
    assert done.status_code == 200, done.text
    applied = done.json()
    assert applied["mode"] == "apply" and applied["videos_deleted"] == 2 and not applied["failures"]
    assert client.get(f"/api/v1/videos/{ids[0]}").status_code == 200  # held
    assert [client.get(f"/api/v1/videos/{i}").status_code for i in ids[1:]] == [404, 404]
    audit = json.loads(cli(api.env, "audit", "--json").stdout)
    assert {e["video_id"] for e in audit if e["action"] == "retention_delete_video"} == set(ids[1:])
    for bad, status in (({"max_age_hours": -1}, 422), ({"max_age_hours": "720"}, 422), ({"hours": 1}, 400)):
        resp = admin.post("/api/storage/cleanup", json=bad)
        assert resp.status_code == status and resp.headers["content-type"] == "application/problem+json", resp.text
    assert admin.post("/api/storage/cleanup", content=b"{oops").status_code == 400


def test_metrics_pass_promtool_and_count_requests_and_uploads(api, clips, tmp_path):
    client = api.client("write")
    assert upload(client, clips.variant(tmp_path / "metered.mp4", 304), wait=True).status_code == 201
    client.get("/api/v1/videos/999999")
    text = api.client("read").get("/metrics").text
    checked = subprocess.run([promtool(), "check", "metrics"], input=text, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'videolake_http_requests_total{method="GET",route="/api/v1/videos/{video_id}",status="404"}' in text
    assert 'videolake_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/videos"}' in text
    assert 'videolake_upload_ingest_outcomes_total{outcome="ingested"}' in text
    assert "videolake_upload_bytes_total" in text and 'videolake_stored_bytes{backend="file://' in text
    assert httpx.get(f"{api.base}/metrics").status_code == 401


def test_the_openapi_document_and_docs_page(api):
    spec = httpx.get(f"{api.base}/openapi.json").json()
    assert spec["info"]["title"] == "videolake"
    upload_op = spec["paths"]["/api/v1/videos"]["post"]
    assert {"200", "201", "202", "400", "401", "403", "413", "415", "422"} <= set(upload_op["responses"])
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert "Problem" in spec["components"]["schemas"]
    assert httpx.get(f"{api.base}/docs").status_code == 200
    unknown = httpx.get(f"{api.base}/api/v2/nothing")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    wrong_method = httpx.delete(f"{api.base}/api/health")
    assert wrong_method.status_code == 405 and wrong_method.headers["content-type"] == "application/problem+json"


def test_deleting_a_video_goes_through_retention_and_a_hold_refuses_it(api, clips, tmp_path):
    client = api.client("write")
    kept, gone = (upload(client, clips.variant(tmp_path / f"del-{seed}.mp4", seed), wait=True,
                         metadata={"video_id": f"del-{seed}"}).json()["video"] for seed in (311, 312))
    assert cli(api.env, "hold", "add", "--video", str(kept["id"]), "--reason", "subpoena 7").returncode == 0
    admin = api.client("admin")
    assert client.delete(f"/api/v1/videos/{gone['id']}").status_code == 403  # a write key cannot delete
    held = admin.delete("/api/v1/videos/del-311")
    assert held.status_code == 409 and "legal hold" in held.json()["detail"], held.text
    assert client.get(f"/api/v1/videos/{kept['id']}").status_code == 200
    deleted = admin.delete("/api/v1/videos/del-312")
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert body["video_id"] == gone["id"] and body["videos_deleted"] == 1 and body["deleted_objects"] == 3  # video, poster, sprite
    assert client.get(f"/api/v1/videos/{gone['id']}").status_code == 404
    stored = [p for p in (api.home / "storage").rglob("*") if p.is_file() and gone["sha256"] in str(p)]
    assert stored == []
    audit = json.loads(cli(api.env, "audit", "--json").stdout)
    mine = [e for e in audit if e["video_id"] == gone["id"] and e["action"] == "retention_delete_video"]
    assert len(mine) == 3 and all("deleted through the API by key" in e["detail"]["policy"] for e in mine)
    assert admin.delete(f"/api/v1/videos/{gone['id']}").status_code == 404
