"""Signed links and the HTTP server, with real requests on loopback."""

from __future__ import annotations

import http.client
import os
import time

import pytest

from videolake.links.server import make_server, parse_range, serve_in_thread
from videolake.links.tokens import TokenError, load_or_create_secret, sign, verify
from videolake.storage.local_backend import LocalBackend

SECRET = b"0123456789abcdef0123456789abcdef"


def test_tokens_round_trip_and_refuse_tampering(tmp_path):
    token = sign(SECRET, "exports/e1/cam3.mp4", "e1-cam3.mp4", int(time.time()) + 60)
    assert verify(SECRET, token).key == "exports/e1/cam3.mp4"
    payload, mac = token.split(".")
    forged = sign(b"another secret that is long", "exports/e1/cam3.mp4", "x.mp4", int(time.time()) + 60)
    for bad in (payload + "x." + mac, payload + "." + mac[:-2] + "AA", forged, "garbage", ""):
        with pytest.raises(TokenError):
            verify(SECRET, bad)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, sign(SECRET, "k", "f", int(time.time()) - 1))
    secret = load_or_create_secret(None, tmp_path)
    assert load_or_create_secret(None, tmp_path) == secret and oct((tmp_path / "link-secret").stat().st_mode)[-3:] == "600"


@pytest.mark.parametrize(
    "header, expected",
    [(None, None), ("bytes=0-9", (0, 9)), ("bytes=90-", (90, 99)), ("bytes=-10", (90, 99)), ("bytes=95-500", (95, 99)),
     ("bytes=100-", "invalid"), ("bytes=5-2", "invalid"), ("bytes=-", "invalid"), ("items=0-1", "invalid")],
)
def test_range_parsing(header, expected):
    assert parse_range(header, 100) == expected


@pytest.fixture
def served(tmp_path):
    storage = LocalBackend(tmp_path / "storage")
    data = os.urandom(300_000)
    storage.put_bytes("exports/e1/cam3.mp4", data)
    (tmp_path / "secret.txt").write_text("do not serve me")
    server = make_server(storage, SECRET, "127.0.0.1", 0)
    serve_in_thread(server)
    yield server.server_port, data
    server.shutdown()
    server.server_close()


def request(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def link(key="exports/e1/cam3.mp4", ttl=60):
    return "/d/" + sign(SECRET, key, "e1-cam3.mp4", int(time.time()) + ttl)


def test_download_and_seek_with_ranges(served):
    port, data = served
    resp, body = request(port, link())
    assert resp.status == 200 and body == data and resp.getheader("Accept-Ranges") == "bytes"
    assert resp.getheader("Content-Type") == "video/mp4" and "e1-cam3.mp4" in resp.getheader("Content-Disposition")
    resp, body = request(port, link(), headers={"Range": "bytes=1000-1999"})
    assert resp.status == 206 and body == data[1000:2000]
    assert resp.getheader("Content-Range") == f"bytes 1000-1999/{len(data)}"
    resp, body = request(port, link(), headers={"Range": "bytes=-100"})
    assert resp.status == 206 and body == data[-100:]
    resp, body = request(port, link(), headers={"Range": f"bytes={len(data)}-"})
    assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{len(data)}"
    resp, body = request(port, link(), method="HEAD")
    assert resp.status == 200 and body == b"" and resp.getheader("Content-Length") == str(len(data))


def test_refusals(served):
    port, _ = served
    good = link()
    assert request(port, good[:-3] + "AAA")[0].status == 403  # tampered signature
    assert request(port, link(ttl=-5))[0].status == 403  # expired
    assert request(port, link("../secret.txt"))[0].status == 403  # signed, but outside the storage root
    assert request(port, link("exports/e1/../../../secret.txt"))[0].status == 403
    assert request(port, link("exports/e1/missing.mp4"))[0].status == 404
    assert request(port, "/exports/e1/cam3.mp4")[0].status == 404
