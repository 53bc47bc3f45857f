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
     ("bytes=100-", "invalid"), ("bytes=5-2", "invalid"), ("bytes=-", "invalid"), ("items=0-1", None), ("bytes=" + "9" * 5000 + "-", "invalid"),
     ("bytes=10-" + "9" * 5000, (10, 99)), ("bytes=-" + "9" * 5000, (0, 99)), ("bytes=0-1,5-6", (0, 1)),
     ("bytes=500-600,5-6", (5, 6))],
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


def test_a_range_of_thousands_of_digits_is_answered_416_not_dropped(served):
    port, data = served
    resp, _ = request(port, link(), headers={"Range": "bytes=" + "1" * 5000 + "-"})
    assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{len(data)}"
    resp, body = request(port, link(), headers={"Range": "bytes=5-" + "9" * 5000})
    assert resp.status == 206 and body == data[5:]


def test_tokens_have_one_canonical_spelling(served):
    port, _ = served
    token = link()[3:]
    payload, mac = token.split(".")
    variants = [payload + "=" * (-len(payload) % 4 or 4) + "." + mac,  # padded
                payload + "." + mac + "==",
                payload.replace("-", "+").replace("_", "/") + "." + mac.replace("-", "+").replace("_", "/"),
                payload + "." + mac[:10] + "*" + mac[10:]]  # a character a lenient decoder skips
    assert any(v != token for v in variants)
    for variant in variants:
        if variant == token:
            continue
        assert request(port, "/d/" + variant)[0].status == 403, variant
        with pytest.raises(TokenError):
            verify(SECRET, variant)


def test_several_ranges_come_back_as_multipart_byteranges(served):
    import email.parser
    import email.policy

    port, data = served
    resp, body = request(port, link(), headers={"Range": "bytes=0-9, 100-199, -5"})
    assert resp.status == 206
    content_type = resp.getheader("Content-Type")
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert int(resp.getheader("Content-Length")) == len(body)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = [(part["Content-Range"], part.get_payload(decode=True)) for part in message.iter_parts()]
    assert parts == [(f"bytes 0-9/{len(data)}", data[:10]), (f"bytes 100-199/{len(data)}", data[100:200]),
                     (f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}", data[-5:])]


def test_idle_clients_are_bounded_and_timed_out(tmp_path):
    import socket
    import threading

    storage = LocalBackend(tmp_path / "storage")
    storage.put_bytes("exports/e1/cam3.mp4", b"x" * 1000)
    server = make_server(storage, SECRET, "127.0.0.1", 0, threads=8, max_connections=50, idle_timeout=1.0)
    serve_in_thread(server)
    threads_before = threading.active_count()
    idle = []
    try:
        for _ in range(120):  # more idle clients than connections allowed
            idle.append(socket.create_connection(("127.0.0.1", server.server_port)))
        time.sleep(0.5)
        assert threading.active_count() <= threads_before + 8, "one thread per connection"
        refused = 0
        for sock in idle:
            sock.settimeout(3)
            try:
                head = sock.recv(64)
            except TimeoutError:
                head = b"?"
            if head.startswith(b"HTTP/1.1 503"):
                refused += 1
            else:
                assert head == b"", "an idle client is disconnected after the idle timeout"
        assert refused >= 120 - 50
        resp, body = request(server.server_port, link())  # and the server still answers
        assert resp.status == 200 and body == b"x" * 1000
    finally:
        for sock in idle:
            sock.close()
        server.shutdown()
        server.server_close()


def test_two_thousand_concurrent_range_requests_are_all_answered(tmp_path):
    import asyncio

    storage = LocalBackend(tmp_path / "storage")
    data = os.urandom(200_000)
    storage.put_bytes("exports/e1/cam3.mp4", data)
    server = make_server(storage, SECRET, "127.0.0.1", 0, max_connections=4096)
    serve_in_thread(server)
    path = link()

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.server_port)
        start = (i * 97) % 150_000
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes={start}-{start + 4095}\r\n"
                     "Connection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 206"), head[:80]
        assert body == data[start:start + 4096]
        return body

    async def many() -> list:
        return await asyncio.gather(*(one(i) for i in range(2000)), return_exceptions=True)

    try:
        results = asyncio.run(many())
    finally:
        server.shutdown()
        server.server_close()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == [], f"{len(errors)} of 2000 failed, e.g. {errors[:3]}"
