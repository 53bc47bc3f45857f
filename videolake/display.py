"""Text for people: sizes, durations and shortened details, and names from the outside world that
never reach a terminal as control sequences.

File names may hold escape sequences (``ESC ] 0 ;`` sets the window title, ``ESC [ 2 J`` clears
the screen), carriage returns that overwrite a line, C1 controls and bidirectional overrides that
make a name read backwards. Every such character is shown as a ``\\uXXXX`` escape instead — valid
inside JSON strings too, so ``--json`` output stays parseable.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 controls except newline and tab (which structure our own output), DEL, C1 controls, and the
# Unicode bidirectional embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every character that could control a terminal shown as an escape."""
    return _UNSAFE.sub(_escape, text)


class TerminalSafeStream:
    """Wraps a text stream (stdout, stderr) so that nothing written to it can control the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_safe(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def human_bytes(n: int | float | None) -> str:
    """``3329136`` → ``3.2 MB`` (binary multiples, as ``du -h`` shows them)."""
    if n is None:
        return ""
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"


def human_duration(seconds: float | None) -> str:
    """``36000.0`` → ``10 h``, ``5025`` → ``1 h 23 min``, ``83.4`` → ``1 min 23 s``, ``4.2`` → ``4.2 s``."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    # The two largest units that are not zero: enough to read at a glance.
    first = next(i for i, (value, _) in enumerate(parts) if value)
    return " ".join(f"{value} {unit}" for value, unit in parts[first:first + 2] if value)


def shorten(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` characters at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space >= width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
