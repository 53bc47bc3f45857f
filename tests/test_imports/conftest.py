"""The misbehaving loopback server every import test fetches from (``flaky_server.py``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, stop_pid, wait_for_port
from videolake.media.samples import make_clip


def in_seconds(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def flaky(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    clip = make_clip(root / "clip.mp4", duration=4, size="1280x720", extra_output_args={"b:v": "4M"})
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.test_imports.flaky_server", "--port", str(port),
                             "--root", str(root)], cwd=Path(__file__).resolve().parents[2])
    wait_for_port(port, timeout=30, proc=proc)
    (root / "notes.txt").write_text("not a video at all\n" * 100)
    yield f"http://127.0.0.1:{port}", clip, hashlib.sha256(clip.read_bytes()).hexdigest()
    stop_pid(proc.pid)


@pytest.fixture(autouse=True)
def fresh_counts(flaky):
    urllib.request.urlopen(f"{flaky[0]}/_reset", timeout=10).read()
