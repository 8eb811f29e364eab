"""Shared by the execution layer's tests: spec documents as the edge stores them, queued records in an in-memory
store, a gate that holds a pool's workers, and a thread-pool `WorkerPool` and `Lifecycle` on that store."""

import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import aclosing, contextmanager
from typing import Any, TypeVar

import anyio
import numpy as np
from sqlalchemy import func, select

from service.clock import now
from service.engine.trace import Trace
from service.limits import Limits
from service.runs import worker
from service.runs.events import Event
from service.runs.job import Job, JobKind
from service.runs.lifecycle import Lifecycle
from service.runs.pool import WorkerPool
from service.runs.wakeups import Wakeups
from service.specs.landscape import LandscapeSpec
from service.specs.lr_finder import LRFinderSpec
from service.specs.prepare import prepare_sweep
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec
from service.store.base import JobRecord, RunRecord, RunStore, Status
from service.store.schema import jobs
from service.store.sql import SQLStore
from service.store.sqlite import SQLiteStore
from tests import conftest

T = TypeVar("T")

LIMITS = Limits()
LEASE_SECONDS = 10.0
COURSE_RUN: dict[str, Any] = conftest.COURSE_RUN
"""The course's run: the quadratic (w + 1)², from 5, at rate 0.2, for 40 steps."""
PARABOLA: dict[str, Any] = COURSE_RUN["loss"]
RATES = [0.1, 0.2, 3.0]
DIVERGING_RUN: dict[str, Any] = {**COURSE_RUN, "schedule": 3.0, "steps": 200}
"""Rate 3 on the course's loss: |1 - 2·3| = 5 per step, float32 overflows at step 27."""
CRAWL_RUN: dict[str, Any] = {
    **COURSE_RUN,
    "loss": conftest.NUMPY_PARABOLA,
    "schedule": 1e-6,
    "steps": 1_000_000,
    "record": {"every": 10},
}
"""Crawls for all its 10^6 steps (several seconds, on the NumPy path: a formula has no compiled kernel): long enough
to be stopped while it runs."""

SHUTDOWN = "The server shut down while the run was executing; the rows computed until then are kept."
"""The reason a run stopped by its server's shutdown is stored with."""


def run_document(body: dict[str, Any] = COURSE_RUN) -> dict[str, Any]:
    """A run's normalised spec document, as the edge stores it."""
    return RunSpec.model_validate(body).normalised()


def sweep_document(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A sweep's spec document, its meta (grid shape and axes) and its steps, as the edge stores them."""
    prepared = prepare_sweep(SweepSpec.model_validate(body), LIMITS)
    assert prepared.document == SweepSpec.model_validate(body).model_dump(mode="json")
    return prepared.document, prepared.meta, prepared.steps


def lr_finder_document(body: dict[str, Any]) -> dict[str, Any]:
    return LRFinderSpec.model_validate(body).model_dump(mode="json")


def landscape_document(body: dict[str, Any]) -> dict[str, Any]:
    return LandscapeSpec.model_validate(body).model_dump(mode="json")


def queue_run(store: RunStore, document: dict[str, Any], owner: str | None = "tests:0:0") -> str:
    """Store a run as queued (as `Lifecycle.submit_run` does) and return its id."""
    run_id = str(uuid.uuid4())
    dims = len(document["w0"]) if isinstance(document["w0"], list) else 0
    dtype = document.get("dtype", "float32")
    store.insert(RunRecord(run_id, None, Status.QUEUED, now(), None, document, None, dtype, dims), owner)
    return run_id


def queue_job(
    store: RunStore,
    kind: JobKind,
    document: dict[str, Any],
    meta: dict[str, Any] | None = None,
    steps: int = 0,
    owner: str | None = "tests:0:0",
) -> str:
    """Store a sweep, range test or landscape as queued and return its id."""
    job_id = str(uuid.uuid4())
    store.insert_job(JobRecord(job_id, kind, None, Status.QUEUED, now(), None, document, meta or {}, steps), owner)
    return job_id


def execute(store: RunStore, kind: JobKind, job_id: str, document: dict[str, Any]) -> str:
    return worker.execute(Job(kind, job_id, document, LIMITS), store)


def assert_same_rows(stored: Trace | None, expected: Trace) -> None:
    """Every column and optimizer slot of the stored rows equal the expected ones bit for bit, in the same dtype."""
    assert stored is not None
    assert stored.state.keys() == expected.state.keys()
    columns = {name: getattr(expected, name) for name in ("step", "w", "loss", "lr", "grad")}
    for name, values in {**columns, **{f"state.{slot}": v for slot, v in expected.state.items()}}.items():
        kept = stored.state[name[6:]] if name.startswith("state.") else getattr(stored, name)
        np.testing.assert_array_equal(kept, values, strict=True, err_msg=name)
        assert kept.tobytes() == values.tobytes(), name


def wait_for(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Poll until `condition()` holds (from a plain thread, not the event loop)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def has_rows(store: RunStore, run_id: str) -> Callable[[], bool]:
    """Whether the run's worker has stored rows yet (a condition for `wait_for`)."""

    def stored() -> bool:
        record = store.get(run_id)
        return record is not None and record.last_step >= 0

    return stored


class Gate:
    """Stands in for the pool's `execute`: each job arrives, waits until the gate opens, then executes as usual."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self._open = threading.Event()

    def __call__(self, job: Job, store: Any) -> str:
        self.arrived.append(job.id)
        assert self._open.wait(timeout=30), "the gate was never opened"
        return worker.execute(job, store)

    def open(self) -> None:
        self._open.set()


@contextmanager
def worker_pool(
    store: RunStore, workers: int = 1, queue: int = 4, gate: Gate | None = None, **options: Any
) -> Iterator[WorkerPool]:
    """A thread pool on the in-memory store; shut down (its gate opened first) when the block ends."""
    options = {"claim_seconds": 0.005, **options}
    pool = WorkerPool(store, ":memory:", workers, queue, LIMITS, LEASE_SECONDS, threads=True, **options)
    try:
        yield pool
    finally:
        if gate is not None:
            gate.open()
        pool.shutdown()


@contextmanager
def lifecycle(store: RunStore, workers: int = 1, queue: int = 4, gate: Gate | None = None) -> Iterator[Lifecycle]:
    with worker_pool(store, workers, queue, gate) as pool:
        yield Lifecycle(store, pool, LIMITS, Wakeups(0.005))


def closing(stream: AsyncIterator[Event]) -> aclosing[AsyncGenerator[Event, None]]:
    """Close an event stream when the block ends, as the server does when a client goes away (the layer's streams
    are typed as iterators; they are async generators)."""
    assert isinstance(stream, AsyncGenerator)
    return aclosing(stream)


def run_async(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """`anyio.run(func, *args)` in a thread of its own: the dashboard tests' Playwright keeps an event loop running
    in the main thread for the rest of the session, where `anyio.run` would refuse to start another."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(anyio.run, func, *args).result()


def count_jobs(store: RunStore) -> int:
    """How many jobs the store holds, whatever their status (read under the interface, on either backend)."""
    if isinstance(store, SQLiteStore):
        return int(store._db.execute("SELECT count(*) FROM jobs").fetchone()[0])
    assert isinstance(store, SQLStore)
    with store._engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(jobs)).scalar_one())
