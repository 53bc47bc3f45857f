"""One serializer for every result: what ``--json`` prints is what the HTTP API returns.

Results are frozen dataclasses; ``to_dict`` turns one into JSON-ready data the same way everywhere:
datetimes as ISO 8601 in UTC, enums as their values, nested results and lists as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from enum import Enum
from typing import Any


_PLAIN = (str, int, float, bool, type(None))


@functools.cache
def _shown_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal"))


def to_data(value: Any) -> Any:
    """JSON-ready data of a result, a list of them, or a plain value."""
    kind = type(value)
    if kind in _PLAIN:  # the common case first (an enum member is never exactly one of these)
        return value
    if kind is dict:
        return {str(k): to_data(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [to_data(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_data(getattr(value, name)) for name in _shown_fields(kind)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    return value


class Result:
    """Mixin of every use-case result: ``to_dict`` is its one serialized form."""

    def to_dict(self) -> dict[str, Any]:
        return to_data(self)


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def uri(backend: str, key: str) -> str:
    """The URI of an object: its backend's URL and its key."""
    return f"{backend.rstrip('/')}/{key}"


def internal() -> Any:
    """A field kept on the result for entry points, left out of its serialized form."""
    return dataclasses.field(default=None, metadata={"internal": True}, compare=False, repr=False)
