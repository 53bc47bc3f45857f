"""Alembic environment: run with a connection handed in by videolake.catalog.database."""

from alembic import context

from videolake.catalog.models import Base

config = context.config
connection = config.attributes["connection"]
schema = config.attributes.get("schema")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=schema,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
