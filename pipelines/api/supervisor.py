"""Several API processes on one listening socket: ``videolake api --workers N``.

One Python process answers requests on one core (the interpreter lock); a second process on a
second core nearly doubles what reads can do. The supervisor owns the socket and starts N workers
that inherit it, each with its own catalog connections, thread pools and ingest processes:

1. it starts the workers (``videolake api --listen-fd FD --worker-index I``); worker 0 alone runs
   the housekeeping (resuming uploads a stopped process left, expiring resumable uploads);
2. it restarts a worker that dies (killed for memory, say); one that keeps dying — more than
   ``MAX_RESTARTS`` in ``RESTART_WINDOW_SECONDS`` — is a configuration or code error: the
   supervisor stops the others and exits with the failure code instead of looping;
3. on SIGTERM or SIGINT it passes SIGTERM to every worker (each finishes its requests and the
   uploads it is ingesting) and waits for them, killing only those still there after
   ``STOP_TIMEOUT_SECONDS``;
4. the workers' request metrics are kept in one folder (prometheus_client's multiprocess mode), so
   ``/metrics`` counts for the whole server whichever worker answers; the folder is removed at exit.

Workers die with the supervisor (``PR_SET_PDEATHSIG``), even when it is killed with SIGKILL: no
orphan keeps the port.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from videolake.constants import ExitCode

log = logging.getLogger("videolake.api")
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client reads it when it is imported
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.2
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    def __init__(self, sock: socket.socket, workers: int, worker_args: Sequence[str]) -> None:
        if workers < 2:
            raise ValueError("a supervisor runs two workers or more")
        self.sock = sock
        self.workers = workers
        self.worker_args = list(worker_args)  # what every worker is started with, after `videolake api`
        self._stopping = False

    def _command(self, index: int) -> list[str]:
        return [sys.executable, "-m", "pipelines.cli", "api", *self.worker_args,
                "--listen-fd", str(self.sock.fileno()), "--worker-index", str(index)]

    def _start(self, index: int, env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(self._command(index), env=env, pass_fds=[self.sock.fileno()],
                                preexec_fn=_die_with_parent)

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping = True

    def run(self) -> int:
        metrics_dir = tempfile.mkdtemp(prefix="videolake-api-metrics-")
        env = {**os.environ, METRICS_DIR_ENV: metrics_dir}
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        # 1. Start the workers.
        procs = {index: self._start(index, env) for index in range(self.workers)}
        deaths: collections.deque[float] = collections.deque()
        code = ExitCode.OK
        try:
            # 2. Restart the ones that die, unless they keep dying.
            while not self._stopping:
                for index, proc in list(procs.items()):
                    status = proc.poll()
                    if status is None:
                        continue
                    now = time.monotonic()
                    deaths.append(now)
                    while deaths and now - deaths[0] > RESTART_WINDOW_SECONDS:
                        deaths.popleft()
                    _forget_metrics_of(proc.pid, metrics_dir)
                    if len(deaths) > MAX_RESTARTS:
                        print(f"videolake: API workers keep exiting ({len(deaths)} in {RESTART_WINDOW_SECONDS:.0f} s, "
                              f"the last with status {status}); stopping (their log is above)", file=sys.stderr)
                        self._stopping = True
                        code = ExitCode.FAILED
                        break
                    log.warning("API worker %d (pid %d) exited with status %s; starting it again",
                                index, proc.pid, status)
                    procs[index] = self._start(index, env)
                time.sleep(POLL_SECONDS)
        finally:
            # 3. Stop them all, gracefully first.
            _stop_all(list(procs.values()))
            # 4. The metrics folder goes with the server.
            shutil.rmtree(metrics_dir, ignore_errors=True)
        return code


def _forget_metrics_of(pid: int, metrics_dir: str) -> None:
    """A dead worker's live gauges go (its counters stay: they are part of the server's totals)."""
    try:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid, metrics_dir)
    except OSError:
        pass


def _stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("API worker pid %d did not stop in %.0f s; killing it", proc.pid, STOP_TIMEOUT_SECONDS)
            proc.kill()
            proc.wait()
