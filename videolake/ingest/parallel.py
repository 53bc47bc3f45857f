"""A process pool shared by the steps of one run, so per-file work uses every core."""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.util
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_pool: ProcessPoolExecutor | None = None
_pool_workers = 0
_worker_niceness = 0  # set by a server: its workers yield the CPU to its requests
_lock = threading.Lock()
_finalizer: multiprocessing.util.Finalize | None = None
# Below this many items the pool's start-up and pickling cost more than they save.
MIN_ITEMS_FOR_POOL = 4


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """Two processes per core: per-file work also waits on the disk and the kernel's writeback
    (on 2 cores, 300 clips: 2 workers 3.4 s, 3 workers 3.2 s, 4 workers 3.0 s, 6 workers 3.1 s)."""
    return usable_cores() * 2


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    with _lock:
        if _pool is None or _pool_workers != workers:
            if _pool is not None:
                _pool.shutdown(wait=True)
            ctx = multiprocessing.get_context("forkserver")
            # Workers fork from a server that already imported the media stack (PyAV, Pillow).
            ctx.set_forkserver_preload(
                ["videolake.ingest.worker", "av", "av.video.reformatter", "numpy", "PIL.Image", "PIL.JpegImagePlugin"]
            )
            _pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with_owner,
                                        initargs=(os.getpid(), _worker_niceness))
            # Start every worker with the first task instead of one by one on demand: in CPython 3.11 a
            # worker spawned on demand while the pool shuts down (the pre-warm racing interpreter exit)
            # gets no stop sentinel, and the exit then waits for it forever (seen as a CLI that never exits).
            _pool._safe_to_dynamically_spawn_children = False
            _pool_workers = workers
            # Stop the workers when this process ends, however it ends. ``atexit`` is not enough: a
            # process started by multiprocessing (Dagster's code server launches each run so) leaves
            # through ``multiprocessing.util._exit_function``, which never runs atexit handlers and
            # joins every child first, so the run's process would wait for idle workers forever.
            # Finalizers with an exit priority run before that join, highest first: above the pool's
            # own queues (10), whose finalizers stop the feeder threads the stop sentinels go through.
            # Bound to no object: one bound to the pool would also fire when shutdown_pool drops it.
            global _finalizer
            if _finalizer is None:
                _finalizer = multiprocessing.util.Finalize(None, shutdown_pool, exitpriority=100)
        return _pool


def run_workers_nicer(niceness: int) -> None:
    """Workers started from now on run at this niceness (a server whose requests come first:
    ingest is batch work, answering an upload is not)."""
    global _worker_niceness
    _worker_niceness = niceness


def die_with_owner(owner_pid: int, niceness: int = 0) -> None:
    """In a worker: exit as soon as the process that owns the pool is gone, however it ended, and
    leave Ctrl-C to the owner.

    A worker's parent is the fork server, not the owner, and the fork server outlives the owner
    while any worker holds its liveness pipe (each worker gets a copy): so the worker watches the
    owner itself, through a pidfd (readable once the owner exits; immune to PID reuse), from a
    daemon thread that only waits. Where pidfds are missing it checks the owner twice a second.
    """
    def watch() -> None:
        try:
            pidfd = os.pidfd_open(owner_pid)
        except (OSError, AttributeError):
            pidfd = None
        if pidfd is not None:
            select.select([pidfd], [], [])
            os._exit(1)
        while True:
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=watch, name="videolake-owner-watch", daemon=True).start()
    if niceness:
        os.nice(niceness)
    # Ctrl-C reaches the whole process group: the owner decides what stops; a worker just goes with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def prewarm(workers: int | None = None) -> None:
    """Start the pool's processes in the background, so they are ready when the files are."""
    workers = workers or default_workers()
    if workers <= 1:
        return

    def start() -> None:
        try:
            pool = _get_pool(workers)
            for future in [pool.submit(int, 0) for _ in range(workers)]:
                future.result()
        except Exception:  # noqa: BLE001 - map_files will report a real failure
            pass

    threading.Thread(target=start, name="videolake-pool-prewarm", daemon=True).start()


def shutdown_pool() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


atexit.register(shutdown_pool)


def submit(fn: Callable[[T], R], task: T, workers: int | None = None) -> Future[R]:
    """Run ``fn(task)`` on one of the pool's ``workers`` processes (a server's unit of work)."""
    try:
        return _get_pool(workers or default_workers()).submit(fn, task)
    except BrokenProcessPool:
        shutdown_pool()  # a worker was killed: the next call gets a new pool
        raise


def map_files(fn: Callable[[T], R], tasks: Iterable[T], workers: int | None = None, *,
              min_items: int = MIN_ITEMS_FOR_POOL) -> Iterator[R]:
    """Apply ``fn`` to every task, in order, on ``workers`` processes (in this one if 1, or for
    fewer than ``min_items`` tasks: then the pool would cost more than it saves)."""
    tasks = list(tasks)
    workers = workers or default_workers()
    if workers <= 1 or len(tasks) < min_items:
        yield from map(fn, tasks)
        return
    chunksize = max(1, min(4, len(tasks) // (workers * 16)))
    try:
        yield from _get_pool(workers).map(fn, tasks, chunksize=chunksize)
    except Exception:
        # A broken pool (a worker was killed) must not poison later runs in this process.
        shutdown_pool()
        raise
