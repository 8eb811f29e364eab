"""Finished tiny runs stored from the event loop, one transaction for however many arrived together.

The runs that reach `store` during one pass of the event loop (several requests' handlers run in one pass when
their connections were ready together) are stored at the end of that pass in one transaction, on the loop, when
the store takes them without waiting (`RunStore.create_now`): a commit writes its WAL frames one system call at a
time, so one commit for eight runs costs little more than one for one run. When the store would wait (another
writer's turn, another process's transaction, a store across the network), they join the next batch that one
thread stores in one transaction (`RunStore.create_many`) while the loop goes on answering. Before, each run that
met a busy store took a thread of its own, and under load most did (measured: 50 to 80 % of the course runs of two
server processes at 8 connections), each thread then waiting its turn for a transaction of one run.
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
        self._this_pass: list[Pending] = []
        self._waiting: list[Pending] = []  # met a busy store: for the writer thread's next batch
        self._writer: asyncio.Task[None] | None = None

    async def store(self, record: RunRecord, trace: Trace) -> None:
        """Return once the run and its trace are stored (or raise what storing them raised)."""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[None] = loop.create_future()
        if not self._this_pass:
            loop.call_soon(self._store_this_pass)
        self._this_pass.append((record, trace, stored))
        # A request that goes away still has its run stored: the batch does not depend on who waits for it.
        await asyncio.shield(stored)

    def _store_this_pass(self) -> None:
        batch, self._this_pass = self._this_pass, []
        try:
            stored = self._store.create_now([(record, trace) for record, trace, _ in batch])
        except Exception as error:  # the transaction rolled back: every run in it gets the error
            _settle(batch, error)
            return
        if stored:
            _settle(batch, None)
            return
        self._waiting += batch
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Store batches until none waits: every run that met a busy store during a batch's transaction is in the
        next one."""
        batch: list[Pending] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                runs = [(record, trace) for record, trace, _ in batch]
                try:
                    await anyio.to_thread.run_sync(self._store.create_many, runs)
                except Exception as error:
                    _settle(batch, error)
                else:
                    _settle(batch, None)
                batch = []
        finally:  # cancelled (the server stops): whoever still waits is cancelled too
            self._writer = None
            for *_, stored in (*batch, *self._waiting):
                if not stored.done():
                    stored.cancel()


def _settle(batch: list[Pending], error: Exception | None) -> None:
    for *_, stored in batch:
        if stored.done():
            continue
        if error is None:
            stored.set_result(None)
        else:
            stored.set_exception(error)
