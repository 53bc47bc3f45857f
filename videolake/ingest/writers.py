"""Which files under a folder some process on this machine has open for writing (Linux ``/proc``).

A copy, a download or a recorder writing a segment holds its file open with ``O_WRONLY`` or
``O_RDWR`` until it is done; such a file is not complete, whatever its age. Every process's open
file descriptors are read once per listing (``/proc/<pid>/fd`` links and the access mode in
``/proc/<pid>/fdinfo``). Processes of other users are visible to root only, and writers on other
machines (network file systems) never: for those the age rule (``VIDEOLAKE_STABLE_AFTER_SECONDS``)
stays available.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def _write_mode(pid: str, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as fh:
            for line in fh:
                if line.startswith(b"flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError, IndexError):
        return False
    return False


def open_for_writing(root: str | Path) -> set[str]:
    """Keys (paths relative to ``root``, as listings give them) of files open for writing now."""
    if not PROC.is_dir():
        return set()
    prefix = os.path.realpath(root).rstrip("/") + "/"
    found: set[str] = set()
    for pid in os.listdir(PROC):
        if not pid.isdigit():
            continue
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or another user's process
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith(prefix) and _write_mode(pid, fd):
                found.add(target[len(prefix):])
    return found
