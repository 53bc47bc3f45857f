"""Engine creation and schema migration for the catalog (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import re
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool, QueuePool

from videolake.catalog.locks import file_lock, sqlite_lock_path
from videolake.constants import CatalogLock

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MIGRATION_LOCK_ID = 0x7669646C  # "vidl": pg_advisory_lock key for migrations

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_migrated: set[str] = set()


class CatalogConfigError(ValueError):
    """The catalog URL is not usable."""


@dataclass(frozen=True)
class CatalogUrl:
    url: URL
    schema: str | None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def parse_catalog_url(raw: str) -> CatalogUrl:
    """Parse a catalog URL; ``?schema=NAME`` on PostgreSQL selects a schema in a shared database."""
    try:
        url = make_url(raw)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types here
        raise CatalogConfigError(f"catalog URL {raw!r} is not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise CatalogConfigError(
            f"catalog URL {url.render_as_string(hide_password=True)!r}: only sqlite:/// and "
            "postgresql+psycopg2:// are supported"
        )
    schema = url.query.get("schema")
    if isinstance(schema, tuple):
        schema = schema[-1]
    if schema is not None:
        if backend != "postgresql":
            raise CatalogConfigError("the ?schema= option is only for PostgreSQL catalog URLs")
        if not _SCHEMA_NAME.match(schema):
            raise CatalogConfigError(f"schema name {schema!r} is not a plain SQL identifier")
        url = url.difference_update_query(["schema"])
    if backend == "postgresql" and url.drivername == "postgresql":
        # SQLAlchemy 2.1 maps bare postgresql:// to psycopg 3; this project ships psycopg2.
        url = url.set(drivername="postgresql+psycopg2")
    if backend == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return CatalogUrl(url=url, schema=schema)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Python's sqlite3 opens transactions lazily; take control so BEGIN IMMEDIATE works.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a brand-new database to WAL takes its lock, and two
        # processes opening a new home at once would otherwise fail with "database is locked".
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Writers (execution option sqlite_immediate) queue on the database lock up front
        # instead of failing on a lock upgrade; readers never block a writer under WAL.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_catalog_engine(raw_url: str, *, pooled: bool = False) -> Engine:
    """An engine for the catalog. SQLite connections are opened per use (commands and runs are
    short, and a process pool may fork them), unless ``pooled``: a long-lived server keeps a few
    open (each open costs its PRAGMAs, ~1 ms), shared between its threads."""
    parsed = parse_catalog_url(raw_url)
    if parsed.is_sqlite:
        if pooled:
            engine = create_engine(parsed.url, poolclass=QueuePool, pool_size=8, max_overflow=24,
                                   connect_args={"check_same_thread": False})
        else:
            engine = create_engine(parsed.url, poolclass=NullPool)
        _configure_sqlite(engine)
        return engine
    connect_args = {}
    if parsed.schema:
        connect_args["options"] = f"-csearch_path={parsed.schema}"
    return create_engine(
        parsed.url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args
    )


def server_engine(raw_url: str) -> Engine:
    """A pooled engine for a long-lived server process, the catalog migrated first."""
    upgrade_schema(raw_url)
    return create_catalog_engine(raw_url, pooled=True)


def get_engine(raw_url: str) -> Engine:
    """One engine per URL per process, migrated to the newest schema on first use."""
    with _engines_lock:
        engine = _engines.get(raw_url)
        if engine is None:
            engine = create_catalog_engine(raw_url)
            _engines[raw_url] = engine
    if raw_url not in _migrated:
        upgrade_schema(raw_url, engine)
        _migrated.add(raw_url)
    return engine


class CatalogReader:
    """The catalog opened for reading through SQLAlchemy Core (``videolake.catalog.tables``): what a
    command that only looks needs, without the ORM (``Catalog`` adds sessions and every write)."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or get_engine(url)

    def connect(self) -> Connection:
        """A connection, for ``with``: its statements run in one transaction, rolled back when the
        block ends (a reader writes nothing)."""
        return self.engine.connect()


def _alembic_config(schema: str | None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["schema"] = schema
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# The newest migration's revision; a test keeps it equal to Alembic's head.
SCHEMA_HEAD = "0010"


def _stored_revision(engine: Engine) -> str | None:
    """The catalog's alembic_version row, read with plain SQL (None when there is none yet)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception:  # noqa: BLE001 - no table yet (new catalog) or another schema layout: let Alembic look
        return None
    return rows[0] if len(rows) == 1 else None


def upgrade_schema(raw_url: str, engine: Engine | None = None) -> str:
    """Bring the catalog to the newest revision; safe to call concurrently from many processes."""
    parsed = parse_catalog_url(raw_url)
    engine = engine or create_catalog_engine(raw_url)
    if _stored_revision(engine) == SCHEMA_HEAD:
        return SCHEMA_HEAD  # the common case, answered without importing Alembic (~0.2 s per process)
    from alembic import command

    head = head_revision()
    if current_revision(engine) == head:
        return head
    if parsed.is_sqlite:
        # Two processes creating a new home at once: one creates the tables, the other then finds them.
        lock_path = sqlite_lock_path(engine, CatalogLock.SCHEMA)
        with file_lock(lock_path) if lock_path is not None else nullcontext():
            with engine.connect() as conn:
                if current_revision(engine) != head:
                    cfg = _alembic_config(parsed.schema)
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    conn.commit()
        return head
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
        if parsed.schema:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{parsed.schema}"'))
        conn.commit()
        try:
            cfg = _alembic_config(parsed.schema)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_ID})
            conn.commit()
    return head


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
