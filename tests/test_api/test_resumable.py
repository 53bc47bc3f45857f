"""Resumable uploads (tus 1.0) with real tus clients — tuspy (PyPI) and tus-js-client (npm), one
killed mid-upload and resumed — and the protocol's refusals spoken by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus_client

from tests.test_api.conftest import start_api, stop_api

ROOT = Path(__file__).resolve().parents[2]
TUS = {"Tus-Resumable": "1.0.0"}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def create(api, length: int, metadata: dict[str, str] | None = None, **headers) -> httpx.Response:
    meta = ",".join(f"{k} {b64(v)}" for k, v in (metadata or {"filename": "clip.mp4"}).items())
    return httpx.post(f"{api.base}/api/v1/uploads/", headers={**TUS, "X-API-Key": api.keys["write"],
                                                              "Upload-Length": str(length), "Upload-Metadata": meta,
                                                              **headers})


def patch(api, url: str, offset: int, data: bytes, **headers) -> httpx.Response:
    return httpx.patch(url, content=data, headers={**TUS, "X-API-Key": api.keys["write"], "Upload-Offset": str(offset),
                                                   "Content-Type": "application/offset+octet-stream", **headers})


def head(api, url: str) -> httpx.Response:
    return httpx.head(url, headers={**TUS, "X-API-Key": api.keys["write"]})


def status_of(api, url: str) -> dict:
    return api.wait_for_upload(api.client("read"), url.replace(api.base, ""))


def test_tuspy_uploads_in_checksummed_chunks_and_the_video_is_ingested(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "tuspy.mp4", 401)
    client = tus_client.TusClient(f"{api.base}/api/v1/uploads/", headers={"X-API-Key": api.keys["write"]})
    uploader = client.uploader(str(clip), chunk_size=32 * 1024, upload_checksum=True,
                               metadata={"filename": "tuspy.mp4", "video_id": "tus-401", "prompt": "a harbour"})
    uploader.upload()
    done = status_of(api, uploader.url)
    assert done["upload"]["state"] == "done" and done["upload"]["protocol"] == "tus"
    assert done["video"]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert done["video"]["name"] == "tuspy.mp4" and done["video"]["sidecar"]["prompt"] == "a harbour"
    assert api.client("read").get("/api/v1/videos/tus-401").json()["id"] == done["video"]["id"]
    assert api.spool_files() == []


def test_the_protocol_by_hand(api, clips, tmp_path):
    data = clips.variant(tmp_path / "by-hand.mp4", 402).read_bytes()
    options = httpx.options(f"{api.base}/api/v1/uploads/")
    assert options.status_code == 204 and options.headers["tus-version"] == "1.0.0"
    assert set(options.headers["tus-extension"].split(",")) == {"creation", "creation-with-upload", "termination",
                                                                "expiration", "checksum"}
    assert "sha256" in options.headers["tus-checksum-algorithm"].split(",")
    no_version = httpx.post(f"{api.base}/api/v1/uploads/", headers={"X-API-Key": api.keys["write"], "Upload-Length": "5"})
    assert no_version.status_code == 400 and no_version.headers["tus-version"] == "1.0.0"
    other_version = httpx.post(f"{api.base}/api/v1/uploads/", headers={"X-API-Key": api.keys["write"],
                                                                       "Upload-Length": "5", "Tus-Resumable": "0.2.2"})
    assert other_version.status_code == 412 and other_version.headers["tus-version"] == "1.0.0"
    assert create(api, 10**13).status_code == 413  # over VIDEOLAKE_MAX_UPLOAD_BYTES
    assert create(api, 0).status_code == 422
    assert create(api, len(data), {"filename": "../up.mp4"}).status_code == 400
    made = create(api, len(data), {"filename": "by-hand.mp4", "video_id": "tus-402"})
    assert made.status_code == 201 and made.headers["tus-resumable"] == "1.0.0" and "upload-expires" in made.headers
    url = made.headers["location"]
    assert head(api, url).headers["upload-offset"] == "0"
    assert patch(api, url, 5, data[:10]).status_code == 409  # not where the upload is
    wrong_type = httpx.patch(url, content=data[:10], headers={**TUS, "X-API-Key": api.keys["write"], "Upload-Offset": "0",
                                                              "Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 415
    bad_sum = patch(api, url, 0, data[:1000], **{"Upload-Checksum": f"sha256 {base64.b64encode(b'0' * 32).decode()}"})
    assert bad_sum.status_code == 460 and bad_sum.headers["content-type"] == "application/problem+json"
    assert head(api, url).headers["upload-offset"] == "0"  # the chunk was dropped
    good_sum = base64.b64encode(hashlib.sha256(data[:1000]).digest()).decode()
    first = patch(api, url, 0, data[:1000], **{"Upload-Checksum": f"sha256 {good_sum}"})
    assert first.status_code == 204 and first.headers["upload-offset"] == "1000"
    past = patch(api, url, 1000, data[1000:] + b"extra bytes")
    assert past.status_code == 413 and head(api, url).headers["upload-offset"] == "1000"
    assert patch(api, url, 1000, data[1000:]).status_code == 204
    done = status_of(api, url)
    assert done["upload"]["state"] == "done" and done["video"]["sha256"] == hashlib.sha256(data).hexdigest()
    # Terminated: its bytes go, and it answers 410.
    other = create(api, 50_000).headers["location"]
    assert patch(api, other, 0, os.urandom(20_000)).status_code == 204
    assert httpx.delete(other, headers={**TUS, "X-API-Key": api.keys["write"]}).status_code == 204
    assert head(api, other).status_code == 410 and patch(api, other, 20_000, b"x").status_code == 410
    assert head(api, f"{api.base}/api/v1/uploads/0123456789abcdef").status_code == 404
    with_body = httpx.post(f"{api.base}/api/v1/uploads/", content=data[:4096], headers={
        **TUS, "X-API-Key": api.keys["write"], "Upload-Length": str(len(data)),
        "Content-Type": "application/offset+octet-stream"})
    assert with_body.status_code == 201 and with_body.headers["upload-offset"] == "4096"  # creation-with-upload


def test_another_api_process_continues_what_one_began(api, clips, tmp_path):
    data = clips.variant(tmp_path / "two-servers.mp4", 403).read_bytes()
    url = create(api, len(data)).headers["location"]
    assert patch(api, url, 0, data[:3000]).status_code == 204
    second = start_api(tmp_path / "second", {"VIDEOLAKE_HOME": str(api.home)})
    try:
        other_url = url.replace(api.base, second.base)
        second.keys = api.keys  # the same catalog: the same keys
        assert head(second, other_url).headers["upload-offset"] == "3000"
        assert patch(second, other_url, 3000, data[3000:]).status_code == 204
        done = status_of(second, other_url)
        assert done["video"]["sha256"] == hashlib.sha256(data).hexdigest()
    finally:
        stop_api(second)


def test_unfinished_uploads_expire(tmp_path, clips):
    api = start_api(tmp_path, {"VIDEOLAKE_UPLOAD_EXPIRES_HOURS": str(1 / 3600)})
    try:
        url = create(api, 100_000).headers["location"]
        assert patch(api, url, 0, os.urandom(30_000)).status_code == 204
        assert api.spool_files()
        time.sleep(1.2)
        gone = head(api, url)
        assert gone.status_code == 410 and api.spool_files() == []
        state = api.client("read").get(url.replace(api.base, "")).json()["upload"]
        assert state["state"] == "expired" and "30000 of 100000 bytes" in state["detail"]
    finally:
        stop_api(api)


def _node_upload(api, clip: Path, storage: Path, chunk: int) -> subprocess.Popen:
    return subprocess.Popen(["node", str(ROOT / "tools" / "tus" / "upload.js"), f"{api.base}/api/v1/uploads/", str(clip),
                             api.keys["write"], str(storage), str(chunk), json.dumps({"filename": clip.name})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_tus_js_client_killed_mid_upload_resumes_where_it_stopped(api, tmp_path):
    from videolake.media.samples import make_clip

    clip = make_clip(tmp_path / "long-take.mp4", duration=20, size="1280x720", pattern="testsrc2",
                     extra_output_args={"b:v": "4M"})
    size = clip.stat().st_size
    assert size > 4 * 1024 * 1024
    storage = tmp_path / "tus-urls.json"
    first = _node_upload(api, clip, storage, 256 * 1024)
    sent = 0
    for line in first.stdout:  # kill it (as a crash would) once a third is sent
        event = json.loads(line)
        sent = event.get("progress", sent)
        if sent > size // 3:
            os.kill(first.pid, signal.SIGKILL)
            break
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL and 0 < sent < size
    url = json.loads(storage.read_text())
    second = _node_upload(api, clip, storage, 256 * 1024)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    resumed = next(e["resumed"] for e in events if "resumed" in e)
    assert resumed and str(url) and events[-1]["done"] == resumed
    progress = [e["progress"] for e in events if "progress" in e]
    assert progress[0] >= size // 3 - 256 * 1024, progress[:3]  # it went on from where the bytes stopped
    done = status_of(api, resumed)
    assert done["upload"]["state"] == "done" and done["video"]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert done["video"]["duration_s"] == pytest.approx(20, abs=0.1)
