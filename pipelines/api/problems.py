"""Every error the API answers is ``application/problem+json`` (RFC 9457): ``type``, ``title``,
``status``, ``detail`` (one sentence a tired operator can act on) and ``instance`` (the path).

Use-case errors map by their own ``http_status``; request errors the API finds itself (a body too
large, malformed multipart) raise ``Problem``; FastAPI's own validation errors and unknown routes
become problems too; anything else is a 500 whose detail names no internals.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from videolake.usecases.errors import UseCaseError

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://videolake.dev/problems/"
log = logging.getLogger("videolake.api")


EXTRA_PHRASES = {460: "Checksum Mismatch"}  # tus's checksum extension


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return EXTRA_PHRASES.get(status, "Error")


class Problem(Exception):
    """A request the API refuses itself: an HTTP status, a short type slug and one clear sentence."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or phrase(status).lower().replace(" ", "-")
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, detail: str, *, instance: str | None = None, kind: str | None = None,
                     title: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    text = phrase(status)
    body = {"type": TYPE_BASE + (kind or text.lower().replace(" ", "-")), "title": title or text,
            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.detail, instance=request.url.path, kind=exc.kind,
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(UseCaseError)
    async def _use_case(request: Request, exc: UseCaseError) -> JSONResponse:
        kind = type(exc).__name__.replace("Error", "")
        slug = "".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in kind).strip("-")
        headers = {"WWW-Authenticate": 'Bearer realm="videolake"'} if exc.http_status == 401 else None
        return problem_response(exc.http_status, str(exc), instance=request.url.path, kind=slug,
                                title=type(exc).title, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['where']}: {e['problem']}" for e in errors[:5]) or "the request is not valid"
        return problem_response(422, detail, instance=request.url.path, kind="invalid-request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase \
            else {404: f"no such resource: {request.url.path}",
                  405: f"{request.method} is not allowed on {request.url.path}"}.get(exc.status_code,
                                                                                    HTTPStatus(exc.status_code).phrase)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method some route takes on this path, not the first route's
            allowed = {m for route in request.app.routes if getattr(route, "methods", None)
                       and getattr(route, "path_regex", None) is not None
                       and route.path_regex.match(request.url.path) for m in route.methods}
            headers["Allow"] = ", ".join(sorted(allowed))
        return problem_response(exc.status_code, detail, instance=request.url.path, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "an unexpected error; it is logged on the server (nothing was changed "
                                     "that is not recorded)", instance=request.url.path, kind="internal-error")


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problem statuses a route can answer."""
    return {status: {"description": phrase(status),
                     "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
