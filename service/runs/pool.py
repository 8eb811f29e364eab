"""The bounded worker pool: at most `workers` jobs execute and at most `queue` wait; beyond that, `Busy`.

Processes by default (the step loop holds the GIL), threads when the store is in memory. Either way the server
process only inserts the queued job and waits on a future; the store is the one channel between them, so any
server process (or replica) can stream, read or cancel any job.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context

from service.clock import now
from service.errors import Busy
from service.runs.job import Job, JobKind
from service.runs.ownership import process_identity
from service.runs.worker import execute
from service.store.base import RunStore, Status


def _lower_priority(nice: int) -> None:
    """Jobs yield the CPU to the server process, so requests and streams stay quick while jobs compute."""
    os.nice(nice)


class WorkerPool:
    """Places are reserved before a job is stored (`reserve`), so a stored job always has its place."""

    def __init__(
        self,
        store: RunStore,
        store_path: str,
        workers: int,
        queue: int,
        threads: bool = False,
        nice: int = 0,
        on_settled: Callable[[Job], None] | None = None,
    ) -> None:
        self._store = store
        self._on_settled = on_settled
        self.capacity, self._queue, self._nice = workers, queue, nice
        self._threads = threads or store_path == ":memory:"
        self._target: RunStore | str = store if self._threads else store_path
        self._executor = self._new_executor()
        self._in_flight = 0
        self._lock = threading.Lock()
        self.owner = process_identity()

    def _new_executor(self) -> Executor:
        if self._threads:
            return ThreadPoolExecutor(self.capacity, thread_name_prefix="job")
        return ProcessPoolExecutor(
            self.capacity, mp_context=get_context("spawn"), initializer=_lower_priority, initargs=(self._nice,)
        )

    def reserve(self) -> None:
        """Take a place for a job about to be stored, or raise `Busy`. Check and take happen together."""
        with self._lock:
            if self._in_flight < self.capacity + self._queue:
                self._in_flight += 1
                return
        raise Busy(f"All {self.capacity} workers are busy and {self._queue} jobs are waiting; retry in a moment.")

    def release(self) -> None:
        """Give back a reserved place that will not be used (the job could not be stored)."""
        with self._lock:
            self._in_flight -= 1

    def submit(self, job: Job) -> "asyncio.Future[str]":
        """Start a stored queued job in the place `reserve` took; the returned future resolves to its final status
        once that is stored."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[str] = loop.create_future()
        try:
            future = self._executor.submit(execute, job, self._target)
        except BrokenExecutor:  # a worker process died earlier: start a fresh pool
            self._executor = self._new_executor()
            future = self._executor.submit(execute, job, self._target)

        def settle(done: "Future[str]") -> None:
            status, error = Status.FAILED.value, None
            what = "run" if job.kind == JobKind.RUN else "job"
            try:
                if done.cancelled():  # shutdown() dropped it from the queue
                    error = f"The server shut down before the {what} started."
                elif (exc := done.exception()) is not None:  # the worker process died (killed, out of memory)
                    kept = "rows" if job.kind == JobKind.RUN else "results"
                    error = (
                        f"The worker process running this {what} stopped ({type(exc).__name__}); "
                        f"the {kept} stored until then are kept."
                    )
                else:
                    status = done.result()
                if error is not None:
                    self._fail(job, error)
                if self._on_settled is not None:
                    self._on_settled(job)
            finally:
                with self._lock:
                    self._in_flight -= 1
                with contextlib.suppress(RuntimeError):  # the event loop is already closed at shutdown
                    loop.call_soon_threadsafe(_resolve, settled, status)

        future.add_done_callback(settle)
        return settled

    def _fail(self, job: Job, error: str) -> None:
        if job.kind == JobKind.RUN:
            self._store.finish(job.id, None, Status.FAILED, now(), None, error)
        else:
            self._store.finish_job(job.id, Status.FAILED, now(), error=error)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def shutdown(self) -> None:
        """Ask this process's runs to stop at their next chunk (they are stored as failed), then wait for them."""
        for run_id, owner in self._store.unfinished():
            if owner == self.owner:
                self._store.request_cancel(run_id, "shutdown")
        self._executor.shutdown(wait=True, cancel_futures=True)


def _resolve(future: "asyncio.Future[str]", status: str) -> None:
    if not future.done():
        future.set_result(status)
