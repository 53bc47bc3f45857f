

def test_schema_head_constant_matches_the_newest_migration():
    from videolake.catalog.database import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision()  # update SCHEMA_HEAD with every new migration


def test_opening_a_current_catalog_does_not_load_alembic(tmp_path):
    """Every command opens the catalog; at head that must not cost an Alembic import."""
    import subprocess
    import sys

    from videolake.catalog.database import upgrade_schema

    url = f"sqlite:///{tmp_path / 'current.sqlite'}"
    upgrade_schema(url)
    probe = ("import sys; from videolake.catalog.repository import Catalog; Catalog(sys.argv[1]).read().__enter__(); "
             "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    done = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


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
