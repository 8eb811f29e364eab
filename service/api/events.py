"""The run's event stream: `run`, then `step` (or `steps`) events, then `end`; replayed from the store and
followed live by polling it, so it works for any run in any server process."""

import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import numpy as np
import orjson
from fastapi.sse import ServerSentEvent, format_sse_event

from service.api.adapters import row_document, trace_document
from service.api.documents import JSON_OPTIONS, run_document
from service.api.errors import BUSY, NOT_FOUND, ProblemError
from service.engine.trace import Trace
from service.store.base import RunStore

T = TypeVar("T")


class ClientStreams:
    """Open event streams per client address, refused beyond `limit` so one client cannot hold every poller."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def check(self, client: str) -> None:
        """Raise a 429 problem if `client` already has `limit` open streams (call before the stream starts)."""
        if self._open[client] >= self.limit:
            raise ProblemError(
                429,
                "Too Many Requests",
                f"This client already has {self.limit} open event streams "
                "(DESCENT_MAX_STREAMS_PER_CLIENT); close one, or use one stream with ?batch= per run.",
                type_=BUSY,
                headers={"Retry-After": "1"},
            )

    async def follow(self, client: str, events: AsyncIterator[T]) -> AsyncIterator[T]:
        """`events`, counted as one open stream of `client` for as long as they flow."""
        self._open[client] += 1
        try:
            async for event in events:
                yield event
        finally:
            self._open[client] -= 1
            if not self._open[client]:
                del self._open[client]


TERMINAL = frozenset({"finished", "diverged", "cancelled", "failed"})
PING_SECONDS = 15.0


def _event(name: str, data: Any, event_id: int | None = None) -> ServerSentEvent:
    payload = orjson.dumps(data, option=JSON_OPTIONS).decode()
    return ServerSentEvent(event=name, raw_data=payload, id=None if event_id is None else str(event_id))


async def run_events(
    store: RunStore,
    run_id: str,
    after: int = -1,
    batch: int | None = None,
    interval_ms: int = 0,
    poll_seconds: float = 0.05,
) -> AsyncIterator[ServerSentEvent]:
    """Events of a run from step `after + 1` on; ends after the `end` event. The run must exist."""
    record = await anyio.to_thread.run_sync(store.get, run_id)
    assert record is not None
    yield _event("run", run_document(record))
    scalar = record.dims == 0
    last_sent = time.monotonic()
    while True:
        current = await anyio.to_thread.run_sync(store.get, run_id)
        if current is None:
            yield _event(
                "error",
                {
                    "type": NOT_FOUND,
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
        if current.status in TERMINAL:
            if current.status == "failed":
                yield _event(
                    "error",
                    {
                        "type": "urn:descent:problem:run-failed",
                        "title": "Run failed",
                        "status": 500,
                        "detail": current.error or "The run failed.",
                    },
                )
            yield _event("end", {"status": current.status, "summary": current.summary, "error": current.error})
            return
        if time.monotonic() - last_sent >= PING_SECONDS:
            yield ServerSentEvent(comment="ping")
            last_sent = time.monotonic()
        await anyio.sleep(poll_seconds)


def step_events(rows: Trace, scalar: bool, batch: int | None) -> list[ServerSentEvent]:
    """One `step` event per row, or `steps` events of up to `batch` rows in columns; `id` is the last step."""
    if batch is None:
        columns = trace_document(rows, scalar)
        return [_event("step", row_document(columns, i), int(step)) for i, step in enumerate(rows.step.tolist())]
    return [
        _event("steps", trace_document(part, scalar), int(part.step[-1]))
        for part in (rows.take(np.arange(i, min(i + batch, len(rows)))) for i in range(0, len(rows), batch))
    ]


async def encoded(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[bytes]:
    """The events in the SSE wire format, framed by FastAPI's own encoder."""
    async for event in events:
        yield format_sse_event(data_str=event.raw_data, event=event.event, id=event.id, comment=event.comment)
