"""The bounded worker pool: its lanes take queued jobs from the shared store, and it admits at most `workers +
queue` jobs of this server process's clients at once (beyond that, `Busy`).

Each worker is its own single-process executor (a lane). A lane that is free claims the oldest queued job nobody
owns from the store (any replica's: `RunStore.claim`, `FOR UPDATE SKIP LOCKED` on PostgreSQL), with a lease the
server's heartbeat renews (`service.runs.leases`). So the queue is shared: a job queued on a busy or dead replica
is executed by any replica with a free worker. A worker that dies (killed, out of memory) fails only the job it
was executing: its lane is rebuilt, the other lanes go on. Processes by default (the step loop holds the GIL),
threads when the store is in memory. The store is the one channel back, so any replica can stream, read or cancel
any job.
"""

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context

from service.clock import now
from service.engine import kernels
from service.errors import Busy
from service.limits import Limits
from service.runs.job import Job, JobKind
from service.runs.ownership import process_identity
from service.runs.worker import execute
from service.store.base import NotOwnedError, RunStore, Status

logger = logging.getLogger("service.runs")

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
    """Places are reserved before a job is stored (`reserve`) and released once it has ended, wherever it ran."""

    def __init__(
        self,
        store: RunStore,
        store_location: str,
        workers: int,
        queue: int,
        limits: Limits,
        lease_seconds: float,
        kinds: Collection[str] = tuple(JobKind),
        threads: bool = False,
        nice: int = 0,
        on_settled: Callable[[Job], None] | None = None,
        claim_seconds: float = 0.05,
    ) -> None:
        """`kinds`: the job kinds this pool claims (sweeps go to Dask when it is configured). `claim_seconds`: how
        often free lanes look for queued jobs when nothing wakes them (`poke`)."""
        self._store = store
        self._on_settled = on_settled
        self.capacity, self._queue, self._nice = workers, queue, nice
        self._limits, self._lease, self._kinds, self.claim_seconds = limits, lease_seconds, kinds, claim_seconds
        self._threads = threads or store_location == ":memory:"
        kernels.warm_in_background()  # this process computes tiny runs itself (and every job with threads)
        self._target: RunStore | str = store if self._threads else store_location
        self.owner = process_identity()
        self._lanes = [_Lane(self._new_executor) for _ in range(workers)]
        self._idle = deque(self._lanes)
        self._in_flight = 0
        self._closed = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch, name="claims", daemon=True)
        self._dispatcher.start()

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
        """Give back a reserved place: its job ended (wherever it ran), or could not be stored."""
        with self._lock:
            self._in_flight -= 1

    def poke(self) -> None:
        """A job was queued (here or on another replica): free lanes look for it now."""
        self._wake.set()

    def _dispatch(self) -> None:
        """In the claims thread: while a lane is free, claim the next queued job for it."""
        while not self._closed:
            self._wake.wait(self.claim_seconds)
            self._wake.clear()
            while not self._closed:
                with self._lock:
                    lane = self._idle.popleft() if self._idle else None
                if lane is None:
                    break
                try:
                    claim = self._store.claim(self.owner, self._lease, self._kinds)
                except Exception:  # the database is away for a moment: the next round retries
                    logger.exception("claiming a queued job failed")
                    claim = None
                if claim is None:
                    with self._lock:
                        self._idle.appendleft(lane)
                    break
                self._start(lane, Job(JobKind(claim.kind), claim.id, claim.spec, self._limits, self.owner))

    def _start(self, lane: _Lane, job: Job) -> None:
        try:
            future = lane.executor.submit(execute, job, self._target)
        except RuntimeError:  # the lane broke (or shut down) since its last job: rebuild it once
            lane.rebuild()
            future = lane.executor.submit(execute, job, self._target)
        future.add_done_callback(lambda done: self._settle(lane, job, done))

    def _settle(self, lane: _Lane, job: Job, done: "Future[str]") -> None:
        """In the lane's callback thread: store the job's end if its worker could not, then free the lane for the
        next queued job."""
        error = None
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
            if error is not None:
                self._fail(job, error)
            if self._on_settled is not None:
                self._on_settled(job)
        finally:
            with self._lock:
                self._idle.append(lane)
            self.poke()

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
        """Stop claiming, ask the runs this process executes to stop at their next chunk (they are stored as
        failed), then wait for the workers. Queued jobs stay in the shared queue, for another replica or the next
        start."""
        with self._lock:
            self._closed = True
        self._wake.set()
        self._dispatcher.join(timeout=5)
        for run_id, owner in self._store.unfinished():
            if owner == self.owner:
                self._store.request_cancel(run_id, "shutdown")
        for lane in self._lanes:
            lane.executor.shutdown(wait=True, cancel_futures=True)
