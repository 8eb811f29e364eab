"""A job's events, read from the store: replayed, then followed live (read again whenever `wait` returns: a
wake-up from the store's listener, or a poll), so any server process (or replica) can stream any job. Plain
values; `service.api.sse` frames them as server-sent events."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import numpy as np

from service.documents import row_document, run_document, trace_document
from service.engine.trace import Trace
from service.store.base import ENDED, RunStore, Status

PING_SECONDS = 15.0


@dataclass(frozen=True)
class Event:
    """One event: its name, its JSON-able data and its id (a step); a nameless event is a keep-alive ping.

    `rows` makes it a block of `step` events, one per row of that trace (`scalar`: a 1-D run), which the edge
    frames a whole block at a time; `data` and `id` are then unused."""

    name: str | None
    data: Any = None
    id: int | None = None
    rows: Trace | None = None
    scalar: bool = False

    def each(self) -> Iterator["Event"]:
        """The events this one stands for: itself, or one `step` event per row of its block."""
        if self.rows is None:
            yield self
        else:
            yield from step_events(self.rows, self.scalar, None, one_by_one=True)


PING = Event(None)

PARTS_PER_READ = 1
"""Stored row ranges (65,536 rows each) a follower reads at a time: the first event of a long trace goes out
after one range is read, not the whole trace."""

Wait = Callable[[str], Awaitable[None]]
"""Waits until the job (by id) may have changed: a wake-up, or the poll interval."""


def polling(seconds: float) -> Wait:
    """A `Wait` that only polls."""

    async def wait(_: str) -> None:
        await anyio.sleep(seconds)

    return wait


POLLING = polling(0.05)


async def run_events(
    store: RunStore,
    run_id: str,
    after: int = -1,
    batch: int | None = None,
    interval_ms: int = 0,
    wait: Wait = POLLING,
) -> AsyncIterator[Event]:
    """Events of a run from step `after + 1` on: `run`, then `step` (or `steps`), then `end`. The run must exist."""
    record = await anyio.to_thread.run_sync(store.get, run_id)
    assert record is not None
    yield Event("run", run_document(record))
    scalar = record.dims == 0
    last_sent = time.monotonic()
    while True:
        current = await anyio.to_thread.run_sync(store.get, run_id)
        if current is None:
            yield Event(
                "error",
                {
                    "type": "urn:descent:problem:not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": f"Run {run_id!r} was deleted while it was streamed.",
                },
            )
            return
        rows = await anyio.to_thread.run_sync(store.trace, run_id, after, PARTS_PER_READ)
        assert rows is not None
        for event in step_events(rows, scalar, batch, one_by_one=interval_ms > 0):
            yield event
            if interval_ms:
                await anyio.sleep(interval_ms / 1000)
        if len(rows):
            after, last_sent = int(rows.step[-1]), time.monotonic()
            continue
        if current.status in ENDED:
            if current.status == Status.FAILED:
                yield Event(
                    "error",
                    {
                        "type": "urn:descent:problem:run-failed",
                        "title": "Run failed",
                        "status": 500,
                        "detail": current.error or "The run failed.",
                    },
                )
            yield Event("end", {"status": current.status, "summary": current.summary, "error": current.error})
            return
        if time.monotonic() - last_sent >= PING_SECONDS:
            yield PING
            last_sent = time.monotonic()
        await wait(run_id)


FIRST_BLOCK = 64
"""Rows in the first block of per-row events: the client sees its first `step` within milliseconds."""
BLOCK = 4_096
"""Rows per later block: big enough that framing costs per block, not per event, vanish."""


def step_events(rows: Trace, scalar: bool, batch: int | None, one_by_one: bool = False) -> Iterator[Event]:
    """One `step` event per row (in blocks: FIRST_BLOCK rows, then BLOCK; or one Event per row if `one_by_one`),
    or `steps` events of up to `batch` rows in columns; `id` is the last step. Lazy: nothing is built ahead."""
    if batch is not None:
        for i in range(0, len(rows), batch):
            part = rows.take(np.arange(i, min(i + batch, len(rows))))
            yield Event("steps", trace_document(part, scalar), int(part.step[-1]))
        return
    if one_by_one:
        columns = trace_document(rows, scalar)
        for i, step in enumerate(rows.step.tolist()):
            yield Event("step", row_document(columns, i), int(step))
        return
    first = 0
    while first < len(rows):
        last = min(first + (FIRST_BLOCK if first == 0 else BLOCK), len(rows))
        yield Event("step", rows=rows.take(np.arange(first, last)), scalar=scalar)
        first = last


async def job_events(store: RunStore, job_id: str, wait: Wait = POLLING) -> AsyncIterator[Event]:
    """`progress` {step, steps} whenever the job advanced, then `end` {status, error}. The job must exist."""
    sent = None
    last_sent = time.monotonic()
    while True:
        current = await anyio.to_thread.run_sync(store.get_job, job_id)
        if current is None:  # deleted while it was streamed
            return
        if current.progress != sent:
            sent, last_sent = current.progress, time.monotonic()
            yield Event("progress", {"step": current.progress, "steps": current.steps})
        if current.status in ENDED:
            yield Event("end", {"status": current.status, "error": current.error})
            return
        if time.monotonic() - last_sent >= PING_SECONDS:
            yield PING
            last_sent = time.monotonic()
        await wait(job_id)
