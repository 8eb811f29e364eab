"""Sweeps on a Dask cluster (DESCENT_DASK_SCHEDULER): the grid is cut into shards (`shards.spans`), each shard is
a task running the engine's batched loop on a Dask worker (`shards.run_shard`), and the server process gathers
them as they complete, writes the fraction done as the sweep's progress, assembles the arrays in grid order and
stores them exactly as the local worker would (every write conditional on ownership). Admission is bounded like
the local pool's (`Busy` beyond it); shutting down cancels the shards' futures and stores the sweep as failed.
"""

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

import anyio.to_thread
from distributed import Client, Future, as_completed

from service.clock import now
from service.errors import Busy
from service.runs import shards
from service.runs.job import Job
from service.runs.worker import FLUSH_SECONDS, _budget_error, _named
from service.specs import build
from service.store.base import NotOwnedError, RunStore, Status

logger = logging.getLogger("service.runs")


class DaskSweeps:
    """At most `capacity` sweeps at once on the cluster at `address` (they share its workers); `start` connects."""

    def __init__(self, address: str, store: RunStore, capacity: int) -> None:
        self.address, self.capacity, self._store = address, capacity, store
        self._client: Client | None = None
        self._tasks: set[asyncio.Task[str]] = set()
        self._in_flight, self._closed = 0, False
        self._lock = threading.Lock()

    async def start(self) -> None:
        self._client = await Client(self.address, asynchronous=True)  # type: ignore[no-untyped-call]

    def reserve(self) -> None:
        with self._lock:
            if self._in_flight < self.capacity and not self._closed:
                self._in_flight += 1
                return
        raise Busy(f"{self.capacity} sweeps are executing on the Dask cluster; retry in a moment.")

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def submit(self, job: Job) -> "asyncio.Future[str]":
        """Start a stored, queued sweep in the place `reserve` took; the future resolves to its final status."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[str] = loop.create_future()
        task = loop.create_task(self._execute(job))
        self._tasks.add(task)

        def done(task: "asyncio.Task[str]") -> None:
            self._tasks.discard(task)
            self.release()
            status = Status.FAILED.value if task.cancelled() or task.exception() else task.result()
            if not settled.done():
                settled.set_result(status)

        task.add_done_callback(done)
        return settled

    async def close(self) -> None:
        """Cancel the sweeps executing (their futures are cancelled, they are stored as failed), then disconnect."""
        with self._lock:
            self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()  # type: ignore[no-untyped-call]

    async def _execute(self, job: Job) -> str:
        futures: list[Future[Any]] = []
        try:
            return await self._sweep(job, futures)
        except NotOwnedError:
            return Status.FAILED
        except asyncio.CancelledError:
            error = "The server shut down while the sweep was executing; its shards were cancelled."
            self._fail(job, error)  # in place: the event loop is stopping
            return Status.FAILED
        except TimeoutError:
            await anyio.to_thread.run_sync(self._fail, job, _budget_error(job, "sweep", "its progress is kept"))
            return Status.FAILED
        except Exception as exc:  # the sweep must leave a final status behind whatever happens
            error = f"The sweep failed on the Dask cluster: {_named(exc)}"
            await anyio.to_thread.run_sync(self._fail, job, error)
            return Status.FAILED
        finally:
            if futures and self._client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._client.cancel(futures))  # type: ignore[no-untyped-call]

    async def _sweep(self, job: Job, futures: list[Future[Any]]) -> str:
        assert self._client is not None, "start() connects to the cluster first"
        document = job.document
        grid = build.sweep_grid(document)
        blocks = shards.sweep_spans(document, grid.points)
        steps = int(document["base"]["steps"])
        await anyio.to_thread.run_sync(self._progress, job, -1)
        futures += self._client.map(
            shards.run_shard,
            [document] * len(blocks),
            [first for first, _ in blocks],
            [last for _, last in blocks],
            pure=False,
        )
        where = {future.key: index for index, future in enumerate(futures)}
        parts: list[Any] = [None] * len(blocks)
        points, last_step, written, flushed = 0, -1, -1, time.monotonic()
        async with asyncio.timeout(job.limits.max_run_seconds):
            async for future in as_completed(futures):  # type: ignore[no-untyped-call]
                index = where[future.key]
                parts[index], last = await future
                points += blocks[index][1] - blocks[index][0]
                last_step = max(last_step, last)
                step = min(points * steps // grid.points, last_step)  # the fraction done, never past the end
                if step != written and time.monotonic() - flushed >= FLUSH_SECONDS:
                    await anyio.to_thread.run_sync(self._progress, job, step)
                    written, flushed = step, time.monotonic()
        arrays = await anyio.to_thread.run_sync(shards.assemble, parts)
        if last_step != written:
            await anyio.to_thread.run_sync(self._progress, job, last_step)

        def finish() -> None:
            self._store.finish_job(job.id, Status.FINISHED, now(), arrays, owner=job.owner)

        await anyio.to_thread.run_sync(finish)
        logger.info("sweep ended on dask", extra={"job_id": job.id, "shards": len(blocks)})
        return Status.FINISHED

    def _progress(self, job: Job, step: int) -> None:
        self._store.job_progress(job.id, step, owner=job.owner)

    def _fail(self, job: Job, error: str) -> None:
        with contextlib.suppress(NotOwnedError):
            self._store.finish_job(job.id, Status.FAILED, now(), error=error, owner=job.owner)
