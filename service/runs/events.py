"""A job's events, read from the store: replayed, then followed live (read again whenever `wait` returns: a
wake-up from the store's listener, or a poll), so any server process (or replica) can stream any job. Plain
values; `service.api.sse` frames them as server-sent events."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
    """One event: its name, its JSON-able data and its id (a step); a nameless event is a keep-alive ping."""

    name: str | None
    data: Any = None
    id: int | None = None


PING = Event(None)

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
        rows = await anyio.to_thread.run_sync(store.trace, run_id, after)
        assert rows is not None
        for event in step_events(rows, scalar, batch):
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


def step_events(rows: Trace, scalar: bool, batch: int | None) -> list[Event]:
    """One `step` event per row, or `steps` events of up to `batch` rows in columns; `id` is the last step."""
    if batch is None:
        columns = trace_document(rows, scalar)
        return [Event("step", row_document(columns, i), int(step)) for i, step in enumerate(rows.step.tolist())]
    return [
        Event("steps", trace_document(part, scalar), int(part.step[-1]))
        for part in (rows.take(np.arange(i, min(i + batch, len(rows)))) for i in range(0, len(rows), batch))
    ]


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
