

def test_schema_head_constant_matches_the_newest_migration():
    from videolake.catalog.database import SCHEMA_HEAD, head_revision

    assert SCHEMA_HEAD == head_revision()  # update SCHEMA_HEAD with every new migration
