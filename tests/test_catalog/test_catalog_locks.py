"""Catalog-wide locks on SQLite (flock beside the database): one holder at a time, and fair — a
holder that lets go and asks again at once does not overtake one already waiting."""

from __future__ import annotations

import threading
import time

from videolake.catalog.locks import file_lock


def test_waiters_get_the_lock_before_a_holder_that_asks_again_at_once(tmp_path):
    """Two holds asked for during a sweep's batch (as in the retention test that once failed on a
    slow machine): the second one waited on the lock beside the sweep, which asked again the moment
    it let go — flock alone let it overtake, batch after batch."""
    path = tmp_path / "catalog.sqlite.holds.lock"
    turns: list[str] = []

    def waiter(name: str) -> None:
        with file_lock(path):
            turns.append(name)
            time.sleep(0.01)

    def holder() -> None:  # a sweep: batch after batch, asking again the moment it lets go
        for batch in range(20):
            with file_lock(path):
                if batch == 0:
                    for name in ("first hold", "second hold"):
                        threading.Thread(target=waiter, args=(name,)).start()
                    time.sleep(0.3)  # both are waiting by now
                turns.append(f"batch {batch}")
                time.sleep(0.005)

    sweep = threading.Thread(target=holder)
    sweep.start()
    sweep.join(60)
    deadline = time.monotonic() + 10
    while len(turns) < 22 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Each hold's turn comes within a batch of the one it waited on, not at the end of the sweep.
    assert turns.index("first hold") <= 2 and turns.index("second hold") <= 4, turns


def test_one_holder_at_a_time(tmp_path):
    path = tmp_path / "x.lock"
    inside, overlap = [], []

    def work() -> None:
        for _ in range(50):
            with file_lock(path):
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert overlap == []
