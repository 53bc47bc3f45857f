"""A process that used the worker pool exits promptly, and leaves no worker behind, even when its
exit races the pool's start-up (CPython 3.11 can then join a worker that never got a stop signal)."""

from __future__ import annotations

import subprocess
import sys
import time

SCRIPT = """
import sys, time
from videolake.ingest import parallel
parallel.prewarm(4)          # workers start in the background ...
time.sleep(float(sys.argv[1]))
print(parallel._pool is not None, flush=True)
# ... and the interpreter exits while they may still be starting
"""


def forkservers() -> set[str]:
    found = subprocess.run(["pgrep", "-f", "multiprocessing.forkserver import main"], capture_output=True, text=True)
    return set(found.stdout.split())


def test_exit_does_not_wait_for_workers_started_during_shutdown():
    before = forkservers()
    for delay in ("0", "0.05", "0.2", "0.5", "1.0"):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", SCRIPT, delay], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert time.monotonic() - started < 30
    deadline = time.monotonic() + 10
    while forkservers() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert forkservers() - before == set()  # no forkserver or worker outlives its process


def _a_run_in_a_child_process() -> None:
    """What Dagster's code server does with a run: execute it in a multiprocessing child."""
    from videolake.ingest import parallel

    assert list(parallel.map_files(abs, [-1, -2, -3, -4, -5, -6], workers=2)) == [1, 2, 3, 4, 5, 6]


def test_a_run_launched_by_multiprocessing_exits_when_done():
    """A multiprocessing child leaves through ``multiprocessing.util._exit_function``, which joins
    every child and never runs atexit handlers: with the pool still up, the run's process (and its
    workers) stayed alive forever after every run the daemon launched."""
    import multiprocessing

    before = forkservers()
    child = multiprocessing.get_context("spawn").Process(target=_a_run_in_a_child_process)
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
        child.join()
    assert not alive, "the run's process did not exit after its work was done"
    assert child.exitcode == 0
    deadline = time.monotonic() + 10
    while forkservers() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert forkservers() - before == set()
