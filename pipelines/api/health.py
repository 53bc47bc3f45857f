"""What ``/api/health`` checks: the catalog, every backend, the upload spool, the Dagster instance.
Each check runs in a worker thread with a time limit; a check that fails or hangs names what is down."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from pipelines.api.services import ApiServices
from videolake.storage import open_backend

CHECK_TIMEOUT_SECONDS = 5.0


def _spool_writable(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root, prefix=".health-", delete=True):
        pass


def _dagster_instance(home: str | None) -> str:
    """The Dagster instance this API's runs land in: its storage answers (PostgreSQL), or its
    folder is there (SQLite). Read from $DAGSTER_HOME/dagster.yaml without importing Dagster."""
    if not home:
        return "not configured here (DAGSTER_HOME is not set for the API)"
    config_path = Path(home) / "dagster.yaml"
    if not Path(home).is_dir():
        raise RuntimeError(f"DAGSTER_HOME {home} does not exist")
    import yaml

    config = yaml.safe_load(config_path.read_text()) if config_path.exists() else {}
    pg = ((config or {}).get("storage") or {}).get("postgres") or {}
    if not pg:
        return f"SQLite instance in {home}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import URL

    if pg.get("postgres_url"):
        url: Any = _value(pg["postgres_url"])
    else:
        db = pg.get("postgres_db") or {}
        url = URL.create(_value(db.get("scheme")) or "postgresql+psycopg2", username=_value(db.get("username")),
                         password=_value(db.get("password")), host=_value(db.get("hostname")),
                         port=int(_value(db.get("port")) or 5432), database=_value(db.get("db_name")))
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return "PostgreSQL instance answers"


def _value(raw: Any) -> Any:
    if isinstance(raw, dict) and "env" in raw:
        return os.environ.get(str(raw["env"]))
    return raw


def checks(services: ApiServices) -> dict[str, Callable[[], Any]]:
    out: dict[str, Callable[[], Any]] = {"catalog": services.catalog.ping}
    out["storage:hot"] = services.hot.check
    out["storage:quarantine"] = services.quarantine.check
    out["storage:archive"] = lambda: open_backend(services.archive_url).check()
    out["upload_spool"] = lambda: _spool_writable(services.spool.root)
    out["dagster"] = lambda: _dagster_instance(services.dagster_home)
    return out


async def run_checks(services: ApiServices) -> tuple[bool, dict[str, dict[str, Any]]]:
    async def one(check: Callable[[], Any]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(run_in_threadpool(check), CHECK_TIMEOUT_SECONDS)
            result: dict[str, Any] = {"ok": True}
            if isinstance(detail, str):
                result["detail"] = detail
        except asyncio.TimeoutError:
            result = {"ok": False, "detail": f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"}
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none escapes
            result = {"ok": False, "detail": str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        return result

    named = checks(services)
    results = await asyncio.gather(*(one(check) for check in named.values()))
    report = dict(zip(named, results))
    return all(r["ok"] for r in report.values()), report
