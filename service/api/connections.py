"""Connections that idle or trickle their headers are closed (uvicorn's HTTP protocol, with the two timers it lacks).

uvicorn (0.55, `httptools_impl` and `h11_impl` alike) arms its keep-alive timer only once a response is complete,
and disarms it at the first byte that arrives. So a connection that never sends a request stays open for good, and
so does one that sends its header block a byte at a time: 1,100 such connections held every file descriptor and
took `/healthz` down. `GuardedHttpToolsProtocol`, which `python -m service` runs uvicorn with, adds:

- the keep-alive timer from the moment the connection is made (DESCENT_KEEP_ALIVE_TIMEOUT): idle before the first
  request as after a response;
- a deadline for the header block, from a request's first byte to the end of its headers (DESCENT_HEADER_TIMEOUT):
  it does not move as bytes trickle in.

Either closes the connection. A body that pauses between chunks is `body_timeout.BodyTimeout`'s (408).

It also writes a response's head and the first piece of its body to the socket together (`HeadWithBody`):
uvicorn writes them one after the other, two `send` calls, two TCP segments and two wake-ups of the client for
every answer; on a busy 2-core host the second wake-up cost a tiny answer as much CPU as FastAPI's routing.
uvicorn builds a protocol per connection in each worker process from the class alone, so the class reads its
timeout from the environment, once per process, as the app's settings are.
"""

import asyncio
import functools
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from service.config import Settings


@functools.cache
def header_timeout() -> float:
    return float(Settings().header_timeout)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout()
        self.header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # The first byte received disarms it (`data_received`), as it does after a response.
        self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._disarm_header_timer()
        self.header_timer = self.loop.call_later(self.header_timeout, self._close)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:  # the request's cycle, not started yet
            self.cycle.transport = HeadWithBody(self.transport, self.loop)  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        self._unset_keepalive_if_required()  # uvicorn leaves it armed when the connection broke (`exc`)
        super().connection_lost(exc)

    def _disarm_header_timer(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _close(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


HELD_BODY_BYTES = 65_536
"""A first body piece up to this size is copied after the held head into one write; a bigger one is written on
its own after the head (copying megabytes to save one system call would cost more than it saves)."""


class HeadWithBody:
    """A request cycle's view of the connection's transport that holds the cycle's first write (the response's
    head, or a `100 Continue`) until the next one, and writes both at once. A head with no body following in the
    same step of the event loop (a stream that has yet to produce, a HEAD answer) is written at the end of that
    step (`call_soon`), and before the transport closes; every later write passes straight through."""

    __slots__ = ("_held", "_loop", "_transport", "_used")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: bytes | None = None
        self._used = False

    def write(self, data: bytes) -> None:
        held, self._held = self._held, None
        if held is None and not self._used:
            self._held, self._used = data, True
            self._loop.call_soon(self.flush)
        elif held is None:
            self._transport.write(data)
        elif len(data) <= HELD_BODY_BYTES:
            self._transport.write(held + data)
        else:
            self._transport.write(held)
            self._transport.write(data)

    def flush(self) -> None:
        """Write the held bytes, if any are still held (and the connection is still open)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
