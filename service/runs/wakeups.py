"""Wake-ups for whoever waits on a job in this server process (a stream's follower, a waited `POST`, a cancel):
`wake(id)` from any thread ends their current wait early; they then read the job from the store. On PostgreSQL the
store's listener wakes them on every write of any replica; on SQLite the local pool does when a job of this
process ends, and followers poll."""

import asyncio
import contextlib
from collections import defaultdict

import anyio


class Wakeups:
    def __init__(self, poll_seconds: float) -> None:
        """`poll_seconds`: the longest a waiter waits without a wake-up before it looks again."""
        self.poll_seconds = poll_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the waiters run on (the server's)."""
        self._loop = loop

    async def wait(self, key: str) -> None:
        """Until `key` is woken, or `poll_seconds` have passed."""
        event = asyncio.Event()
        self._waiting[key].add(event)
        try:
            with anyio.move_on_after(self.poll_seconds):
                await event.wait()
        finally:
            waiters = self._waiting.get(key)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiting[key]

    def wake(self, key: str | None) -> None:
        """Wake the waiters on `key` (everyone for None); safe from any thread."""
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed at shutdown
                self._loop.call_soon_threadsafe(self._wake, key)

    def _wake(self, key: str | None) -> None:
        groups = list(self._waiting.values()) if key is None else [self._waiting.get(key, set())]
        for waiters in groups:
            for event in waiters:
                event.set()
