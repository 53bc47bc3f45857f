"""``GET /metrics``: requests and latency per route and status, upload bytes, ingest outcomes, and
the catalog's storage figures (the names the storage report writes: ``videolake_stored_bytes`` …),
in the Prometheus text format. One registry per application (tests start several). Under
``videolake api --workers N`` each worker writes its counts to the supervisor's folder
(prometheus_client's multiprocess mode) and a scrape sums the folder: the whole server's figures,
whichever worker answers.

The request middleware is plain ASGI (it never buffers a body) and also writes the access log:
method, route path, status, time — never a query string (links carry their tokens there).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from videolake.catalog.repository import Catalog
from videolake.catalog.usage import source_totals, stored_totals

access_log = logging.getLogger("videolake.api.access")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0, 600.0)
FIGURES_TTL_SECONDS = 30.0


class StorageFigures:
    """A collector: the catalog's stored figures, summed in SQL, at most once per 30 s."""

    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self._catalog = catalog
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Any]] = (0.0, [])

    def collect(self) -> Iterator[Any]:
        with self._lock:
            at, families = self._cached
            if time.monotonic() - at > FIGURES_TTL_SECONDS:
                families = self._families()
                self._cached = (time.monotonic(), families)
        yield from families

    def _families(self) -> list[Any]:
        try:
            catalog = self._catalog()
            totals, sources = stored_totals(catalog), source_totals(catalog)
        except Exception:  # noqa: BLE001 - a catalog outage shows in /api/health and up{}, not as a failed scrape
            return []
        stored = GaugeMetricFamily("videolake_stored_bytes", "Bytes the catalog records per backend and kind",
                                   labels=["backend", "kind"])
        objects = GaugeMetricFamily("videolake_stored_objects", "Objects the catalog records per backend and kind",
                                    labels=["backend", "kind"])
        for t in totals:
            stored.add_metric([t.backend, t.kind], t.bytes)
            objects.add_metric([t.backend, t.kind], t.objects)
        source = GaugeMetricFamily("videolake_source_bytes", "Bytes per source (all backends)", labels=["source"])
        for name, size in sorted(sources.items()):
            source.add_metric([name], size)
        return [stored, objects, source]


class ApiMetrics:
    def __init__(self, catalog: Callable[[], Catalog]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("videolake_http_requests", "HTTP requests answered, per route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("videolake_http_request_duration_seconds",
                                 "Time from a request's start to its last byte, per route and method",
                                 ["route", "method"], buckets=BUCKETS, registry=self.registry)
        self.upload_bytes = Counter("videolake_upload_bytes", "Bytes of uploads received completely",
                                    registry=self.registry)
        self.ingest_outcomes = Counter("videolake_upload_ingest_outcomes", "Uploads ingested, per outcome",
                                       ["outcome"], registry=self.registry)
        self.figures = StorageFigures(catalog)
        self.registry.register(self.figures)  # type: ignore[arg-type]

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's registry, or every worker's counts (multiprocess)."""
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        registry.register(self.figures)  # type: ignore[arg-type]
        return generate_latest(registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Callable[[], ApiMetrics]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            seconds = time.perf_counter() - started
            metrics = self.metrics()
            metrics.requests.labels(path, scope["method"], str(status)).inc()
            metrics.latency.labels(path, scope["method"]).observe(seconds)
            access_log.info("%s %s %s %.1f ms", scope["method"], path, status, seconds * 1000)
