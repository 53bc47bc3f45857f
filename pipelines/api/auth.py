"""API keys on requests: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``, and a guard that
slows down clients whose keys keep failing and audits them (never the key itself)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from pipelines.api.problems import Problem
from videolake.constants import ApiScope
from videolake.catalog.api_keys import ApiKeyStore
from videolake.catalog.models import utcnow
from videolake.usecases.apikeys import Principal, authenticate, last_use_due, presented_digest, principal_of
from videolake.usecases.errors import NotAllowed, NotAuthenticated

bearer = HTTPBearer(auto_error=False, description="an API key: `Authorization: Bearer KEY`")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key: `X-API-Key: KEY`")

WINDOW_SECONDS = 300.0  # failures are counted over the last five minutes
MAX_DELAY_SECONDS = 8.0
LOCKOUT_FACTOR = 10  # beyond ten times the free failures a failing client is answered 429 (a valid key still passes)
AUDIT_EVERY_SECONDS = 60.0  # one audit event per failing client per minute, with the count


@dataclass
class _Client:
    failures: deque[float] = field(default_factory=deque)
    audited_at: float = 0.0
    unaudited: int = 0


class AuthGuard:
    """Per client address: failed attempts over a window; each failure past the free ones (a typo or
    two costs nothing; VIDEOLAKE_API_FREE_KEY_FAILURES) is answered later, doubling up to 8 s; past
    ten times that the answer is 429 with Retry-After. In memory, per process."""

    def __init__(self, audit: Callable[[str, int, str, str], None], free_failures: Callable[[], int]) -> None:
        self._clients: dict[str, _Client] = {}
        self._audit = audit
        self._free = free_failures

    def _recent(self, client: str, now: float) -> _Client:
        entry = self._clients.setdefault(client, _Client())
        while entry.failures and entry.failures[0] < now - WINDOW_SECONDS:
            entry.failures.popleft()
        return entry

    async def failed(self, client: str, path: str, reason: str) -> None:
        now = time.monotonic()
        entry = self._recent(client, now)
        entry.failures.append(now)
        entry.unaudited += 1
        if now - entry.audited_at >= AUDIT_EVERY_SECONDS:
            count, entry.unaudited, entry.audited_at = entry.unaudited, 0, now
            await run_in_threadpool(self._audit, client, count, path, reason)
        if len(self._clients) > 10_000:  # forget the oldest quiet clients
            for key in [k for k, v in self._clients.items() if not v.failures][:5_000]:
                self._clients.pop(key, None)
        free = self._free()
        over = len(entry.failures) - free
        if len(entry.failures) > max(LOCKOUT_FACTOR * free, LOCKOUT_FACTOR):
            retry = int(entry.failures[0] + WINDOW_SECONDS - now) + 1
            raise Problem(429, f"too many failed API keys from {client}; try again in {retry} s",
                          kind="too-many-failed-keys", headers={"Retry-After": str(retry)})
        if over > 0:
            await asyncio.sleep(min(MAX_DELAY_SECONDS, 0.25 * 2 ** (over - 1)))


def presented_key(bearer_credentials: HTTPAuthorizationCredentials | None, header_key: str | None) -> str | None:
    """The key a request sends, in either header; two different keys are refused (whichever would
    be taken, the other one was meant: a confused client, never silently one of them)."""
    bearer = bearer_credentials.credentials.strip() if bearer_credentials and bearer_credentials.credentials else None
    header = header_key.strip() if header_key else None
    if bearer and header and bearer != header:
        raise NotAuthenticated("two different API keys were sent (Authorization and X-API-Key): send one")
    return header or bearer


class KeyRows:
    """Key rows this process read in the last second: a request with a key seen a moment ago is
    answered without a catalog read. A key revoked (or created) elsewhere counts within a second."""

    TTL_SECONDS = 1.0
    MAX_ROWS = 10_000

    def __init__(self, catalog: Any) -> None:
        self._store = ApiKeyStore(catalog)
        self._rows: dict[str, tuple[float, Any]] = {}

    def fresh(self, digest: str) -> tuple[bool, Any]:
        cached = self._rows.get(digest)
        if cached is not None and time.monotonic() - cached[0] < self.TTL_SECONDS:
            return True, cached[1]
        return False, None

    def lookup(self, digest: str) -> Any:
        """The row from the catalog (remembered for a second); runs on a catalog thread."""
        row = self._store.by_hash(digest)
        if len(self._rows) >= self.MAX_ROWS:
            self._rows.clear()
        self._rows[digest] = (time.monotonic(), row)
        return row

    def forget(self, digest: str) -> None:
        self._rows.pop(digest, None)


def require(scope: ApiScope) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the request's principal, if its key allows ``scope``."""

    async def principal(request: Request,
                        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                        header_key: str | None = Depends(api_key_header)) -> Principal:
        services = request.app.state.services
        try:
            key = presented_key(credentials, header_key)
            digest = presented_digest(key)
            rows: KeyRows = request.app.state.key_rows
            seen, row = rows.fresh(digest)
            if not seen:
                return await services.call(authenticate, services.catalog, key, scope, lookup=rows.lookup)
            now = utcnow()
            found = principal_of(row, digest, scope, now)
            if last_use_due(row, now):
                rows.forget(digest)  # read again next time, with the use written
                await services.call(ApiKeyStore(services.catalog).touch, row, now)
            return found
        except (NotAuthenticated, NotAllowed) as exc:
            client = request.client.host if request.client else "unknown"
            if credentials is not None or header_key:  # a missing key is a client not configured yet, not a guess
                await request.app.state.auth_guard.failed(client, request.url.path, type(exc).__name__)
            raise

    return principal
