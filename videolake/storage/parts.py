"""Building blocks shared by the object-store backends (S3, GCS, Azure Blob).

- ``read_exact`` / ``iter_parts``: cut a stream into fixed-size parts.
- ``upload_parts``: send parts in parallel with a bounded number in memory, hashing the whole
  object (sha256) over exactly the bytes sent; the caller commits the upload only when that hash
  is the one it expects, so a wrong object never becomes visible.
- ``VerifyingReader``: a file-like that hashes what a client library reads from it and raises
  ChecksumMismatch *before* handing over the last bytes, so the library never finalizes an upload
  whose content is not the expected one.
- ``ChunkStream``: a readable stream over an iterator of byte chunks (downloads).
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import BinaryIO, TypeVar

from videolake.storage.base import ChecksumMismatch

T = TypeVar("T")


def read_exact(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes; fewer only at the end of the stream."""
    chunks = []
    remaining = n
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        chunks.append(data)
        remaining -= len(data)
    return b"".join(chunks)


def iter_parts(stream: BinaryIO, part_size: int, first: bytes = b"") -> Iterator[bytes]:
    """Parts of exactly ``part_size`` bytes (the last may be shorter), starting with ``first``."""
    buffered = first
    while True:
        while len(buffered) >= part_size:
            yield buffered[:part_size]
            buffered = buffered[part_size:]
        data = read_exact(stream, part_size - len(buffered))
        if not data:
            if buffered:
                yield buffered
            return
        buffered += data


def upload_parts(
    parts: Iterable[bytes], upload: Callable[[int, bytes], T], concurrency: int
) -> tuple[dict[int, T], str, int]:
    """Call ``upload(number, data)`` for every part (numbered from 1) on ``concurrency`` threads.

    At most ``concurrency + 1`` parts are held in memory. Returns the results by part number, the
    sha256 of the whole object and its size. The first failing part stops the upload (re-raised).
    """
    whole = hashlib.sha256()
    size = 0
    results: dict[int, T] = {}
    in_flight: set[Future] = set()
    limit = threading.BoundedSemaphore(max(1, concurrency) + 1)

    def send(number: int, data: bytes) -> None:
        try:
            results[number] = upload(number, data)
        finally:
            limit.release()

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for number, data in enumerate(parts, start=1):
            whole.update(data)
            size += len(data)
            limit.acquire()
            in_flight.add(pool.submit(send, number, data))
            done = {f for f in in_flight if f.done()}
            for f in done:
                f.result()
            in_flight -= done
        finished, _ = wait(in_flight, return_when=FIRST_EXCEPTION)
        for f in finished:
            f.result()
    return results, whole.hexdigest(), size


class VerifyingReader(io.RawIOBase):
    """Hashes what is read through it; at the end, raises unless the hash is ``expected``.

    The check fires when the reader sees the end of ``source`` or has delivered ``size`` bytes,
    before the final bytes are returned, so an upload reading from it fails before it completes.
    """

    def __init__(self, source: BinaryIO, expected: str | None, label: str, size: int | None = None) -> None:
        self.source, self.expected, self.label, self.size = source, expected, label, size
        self.digest = hashlib.sha256()
        self.count = 0
        self.finished = False

    def readable(self) -> bool:
        return True

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()

    def _check(self) -> None:
        self.finished = True
        if self.expected is not None and self.sha256 != self.expected:
            raise ChecksumMismatch(f"{self.label}: content hashes to {self.sha256}, expected {self.expected}")

    def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        if self.finished:
            return b""
        if n is None or n < 0:
            data = self.source.read()
            short = True
        else:
            if self.size is not None:
                n = min(n, self.size - self.count)
            data = read_exact(self.source, n)
            short = len(data) < n
        self.digest.update(data)
        self.count += len(data)
        if short or (self.size is not None and self.count >= self.size):
            self._check()
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self.count


class ChunkStream(io.RawIOBase):
    """A readable, closeable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes], on_close: Callable[[], None] | None = None) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()


def window(stream: BinaryIO, length: int, *, skip: int = 0, chunk: int = 1024 * 1024) -> ChunkStream:
    """A stream of ``length`` bytes of ``stream`` after dropping ``skip`` bytes (a ranged read of a
    stream that cannot seek); ``stream`` is closed with it, or when it runs out."""

    def chunks() -> Iterator[bytes]:
        with stream:
            left_to_skip, left = skip, length
            while left_to_skip > 0:
                dropped = stream.read(min(left_to_skip, chunk))
                if not dropped:
                    return
                left_to_skip -= len(dropped)
            while left > 0:
                data = stream.read(min(left, chunk))
                if not data:
                    return
                left -= len(data)
                yield data

    return ChunkStream(chunks(), on_close=stream.close)
