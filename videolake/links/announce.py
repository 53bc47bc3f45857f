"""Which link server answers for a videolake home: `videolake serve` records the base it answers
on (``$VIDEOLAKE_HOME/link-server.json``, with its process), and links are minted for that base.

Invariants: the record names its process (host/pid/start time), so a record left by a server that
died is recognised as stale; a server removes only its own record when it stops.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from videolake.catalog.claimants import is_dead, this_process

RECORD = "link-server.json"


def record_server(home: Path, base: str) -> None:
    """Say that this process answers links for ``home`` on ``base`` (written atomically)."""
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / f".{RECORD}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"base": base, "process": this_process()}))
    os.replace(tmp, home / RECORD)


def clear_server(home: Path) -> None:
    """Remove the record, if it is this process's."""
    path = home / RECORD
    try:
        if json.loads(path.read_text()).get("process") == this_process():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_server_base(home: Path) -> str | None:
    """The base of the link server running for ``home`` on this machine, or None."""
    try:
        data = json.loads((home / RECORD).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("base") or is_dead(data.get("process")):
        return None
    return str(data["base"])
