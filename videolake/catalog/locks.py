"""Named locks shared by every process that uses one catalog.

PostgreSQL: a session-level advisory lock on a connection of its own (``pg_advisory_lock``), so
it spans several transactions of other connections. SQLite: ``flock(2)`` on a file beside the
database, which every process on the machine (the only place a SQLite catalog is shared) sees;
flock locks belong to open file descriptions, so two threads of one process exclude each other too.

Invariants: a lock is released when its holder exits or dies (the connection closes, the file
descriptor goes), so a crash never leaves one behind; each name maps to its own lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from videolake.constants import CatalogLock


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key per lock name."""
    return int.from_bytes(hashlib.sha256(f"videolake:{name}".encode()).digest()[:8], "big", signed=True)


def sqlite_lock_path(engine: Engine, name: str) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).expanduser().with_name(f"{Path(database).name}.{name}.lock")


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """``flock(2)`` on ``path``, taken through a turnstile (a second flock, ``<path>.turnstile``, held
    while waiting and let go once the lock is held). flock alone is not fair: a holder that lets go
    and asks again at once (a retention sweep, batch after batch) could overtake a waiter every
    time, and a legal hold asked for during a long sweep waited for the whole sweep. Through the
    turnstile, the one already waiting holds the gate, so the holder's next turn comes after its."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gate = os.open(path.with_name(f"{path.name}.turnstile"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
    finally:
        os.close(gate)  # closing releases the flock
    try:
        yield
    finally:
        os.close(fd)


@contextmanager
def catalog_lock(engine: Engine, name: CatalogLock) -> Iterator[None]:
    """Hold the catalog-wide lock ``name`` for the duration of the block."""
    if engine.dialect.name == "sqlite":
        path = sqlite_lock_path(engine, name)
        if path is None:
            yield
            return
        with file_lock(path):
            yield
        return
    key = _advisory_key(name)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def lock_in_transaction(session: Any, name: CatalogLock) -> None:
    """Hold ``name`` until the session's transaction ends. SQLite write transactions are already
    exclusive (BEGIN IMMEDIATE); PostgreSQL takes a transaction-level advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _advisory_key(name)})
