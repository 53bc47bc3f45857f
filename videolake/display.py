"""Text for a terminal: names from the outside world never reach it as control sequences.

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
