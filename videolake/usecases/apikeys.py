"""API keys: create (shown once), list, revoke, and authenticate a request's key.

Invariants:
- The catalog holds only a key's SHA-256; a key is printed once, when it is created.
- A key is never written to a log, an error message or the audit; a key is named by its id.
- Scopes are ordered: read < write < admin; a key allows its scope and those below it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from videolake.catalog.api_keys import LAST_USED_RESOLUTION, ApiKeyStore
from videolake.catalog.models import ApiKey, utcnow
from videolake.catalog.repository import Catalog
from videolake.constants import ApiScope
from videolake.usecases.errors import InvalidInput, NotAllowed, NotAuthenticated, NotFound
from videolake.usecases.results import Result

KEY_PREFIX = "vlk_"
MIN_IMPORTED_KEY_LENGTH = 16
MAX_KEY_LENGTH = 512
SCOPE_ORDER = {ApiScope.READ: 0, ApiScope.WRITE: 1, ApiScope.ADMIN: 2}


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class ApiKeyView(Result):
    id: int
    name: str
    scope: str
    created_at: dt.datetime
    created_by: str | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
    state: str  # active, expired or revoked

    @classmethod
    def of(cls, row: ApiKey, now: dt.datetime | None = None) -> ApiKeyView:
        now = now or utcnow()
        state = ("revoked" if row.revoked_at is not None else
                 "expired" if row.expires_at is not None and row.expires_at <= now else "active")
        return cls(row.id, row.name, row.scope, row.created_at, row.created_by, row.expires_at, row.revoked_at,
                   row.last_used_at, state)


@dataclass(frozen=True)
class CreatedApiKey(Result):
    id: int
    name: str
    scope: str
    expires_at: dt.datetime | None
    key: str  # shown this once; the catalog keeps only its hash


@dataclass(frozen=True)
class Principal:
    """Who a request is: the key's id, name and scope."""

    key_id: int
    name: str
    scope: ApiScope

    def allows(self, needed: ApiScope) -> bool:
        return SCOPE_ORDER[self.scope] >= SCOPE_ORDER[needed]


def parse_scope(text: str) -> ApiScope:
    try:
        return ApiScope(text.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown scope {text!r}: use one of {', '.join(s.value for s in ApiScope)}") from None


def create_api_key(catalog: Catalog, *, name: str, scope: ApiScope, expires_in: dt.timedelta | None = None,
                   created_by: str | None = None, existing_key: str | None = None) -> CreatedApiKey:
    """A new key (``vlk_`` + 256 random bits), or ``existing_key``: the key a client already sends
    to the service videolake replaces, so that client keeps working unchanged."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("give the key a name of 1 to 200 characters (who or what uses it)")
    if expires_in is not None and expires_in <= dt.timedelta(0):
        raise InvalidInput("a key's lifetime must be longer than 0")
    if existing_key is not None:
        existing_key = existing_key.strip()
        if len(existing_key) < MIN_IMPORTED_KEY_LENGTH or len(existing_key) > MAX_KEY_LENGTH:
            raise InvalidInput(f"an imported key must be {MIN_IMPORTED_KEY_LENGTH} to {MAX_KEY_LENGTH} characters")
        if any(ch.isspace() or not ch.isprintable() for ch in existing_key):
            raise InvalidInput("an imported key cannot hold spaces or control characters")
    key = existing_key or KEY_PREFIX + secrets.token_urlsafe(32)
    store = ApiKeyStore(catalog)
    digest = key_hash(key)
    if store.by_hash(digest) is not None:
        raise InvalidInput("that key is already known (see `videolake apikey list`)")
    expires_at = utcnow() + expires_in if expires_in is not None else None
    row = store.add(name=name, scope=str(scope), key_sha256=digest, expires_at=expires_at, created_by=created_by)
    return CreatedApiKey(row.id, row.name, row.scope, row.expires_at, key)


def list_api_keys(catalog: Catalog) -> list[ApiKeyView]:
    now = utcnow()
    return [ApiKeyView.of(row, now) for row in ApiKeyStore(catalog).all()]


def revoke_api_key(catalog: Catalog, key_id: int) -> ApiKeyView:
    """Revoke a key from now on (revoking a revoked key changes nothing)."""
    row = ApiKeyStore(catalog).revoke(key_id, utcnow())
    if row is None:
        raise NotFound(f"no API key {key_id} (see `videolake apikey list`)")
    return ApiKeyView.of(row)


def authenticate(catalog: Catalog, key: str | None, needed: ApiScope, *, now: dt.datetime | None = None,
                 lookup: Callable[[str], Any] | None = None) -> Principal:
    """The principal of ``key`` if it may do what ``needed`` allows.

    NotAuthenticated: no key, an unknown one, a revoked or an expired one (the message says which
    of these, never the key); NotAllowed: a valid key whose scope is below ``needed``.
    ``lookup(sha256)`` finds a key's row (default: the catalog, now; a server may cache rows briefly).
    """
    digest = presented_digest(key)
    store = ApiKeyStore(catalog)
    row = (lookup or store.by_hash)(digest)
    now = now or utcnow()
    principal = principal_of(row, digest, needed, now)
    if last_use_due(row, now):
        store.touch(row, now)
    return principal


def presented_digest(key: str | None) -> str:
    """The SHA-256 of a presented key (what the catalog is searched by); NotAuthenticated without one."""
    if not key:
        raise NotAuthenticated("an API key is needed: send it as `Authorization: Bearer KEY` or `X-API-Key: KEY`")
    if len(key) > MAX_KEY_LENGTH:
        raise NotAuthenticated("that API key is not known")
    return key_hash(key)


def principal_of(row: Any, digest: str, needed: ApiScope, now: dt.datetime) -> Principal:
    """Who the key row says the caller is, if it may do ``needed`` now (no catalog access)."""
    if row is None or not hmac.compare_digest(row.key_sha256, digest):
        raise NotAuthenticated("that API key is not known")
    if row.revoked_at is not None:
        raise NotAuthenticated(f"API key {row.id} ({row.name}) was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated(f"API key {row.id} ({row.name}) expired on {row.expires_at:%Y-%m-%d %H:%M} UTC")
    principal = Principal(row.id, row.name, ApiScope(row.scope))
    if not principal.allows(needed):
        raise NotAllowed(f"API key {row.id} ({row.name}) has scope {row.scope}; this needs {needed.value}")
    return principal


def last_use_due(row: Any, now: dt.datetime) -> bool:
    """Whether the key's ``last_used_at`` is to be written now (at most once a minute)."""
    return row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION
