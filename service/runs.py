"""The run service: executes specs off the event loop in a bounded number of slots, and stores the results."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

from service.api import adapters
from service.api.errors import BUSY, ProblemError
from service.api.schemas import RunSpec
from service.engine.execute import run_one
from service.engine.loop import Problem
from service.engine.trace import Trace
from service.store.base import RunRecord, RunStore

P = ParamSpec("P")
T = TypeVar("T")


class RunSlots:
    """At most `capacity` runs compute at once (in worker threads) and at most `queue` wait; beyond that, 429."""

    def __init__(self, capacity: int, queue: int) -> None:
        self._limiter = anyio.CapacityLimiter(capacity)
        self._capacity, self._queue = capacity, queue
        self._in_flight = 0

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._in_flight >= self._capacity + self._queue:
            raise ProblemError(
                429,
                "Too Many Requests",
                f"All {self._capacity} run slots are busy and {self._queue} runs are waiting; retry in a moment.",
                type_=BUSY,
                headers={"Retry-After": "1"},
            )
        self._in_flight += 1
        try:
            return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs), limiter=self._limiter)
        finally:
            self._in_flight -= 1


def execute(spec: RunSpec, problem: Problem, store: RunStore) -> tuple[RunRecord, Trace]:
    """Run a spec (already checked and built into `problem`) to the end; store it and its trace atomically."""
    created_at = now()
    result = run_one(problem, spec.record.every)
    scalar = not isinstance(spec.w0, list)
    record = RunRecord(
        id=str(uuid.uuid4()),
        name=spec.name,
        status=adapters.status_of(result.summary),
        created_at=created_at,
        finished_at=now(),
        spec=spec.normalised(),
        summary=adapters.summary_document(result.summary, problem, scalar),
        dtype=spec.dtype,
        dims=0 if scalar else adapters.dims_of(spec),
    )
    store.create(record, result.trace)
    return record, result.trace


def now() -> str:
    """UTC time as RFC 3339 with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
