"""What the catalog holds right now, for `videolake status`: kept apart from the storage use
cases (migration, adoption, scrubbing) so a look at the catalog loads only the catalog."""

from __future__ import annotations

from typing import Any

from videolake.catalog.imports import ImportStore
from videolake.catalog.repository import Catalog
from videolake.usecases.imports import imports_at_risk
from videolake.usecases.results import to_data


def catalog_status(catalog: Catalog, configuration: dict[str, str]) -> dict[str, Any]:
    """Totals, replicas per backend and state, the landing backlog, URL imports (per state, those at
    risk of missing their deadline and those that missed it), and the configuration in use."""
    risk = imports_at_risk(catalog, limit=50)
    imports = {"by_state": ImportStore(catalog).count_by_state(), "at_risk": to_data(risk.at_risk),
               "missed": to_data(risk.missed)}
    return {**catalog.status(), "imports": imports, "configuration": dict(configuration)}
