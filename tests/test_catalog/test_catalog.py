

def test_schema_head_constant_matches_the_newest_migration():
    from videolake.catalog.database import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision()  # update SCHEMA_HEAD with every new migration


def test_migrations_build_exactly_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from videolake.catalog.database import create_catalog_engine, upgrade_schema
    from videolake.catalog.models import Base

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    upgrade_schema(url)
    with create_catalog_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
