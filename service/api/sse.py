"""Server-sent events at the edge: a job's events (`service.runs.events`) framed for the wire, and the limit on
open streams per client address."""

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import anyio.to_thread
import numpy.typing as npt
import orjson
from fastapi.sse import ServerSentEvent, format_sse_event

from service.documents import trace_document
from service.encodings import json_bytes
from service.engine.trace import Trace
from service.errors import Busy
from service.numbers_text import Bytes, joined, json_matrix
from service.runs.events import Event

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
        """Raise `Busy` if `client` already has `limit` open streams (call before the stream starts)."""
        if self._open[client] >= self.limit:
            raise Busy(
                f"This client already has {self.limit} open event streams "
                "(DESCENT_MAX_STREAMS_PER_CLIENT); close one, or use one stream with ?batch= per run."
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


def step_frames(rows: Trace, scalar: bool) -> bytes:
    """One `step` event per row in the SSE wire format, byte for byte what `format_sse_event` makes of each row's
    JSON (`json_bytes(row_document(...))`), written for the whole block at once: every column's values encoded by
    orjson in one call (`json_matrix`), the rows assembled around them (`joined`)."""
    document = trace_document(rows, scalar)
    steps = json_matrix(rows.step)
    parts: list[Bytes | bytes] = [b'event: step\ndata: {"step":', steps]
    for name, column in document.items():
        if name == "step":
            continue
        if name == "state":
            parts.append(b',"state":{')
            for index, (slot, values) in enumerate(column.items()):
                parts += [orjson.dumps(slot) + b":" if index == 0 else b"," + orjson.dumps(slot) + b":"]
                parts += _cell(values)
            parts.append(b"}")
            continue
        parts.append(b"," + orjson.dumps(name) + b":")
        parts += _cell(column)
    parts += [b"}\nid: ", steps, b"\n\n"]
    return joined(parts, len(rows))


def _cell(values: npt.NDArray[Any]) -> list[Bytes | bytes]:
    """A row's value of a column: a number, or `[v0,v1,...]` for a (N, D) column."""
    if values.ndim == 1:
        return [json_matrix(values)]
    parts: list[Bytes | bytes] = [b"["]
    for dim in range(values.shape[1]):
        parts += [json_matrix(values[:, dim]), b"," if dim + 1 < values.shape[1] else b"]"]
    return parts


def server_sent(event: Event) -> ServerSentEvent:
    """An event as FastAPI's `ServerSentEvent`: JSON data, the step as `id`; a nameless event is a `: ping`."""
    if event.name is None:
        return ServerSentEvent(comment="ping")
    data = json_bytes(event.data).decode()
    return ServerSentEvent(event=event.name, raw_data=data, id=None if event.id is None else str(event.id))


async def server_sent_events(events: AsyncIterator[Event]) -> AsyncIterator[ServerSentEvent]:
    """Each event (a block of rows one by one) as FastAPI's `ServerSentEvent`, for a few events (a sweep's)."""
    async for block in events:
        for event in block.each():
            yield server_sent(event)


OFF_LOOP_ROWS = 1_024
"""Blocks of more rows than this are framed in a thread (a 4,096-row block takes a few milliseconds)."""


async def encoded(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """The events in the SSE wire format (for a plain `StreamingResponse`): a block of rows as one chunk of
    per-row `step` events, framed as it comes (`step_frames`); any other event framed by FastAPI's own encoder."""
    async for event in events:
        if event.rows is not None:
            if len(event.rows) > OFF_LOOP_ROWS:
                yield await anyio.to_thread.run_sync(step_frames, event.rows, event.scalar)
            else:
                yield step_frames(event.rows, event.scalar)
            continue
        framed = server_sent(event)
        yield format_sse_event(data_str=framed.raw_data, event=framed.event, id=framed.id, comment=framed.comment)
