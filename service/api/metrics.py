"""Prometheus metrics: requests by route and status with latency histograms (streams excluded from latency),
runs by status, rows computed, active streams and the worker pool's occupancy.

With several uvicorn workers each process serves its own registry; run them with one worker per container,
or set up prometheus-client's multiprocess mode.
"""

import time
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.store.base import Status

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """The service's metrics in their own registry (so that every app, e.g. in tests, starts from zero)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "descent_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "descent_http_request_duration_seconds",
            "Time to answer a request (event streams excluded), by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "descent_rows_computed",
            "Rows (steps) computed by runs that ended in this process's pool.",
            registry=self.registry,
        )

    def watch_pool(self, in_flight: Callable[[], int], capacity: int) -> None:
        running = Gauge("descent_pool_running", "Runs executing in the worker pool.", registry=self.registry)
        queued = Gauge("descent_pool_queue_depth", "Runs waiting for a free worker.", registry=self.registry)
        running.set_function(lambda: min(in_flight(), capacity))
        queued.set_function(lambda: max(in_flight() - capacity, 0))

    def watch_streams(self, total: Callable[[], int]) -> None:
        open_streams = Gauge("descent_active_streams", "Event streams open now.", registry=self.registry)
        open_streams.set_function(total)

    def watch_runs(self, count_by_status: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_RunsByStatus(count_by_status))


class _RunsByStatus(Collector):
    """Stored runs by status, read from the store at each scrape (the store is shared by every process)."""

    def __init__(self, count_by_status: Callable[[], dict[str, int]]) -> None:
        self._count = count_by_status

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("descent_runs", "Stored runs, by status.", labels=["status"])
        counts = self._count()
        for status in Status:
            family.add_metric([status], counts.get(status, 0))
        yield family


class RequestMetrics:
    """ASGI middleware counting every HTTP request by route template (not raw path: ids would explode the
    label set) and timing those that are not event streams."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        # Each label set's child, looked up once (`labels()` takes a lock and builds its key on every call).
        self._counted: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, streaming = 500, False

        async def observe(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            counted = self._counted.get((route, method, str(status)))
            if counted is None:
                counted = self._counted[route, method, str(status)] = self.metrics.requests.labels(
                    route, method, str(status)
                )
            counted.inc()
            if not streaming:
                timed = self._timed.get((route, method))
                if timed is None:
                    timed = self._timed[route, method] = self.metrics.latency.labels(route, method)
                timed.observe(time.perf_counter() - started)
