"""API keys in the catalog: only each key's SHA-256 is stored (keys are 256-bit random, so a fast
hash is enough: there is nothing to guess), looked up by that hash on every request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, update

from videolake.catalog.models import ApiKey, utcnow
from videolake.catalog.repository import Catalog

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # ``last_used_at`` is written at most this often per key
_KEY_BY_HASH = select(ApiKey.__table__).where(ApiKey.__table__.c.key_sha256 == bindparam("key_sha256"))


class ApiKeyStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def add(self, *, name: str, scope: str, key_sha256: str, expires_at: dt.datetime | None,
            created_by: str | None) -> ApiKey:
        with self.catalog.write() as s:
            row = ApiKey(name=name, scope=scope, key_sha256=key_sha256, expires_at=expires_at, created_by=created_by)
            s.add(row)
            s.flush()
            return row

    def by_hash(self, key_sha256: str) -> Any:
        """The key's row (the attributes of ``ApiKey``), or None: one plain SELECT, for every request."""
        with self.catalog.engine.connect() as conn:
            return conn.execute(_KEY_BY_HASH, {"key_sha256": key_sha256}).first()

    def get(self, key_id: int) -> ApiKey | None:
        with self.catalog.read() as s:
            return s.get(ApiKey, key_id)

    def all(self) -> Sequence[ApiKey]:
        with self.catalog.read() as s:
            return s.scalars(select(ApiKey).order_by(ApiKey.id)).all()

    def revoke(self, key_id: int, at: dt.datetime) -> ApiKey | None:
        with self.catalog.write() as s:
            row = s.get(ApiKey, key_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = at
            return row

    def touch(self, key: Any, at: dt.datetime | None = None) -> None:
        """Record a use (callers write it at most once a minute per key, not on every request)."""
        at = at or utcnow()
        with self.catalog.write() as s:
            s.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=at))
