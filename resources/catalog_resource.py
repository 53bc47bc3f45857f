
import dagster as dg
from pydantic import Field

from videolake.catalog.repository import Catalog


class CatalogResource(dg.ConfigurableResource):
    """The catalog database (SQLite file or PostgreSQL, optionally ``?schema=NAME``)."""

    url: str = Field(description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg2://user@host/db[?schema=s]")

    def catalog(self) -> Catalog:
        # Engines are cached per URL and process; the schema is migrated on first use.
        return Catalog(self.url)
