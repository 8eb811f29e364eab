"""The application factory: middleware, the router table, static files, and the lifespan of the store and pool."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio.to_thread
from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from service import __version__
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
from service.runs.dask_sweeps import DaskSweeps
from service.runs.job import Job, JobKind
from service.runs.leases import Leases
from service.runs.lifecycle import Lifecycle
from service.runs.ownership import recover
from service.runs.pool import WorkerPool
from service.runs.wakeups import Wakeups
from service.store.open import listener, location, open_store
from service.store.sql import QUEUED

logger = logging.getLogger("service.runs")

DESCRIPTION = """Gradient-descent runs as a service: send a loss, a starting point, a learning-rate schedule and an
optimizer; get the per-step trace, a summary and a verdict. float32 runs reproduce TensorFlow's arithmetic.
Every error is an RFC 9457 problem document."""

PROTECTED = (session, runs, code, sweeps, lr_finder, landscape, catalog, schedules)
"""The /v1 routers: with configured API keys, every route needs one."""
PUBLIC = (health, dashboard, docs)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    streams = ClientStreams(settings.max_streams_per_client)
    keys = KeyRing(settings.api_keys, settings.api_keys_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(partial(keys.refresh, strict=True))  # an unreadable key file stops the start
        where = location(settings.store_url, settings.store_path)
        store = await anyio.to_thread.run_sync(partial(open_store, where, migrate=True))
        recover(store)
        await anyio.to_thread.run_sync(store.purge_sessions, time.time())
        metrics.watch_runs(store.count_by_status)

        poll = settings.stream_poll_ms / 1000
        wakeups = Wakeups(poll)
        wakeups.bind(asyncio.get_running_loop())

        def settled(job: Job) -> None:
            wakeups.wake(job.id)
            if job.kind != JobKind.RUN:
                return
            record = store.get(job.id)
            if record is not None:
                metrics.rows.inc(record.last_step + 1)
                logger.info(
                    "run ended", extra={"run_id": job.id, "status": record.status, "steps_run": record.last_step}
                )

        pool = WorkerPool(
            store,
            where,
            settings.max_concurrent_runs,
            settings.max_queued_runs,
            settings.limits,
            settings.lease_seconds,
            kinds=[kind for kind in JobKind if not (kind == JobKind.SWEEP and settings.dask_scheduler)],
            threads=settings.executor == "thread",
            nice=settings.worker_nice,
            on_settled=settled,
            claim_seconds=poll,
        )
        leases = Leases(store, pool.owner, settings.lease_seconds, on_expired=lambda ids: [*map(wakeups.wake, ids)])
        leases.start()

        def notice(payload: str | None) -> None:
            """A write on any replica: a queued job wakes the claimers, any other the job's followers."""
            if payload is None or payload == QUEUED:
                pool.poke()
            if payload != QUEUED:
                wakeups.wake(payload)

        notices = listener(store, notice)
        if notices is not None:  # PostgreSQL: woken on every write; a poll without a wake-up only as a safety net
            wakeups.poll_seconds = pool.claim_seconds = poll * 20
            notices.start()
        sweeps = None
        if settings.dask_scheduler:
            sweeps = DaskSweeps(settings.dask_scheduler, store, settings.max_concurrent_runs + settings.max_queued_runs)
            await sweeps.start()
        app.state.lifecycle = Lifecycle(store, pool, settings.limits, wakeups, sweeps, settings.lease_seconds)
        metrics.watch_pool(lambda: pool.in_flight, settings.max_concurrent_runs)
        try:
            yield
        finally:
            if sweeps is not None:
                await sweeps.close()
            pool.shutdown()
            leases.stop()
            if notices is not None:
                notices.stop()
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
    app.mount("/static", dashboard.static_files(), name="static")
    openapi.install(app, settings)
    return app
