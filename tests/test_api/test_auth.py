"""API keys as programs send them: Bearer or X-API-Key; scopes; revoked and expired keys; a client
whose keys keep failing is slowed down and audited — and no key is ever logged or audited."""

from __future__ import annotations

import json
import subprocess
import time

import httpx

from tests.conftest import cli
from tests.test_api.conftest import start_api, stop_api


def test_keys_are_accepted_in_either_header_and_scopes_are_enforced(api):
    url = f"{api.base}/api/v1/videos"
    assert httpx.get(url, headers={"Authorization": f"Bearer {api.keys['read']}"}).status_code == 200
    assert httpx.get(url, headers={"X-API-Key": api.keys["read"]}).status_code == 200
    missing = httpx.get(url)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"] == "application/problem+json"
    upload = httpx.post(url, headers={"X-API-Key": api.keys["read"]}, files={"video": ("a.mp4", b"x")})
    assert upload.status_code == 403 and "has scope read; this needs write" in upload.json()["detail"]
    cleanup = httpx.post(f"{api.base}/api/storage/cleanup", headers={"X-API-Key": api.keys["write"]},
                         json={"max_age_hours": 1})
    assert cleanup.status_code == 403
    assert httpx.get(f"{api.base}/api/health").status_code == 200  # health needs no key


def test_revoked_and_expired_keys_are_refused_and_the_catalog_keeps_only_hashes(api):
    made = cli(api.env, "apikey", "create", "--name", "short-lived", "--scope", "read", "--expires", "1s", "--json")
    created = json.loads(made.stdout)
    key = created["key"]
    assert key.startswith("vlk_") and len(key) > 40
    catalog = (api.home / "catalog.sqlite").read_bytes()
    assert key.encode() not in catalog
    time.sleep(1.2)
    expired = httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": key})
    assert expired.status_code == 401 and "expired on" in expired.json()["detail"]
    other = json.loads(cli(api.env, "apikey", "create", "--name", "to revoke", "--scope", "read", "--json").stdout)
    assert httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": other["key"]}).status_code == 200
    assert cli(api.env, "apikey", "revoke", str(other["id"])).returncode == 0
    deadline = time.monotonic() + 3  # a server remembers a key's row for a second
    while (revoked := httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": other["key"]})).status_code == 200 \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert revoked.status_code == 401 and "was revoked" in revoked.json()["detail"]
    listed = json.loads(cli(api.env, "apikey", "list", "--json").stdout)
    states = {k["name"]: k["state"] for k in listed}
    assert states["short-lived"] == "expired" and states["to revoke"] == "revoked" and states["test read"] == "active"
    assert all("key" not in k for k in listed)


def test_an_existing_key_can_be_imported_so_its_clients_keep_it(api):
    legacy = "the-key-the-old-server-used-0123456789"
    imported = subprocess.run(
        [api.proc.args[0], "apikey", "create", "--name", "vigint", "--scope", "write", "--import-stdin", "--json"],
        input=legacy + "\n", env=api.env, capture_output=True, text=True)
    assert imported.returncode == 0 and legacy not in imported.stdout, imported.stdout + imported.stderr
    assert httpx.get(f"{api.base}/api/v1/videos", headers={"Authorization": f"Bearer {legacy}"}).status_code == 200
    short = subprocess.run([api.proc.args[0], "apikey", "create", "--name", "x", "--import-stdin"],
                                         input="short\n", env=api.env, capture_output=True, text=True)
    assert short.returncode == 2 and short.stderr.startswith("videolake: an imported key must be")


def test_repeated_failures_are_slowed_down_audited_and_never_show_the_key(tmp_path):
    api = start_api(tmp_path)  # its own server: no failures counted before this test
    try:
        _slowed_and_audited(api)
    finally:
        stop_api(api)


def _slowed_and_audited(api) -> None:
    guesses = [f"vlk_guess-{i:04d}-secretpart" for i in range(6)]
    assert httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": api.keys["read"]}).status_code == 200  # warm
    times = []
    for guess in guesses:
        started = time.monotonic()
        resp = httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": guess}, timeout=30)
        times.append(time.monotonic() - started)
        assert resp.status_code == 401
    # A typo or two costs nothing (the median: the first failure also writes its audit row), then each
    # failure waits longer, doubling from 0.25 s; the lower bounds are the server's own sleeps.
    assert sorted(times[:3])[1] < 0.25, times
    assert times[3] >= 0.25 and times[4] >= 0.5 and times[5] >= 1.0, times
    # A valid key from the same client still passes at once (the next failure would wait 2 s).
    started = time.monotonic()
    assert httpx.get(f"{api.base}/api/v1/videos", headers={"X-API-Key": api.keys["read"]}).status_code == 200
    assert time.monotonic() - started < 1.0
    audit = cli(api.env, "audit", "--json")
    events = [e for e in json.loads(audit.stdout) if e["action"] == "api_key_refused"]
    assert events and events[0]["detail"]["client"] == "127.0.0.1" and events[0]["detail"]["path"] == "/api/v1/videos"
    for guess in guesses + list(api.keys.values()):
        assert guess not in audit.stdout
        assert guess not in api.log.read_text()
