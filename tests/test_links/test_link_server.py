"""Signed links, and the server that answers them (``videolake api``, which took over from the
link-only ``videolake serve``), with real requests on loopback: links minted before keep working."""

from __future__ import annotations

import http.client
import os
import time

import pytest

from tests.test_api.conftest import start_api, stop_api
from videolake.links.ranges import parse_range
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


class Served:
    def __init__(self, api, data: bytes) -> None:
        self.api, self.data = api, data
        self.port = int(api.base.rsplit(":", 1)[1])
        self.secret = load_or_create_secret(None, api.home)

    def link(self, key: str = "exports/e1/cam3.mp4", ttl: int = 60) -> str:
        return "/d/" + sign(self.secret, key, "e1-cam3.mp4", int(time.time()) + ttl)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    api = start_api(tmp_path_factory.mktemp("links"))
    data = os.urandom(300_000)
    LocalBackend(api.home / "storage").put_bytes("exports/e1/cam3.mp4", data)
    (api.home / "secret.txt").write_text("do not serve me")
    yield Served(api, data)
    stop_api(api)


def request(port, path, method="GET", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp, body


def test_download_and_seek_with_ranges(served):
    port, data = served.port, served.data
    resp, body = request(port, served.link())
    assert resp.status == 200 and body == data and resp.getheader("Accept-Ranges") == "bytes"
    assert resp.getheader("Content-Type") == "video/mp4" and "e1-cam3.mp4" in resp.getheader("Content-Disposition")
    resp, body = request(port, served.link(), headers={"Range": "bytes=1000-1999"})
    assert resp.status == 206 and body == data[1000:2000]
    assert resp.getheader("Content-Range") == f"bytes 1000-1999/{len(data)}"
    resp, body = request(port, served.link(), headers={"Range": "bytes=-100"})
    assert resp.status == 206 and body == data[-100:]
    resp, body = request(port, served.link(), headers={"Range": f"bytes={len(data)}-"})
    assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{len(data)}"
    resp, body = request(port, served.link(), method="HEAD")
    assert resp.status == 200 and body == b"" and resp.getheader("Content-Length") == str(len(data))


def test_refusals(served):
    port = served.port
    good = served.link()
    assert request(port, good[:-3] + "AAA")[0].status == 403  # tampered signature
    assert request(port, served.link(ttl=-5))[0].status == 403  # expired
    assert request(port, served.link("../secret.txt"))[0].status == 403  # signed, but outside the storage root
    assert request(port, served.link("exports/e1/../../../secret.txt"))[0].status == 403
    assert request(port, served.link("exports/e1/missing.mp4"))[0].status == 404
    assert request(port, "/exports/e1/cam3.mp4")[0].status == 404
    resp, body = request(port, good[:-3] + "AAA")
    assert resp.getheader("Content-Type") == "application/problem+json" and b"does not open anything" in body


def test_a_range_of_thousands_of_digits_is_answered_416_not_dropped(served):
    port, data = served.port, served.data
    resp, _ = request(port, served.link(), headers={"Range": "bytes=" + "1" * 5000 + "-"})
    assert resp.status == 416 and resp.getheader("Content-Range") == f"bytes */{len(data)}"
    resp, body = request(port, served.link(), headers={"Range": "bytes=5-" + "9" * 5000})
    assert resp.status == 206 and body == data[5:]


def test_tokens_have_one_canonical_spelling(served):
    token = served.link()[3:]
    payload, mac = token.split(".")
    variants = [payload + "=" * (-len(payload) % 4 or 4) + "." + mac,  # padded
                payload + "." + mac + "==",
                payload.replace("-", "+").replace("_", "/") + "." + mac.replace("-", "+").replace("_", "/"),
                payload + "." + mac[:10] + "*" + mac[10:]]  # a character a lenient decoder skips
    assert any(v != token for v in variants)
    for variant in variants:
        if variant == token:
            continue
        assert request(served.port, "/d/" + variant)[0].status in (403, 404), variant
        with pytest.raises(TokenError):
            verify(served.secret, variant)


def test_several_ranges_come_back_as_multipart_byteranges(served):
    import email.parser
    import email.policy

    data = served.data
    resp, body = request(served.port, served.link(), headers={"Range": "bytes=0-9, 100-199, -5"})
    assert resp.status == 206
    content_type = resp.getheader("Content-Type")
    assert content_type.startswith("multipart/byteranges; boundary=")
    assert int(resp.getheader("Content-Length")) == len(body)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = [(part["Content-Range"], part.get_payload(decode=True)) for part in message.iter_parts()]
    assert parts == [(f"bytes 0-9/{len(data)}", data[:10]), (f"bytes 100-199/{len(data)}", data[100:200]),
                     (f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}", data[-5:])]


def test_two_thousand_concurrent_range_requests_are_all_answered(served):
    import asyncio

    data, path = served.data, served.link()

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
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

    results = asyncio.run(many())
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, f"{len(failures)} of 2000 failed, first: {failures[0]!r}"


def test_clients_that_never_speak_are_disconnected_and_others_are_served_meanwhile(served):
    import socket

    idle = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(100)]
    try:
        resp, body = request(served.port, served.link())  # the server answers others meanwhile
        assert resp.status == 200 and body == served.data
        started = time.monotonic()
        for sock in idle:
            sock.settimeout(30)
            assert sock.recv(64) == b"", "a client that never sends a request is disconnected"
        assert 10 < time.monotonic() - started < 25  # after the 15 s idle timeout
    finally:
        for sock in idle:
            sock.close()
