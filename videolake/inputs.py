"""What people and files hand videolake as text, read once: instants, days, durations, names.

Each parser raises ``ValueError`` with a sentence that shows the text and an example of what is
expected; an entry point adds which flag or field it came from.
"""

from __future__ import annotations

import datetime as dt
import re

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601 (``2026-11-20T10:00:00Z``, ``…+01:00``, ``2026-11-20 10:00``) in UTC; no offset means UTC."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{text!r} is not an ISO 8601 time such as 2026-11-20T10:00:00Z") from exc
    return as_utc(value)


def as_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; a naive time is taken to be UTC already."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def parse_day(text: str) -> dt.date:
    """A calendar day, ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text.strip())
    except (ValueError, AttributeError) as exc:
        raise ValueError(f"{text!r} is not a day (YYYY-MM-DD)") from exc


def parse_duration(text: str) -> int:
    """``90s``, ``30m``, ``48h``, ``7d`` (or plain seconds) to whole seconds, more than 0."""
    match = _DURATION.fullmatch(text.lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 30m, 48h or 7d")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 1:
        raise ValueError(f"{text!r} is shorter than a second")
    return int(seconds)


def safe_name(name: str, *, fallback: str = "file", limit: int = 120) -> str:
    """``name`` with every run of characters other than letters, digits, ``._-`` made one ``_``:
    safe as a file name and an object key on every backend. The end is kept when it is too long
    (the extension says what the file is)."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or fallback
    return cleaned[-limit:]
