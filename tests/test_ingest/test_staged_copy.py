"""The worker's staged copy: one read of a landed file gives the stored copy and its hash, and a
large file's writeback is started as it is copied (the sync before cataloging then waits for less)."""

from __future__ import annotations

import hashlib
import os

from videolake.ingest import worker


def test_a_large_file_is_copied_exactly_with_its_writeback_started_on_the_way(tmp_path, monkeypatch):
    size = 3 * worker.STAGE_WRITEBACK_BYTES + 12_345  # not a whole number of chunks
    source = tmp_path / "landed.mp4"
    source.write_bytes(os.urandom(size))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    started: list[tuple[int, int]] = []
    real = worker.start_writeback

    def recording(fd: int, offset: int, length: int) -> None:
        started.append((offset, length))
        real(fd, offset, length)  # the real sync_file_range(2), on the real file

    monkeypatch.setattr(worker, "start_writeback", recording)
    staged, sha, copied = worker._staged_copy(source, scratch)

    assert copied == size
    assert staged.read_bytes() == source.read_bytes()
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    # Contiguous ranges from the start, 8 MiB at a time; the tail is left to the sync that follows.
    assert [offset for offset, _ in started] == [n * worker.STAGE_WRITEBACK_BYTES for n in range(3)]
    assert all(length == worker.STAGE_WRITEBACK_BYTES for _, length in started)


def test_a_small_file_needs_no_early_writeback(tmp_path, monkeypatch):
    source = tmp_path / "clip.mp4"
    source.write_bytes(os.urandom(300_000))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    calls: list[tuple[int, int, int]] = []
    monkeypatch.setattr(worker, "start_writeback", lambda *args: calls.append(args))
    staged, sha, copied = worker._staged_copy(source, scratch)
    assert (copied, staged.read_bytes()) == (300_000, source.read_bytes())
    assert calls == []
