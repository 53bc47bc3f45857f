"""A real ``videolake api`` process on a free loopback port, with keys of each scope made by the
``videolake apikey`` command, and a home of its own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import cli
from tests.servers import free_port, stop_pid, wait_for_port

VIDEOLAKE = str(Path(sys.executable).with_name("videolake"))
MAX_UPLOAD = 64 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ApiServer:
    base: str
    env: dict[str, str]
    home: Path
    keys: dict[str, str]  # scope -> key
    proc: subprocess.Popen
    log: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, scope: str | None = "write", **kwargs) -> httpx.Client:
        headers = {"X-API-Key": self.keys[scope]} if scope else {}
        client = httpx.Client(base_url=self.base, headers=headers, timeout=60, **kwargs)
        self.clients.append(client)
        return client

    def spool_files(self) -> list[Path]:
        root = self.home / "spool"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

    def wait_for_upload(self, client: httpx.Client, status_url: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = client.get(status_url).json()
            if body["upload"]["state"] in ("done", "quarantined"):
                return body
            time.sleep(0.1)
        raise TimeoutError(f"upload not ingested: {body}")


def promtool() -> str:
    found = shutil.which("promtool") or str(ROOT / "tools" / "prometheus" / "usr" / "bin" / "promtool")
    assert Path(found).exists(), "promtool is installed by ./scripts/setup --test"
    return found


def start_api(base_dir: Path, extra_env: dict[str, str] | None = None) -> ApiServer:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOLAKE_") and k != "DAGSTER_HOME"}
    env.update({"VIDEOLAKE_HOME": str(base_dir / "home"), "VIDEOLAKE_SETTLE_SECONDS": "0",
                "VIDEOLAKE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD), **(extra_env or {})})
    assert cli(env, "db", "upgrade").returncode == 0
    keys = {}
    for scope in ("read", "write", "admin"):
        made = cli(env, "apikey", "create", "--name", f"test {scope}", "--scope", scope)
        assert made.returncode == 0, made.stderr
        keys[scope] = made.stdout.strip().splitlines()[-1]
    port = free_port()
    base_dir.mkdir(parents=True, exist_ok=True)
    log = base_dir / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([VIDEOLAKE, "api", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout=60, proc=proc)
    return ApiServer(f"http://127.0.0.1:{port}", env, base_dir / "home", keys, proc, log)


def stop_api(server: ApiServer) -> None:
    for client in server.clients:
        client.close()
    stop_pid(server.proc.pid)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = start_api(tmp_path_factory.mktemp("api"))
    yield server
    stop_api(server)
