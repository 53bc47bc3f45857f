"""uvicorn's HTTP protocol (httptools), closing connections that send nothing: uvicorn times out a
connection idle *between* requests only, so a client that connects and never speaks would hold a
connection (and, past ``limit_concurrency``, make every other client wait for a 503) forever."""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class IdleClosingProtocol(HttpToolsProtocol):
    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The keep-alive timer from the first byte's wait on: the first data cancels it, as between requests.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)
