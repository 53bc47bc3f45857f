"""The FastAPI application: the routers, problem+json for every error, metrics, and the work that
runs beside the requests (uploads a stopped process left half-done are ingested; unfinished
resumable uploads past their expiry are removed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pipelines.api import problems
from pipelines.api.auth import AuthGuard, KeyRows
from pipelines.api.metrics import ApiMetrics, MetricsMiddleware
from pipelines.api.routes_imports import router as imports_router
from pipelines.api.routes_links import router as links_router
from pipelines.api.routes_ops import router as ops_router
from pipelines.api.routes_uploads import _ingest_now
from pipelines.api.routes_tus import TusResumableHeader
from pipelines.api.routes_tus import router as tus_router
from pipelines.api.routes_uploads import router as uploads_router
from pipelines.api.routes_videos import router as videos_router
from pipelines.api.services import ApiServices
from videolake.catalog.models import utcnow
from videolake.usecases.uploads import expire_uploads, uploads_to_resume

log = logging.getLogger("videolake.api")
HOUSEKEEPING_SECONDS = 600.0
API_VERSION = "1"


def _audit_failed_keys(services_of: Callable[[], ApiServices]) -> Callable[[str, int, str, str], None]:
    def audit(client: str, count: int, path: str, reason: str) -> None:
        catalog = services_of().catalog
        with catalog.write() as s:  # the client and why, never the key
            catalog.add_audit(s, "api_key_refused", detail={"client": client, "failures": count, "path": path,
                                                           "reason": reason})
    return audit


async def _housekeeping(services: ApiServices) -> None:
    loop = asyncio.get_running_loop()
    while True:
        try:
            for upload_id in await loop.run_in_executor(None, uploads_to_resume, services.catalog):
                loop.run_in_executor(services.ingest_pool, _resume, services, upload_id)
            await loop.run_in_executor(None, expire_uploads, services.catalog, services.spool, utcnow())
        except Exception:  # noqa: BLE001 - retried at the next round; the catalog may be down for a while
            log.exception("upload housekeeping failed; retrying in %.0f s", HOUSEKEEPING_SECONDS)
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def _resume(services: ApiServices, upload_id: str) -> None:
    from videolake.usecases.uploads import get_upload

    try:
        upload = get_upload(services.catalog, upload_id)
        _ingest_now(services, upload_id, upload.sha256 or upload_id)
    except Exception:  # noqa: BLE001 - the upload's row says what happened; the next round retries
        log.exception("resuming upload %s failed", upload_id)


def create_app(services_factory: Callable[[], ApiServices] = ApiServices.from_environment, *,
               housekeeping: bool = True) -> FastAPI:
    """The application; its services are built when it starts (``services_factory``), never at import.
    ``housekeeping``: this process resumes left uploads and expires resumable ones (one worker of
    several does it)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = services_factory()
        app.state.services = services
        app.state.key_rows = KeyRows(services.catalog)
        task = asyncio.create_task(_housekeeping(services)) if housekeeping else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            services.close()

    app = FastAPI(title="videolake", version=API_VERSION, lifespan=lifespan,
                  description="Store, catalog and serve video: uploads (form and resumable), videos, links, "
                              "operations. Errors are application/problem+json (RFC 9457).")
    app.state.metrics = ApiMetrics(lambda: app.state.services.catalog)
    app.state.auth_guard = AuthGuard(_audit_failed_keys(lambda: app.state.services),
                                     lambda: app.state.services.free_key_failures)
    app.add_middleware(TusResumableHeader)
    app.add_middleware(MetricsMiddleware, metrics=lambda: app.state.metrics)
    problems.install(app)
    for router in (uploads_router, tus_router, videos_router, imports_router, links_router, ops_router):
        app.include_router(router)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = problems.PROBLEM_SCHEMA
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
