"""Numbers in run metadata for people: beside every size and duration, the same in words.

The raw number stays (Dagster plots numeric metadata over time); ``…_readable`` says ``3.2 MB`` or
``10 h`` next to it, so nobody has to read ``3329136`` or ``36000.0 s``.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from videolake.display import human_bytes, human_duration


def _number(value: Any) -> float | None:
    raw = getattr(value, "value", value)
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def with_readable(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with a ``<key>_readable`` text after each ``…bytes…`` and ``…duration_s`` number."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        out[key] = value
        number = _number(value)
        if number is None:
            continue
        if "bytes" in key:
            out[f"{key}_readable"] = dg.MetadataValue.text(human_bytes(number))
        elif key.endswith("duration_s"):
            out[f"{key}_readable"] = dg.MetadataValue.text(human_duration(number))
    return out
