from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import create_engine, text

from videolake.catalog.database import (
    CatalogConfigError,
    create_catalog_engine,
    current_revision,
    head_revision,
    parse_catalog_url,
    table_names,
    upgrade_schema,
)
from videolake.catalog.models import Video
from videolake.catalog.repository import Catalog, ListedFile

EXPECTED_TABLES = {"videos", "replicas", "derivatives", "landings", "quarantine", "landing_files", "audit_events"}


def test_migrates_to_head_and_is_idempotent(catalog_url):
    assert upgrade_schema(catalog_url) == head_revision()
    assert upgrade_schema(catalog_url) == head_revision()
    engine = create_catalog_engine(catalog_url)
    assert EXPECTED_TABLES <= set(table_names(engine))
    assert current_revision(engine) == head_revision()


def test_postgres_schema_keeps_a_shared_database_tidy(pg_server):
    db = pg_server.create_database()
    url = pg_server.url(db) + "?schema=videolake_catalog"
    catalog = Catalog(url)
    with catalog.write() as s:
        s.add(Video(sha256="a" * 64, size_bytes=1, name="n", extension="mp4", source="s", source_type="uploaded",
                    landing_uri="file:///x", landing_date=dt.date(2026, 1, 1)))
    raw = create_engine(pg_server.url(db))
    with raw.connect() as conn:
        public = conn.execute(text("select count(*) from information_schema.tables where table_schema='public'")).scalar()
        ours = conn.execute(text("select count(*) from videolake_catalog.videos")).scalar()
        version = conn.execute(text("select version_num from videolake_catalog.alembic_version")).scalar()
    assert public == 0 and ours == 1 and version == head_revision()


def test_concurrent_first_use_migrates_once(pg_server):
    url = pg_server.url(pg_server.create_database())
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade_schema(url)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert current_revision(create_catalog_engine(url)) == head_revision()


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://x/y", "only sqlite"),
        ("sqlite:///x.db?schema=a", "only for PostgreSQL"),
        ("postgresql+psycopg2://u@h/db?schema=bad;drop", "plain SQL identifier"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_catalog_urls_are_explained(url, message):
    with pytest.raises(CatalogConfigError, match=message):
        parse_catalog_url(url)


def test_bare_postgresql_url_uses_psycopg2():
    assert parse_catalog_url("postgresql://u@h/db").url.drivername == "postgresql+psycopg2"


def test_landing_observation_and_claims(catalog_url):
    catalog = Catalog(catalog_url)
    now = dt.datetime.now(dt.timezone.utc)
    fresh = now.timestamp()
    files = [ListedFile(f"a/{i}.mp4", 100 + i, fresh) for i in range(5)]
    summary = catalog.observe_landing("zone", files, tick=1)
    assert (summary.new, summary.changed, summary.vanished) == (5, 0, 0)
    # Fresh files seen for the first time are not stable yet.
    assert catalog.claim_stable("zone", 1, now=now, stable_after_seconds=0, requeue_after_seconds=3600,
                                max_files=2, max_bytes=10**9, max_batches=10, min_unchanged_seconds=0) == []
    # One file grows before the next tick: it must wait for another tick.
    grown = [*files[:4], ListedFile("a/4.mp4", 999, fresh + 1)]
    assert catalog.observe_landing("zone", grown, tick=2).changed == 1
    batches = catalog.claim_stable("zone", 2, now=dt.datetime.now(dt.timezone.utc), stable_after_seconds=0, requeue_after_seconds=3600,
                                   max_files=2, max_bytes=10**9, max_batches=10, min_unchanged_seconds=0)
    assert [b.files for b in batches] == [2, 2]
    claimed = {f.key for b in batches for f in catalog.batch_files("zone", b.batch_id)}
    assert claimed == {f"a/{i}.mp4" for i in range(4)}
    # Claimed files are not claimed again; the grown one is claimed on the next tick.
    catalog.observe_landing("zone", grown, tick=3)
    again = catalog.claim_stable("zone", 3, now=dt.datetime.now(dt.timezone.utc), stable_after_seconds=0, requeue_after_seconds=3600,
                                 max_files=2, max_bytes=10**9, max_batches=10, min_unchanged_seconds=0)
    assert [f.key for b in again for f in catalog.batch_files("zone", b.batch_id)] == ["a/4.mp4"]
    # Unchanged across ticks but for less than min_unchanged_seconds: a fast second look proves little.
    catalog.observe_landing("zone", [*grown, ListedFile("a/5.mp4", 1, fresh)], tick=4)
    catalog.observe_landing("zone", [*grown, ListedFile("a/5.mp4", 1, fresh)], tick=5)
    assert catalog.claim_stable("zone", 5, now=dt.datetime.now(dt.timezone.utc), stable_after_seconds=0,
                                requeue_after_seconds=3600, max_files=10, max_bytes=10**9, max_batches=10,
                                min_unchanged_seconds=30) == []
    # A claim whose run died is retried once it is older than requeue_after.
    later = now + dt.timedelta(hours=2)
    stale = catalog.claim_stable("zone", 6, now=later, stable_after_seconds=0, requeue_after_seconds=3600,
                                 max_files=10, max_bytes=10**9, max_batches=10, min_unchanged_seconds=0)
    assert sum(b.files for b in stale) == 6
    # Files removed from the zone by someone else are forgotten; claimed ones stay until resolved.
    catalog.release_landing_files("zone", [f"a/{i}.mp4" for i in range(6)])
    assert catalog.landing_backlog("zone") == {"seen": 0, "claimed": 0, "bytes": 0}
