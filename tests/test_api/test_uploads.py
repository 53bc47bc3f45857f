"""Uploads through the real API process: new content, known content, metadata, checksums, and every
kind of bad input — each a clear problem+json, nothing stored before touched, nothing
half-received cataloged."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import sqlite3
import threading
import time

import pytest

from tests.conftest import cli
from tests.test_api.conftest import MAX_UPLOAD

PROBLEM = "application/problem+json"


def upload(client, path, *, name=None, metadata=None, wait=None, route="/api/v1/videos", extra=None, headers=None):
    data = {}
    if metadata is not None:
        data["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
    data.update(extra or {})
    params = {"wait": "true"} if wait else {}
    with open(path, "rb") as fh:
        return client.post(route, params=params, data=data, files={"video": (name or path.name, fh, "video/mp4")},
                           headers=headers or {})


def catalog_counts(api) -> dict[str, int]:
    with sqlite3.connect(api.home / "catalog.sqlite") as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("videos", "uploads", "landings", "quarantine")}


def assert_problem(resp, status: int, words: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM, resp.headers
    body = resp.json()
    assert body["status"] == status and words in body["detail"], body
    return body


def test_new_content_is_201_after_ingest_and_known_content_200_with_the_same_video(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "fresh.mp4", 101)
    client = api.client("write")
    first = upload(client, clip, wait=True, metadata={"video_id": "fresh-101", "provider": "acme", "model": "m-2",
                                                      "prompt": "a red kite over the sea", "parameters": {"seed": 4},
                                                      "job_id": "job-77"})
    assert first.status_code == 201, first.text
    video = first.json()["video"]
    assert video["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert video["duration_s"] == pytest.approx(1.0, abs=0.1) and video["width"] == 320 and video["video_codec"] == "h264"
    assert video["source_type"] == "generated" and video["sidecar"]["prompt"] == "a red kite over the sea"
    assert video["sidecar"]["parameters"] == {"seed": 4} and video["poster_uri"] and video["sprite_uri"]
    assert [r["state"] for r in video["replicas"]] == ["verified"]
    assert first.headers["location"].endswith(f"/api/v1/videos/{video['id']}")
    with sqlite3.connect(api.home / "catalog.sqlite") as db:  # for the catalog-runs sensor to tell Dagster
        runs = db.execute("SELECT trigger, zone, success, summary FROM ingest_runs").fetchall()
    assert [(t, z, ok, json.loads(summary)["ingested"], json.loads(summary)["thumbnailed"])
            for t, z, ok, summary in runs] == [("api", "uploads", 1, 1, 1)], runs
    second = upload(client, clip, name="renamed.mp4")  # no wait: known content is answered at once
    assert second.status_code == 200, second.text
    assert second.json()["video"]["id"] == video["id"] and second.json()["upload"]["duplicate"] is True
    by_alias = client.get("/api/v1/videos/fresh-101")
    assert by_alias.status_code == 200 and by_alias.json()["id"] == video["id"]
    assert api.spool_files() == []  # both received files were removed once cataloged


def test_without_wait_the_answer_is_202_and_the_status_url_tells_the_outcome(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "later.mp4", 102)
    client = api.client("write")
    resp = upload(client, clip)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert resp.headers["location"] == body["status_url"] and body["upload"]["state"] in ("received", "ingesting", "done")
    done = api.wait_for_upload(client, body["status_url"])
    assert done["upload"]["state"] == "done" and done["video"]["name"] == "later.mp4"
    assert done["upload"]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()


def test_a_matching_repr_digest_is_accepted_and_a_wrong_one_keeps_nothing(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "digest.mp4", 103)
    digest = base64.b64encode(hashlib.sha256(clip.read_bytes()).digest()).decode()
    client = api.client("write")
    before = catalog_counts(api)
    wrong = upload(client, clip, wait=True, headers={"Repr-Digest": f"sha-256=:{base64.b64encode(b'x' * 32).decode()}:"})
    assert_problem(wrong, 400, "not the Repr-Digest sent; nothing was kept")
    assert catalog_counts(api) == before and api.spool_files() == []
    right = upload(client, clip, wait=True, headers={"Repr-Digest": f"sha-256=:{digest}:"})
    assert right.status_code == 201, right.text
    garbled = upload(client, clip, headers={"Repr-Digest": "sha-256=not base64"})
    assert_problem(garbled, 400, "Repr-Digest must look like sha-256=:BASE64:")


def test_a_non_video_is_422_with_the_quarantine_reason(api, tmp_path):
    junk = tmp_path / "report.mp4"
    junk.write_bytes(b"%PDF-1.7 definitely not a video\n" * 300)
    client = api.client("write")
    body = assert_problem(upload(client, junk, wait=True), 422, "not a usable video: not_video")
    status = client.get(f"/api/v1/uploads/{body['upload_id']}").json()
    assert status["upload"]["state"] == "quarantined"
    quarantined = json.loads(cli(api.env, "quarantine", "--json").stdout)
    assert any(q["name"] == "report.mp4" and q["reason"] == "not_video" for q in quarantined)
    assert api.spool_files() == []  # moved aside to quarantine storage, not left in the spool


@pytest.mark.parametrize("name, words", [
    ("../../x.mp4", "is a path"),
    ("/etc/passwd.mp4", "is a path"),
    ("a\x00b.mp4", "NUL or control characters"),
    ("x" * 4096 + ".mp4", "the limit is 255"),
    (".hidden.mp4", "starts with a dot"),
])
def test_file_names_that_are_not_plain_names_are_refused(api, clips, name, words):
    """Sent as bytes, as a client that does not escape them would (httpx would write NUL as %00)."""
    before = catalog_counts(api)
    body = (b"--b\r\nContent-Disposition: form-data; name=\"video\"; filename=\"" + name.encode() + b"\"\r\n"
            b"Content-Type: video/mp4\r\n\r\n" + clips.good.read_bytes() + b"\r\n--b--\r\n")
    resp = api.client("write").post("/api/v1/videos?wait=true", content=body,
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_problem(resp, 400, words)
    assert catalog_counts(api) == before and api.spool_files() == []


def test_bad_forms_each_get_one_clear_problem(api, clips, tmp_path):
    client = api.client("write")
    before = catalog_counts(api)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_problem(upload(client, empty, wait=True), 422, "the file is empty")
    assert_problem(upload(client, clips.good, metadata="{not json"), 400, "the metadata part is not JSON")
    assert_problem(upload(client, clips.good, metadata="[1, 2]"), 400, "must be a JSON object")
    assert_problem(upload(client, clips.good, metadata={"video_id": "a", "colour": "red"}), 400,
                   "unknown metadata field(s) colour")
    assert_problem(upload(client, clips.good, extra={"title": "x"}), 400, "unknown form field 'title'")
    assert_problem(upload(client, clips.good, extra={"expiration_hours": "soon"}), 400, "expiration_hours must be")
    big = "x" * (50 * 1024 * 1024)
    assert_problem(upload(client, clips.good, metadata=json.dumps({"prompt": big})), 413, "the metadata part is over")
    no_file = client.post("/api/v1/videos", data={"metadata": "{}"}, files={"other": ("", b"")})
    assert no_file.status_code in (400, 422) and no_file.headers["content-type"] == PROBLEM
    only_fields = client.post("/api/v1/videos", files={"metadata": (None, "{}")})
    assert_problem(only_fields, 422, "no video part")
    as_json = client.post("/api/v1/videos", json={"video": "base64?"})
    assert_problem(as_json, 415, "send the upload as multipart/form-data")
    raw = client.post("/api/v1/videos", content=b"--b\r\nContent-Disposition: form-data; name=\"video\"; "
                      b"filename=\"a.mp4\"\r\n\r\nhalf a file", headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_problem(raw, 400, "cut off")
    garbage = client.post("/api/v1/videos", content=b"\x00\x01garbage" * 100,
                          headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert garbage.status_code == 400 and is_problem(garbage)
    assert catalog_counts(api) == before and api.spool_files() == []


def is_problem(resp) -> bool:
    return resp.headers["content-type"] == PROBLEM and resp.json()["detail"]


def test_the_compatible_route_keeps_unknown_metadata_under_extra(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "incident.mp4", 104)
    resp = upload(api.client("write"), clip, route="/api/v1/videos/upload",
                  metadata={"video_id": "inc-104", "incident_type": "fall", "camera": "lobby"})
    assert resp.status_code == 201, resp.text
    video = api.client("read").get("/api/v1/videos/inc-104").json()
    assert video["sidecar"]["extra"] == {"incident_type": "fall", "camera": "lobby"}


def test_a_video_id_never_moves_to_other_content(api, clips, tmp_path):
    client = api.client("write")
    one = upload(client, clips.variant(tmp_path / "one.mp4", 105), wait=True, metadata={"video_id": "taken"})
    assert one.status_code == 201
    other = upload(client, clips.variant(tmp_path / "two.mp4", 106), wait=True, metadata={"video_id": "taken"})
    assert_problem(other, 409, "video_id 'taken' already names video")
    assert client.get("/api/v1/videos/taken").json()["id"] == one.json()["video"]["id"]


def _raw_request(api, head: bytes, body: bytes = b"", *, read_timeout: float = 10) -> bytes:
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(head + body)
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
        return out


def test_a_declared_10_gb_body_is_413_at_once_without_sending_it(api):
    started = time.monotonic()
    answer = _raw_request(api, (
        "POST /api/v1/videos HTTP/1.1\r\nHost: x\r\n"
        f"X-API-Key: {api.keys['write']}\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"application/problem+json" in answer and time.monotonic() - started < 5


def test_a_body_over_the_limit_without_a_length_is_cut_at_the_limit(api, tmp_path):
    """Chunked, no Content-Length: counted while read, 413 past the limit, nothing kept."""
    client = api.client("write")
    before = catalog_counts(api)

    def body():
        yield b"--b\r\nContent-Disposition: form-data; name=\"video\"; filename=\"big.mp4\"\r\n\r\n"
        chunk = b"\0" * (1024 * 1024)
        for _ in range(MAX_UPLOAD // len(chunk) + 8):
            yield chunk
        yield b"\r\n--b--\r\n"

    resp = client.post("/api/v1/videos", content=body(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert_problem(resp, 413, f"over the limit of {MAX_UPLOAD} bytes")
    assert catalog_counts(api) == before and api.spool_files() == []


def test_a_client_gone_mid_upload_leaves_nothing(api):
    before = catalog_counts(api)
    host, port = api.base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    part = b"--b\r\nContent-Disposition: form-data; name=\"video\"; filename=\"cut.mp4\"\r\n\r\n"
    sock.sendall((f"POST /api/v1/videos HTTP/1.1\r\nHost: x\r\nX-API-Key: {api.keys['write']}\r\n"
                  f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {30 * 1024 * 1024}\r\n\r\n").encode()
                 + part + b"\1" * (5 * 1024 * 1024))
    deadline = time.monotonic() + 10
    while not api.spool_files() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.spool_files(), "the upload was being received into the spool"
    sock.close()
    deadline = time.monotonic() + 10
    while api.spool_files() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.spool_files() == [] and catalog_counts(api) == before


def test_two_concurrent_uploads_of_the_same_content_store_one_copy(api, clips, tmp_path):
    clip = clips.variant(tmp_path / "twice.mp4", 107)
    answers: list = []

    def send(name: str) -> None:
        answers.append(upload(api.client("write"), clip, name=name, wait=True))

    threads = [threading.Thread(target=send, args=(f"copy{i}.mp4",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    assert len({a.json()["video"]["id"] for a in answers}) == 1
    sha = hashlib.sha256(clip.read_bytes()).hexdigest()
    stored = [p for p in (api.home / "storage").rglob("*") if p.is_file() and p.name.startswith(sha)]
    assert len(stored) == 1, stored
