"""The application factory: middleware, the router table, static files, and the lifespan of the store and pool."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service import __version__, csv_kernel
from service.api import (
    catalog,
    code,
    dashboard,
    docs,
    health,
    landscape,
    lr_finder,
    openapi,
    problems,
    runs,
    schedules,
    session,
    sweeps,
    views,
)
from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.body_limit import BodyLimit
from service.api.body_timeout import BodyTimeout
from service.api.head import HeadAsGet
from service.api.keys import KeyRing
from service.api.media import json_body
from service.api.metrics import Metrics, RequestMetrics
from service.api.security_headers import HtmlSecurityHeaders
from service.api.sse import ClientStreams
from service.config import Settings
from service.logs import valid_request_id
from service.runs import replica
from service.runs.ownership import recover
from service.store.open import location, open_store

DESCRIPTION = """Gradient-descent runs as a service: send a loss, a starting point, a learning-rate schedule and an
optimizer; get the per-step trace, a summary and a verdict. float32 runs reproduce TensorFlow's arithmetic.
Every error is an RFC 9457 problem document."""

PROTECTED = (session, runs, code, sweeps, lr_finder, landscape, catalog, schedules, views)
"""The /v1 routers: with configured API keys, every route needs one."""
PUBLIC = (health, dashboard, docs)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    streams = ClientStreams(settings.max_streams_per_client)
    keys = KeyRing(settings.api_keys, settings.api_keys_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        csv_kernel.warm_in_background()  # the NumPy CSV writer serves until the compiled one is loaded
        await anyio.to_thread.run_sync(partial(keys.refresh, strict=True))  # an unreadable key file stops the start
        where = location(settings.store_url, settings.store_path)
        store = await anyio.to_thread.run_sync(partial(open_store, where, migrate=True))
        recover(store)
        await anyio.to_thread.run_sync(store.purge_sessions, time.time())
        metrics.watch_runs(store.count_by_status)

        options = replica.Options(
            location=where,
            workers=settings.max_concurrent_runs,
            queued=settings.max_queued_runs,
            limits=settings.limits,
            lease_seconds=settings.lease_seconds,
            poll_seconds=settings.stream_poll_ms / 1000,
            threads=settings.executor == "thread",
            nice=settings.worker_nice,
            dask_scheduler=settings.dask_scheduler,
        )
        try:
            async with replica.running(store, options, lambda run: metrics.rows.inc(run.last_step + 1)) as lifecycle:
                app.state.lifecycle = lifecycle
                metrics.watch_pool(lambda: lifecycle.pool.in_flight, settings.max_concurrent_runs)
                yield
        finally:
            store.close()

    app = FastAPI(  # the docs pages are service.api.docs's, on vendored assets
        title="Descent", version=__version__, description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings, app.state.limits = settings, settings.limits
    app.state.metrics, app.state.streams, app.state.keys = metrics, streams, keys
    metrics.watch_streams(lambda: streams.total)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BodyTimeout, timeout=settings.body_timeout)  # outside BodyLimit: an early 413 closes
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=valid_request_id)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "Last-Event-ID", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            allow_credentials=True,
        )
    app.add_middleware(HtmlSecurityHeaders)
    app.add_middleware(HeadAsGet)  # outermost: every layer below sees the GET a HEAD stands for
    problems.install(app)
    for module in PROTECTED:  # authentication first: a client without a key learns nothing more than 401
        app.include_router(
            module.router, dependencies=[Depends(require_key), Depends(json_body)], responses=UNAUTHORIZED_RESPONSE
        )
    for module in PUBLIC:
        app.include_router(module.router, dependencies=[Depends(json_body)])
    app.include_router(views.links)  # /v/{id}: the short link, public like the page it leads to
    app.mount("/static", dashboard.static_files(), name="static")
    openapi.install(app, settings)
    return app
