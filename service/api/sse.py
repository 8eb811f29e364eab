"""Server-sent events at the edge: a job's events (`service.runs.events`) framed for the wire, and the limit on
open streams per client address."""

from collections import Counter
from collections.abc import AsyncIterator
from typing import TypeVar

from fastapi.sse import ServerSentEvent, format_sse_event

from service.encodings import json_bytes
from service.errors import Busy
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


def server_sent(event: Event) -> ServerSentEvent:
    """An event as FastAPI's `ServerSentEvent`: JSON data, the step as `id`; a nameless event is a `: ping`."""
    if event.name is None:
        return ServerSentEvent(comment="ping")
    data = json_bytes(event.data).decode()
    return ServerSentEvent(event=event.name, raw_data=data, id=None if event.id is None else str(event.id))


async def server_sent_events(events: AsyncIterator[Event]) -> AsyncIterator[ServerSentEvent]:
    async for event in events:
        yield server_sent(event)


async def encoded(events: AsyncIterator[Event]) -> AsyncIterator[bytes]:
    """The events in the SSE wire format, framed by FastAPI's own encoder (for a plain `StreamingResponse`)."""
    async for event in events:
        framed = server_sent(event)
        yield format_sse_event(data_str=framed.raw_data, event=framed.event, id=framed.id, comment=framed.comment)
