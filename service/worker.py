"""Executing runs in a bounded pool: the worker runs the loop and writes recorded rows to the store per chunk.

Processes by default (the step loop holds the GIL), threads when the store is in memory. Either way the API
process only inserts the queued run and waits on a future; the store is the one channel between them, so any
server process (or replica) can stream or cancel any run.
"""

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import cache
from multiprocessing import get_context
from typing import Any

import orjson

from service.api import adapters
from service.api.documents import JSON_OPTIONS
from service.api.errors import BUSY, ProblemError
from service.config import Settings
from service.engine.analysis import Analyzer
from service.engine.loop import iterate
from service.engine.sweep import run_sweep
from service.engine.trace import Trace, record
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec
from service.store.base import RunStore
from service.store.sqlite import SQLiteStore
from service.timeutil import now

FLUSH_SECONDS = 0.2
"""Rows are written at the end of any chunk that ends this long after the previous write (and at the end)."""


def run_in_worker(run_id: str, spec_document: dict[str, Any], store: RunStore | str) -> str:
    """Run a stored, queued run to its end; returns the final status. Never raises for a bad run: a failure is
    stored as status `failed` with its reason."""
    runs = _open_store(store) if isinstance(store, str) else store
    try:
        if runs.cancel_reason(run_id) is not None:
            return _finish_cancelled(runs, run_id, None, None)
        spec = RunSpec.model_validate(spec_document)
        problem = adapters.build_problem(spec)
        runs.append(run_id, None, status="running")
        dtype, dims = problem.w0.dtype, problem.w0.shape[1]
        analyzer = Analyzer(problem.loss, 1, dims, dtype)
        pending: list[Trace] = []
        flushed = time.monotonic()
        for chunk in iterate(problem):
            analyzer.add(chunk)
            stopping = runs.cancel_reason(run_id) is not None
            pending.append(record(chunk, 0, spec.record.every, last=stopping))
            if stopping:
                so_far = adapters.summary_document(analyzer.finish(), problem, not isinstance(spec.w0, list))
                return _finish_cancelled(runs, run_id, Trace.concat(pending, dtype, dims), so_far)
            if time.monotonic() - flushed >= FLUSH_SECONDS:
                runs.append(run_id, Trace.concat(pending, dtype, dims))
                pending, flushed = [], time.monotonic()
        summary = analyzer.finish()
        status = adapters.status_of(summary)
        document = adapters.summary_document(summary, problem, scalar=not isinstance(spec.w0, list))
        runs.finish(run_id, Trace.concat(pending, dtype, dims), status, now(), document)
        return status
    except Exception as exc:  # a worker must leave a final status behind whatever happens
        runs.finish(run_id, None, "failed", now(), None, f"The run failed in the engine: {type(exc).__name__}: {exc}")
        return "failed"


def sweep_in_worker(sweep_id: str, spec_document: dict[str, Any], store: RunStore | str) -> str:
    """Run a stored, queued sweep as one batch, recording progress after chunks and the result at the end."""
    sweeps = _open_store(store) if isinstance(store, str) else store
    try:
        spec = SweepSpec.model_validate(spec_document)
        problem, axes = adapters.build_sweep(spec, Settings())
        flushed = 0.0

        def progress(step: int) -> None:
            nonlocal flushed
            if time.monotonic() - flushed >= FLUSH_SECONDS or step == spec.base.steps:
                sweeps.sweep_progress(sweep_id, step)
                flushed = time.monotonic()

        sweeps.sweep_progress(sweep_id, -1)
        result = run_sweep(problem, spec.max_points, progress)
        document = orjson.dumps(adapters.sweep_document(spec, axes, result), option=JSON_OPTIONS)
        sweeps.finish_sweep(sweep_id, "finished", now(), document)
        return "finished"
    except Exception as exc:  # a worker must leave a final status behind whatever happens
        sweeps.finish_sweep(
            sweep_id, "failed", now(), None, f"The sweep failed in the engine: {type(exc).__name__}: {exc}"
        )
        return "failed"


def _finish_cancelled(runs: RunStore, run_id: str, rows: Trace | None, summary: dict[str, Any] | None) -> str:
    """Store a stopped run: `cancelled` when a client asked, `failed` when the server shut down; rows kept."""
    if runs.cancel_reason(run_id) == "shutdown":
        error = "The server shut down while the run was executing; the rows computed until then are kept."
        runs.finish(run_id, rows, "failed", now(), summary, error)
        return "failed"
    runs.finish(run_id, rows, "cancelled", now(), summary, None)
    return "cancelled"


def _resolve(future: "asyncio.Future[str]", status: str) -> None:
    if not future.done():
        future.set_result(status)


def _lower_priority(nice: int) -> None:
    """Runs yield the CPU to the server process, so requests and streams stay quick while runs compute."""
    os.nice(nice)


@cache
def _open_store(path: str) -> RunStore:
    """One connection per worker process, opened on its first run."""
    return SQLiteStore(path)


class WorkerPool:
    """A bounded pool: at most `workers` runs execute and at most `queue` wait; beyond that, 429."""

    def __init__(
        self,
        store: RunStore,
        store_path: str,
        workers: int,
        queue: int,
        kind: str,
        nice: int = 0,
        on_settled: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._on_settled = on_settled
        self._capacity, self._queue, self._nice = workers, queue, nice
        self._threads = kind == "thread" or store_path == ":memory:"
        self._target: RunStore | str = store if self._threads else store_path
        self._executor = self._new_executor()
        self._in_flight = 0
        self._lock = threading.Lock()
        self.owner = process_identity()

    def _new_executor(self) -> Executor:
        if self._threads:
            return ThreadPoolExecutor(self._capacity, thread_name_prefix="run")
        return ProcessPoolExecutor(
            self._capacity, mp_context=get_context("spawn"), initializer=_lower_priority, initargs=(self._nice,)
        )

    def reserve(self) -> None:
        """Take a place in the pool for a run about to be stored, or refuse with 429. Check and take happen
        together, so a run that was stored always has its place (`submit` uses it, `release` gives it back)."""
        with self._lock:
            if self._in_flight < self._capacity + self._queue:
                self._in_flight += 1
                return
        raise ProblemError(
            429,
            "Too Many Requests",
            f"All {self._capacity} workers are busy and {self._queue} runs are waiting; retry in a moment.",
            type_=BUSY,
            headers={"Retry-After": "1"},
        )

    def release(self) -> None:
        """Give back a reserved place that will not be used (the run could not be stored)."""
        with self._lock:
            self._in_flight -= 1

    def submit(self, run_id: str, spec_document: dict[str, Any], sweep: bool = False) -> "asyncio.Future[str]":
        """Start a stored queued run (or sweep) in the place `reserve` took; the returned future resolves to its
        final status once that is stored."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[str] = loop.create_future()
        work = sweep_in_worker if sweep else run_in_worker
        try:
            future = self._executor.submit(work, run_id, spec_document, self._target)
        except BrokenExecutor:  # a worker process died earlier: start a fresh pool
            self._executor = self._new_executor()
            future = self._executor.submit(work, run_id, spec_document, self._target)

        def settle(done: "Future[str]") -> None:
            status, error = "failed", None
            try:
                if done.cancelled():  # shutdown() dropped it from the queue
                    error = "The server shut down before the run started."
                elif (exc := done.exception()) is not None:  # the worker process died (killed, out of memory)
                    error = (
                        f"The worker process running this run stopped ({type(exc).__name__}); "
                        "the rows stored until then are kept."
                    )
                else:
                    status = done.result()
                if error is not None and sweep:
                    self._store.finish_sweep(run_id, "failed", now(), None, error)
                elif error is not None:
                    self._store.finish(run_id, None, "failed", now(), None, error)
                if self._on_settled is not None:
                    self._on_settled(run_id)
            finally:
                with self._lock:
                    self._in_flight -= 1
                with contextlib.suppress(RuntimeError):  # the event loop is already closed at shutdown
                    loop.call_soon_threadsafe(_resolve, settled, status)

        future.add_done_callback(settle)
        return settled

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def shutdown(self) -> None:
        """Ask this process's runs to stop at their next chunk (they are stored as failed), then wait for them."""
        for run_id, owner in self._store.unfinished():
            if owner == self.owner:
                self._store.request_cancel(run_id, "shutdown")
        self._executor.shutdown(wait=True, cancel_futures=True)


def process_identity(pid: int | None = None) -> str:
    """`host:pid:start` of a process; the start time tells a live process from a later one with the same pid."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def is_alive(owner: str | None) -> bool:
    """Whether the server process that owns a run still runs (on this host; another host's is assumed alive)."""
    if owner is None:
        return False
    host, pid, _ = owner.split(":", 2)
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError):
        return False
    return process_identity(int(pid)) == owner


def recover(store: RunStore, alive: Callable[[str | None], bool] = is_alive) -> list[str]:
    """Mark runs (and sweeps) whose server process died as failed; a run's stored rows stay as they are. Returns
    the runs' ids."""
    for sweep_id, owner in store.unfinished_sweeps():
        if not alive(owner):
            store.finish_sweep(sweep_id, "failed", now(), None, "The server stopped while this sweep was computing.")
    orphans = [run_id for run_id, owner in store.unfinished() if not alive(owner)]
    for run_id in orphans:
        store.finish(
            run_id,
            None,
            "failed",
            now(),
            None,
            "The server stopped while this run was executing; the rows stored until then are kept.",
        )
    return orphans
