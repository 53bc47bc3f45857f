"""``videolake api --workers N``: N processes on one port, counted together in /metrics, a dead
worker replaced, and no worker left behind when the supervisor goes (even by SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import cli
from tests.test_api.conftest import promtool, start_api, stop_api

LIST_ROUTE = 'route="/api/v1/videos"'


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc, as ps shows them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"waited {timeout:.0f} s for {what}")


def metrics_folder(worker_pid: int) -> Path:
    environ = Path(f"/proc/{worker_pid}/environ").read_bytes().split(b"\0")
    value = next(v for v in environ if v.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    return Path(value.split(b"=", 1)[1].decode())


def listed_count(text: str) -> float:
    lines = [l for l in text.splitlines() if l.startswith("videolake_http_requests_total{") and LIST_ROUTE in l
             and 'status="200"' in l]
    return sum(float(l.rsplit(" ", 1)[1]) for l in lines)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory):
    server = start_api(tmp_path_factory.mktemp("workers"), {"VIDEOLAKE_API_WORKERS": "2"})
    wait_for(lambda: len(children(server.proc.pid)) == 2, what="two workers")
    yield server
    stop_api(server)


def test_two_workers_answer_on_one_port_and_metrics_count_for_both(two_workers):
    server = two_workers
    workers = children(server.proc.pid)
    assert len(workers) == 2
    headers = {"X-API-Key": server.keys["read"]}
    for _ in range(80):  # each on a new connection, so both workers take some
        assert httpx.get(f"{server.base}/api/v1/videos?limit=1", headers=headers, timeout=30).status_code == 200
    folder = metrics_folder(workers[0])
    assert metrics_folder(workers[1]) == folder
    # Both answered requests (each keeps its counts in its own file of the shared folder) …
    wait_for(lambda: all(any(folder.glob(f"*_{pid}.db")) for pid in workers), 10, "a metrics file per worker")
    # … and whichever answers a scrape counts every request of both.
    scrapes = [httpx.get(f"{server.base}/metrics", headers=headers, timeout=30).text for _ in range(10)]
    assert {listed_count(text) for text in scrapes} == {80.0}
    checked = subprocess.run([promtool(), "check", "metrics"], input=scrapes[-1], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_worker_that_dies_is_replaced_and_the_server_keeps_answering(two_workers):
    server = two_workers
    before = children(server.proc.pid)
    os.kill(before[0], signal.SIGKILL)
    after = wait_for(lambda: (c := children(server.proc.pid)) and len(c) == 2 and before[0] not in c and c,
                     what="a new worker")
    assert before[1] in after
    headers = {"X-API-Key": server.keys["read"]}
    for _ in range(20):
        assert httpx.get(f"{server.base}/api/health", headers=headers, timeout=30).status_code == 200
    assert "exited with status -9; starting it again" in server.log.read_text()


def test_killing_the_supervisor_takes_its_workers_along(tmp_path):
    server = start_api(tmp_path, {"VIDEOLAKE_API_WORKERS": "2"})
    try:
        workers = wait_for(lambda: (c := children(server.proc.pid)) and len(c) == 2 and c, what="two workers")
        port = int(server.base.rsplit(":", 1)[1])
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 30, "the workers to exit")
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        stop_api(server)


def test_a_wrong_worker_count_is_one_line(tmp_path, cli_env):
    done = cli(cli_env, "api", "--workers", "0")
    assert done.returncode == 2
    assert done.stderr.strip() == "videolake: --workers '0' is not a number of processes (1-64)"
    done = cli({**cli_env, "VIDEOLAKE_API_WORKERS": "two"}, "api")
    assert done.returncode == 2
    assert done.stderr.strip() == "videolake: VIDEOLAKE_API_WORKERS 'two' is not a number of processes (1-64)"
