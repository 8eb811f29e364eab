"""The run service: store a queued run, hand it to the worker pool, and read it back or stream it."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import anyio

from service.api import adapters
from service.api.events import TERMINAL, ClientStreams, encoded, run_events
from service.engine.trace import Trace
from service.specs.run import RunSpec
from service.store.base import RunRecord, RunStore
from service.timeutil import now
from service.worker import WorkerPool

logger = logging.getLogger("service.runs")


def queued_record(spec: RunSpec) -> RunRecord:
    scalar = not isinstance(spec.w0, list)
    return RunRecord(
        id=str(uuid.uuid4()),
        name=spec.name,
        status="queued",
        created_at=now(),
        finished_at=None,
        spec=spec.normalised(),
        summary=None,
        dtype=spec.dtype,
        dims=0 if scalar else adapters.dims_of(spec),
    )


async def submit(spec: RunSpec, store: RunStore, pool: WorkerPool) -> tuple[RunRecord, "asyncio.Future[str]"]:
    """Store the run as queued and start it; refused with 429 before anything is stored when the pool is full."""
    pool.reserve()
    record = queued_record(spec)
    try:
        await anyio.to_thread.run_sync(store.insert, record, pool.owner)
    except BaseException:
        pool.release()
        raise
    logger.info("run queued", extra={"run_id": record.id, "steps": spec.steps})
    return record, pool.submit(record.id, record.spec)


async def read(store: RunStore, run_id: str) -> tuple[RunRecord, Trace]:
    record = await anyio.to_thread.run_sync(store.get, run_id)
    trace = await anyio.to_thread.run_sync(store.trace, run_id)
    assert record is not None
    assert trace is not None
    return record, trace


async def cancel(store: RunStore, run_id: str, wait_seconds: float = 5.0) -> RunRecord | None:
    """Ask a queued or running run to stop and wait (up to `wait_seconds`) until its worker has stopped it."""
    await anyio.to_thread.run_sync(store.request_cancel, run_id, "client")
    with anyio.move_on_after(wait_seconds):
        while True:
            record = await anyio.to_thread.run_sync(store.get, run_id)
            if record is None or record.status in TERMINAL:
                return record
            await anyio.sleep(0.02)
    return await anyio.to_thread.run_sync(store.get, run_id)


async def stream_and_cancel_on_disconnect(
    store: RunStore, run_id: str, batch: int | None, poll_seconds: float, streams: ClientStreams, client: str
) -> AsyncIterator[bytes]:
    """The SSE bytes of a run started by this request; if the client goes away first, the run is cancelled."""
    ended = False
    try:
        async for frame in encoded(
            streams.follow(client, run_events(store, run_id, batch=batch, poll_seconds=poll_seconds))
        ):
            ended = frame.startswith(b"event: end")
            yield frame
    finally:
        if not ended:
            store.request_cancel(run_id, "client")
