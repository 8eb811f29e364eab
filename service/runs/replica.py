"""This server process as one replica among those sharing the store: its worker pool (claiming from the shared
queue), its heartbeat (leases), its wake-ups (LISTEN/NOTIFY on PostgreSQL, polling on SQLite) and, with a Dask
scheduler, its sweeps' runner, started together and stopped in the right order around the `Lifecycle` the edge
uses. Plain values in (the edge reads the settings), so this layer stays free of Pydantic."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from service.limits import Limits
from service.runs.dask_sweeps import DaskSweeps
from service.runs.job import Job, JobKind
from service.runs.leases import Leases
from service.runs.lifecycle import Lifecycle
from service.runs.pool import WorkerPool
from service.runs.wakeups import Wakeups
from service.store.base import RunRecord, RunStore
from service.store.open import listener
from service.store.sql import QUEUED

logger = logging.getLogger("service.runs")

NOTIFIED_POLLS = 20
"""With LISTEN/NOTIFY, waiters and claimers look without a wake-up only every this many poll intervals."""


@dataclass(frozen=True)
class Options:
    """What the settings say about this replica (DESCENT_*)."""

    location: str
    workers: int
    queued: int
    limits: Limits
    lease_seconds: float = 10.0
    poll_seconds: float = 0.05
    threads: bool = False
    nice: int = 0
    dask_scheduler: str = ""


@asynccontextmanager
async def running(
    store: RunStore, options: Options, on_run_ended: Callable[[RunRecord], None] | None = None
) -> AsyncIterator[Lifecycle]:
    """The replica's lifecycle while the block runs; `on_run_ended` is told of every run this process's pool
    executed (metrics)."""
    wakeups = Wakeups(options.poll_seconds)
    wakeups.bind(asyncio.get_running_loop())

    def settled(job: Job) -> None:
        wakeups.wake(job.id)
        record = store.get(job.id) if job.kind == JobKind.RUN else None
        if record is not None:
            logger.info("run ended", extra={"run_id": job.id, "status": record.status, "steps_run": record.last_step})
            if on_run_ended is not None:
                on_run_ended(record)

    pool = WorkerPool(
        store,
        options.location,
        options.workers,
        options.queued,
        options.limits,
        options.lease_seconds,
        kinds=[kind for kind in JobKind if not (kind == JobKind.SWEEP and options.dask_scheduler)],
        threads=options.threads,
        nice=options.nice,
        on_settled=settled,
        claim_seconds=options.poll_seconds,
    )
    leases = Leases(store, pool.owner, options.lease_seconds, on_expired=lambda ids: [*map(wakeups.wake, ids)])
    leases.start()

    def notice(payload: str | None) -> None:
        """A write on any replica: a queued job wakes the claimers, any other the job's waiters (None: everyone)."""
        if payload is None or payload == QUEUED:
            pool.poke()
        if payload != QUEUED:
            wakeups.wake(payload)

    notices = listener(store, notice)
    if notices is not None:  # woken on every write: a poll without a wake-up is only a safety net
        wakeups.poll_seconds = pool.claim_seconds = options.poll_seconds * NOTIFIED_POLLS
        notices.start()
    sweeps = None
    try:
        if options.dask_scheduler:
            sweeps = DaskSweeps(options.dask_scheduler, store, options.workers + options.queued)
            await sweeps.start()
        yield Lifecycle(store, pool, options.limits, wakeups, sweeps, options.lease_seconds)
    finally:
        if sweeps is not None:
            await sweeps.close()
        pool.shutdown()
        leases.stop()
        if notices is not None:
            notices.stop()
