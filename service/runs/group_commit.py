"""Finished tiny runs stored from the event loop, one transaction for however many arrived meanwhile.

A tiny run computed on the event loop is stored there at once when the store takes it without waiting
(`RunStore.create_now`). When it would wait (another writer's turn, another process's transaction, a store across
the network), the run joins the next batch, and one thread stores the whole batch in one transaction
(`RunStore.create_many`) while the loop goes on answering: a group commit. Before, each such run took a thread of
its own, and under load most did (measured: 50 to 80 % of the course runs of two server processes at 8
connections), each thread then waiting its turn for a transaction of one run.
"""

import asyncio

import anyio.to_thread

from service.engine.trace import Trace
from service.store.base import RunRecord, RunStore

Pending = tuple[RunRecord, Trace, "asyncio.Future[None]"]


class GroupCommit:
    """Stores finished runs for the event loop it is used on (see the module's docstring)."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._pending: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, record: RunRecord, trace: Trace) -> None:
        """Return once the run and its trace are stored (or raise what storing them raised)."""
        if self._store.create_now(record, trace):
            return
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, trace, stored))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        # A request that goes away still has its run stored: the batch does not depend on who waits for it.
        await asyncio.shield(stored)

    async def _write(self) -> None:
        """Store batches until none is pending: every run that arrived during a batch's transaction is in the next."""
        batch: list[Pending] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await anyio.to_thread.run_sync(
                        self._store.create_many, [(record, trace) for record, trace, _ in batch]
                    )
                except Exception as error:  # the batch's transaction rolled back: every run in it gets the error
                    for *_, stored in batch:
                        stored.set_exception(error)
                else:
                    for *_, stored in batch:
                        stored.set_result(None)
                batch = []
        finally:  # cancelled (the server stops): whoever still waits is cancelled too
            self._writer = None
            for *_, stored in (*batch, *self._pending):
                if not stored.done():
                    stored.cancel()
