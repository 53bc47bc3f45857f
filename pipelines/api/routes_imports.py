"""URL imports over HTTP: ``POST /api/v1/imports`` queues URLs to keep before they expire (the
catalog's queue, fetched by the import sensor's runs), ``GET /api/v1/imports/{id}`` says where one
stands. The same use cases as ``videolake import``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from pipelines.api.auth import require
from pipelines.api.problems import documented
from pipelines.api.services import ApiServices
from videolake.constants import ApiScope
from videolake.usecases.apikeys import Principal
from videolake.usecases.errors import NotFound
from videolake.usecases.imports import GENERATION_KEYS, ImportRequest, get_imports, queue_imports

router = APIRouter(tags=["imports"])
MAX_BATCH = 1000


class ImportItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=8192, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s@]+([/?#]\S*)?$",
                     description="an http(s) URL (no user name or password in it)")
    expires_at: dt.datetime | None = Field(None, description="when the URL stops working (no offset means UTC)")
    expires_in_s: float | None = Field(None, gt=0, le=10 * 365 * 86400, description="or: seconds it works from now")
    name: str | None = Field(None, max_length=255, description="the file name the video gets")
    source: str | None = Field(None, max_length=200)
    provider: str | None = Field(None, max_length=200)
    model: str | None = Field(None, max_length=200)
    prompt: str | None = Field(None, max_length=20_000)
    parameters: dict[str, Any] | None = None
    job_id: str | None = Field(None, max_length=200)

    def request(self) -> ImportRequest:
        deadline = self.expires_at
        if deadline is not None and deadline.tzinfo is None:
            deadline = deadline.replace(tzinfo=dt.timezone.utc)
        if deadline is None and self.expires_in_s is not None:
            deadline = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.expires_in_s)
        details = {k: getattr(self, k) for k in GENERATION_KEYS if getattr(self, k) is not None}
        return ImportRequest(self.url, deadline=deadline, name=self.name, source=self.source, details=details or None)


class ImportBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    imports: list[ImportItem] = Field(min_length=1, max_length=MAX_BATCH)


def _services(request: Request) -> ApiServices:
    return request.app.state.services


@router.post("/api/v1/imports", status_code=202, responses=documented(400, 401, 403, 422, 429))
async def create_imports(body: ImportItem | ImportBatch, request: Request,
                         principal: Principal = Depends(require(ApiScope.WRITE))) -> dict[str, Any]:
    """Queue URLs to fetch and keep before they expire (one, or `imports`: up to 1,000; all or none).
    A URL already queued and not finished is answered with its import."""
    items = body.imports if isinstance(body, ImportBatch) else [body]
    services = _services(request)
    views = await services.call(queue_imports, services.catalog, [i.request() for i in items])
    return {"imports": [v.to_dict() for v in views]}


@router.get("/api/v1/imports/{import_id}", responses=documented(401, 403, 404, 422, 429))
async def get_import(import_id: str, request: Request,
                     principal: Principal = Depends(require(ApiScope.READ))) -> dict[str, Any]:
    """One import: its state (pending, fetching, done, failed, expired), attempts, last error, video."""
    services = _services(request)
    found = await services.call(get_imports, services.catalog, [import_id[:64]])
    if not found:
        raise NotFound(f"no import {import_id[:64]!r}")
    return found[0].to_dict()
