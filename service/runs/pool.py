"""The bounded worker pool: at most `workers` jobs execute and at most `queue` wait; beyond that, `Busy`.

Each worker is its own single-process executor (a lane), and the pool hands a waiting job to the next free lane.
A worker that dies (killed, out of memory) fails only the job it was executing: its lane is rebuilt, the other
lanes and the waiting jobs go on. Processes by default (the step loop holds the GIL), threads when the store is in
memory. The server process only inserts the queued job and waits on a future; the store is the one channel back,
so any server process (or replica) can stream, read or cancel any job.
"""

import asyncio
import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context

from service.clock import now
from service.engine import kernels
from service.errors import Busy
from service.runs.job import Job, JobKind
from service.runs.ownership import process_identity
from service.runs.worker import execute
from service.store.base import NotOwnedError, RunStore, Status

PARENT_CHECK_SECONDS = 0.5
"""How often a worker process checks that its server process still lives."""


def _start_worker(nice: int, parent: int) -> None:
    """In each worker process: yield the CPU to the server (requests and streams stay quick while jobs compute),
    and exit as soon as the server process is gone, so no orphan keeps computing."""
    os.nice(nice)
    kernels.warm_in_background()  # the NumPy path serves until the compiled kernels are loaded

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _Lane:
    """One worker: a single-process (or single-thread) executor, rebuilt when its process dies."""

    def __init__(self, make: Callable[[], Executor]) -> None:
        self._make = make
        self.executor = make()

    def rebuild(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._make()


class WorkerPool:
    """Places are reserved before a job is stored (`reserve`), so a stored job always has its place."""

    def __init__(
        self,
        store: RunStore,
        store_location: str,
        workers: int,
        queue: int,
        threads: bool = False,
        nice: int = 0,
        on_settled: Callable[[Job], None] | None = None,
    ) -> None:
        self._store = store
        self._on_settled = on_settled
        self.capacity, self._queue, self._nice = workers, queue, nice
        self._threads = threads or store_location == ":memory:"
        if self._threads:
            kernels.warm_in_background()
        self._target: RunStore | str = store if self._threads else store_location
        self.owner = process_identity()
        self._lanes = [_Lane(self._new_executor) for _ in range(workers)]
        self._idle = deque(self._lanes)
        self._waiting: deque[tuple[Job, Callable[[str], None]]] = deque()
        self._in_flight = 0
        self._closed = False
        self._lock = threading.Lock()

    def _new_executor(self) -> Executor:
        if self._threads:
            return ThreadPoolExecutor(1, thread_name_prefix="job")
        return ProcessPoolExecutor(
            1, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(self._nice, os.getpid())
        )

    def reserve(self) -> None:
        """Take a place for a job about to be stored, or raise `Busy`. Check and take happen together."""
        with self._lock:
            if self._in_flight < self.capacity + self._queue and not self._closed:
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

        def resolve(status: str) -> None:
            with contextlib.suppress(RuntimeError):  # the event loop is already closed at shutdown
                loop.call_soon_threadsafe(_resolve, settled, status)

        with self._lock:
            lane = self._idle.popleft() if self._idle else None
            if lane is None:
                self._waiting.append((job, resolve))
        if lane is not None:
            self._start(lane, job, resolve)
        return settled

    def _start(self, lane: _Lane, job: Job, resolve: Callable[[str], None]) -> None:
        try:
            future = lane.executor.submit(execute, job, self._target)
        except RuntimeError:  # the lane broke (or shut down) since its last job: rebuild it once
            lane.rebuild()
            future = lane.executor.submit(execute, job, self._target)
        future.add_done_callback(lambda done: self._settle(lane, job, resolve, done))

    def _settle(self, lane: _Lane, job: Job, resolve: Callable[[str], None], done: "Future[str]") -> None:
        """In the lane's callback thread: store the job's end if its worker could not, free the place, and hand the
        lane the next waiting job."""
        status, error = Status.FAILED.value, None
        what = "run" if job.kind == JobKind.RUN else "job"
        try:
            if done.cancelled():
                error = f"The server shut down before the {what} started."
            elif (exc := done.exception()) is not None:  # the worker process died (killed, out of memory)
                kept = "rows" if job.kind == JobKind.RUN else "results"
                error = (
                    f"The worker process running this {what} stopped ({type(exc).__name__}); "
                    f"the {kept} stored until then are kept."
                )
                lane.rebuild()
            else:
                status = done.result()
            if error is not None:
                self._fail(job, error)
            if self._on_settled is not None:
                self._on_settled(job)
        finally:
            with self._lock:
                self._in_flight -= 1
                following = self._waiting.popleft() if self._waiting and not self._closed else None
                if following is None:
                    self._idle.append(lane)
            resolve(status)
            if following is not None:
                self._start(lane, *following)

    def _fail(self, job: Job, error: str) -> None:
        """Store a job's failure for its dead worker, unless it is no longer this process's (recovered, deleted)."""
        with contextlib.suppress(NotOwnedError):
            if job.kind == JobKind.RUN:
                self._store.finish(job.id, None, Status.FAILED, now(), None, error, owner=job.owner)
            else:
                self._store.finish_job(job.id, Status.FAILED, now(), error=error, owner=job.owner)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def shutdown(self) -> None:
        """Ask this process's runs to stop at their next chunk (they are stored as failed), fail the jobs still
        waiting, then wait for the workers."""
        for run_id, owner in self._store.unfinished():
            if owner == self.owner:
                self._store.request_cancel(run_id, "shutdown")
        with self._lock:
            self._closed = True
            waiting, self._waiting = list(self._waiting), deque()
        for job, resolve in waiting:
            what = "run" if job.kind == JobKind.RUN else "job"
            self._fail(job, f"The server shut down before the {what} started.")
            with self._lock:
                self._in_flight -= 1
            resolve(Status.FAILED)
        for lane in self._lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)


def _resolve(future: "asyncio.Future[str]", status: str) -> None:
    if not future.done():
        future.set_result(status)
