"""Videos through the API: pages with filters, one video, its bytes with Range and ETag, its poster
and sprite, links that need no key (read by ffprobe and ffmpeg seeking over HTTP), and the same on
S3 storage with a PostgreSQL catalog."""

from __future__ import annotations

import hashlib
import json
import subprocess

import httpx
import pytest

from tests.test_api.conftest import start_api, stop_api
from tests.test_api.test_uploads import upload


@pytest.fixture(scope="module")
def stocked(api, clips, tmp_path_factory):
    """Four videos of known names, sizes and prompts, uploaded through the API."""
    folder = tmp_path_factory.mktemp("stock")
    client = api.client("write")
    made = {}
    for seed, prompt in ((201, "a lighthouse at dusk"), (202, None), (203, "Lighthouse keeper"), (204, None)):
        clip = clips.variant(folder / f"stock-{seed}.mp4", seed)
        meta = {"video_id": f"stock-{seed}", **({"prompt": prompt, "provider": "acme"} if prompt else {})}
        resp = upload(client, clip, wait=True, metadata=meta)
        assert resp.status_code == 201, resp.text
        made[seed] = (clip, resp.json()["video"])
    long = upload(client, clips.good, wait=True, metadata={"video_id": "stock-long", "source": "cctv"})
    assert long.status_code in (200, 201), long.text
    made["long"] = (clips.good, long.json()["video"])
    return made


def test_pages_filter_and_follow_the_cursor(api, stocked):
    client = api.client("read")
    ids = [v["id"] for _, v in stocked.values()]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/videos", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [v["id"] for v in page["videos"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and set(ids) <= set(seen) and len(seen) == len(set(seen))
    lighthouse = client.get("/api/v1/videos", params={"q": "LIGHTHOUSE"}).json()["videos"]
    assert {v["id"] for v in lighthouse} == {stocked[201][1]["id"], stocked[203][1]["id"]}
    generated = client.get("/api/v1/videos", params={"source_type": "generated"}).json()["videos"]
    assert {stocked[201][1]["id"], stocked[203][1]["id"]} <= {v["id"] for v in generated}
    assert all(v["source_type"] == "generated" for v in generated)
    long = client.get("/api/v1/videos", params={"min_duration_s": 4, "source": "cctv"}).json()["videos"]
    assert [v["id"] for v in long] == [stocked["long"][1]["id"]]
    small = client.get("/api/v1/videos", params={"max_size_bytes": 200_000, "codec": "h264"}).json()["videos"]
    assert stocked["long"][1]["id"] not in {v["id"] for v in small} and small
    bad = client.get("/api/v1/videos", params={"min_duration_s": 5, "max_duration_s": 1})
    assert bad.status_code == 422 and "range is empty" in bad.json()["detail"]
    forged = client.get("/api/v1/videos", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422 and "cursor" in forged.json()["detail"]
    assert client.get("/api/v1/videos", params={"limit": 1000}).status_code == 422
    assert client.get("/api/v1/videos", params={"source_type": "martian"}).status_code == 422


def test_one_video_its_bytes_ranges_and_etag(api, stocked):
    client = api.client("read")
    clip, video = stocked[202]
    data = clip.read_bytes()
    got = client.get(f"/api/v1/videos/{video['id']}").json()
    assert got["sha256"] == hashlib.sha256(data).hexdigest() and got["replicas"][0]["state"] == "verified"
    assert client.get("/api/v1/videos/stock-202").json()["id"] == video["id"]
    whole = client.get(f"/api/v1/videos/{video['id']}/download")
    assert whole.status_code == 200 and whole.content == data and whole.headers["etag"] == f'"{got["sha256"]}"'
    assert whole.headers["accept-ranges"] == "bytes" and "attachment" in whole.headers["content-disposition"]
    part = client.get(f"/api/v1/videos/{video['id']}/download", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/api/v1/videos/{video['id']}/download", headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    two = client.get(f"/api/v1/videos/{video['id']}/download", headers={"Range": "bytes=0-1,10-11"})
    assert two.status_code == 206 and two.headers["content-type"].startswith("multipart/byteranges")
    unsatisfiable = client.get(f"/api/v1/videos/{video['id']}/download", headers={"Range": f"bytes={len(data)}-"})
    assert unsatisfiable.status_code == 416 and unsatisfiable.headers["content-range"] == f"bytes */{len(data)}"
    cached = client.get(f"/api/v1/videos/{video['id']}/download", headers={"If-None-Match": whole.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    stale = client.get(f"/api/v1/videos/{video['id']}/download", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    head = client.head(f"/api/v1/videos/{video['id']}/download")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data)) and head.content == b""
    missing = client.get("/api/v1/videos/999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/videos/no-such-name").status_code == 404


def test_poster_and_sprite_are_jpegs(api, stocked):
    client = api.client("read")
    video = stocked[201][1]
    for kind in ("poster", "sprite"):
        resp = client.get(f"/api/v1/videos/{video['id']}/{kind}")
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
        assert resp.content[:3] == b"\xff\xd8\xff" and resp.headers["etag"]
        assert client.get(f"/api/v1/videos/{video['id']}/{kind}",
                          headers={"If-None-Match": resp.headers["etag"]}).status_code == 304


def test_links_need_no_key_and_players_seek_in_them(api, stocked):
    video = stocked["long"][1]
    resp = api.client("read").post(f"/api/v1/videos/{video['id']}/links", json={"ttl": 600})
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert link["video_id"] == video["id"] and link["url"].startswith(f"{api.base}/video/{video['id']}?token=")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", link["url"]],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0 and float(probe.stdout) == pytest.approx(5.0, abs=0.1), probe.stderr
    seek = subprocess.run(["ffmpeg", "-v", "error", "-ss", "4", "-i", link["url"], "-frames:v", "1", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60)
    assert seek.returncode == 0, seek.stderr
    tampered = link["url"][:-3] + ("AAA" if not link["url"].endswith("AAA") else "BBB")
    assert httpx.get(tampered).status_code == 403
    other = stocked[201][1]["id"]  # the token is for one video only
    assert httpx.get(link["url"].replace(f"/video/{video['id']}?", f"/video/{other}?")).status_code == 403
    assert httpx.get(f"{api.base}/video/{video['id']}").status_code == 403
    assert api.client("read").post(f"/api/v1/videos/{video['id']}/links", json={"ttl": -5}).status_code == 422


def test_on_s3_storage_with_a_postgresql_catalog(s3_env, pg_catalog_url, clips, tmp_path):
    bucket = s3_env.create_bucket()
    api = start_api(tmp_path, {"VIDEOLAKE_HOT_STORAGE": f"s3://{bucket}/hot", "VIDEOLAKE_CATALOG_URL": pg_catalog_url})
    try:
        clip = clips.variant(tmp_path / "on-s3.mp4", 205)
        data = clip.read_bytes()
        made = upload(api.client("write"), clip, wait=True, route="/api/v1/videos/upload", metadata={"video_id": "s3v"})
        assert made.status_code == 201, made.text
        body = made.json()
        video = api.client("read").get("/api/v1/videos/s3v").json()
        assert video["replicas"][0]["backend"] == f"s3://{bucket}/hot"
        part = httpx.get(body["private_link"], headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == data[1000:2000]
        assert httpx.get(body["private_link"]).content == data
        poster = api.client("read").get("/api/v1/videos/s3v/poster")
        assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
        health = httpx.get(f"{api.base}/api/health").json()
        assert health["status"] == "healthy" and health["checks"]["storage:hot"]["ok"]
        status = api.client("read").get("/api/storage/status").json()
        hot = next(b for b in status["backends"] if b["role"] == "hot")
        assert hot["objects"] >= 1 and hot["bytes_free"] is None and status["disk_free_gb"] is None
    finally:
        stop_api(api)
    assert json.loads(json.dumps(body))["success"] is True
