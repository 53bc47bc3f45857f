"""What the catalog holds right now, for `videolake status`: kept apart from the storage use
cases (migration, adoption, scrubbing) so a look at the catalog loads only the catalog's tables
(SQLAlchemy Core, no ORM)."""

from __future__ import annotations

from typing import Any

from videolake.catalog import summaries
from videolake.catalog.database import CatalogReader
from videolake.usecases.import_views import imports_at_risk
from videolake.usecases.results import to_data


def catalog_status(catalog: CatalogReader, configuration: dict[str, str]) -> dict[str, Any]:
    """Totals, replicas per backend and state, the landing backlog, URL imports (per state, those at
    risk of missing their deadline and those that missed it), and the configuration in use."""
    risk = imports_at_risk(catalog, limit=50)
    imports = {"by_state": summaries.imports_by_state(catalog), "at_risk": to_data(risk.at_risk),
               "missed": to_data(risk.missed)}
    return {**summaries.catalog_totals(catalog), "imports": imports, "configuration": dict(configuration)}
