"""What may be fetched: the policy of a fetch, its errors, and the check of a URL and its host's
addresses — without the HTTP client (``fetch.py``), so queueing and status need none of it."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from videolake.constants import FetchFailure


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0  # the longest wait for the next bytes (a slow trickle is fine, silence is not)
    max_redirects: int = 5
    max_bytes: int = 20 * 1024**3
    allow_private: bool = False  # private, loopback and link-local addresses (a test's loopback server)
    max_attempts: int = 10
    wait_initial_s: float = 0.5
    wait_max_s: float = 30.0
    wait_jitter_s: float = 0.5
    user_agent: str = "videolake-import"


class FetchError(Exception):
    def __init__(self, failure: FetchFailure, message: str, *, retryable: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.failure = failure
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.attempts = 0  # set by ``Fetcher.fetch``: how many requests were made


def refused_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> str:
    """1. ``url`` if it may be fetched, else ``FetchError`` (BAD_URL or REFUSED_ADDRESS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(FetchFailure.BAD_URL, f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise FetchError(FetchFailure.BAD_URL, "the URL has no host")
    if parts.username or parts.password:
        raise FetchError(FetchFailure.BAD_URL, "the URL carries a user name or password; put credentials elsewhere")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchError(FetchFailure.BAD_URL, "the URL's port is not a number from 1 to 65535") from None
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(FetchFailure.CONNECTION, f"{parts.hostname}: the name does not resolve ({exc.strerror})",
                         retryable=True) from None
    for info in infos:
        address = info[4][0].split("%")[0]
        if refused_address(address):
            raise FetchError(FetchFailure.REFUSED_ADDRESS,
                             f"{parts.hostname} is {address}, a private, loopback or link-local address: refused "
                             "(VIDEOLAKE_IMPORT_ALLOW_PRIVATE=1 allows it)")
    return url
