"""Who holds a landing-zone claim: a process named by host, PID and start time.

The start time (clock ticks since boot, from ``/proc/<pid>/stat``) tells a PID reused by another
process from the claimant itself. On this host a claimant is known dead when its process is gone
or is another one; a claimant on another host is never judged dead here (its claim expires after
``requeue_after_seconds`` instead).
"""

from __future__ import annotations

import functools
import os
import socket


def _start_ticks(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None  # field 22: starttime


@functools.cache
def _host() -> str:
    return socket.gethostname()


def this_process() -> str:
    """``host/pid/start`` of the calling process."""
    pid = os.getpid()
    return f"{_host()}/{pid}/{_start_ticks(pid) or '?'}"


def is_dead(claimant: str | None) -> bool:
    """Whether ``claimant`` is a process of this host that no longer runs."""
    if not claimant:
        return False
    host, _, rest = claimant.partition("/")
    pid_text, _, start = rest.partition("/")
    if host != _host() or not pid_text.isdigit() or start == "?":
        return False
    return _start_ticks(int(pid_text)) != start


def describe(claimant: str | None) -> str:
    if not claimant:
        return "an earlier run"
    host, _, rest = claimant.partition("/")
    return f"process {rest.partition('/')[0]} on {host}"
