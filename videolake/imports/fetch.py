"""Fetching one URL into a local file before its deadline: the part of an import that talks to
the outside world.

    fetched = fetch_url(url, part_file, deadline=..., policy=FetchPolicy(...))

1. The URL must be http or https, with a host and no credentials; the host's addresses must not
   be private, loopback, link-local or otherwise special unless ``policy.allow_private`` (each
   redirect hop is checked the same way, before it is asked).
2. The body streams into ``part_file``, hashed while written. A dropped connection, a timeout, a
   5xx or a 429 is tried again — exponential backoff with jitter (stamina), a ``Retry-After``
   honoured — for as long as the deadline leaves time; 4xx other than 408 and 429 are final.
3. Bytes already written are kept: the next attempt asks ``Range: bytes=N-`` with ``If-Range``
   (the ETag, else the Last-Modified of the first answer). Only a 206 whose ``Content-Range``
   starts at N continues; a 200 means the server sent the whole file again (it ignores Range, or
   the file changed): the part file is cut back to 0 and the hash restarted.
4. The size is checked against ``Content-Length`` / ``Content-Range`` (a wrong Content-Length is
   a failed attempt, never a short file passed on) and against ``policy.max_bytes`` before and
   while reading. An HTML page sent with 200 (an expired link's error page) is not the file.
5. What comes back is the whole file (``Fetched``) or ``FetchError`` with a ``FetchFailure`` and
   one sentence; ``part_file`` then holds what was fetched so far, to resume from, or nothing.
6. Across processes: beside ``part_file`` a small ``.resume`` file keeps the URL and the If-Range
   validator once the first answer gave one. ``fetch(..., resume=True)`` (a later run, after one
   killed mid-fetch) re-hashes the bytes already there and asks for the rest, under the same rule.

Addresses are checked twice: by name before each request (a clear refusal), and on the socket
once it is connected (a name that resolves to a public address for the check and to a private
one for the connection — DNS rebinding — is refused there).

The caller (the import use case) owns the deadline policy, the queue and ingest; nothing here
touches the catalog.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin

import stamina
import stamina.instrumentation
import urllib3
import urllib3.connection

from videolake.constants import FetchFailure
from videolake.imports.urls import FetchError, FetchPolicy, refused_address, check_url

CHUNK_BYTES = 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Fetched:
    path: Path
    size: int
    sha256: str
    final_url: str  # after redirects
    content_type: str | None
    attempts: int
    resumed_from: list[int] = field(default_factory=list)  # offsets later attempts continued at


log = logging.getLogger("videolake.imports")


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    log.info("fetch retry %d in %.1f s: %s", details.retry_num, details.wait_for, details.caused_by)


class RefusedPeer(Exception):
    """The socket connected to a private, loopback or link-local address."""


class _CheckedHTTPConnection(urllib3.connection.HTTPConnection):
    """Refuses the connection when the address it reached is not a public one (DNS rebinding)."""

    def _new_conn(self):  # type: ignore[no-untyped-def]
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        if refused_address(peer):
            sock.close()
            raise RefusedPeer(f"{self.host} connected to {peer}, a private, loopback or link-local address: refused "
                              "(VIDEOLAKE_IMPORT_ALLOW_PRIVATE=1 allows it)")
        return sock


class _CheckedHTTPSConnection(_CheckedHTTPConnection, urllib3.connection.HTTPSConnection):
    pass


class _CheckedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


@dataclass
class _Progress:
    """What one fetch knows across its attempts."""

    path: Path
    url: str  # as asked (before redirects): what a later process continues
    size: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)  # type: ignore[name-defined]
    validator: str | None = None  # the If-Range value: the first answer's ETag (strong) or Last-Modified
    content_type: str | None = None
    final_url: str | None = None
    attempts: int = 0
    resumed_from: list[int] = field(default_factory=list)

    @property
    def resume_file(self) -> Path:
        return self.path.with_name(self.path.name + ".resume")

    def restart(self) -> None:
        with open(self.path, "wb"):
            pass
        self.size = 0
        self.digest = hashlib.sha256()

    def keep_validator(self) -> None:
        """6. What a later process needs to continue this part file (written once, atomically)."""
        if self.validator is None:
            self.resume_file.unlink(missing_ok=True)
            return
        tmp = self.resume_file.with_name(self.resume_file.name + ".tmp")
        tmp.write_text(json.dumps({"url": self.url, "validator": self.validator, "content_type": self.content_type}))
        tmp.replace(self.resume_file)

    def take_over(self) -> bool:
        """6. Continue the part file an earlier process left for this URL: its bytes re-hashed, its
        validator read back. False (and nothing taken) when there is none to continue."""
        try:
            kept = json.loads(self.resume_file.read_text())
            size = self.path.stat().st_size
        except (OSError, ValueError):
            return False
        if not isinstance(kept, dict) or kept.get("url") != self.url or not kept.get("validator") or not size:
            return False
        with open(self.path, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                self.digest.update(chunk)
                self.size += len(chunk)
        self.validator, self.content_type = str(kept["validator"]), kept.get("content_type")
        return True


class Fetcher:
    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        # Each retry is a line of ``logging`` (videolake.imports, INFO), never printed to stdout
        # (stamina's default with structlog installed: it would mix into a command's --json).
        stamina.instrumentation.set_on_retry_hooks([_log_retry])
        self.http = urllib3.PoolManager(num_pools=16, maxsize=4, retries=False,
                                        timeout=urllib3.Timeout(connect=self.policy.connect_timeout_s,
                                                                read=self.policy.read_timeout_s))
        if not self.policy.allow_private:
            self.http.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}

    def fetch(self, url: str, part_file: Path, *, deadline: dt.datetime | None = None, resume: bool = False) -> Fetched:
        """The whole file at ``url`` in ``part_file``; ``resume``: continue what an earlier process left there."""
        check_url(url, allow_private=self.policy.allow_private)
        part_file.parent.mkdir(parents=True, exist_ok=True)
        progress = _Progress(part_file, url)
        if not (resume and progress.take_over()):
            progress.resume_file.unlink(missing_ok=True)
            progress.restart()
        timeout = None if deadline is None else (deadline - _now()).total_seconds()
        if timeout is not None and timeout <= 0:
            raise FetchError(FetchFailure.DEADLINE, f"the deadline {deadline:%Y-%m-%d %H:%M:%S} UTC had passed before the first try")

        def worth_again(exc: Exception) -> bool | float:
            if not isinstance(exc, FetchError) or not exc.retryable:
                return False
            if exc.retry_after_s is not None:
                return exc.retry_after_s
            return True

        try:
            for attempt in stamina.retry_context(on=worth_again, attempts=self.policy.max_attempts, timeout=timeout,
                                                 wait_initial=self.policy.wait_initial_s, wait_max=self.policy.wait_max_s,
                                                 wait_jitter=self.policy.wait_jitter_s):
                with attempt:
                    progress.attempts += 1
                    self._attempt(url, progress, deadline)
        except FetchError as exc:
            final = exc
            if deadline is not None and exc.retryable and _now() >= deadline - dt.timedelta(seconds=1):
                final = FetchError(FetchFailure.DEADLINE, f"the deadline passed after {progress.attempts} attempts; "
                                                          f"the last: {exc}")
            final.attempts = progress.attempts
            if final is exc:
                raise
            raise final from exc
        progress.resume_file.unlink(missing_ok=True)
        return Fetched(part_file, progress.size, progress.digest.hexdigest(), progress.final_url or url,
                       progress.content_type, progress.attempts, progress.resumed_from)

    def _attempt(self, url: str, progress: _Progress, deadline: dt.datetime | None) -> None:
        headers = {"User-Agent": self.policy.user_agent, "Accept-Encoding": "identity"}
        if progress.size and progress.validator:
            headers["Range"] = f"bytes={progress.size}-"
            headers["If-Range"] = progress.validator
        elif progress.size:
            progress.restart()  # nothing to check a continuation against: start over
        response = self._open(url, headers, progress)
        try:
            self._receive(response, progress, deadline)
        finally:
            response.release_conn()

    def _open(self, url: str, headers: dict[str, str], progress: _Progress) -> urllib3.BaseHTTPResponse:
        """The answer to ``url``, redirects followed (each hop checked), or ``FetchError``."""
        current = url
        for _ in range(self.policy.max_redirects + 1):
            check_url(current, allow_private=self.policy.allow_private)
            try:
                response = self.http.request("GET", current, headers=headers, redirect=False, preload_content=False)
            except RefusedPeer as exc:
                raise FetchError(FetchFailure.REFUSED_ADDRESS, str(exc)) from None
            except urllib3.exceptions.TimeoutError as exc:
                raise FetchError(FetchFailure.TIMEOUT, f"no answer in time: {exc}", retryable=True) from None
            except urllib3.exceptions.HTTPError as exc:
                raise FetchError(FetchFailure.CONNECTION, f"could not connect: {exc}", retryable=True) from None
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location")
                response.drain_conn()
                response.release_conn()
                if not location:
                    raise FetchError(FetchFailure.HTTP_STATUS, f"HTTP {response.status} with no Location")
                current = urljoin(current, location)
                continue
            progress.final_url = current
            return response
        raise FetchError(FetchFailure.TOO_MANY_REDIRECTS, f"more than {self.policy.max_redirects} redirects")

    def _receive(self, response: urllib3.BaseHTTPResponse, progress: _Progress, deadline: dt.datetime | None) -> None:
        status = response.status
        if status == 429:
            raise FetchError(FetchFailure.RATE_LIMITED, "HTTP 429 Too Many Requests", retryable=True,
                             retry_after_s=_retry_after(response.headers.get("Retry-After")))
        if status == 416 and progress.size:
            progress.restart()  # the range asked for does not exist (the file changed): start over
            raise FetchError(FetchFailure.HTTP_STATUS, "HTTP 416 for the rest of the file", retryable=True)
        if status not in (200, 206):
            retryable = status >= 500 or status == 408
            raise FetchError(FetchFailure.HTTP_STATUS, f"HTTP {status} {response.reason or ''}".strip(),
                             retryable=retryable, retry_after_s=_retry_after(response.headers.get("Retry-After"))
                             if retryable else None)
        content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower() or None
        if content_type in HTML_TYPES:
            raise FetchError(FetchFailure.NOT_A_FILE, f"the server sent an HTML page ({content_type}), not a video "
                                                      "(an expired link's error page?)")
        start = 0
        if status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != progress.size:
                progress.restart()
                raise FetchError(FetchFailure.SIZE_MISMATCH, f"asked for bytes from {progress.size}, got {start}",
                                 retryable=True)
            progress.resumed_from.append(start)
            expected = total
        else:
            if progress.size:
                progress.restart()  # a 200 to a Range request: the whole file again
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            progress.validator = _validator(response.headers)
            progress.content_type = content_type
            progress.keep_validator()
        if expected is not None and expected > self.policy.max_bytes:
            raise FetchError(FetchFailure.TOO_LARGE, f"the file is {expected} bytes, over the cap of {self.policy.max_bytes}")
        with open(progress.path, "ab") as out:
            try:
                for chunk in response.stream(CHUNK_BYTES, decode_content=False):
                    if progress.size + len(chunk) > self.policy.max_bytes:
                        raise FetchError(FetchFailure.TOO_LARGE, f"more than the cap of {self.policy.max_bytes} bytes")
                    if expected is not None and progress.size + len(chunk) > expected:
                        raise FetchError(FetchFailure.SIZE_MISMATCH, f"more bytes than the {expected} declared",
                                         retryable=False)
                    out.write(chunk)
                    progress.digest.update(chunk)
                    progress.size += len(chunk)
                    if deadline is not None and _now() > deadline:
                        raise FetchError(FetchFailure.DEADLINE, f"the deadline passed with {progress.size} bytes fetched")
            except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError, OSError) as exc:
                out.flush()
                failure = FetchFailure.TIMEOUT if isinstance(exc, urllib3.exceptions.ReadTimeoutError) else FetchFailure.CONNECTION
                raise FetchError(failure, f"the connection broke after {progress.size} bytes: {_short(exc)}",
                                 retryable=True) from None
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and progress.size != expected:
            raise FetchError(FetchFailure.SIZE_MISMATCH, f"{progress.size} bytes arrived of the {expected} declared",
                             retryable=True)


def _content_range(value: str | None) -> tuple[int, int | None]:
    """(first byte, whole length or None) of ``bytes 100-199/1000``."""
    try:
        unit, spec = (value or "").split(" ", 1)
        span, total = spec.split("/", 1)
        first = int(span.split("-", 1)[0])
        return first, None if total.strip() == "*" else int(total)
    except ValueError:
        raise FetchError(FetchFailure.SIZE_MISMATCH, f"a 206 with an unreadable Content-Range {value!r}",
                         retryable=True) from None


def _validator(headers: urllib3.HTTPHeaderDict) -> str | None:
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag  # If-Range needs a strong validator
    return headers.get("Last-Modified")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def fetch_url(url: str, part_file: Path, *, deadline: dt.datetime | None = None,
              policy: FetchPolicy | None = None, resume: bool = False) -> Fetched:
    return Fetcher(policy).fetch(url, part_file, deadline=deadline, resume=resume)
