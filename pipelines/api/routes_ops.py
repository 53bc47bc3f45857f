"""Operations: ``/api/health``, ``/api/storage/status``, ``/api/storage/cleanup``, ``/metrics``."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from pipelines.api.auth import require
from pipelines.api.health import run_checks
from pipelines.api.problems import Problem, documented, problem_response
from pipelines.api.services import ApiServices
from videolake.catalog.models import utcnow
from videolake.constants import ApiScope
from videolake.retention.policy import Keep, PolicyError, RetentionPolicy, load_policy
from videolake.usecases.apikeys import Principal
from videolake.usecases.errors import ConfigurationError
from videolake.usecases.retention import RetentionRequest, run_retention
from videolake.usecases.usage import storage_usage

router = APIRouter(tags=["operations"])
MAX_CLEANUP_BODY = 64 * 1024
MAX_AGE_HOURS = 24 * 365 * 100


def _services(request: Request) -> ApiServices:
    return request.app.state.services


@router.get("/api/health", responses={503: {"description": "something videolake needs is down; `checks` says what"}})
async def health(request: Request) -> JSONResponse:
    """The catalog, every backend, the upload spool and the Dagster instance, each checked now."""
    ok, report = await run_checks(_services(request))
    down = [name for name, r in report.items() if not r["ok"]]
    if ok:
        return JSONResponse({"status": "healthy", "checks": report})
    # A problem's ``status`` is the HTTP status; the verdict goes in ``health``.
    return problem_response(503, f"down: {', '.join(down)} ({report[down[0]]['detail']})", instance=request.url.path,
                            kind="unhealthy", health="unhealthy", checks=report)


@router.get("/api/storage/status", responses=documented(401, 403, 429))
def storage_status(request: Request, principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """Per backend: objects and bytes the catalog records there, and free and total bytes where the
    backend can tell; the upload-and-serve service's disk_* and temp_files_* figures."""
    services = _services(request)
    backends = {"hot": services.hot, "archive": services.backend(services.archive_url), "quarantine": services.quarantine}
    return storage_usage(services.catalog, backends, services.spool.root).to_dict()


CLEANUP_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["max_age_hours"],
    "properties": {"max_age_hours": {"type": "number", "exclusiveMinimum": 0},
                   "apply": {"type": "boolean", "default": False, "description": "delete (else a dry run)"}},
    "additionalProperties": False}}}}}


@router.post("/api/storage/cleanup", openapi_extra=CLEANUP_BODY, responses=documented(400, 401, 403, 413, 422, 429, 500))
async def cleanup(request: Request, principal: Principal = Depends(require(ApiScope.ADMIN))) -> JSONResponse:
    """Videos older than `max_age_hours`: a retention plan (a dry run) or, with `"apply": true`, its
    deletion through the guarded sweep — holds, guardrails and the audit as everywhere."""
    raw = await request.body()  # any Content-Type: `curl -d '{…}'` sends JSON as a form
    if len(raw) > MAX_CLEANUP_BODY:
        raise Problem(413, "the cleanup body is over 64 KiB", kind="too-large")
    try:
        body = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(400, f"the body is not JSON: {exc}", kind="invalid-body") from None
    if not isinstance(body, dict):
        raise Problem(400, 'the body must be a JSON object like {"max_age_hours": 720}', kind="invalid-body")
    unknown = sorted(set(body) - {"max_age_hours", "apply"})
    if unknown:
        raise Problem(400, f"unknown field(s) {', '.join(unknown)[:100]}; known: max_age_hours, apply", kind="unknown-field")
    hours, apply = body.get("max_age_hours"), body.get("apply", False)
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours) \
            or not 0 < hours <= MAX_AGE_HOURS:
        raise Problem(422, f"max_age_hours must be a number above 0 and at most {MAX_AGE_HOURS}", kind="invalid-field")
    if not isinstance(apply, bool):
        raise Problem(422, "apply must be true or false", kind="invalid-field")
    services = _services(request)
    outcome = await run_in_threadpool(_cleanup, services, float(hours), apply)
    out = outcome.to_dict()
    out["max_age_hours"] = hours
    if outcome.refused_to_apply:
        return problem_response(422, f"refused, nothing was deleted: {'; '.join(outcome.refused)}",
                                instance=request.url.path, kind="refused", **out)
    return JSONResponse(out)


def _cleanup(services: ApiServices, hours: float, apply: bool) -> Any:
    """Everything older than ``hours`` is due: keep_days 0 as of ``hours`` ago. The configured
    guardrail (max_delete_share) holds; holds and export windows are the sweep's own."""
    try:
        configured = load_policy(services.retention_policy_path)
    except PolicyError as exc:
        raise ConfigurationError(f"the retention policy {services.retention_policy_path} is invalid: {exc}") from exc
    policy = RetentionPolicy(default=Keep(keep_days=0), max_delete_share=configured.max_delete_share,
                             origin=f"cleanup: older than {hours:g} hours (guardrails of {configured.origin})")
    as_of = utcnow() - dt.timedelta(hours=hours)
    return run_retention(services.catalog, policy, services.hot.url, RetentionRequest(as_of=as_of, apply=apply),
                         run_id=f"cleanup-{uuid.uuid4().hex[:16]}")


@router.get("/metrics", response_class=Response, responses={
    200: {"description": "Prometheus text format", "content": {"text/plain": {}}}, **documented(401, 403, 429)})
def metrics(request: Request, principal: Principal = Depends(require(ApiScope.READ))) -> Response:
    """Requests and latency per route and status, upload bytes, ingest outcomes, stored figures."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
