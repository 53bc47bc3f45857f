"""HTTP Range requests (RFC 9110 14.1.2): which bytes a ``Range`` header asks for, bounded — a
header of thousands of digits or hundreds of ranges never costs more than a few comparisons."""

from __future__ import annotations

import re

_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
MAX_POSITION_DIGITS = 19  # any byte position past 10**19 lies beyond every file
MAX_RANGES = 16  # more ranges than this in one request: the whole file is sent instead (RFC 9110 14.2 allows it)

Span = tuple[int, int]  # first and last byte, inclusive


def parse_ranges(header: str | None, size: int) -> list[Span] | None | str:
    """The satisfiable ranges of a ``Range`` header (RFC 9110 14.1.2): None without one (or with one
    to ignore: another unit, too many ranges), "invalid" when none can be satisfied (416)."""
    if not header:
        return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return None if unit.strip().lower() != "bytes" else "invalid"
    parts = specs.split(",")
    if len(parts) > MAX_RANGES:
        return None
    spans: list[Span] = []
    for part in parts:
        match = _RANGE_SPEC.match(part)
        if not match or (match.group(1) == "" and match.group(2) == ""):
            return "invalid"  # a malformed range set: answered as unsatisfiable, never a dropped connection
        first, last = match.group(1), match.group(2)
        if first == "":  # the last N bytes
            length = size if len(last) > MAX_POSITION_DIGITS else int(last)
            if length > 0 and size > 0:
                spans.append((max(0, size - length), size - 1))
            continue
        if len(first) > MAX_POSITION_DIGITS:
            continue  # starts past the end
        start = int(first)
        end = size - 1 if last == "" or len(last) > MAX_POSITION_DIGITS else int(last)
        if end < start:
            return "invalid"
        if start < size:
            spans.append((start, min(end, size - 1)))
    return spans or "invalid"


def parse_range(header: str | None, size: int) -> Span | None | str:
    """The first satisfiable range (see ``parse_ranges``)."""
    spans = parse_ranges(header, size)
    return spans[0] if isinstance(spans, list) else spans
