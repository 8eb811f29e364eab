"""One lifecycle for every job: admit (or `Busy`), store as queued in the shared queue, execute in whichever
replica's pool claims it first, read the results back from the store. The edge hands in prepared spec documents
and gets records, traces and arrays back."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import numpy.typing as npt

from service.clock import now
from service.engine.loop import Problem
from service.engine.trace import Trace
from service.errors import Busy, Conflict, NotFound
from service.limits import Limits
from service.runs.dask_sweeps import DaskSweeps
from service.runs.events import Event, job_events, run_events
from service.runs.group_commit import GroupCommit
from service.runs.job import Job, JobKind
from service.runs.pool import WorkerPool
from service.runs.wakeups import Wakeups
from service.runs.worker import compute_run, compute_run_whole
from service.specs import build, cost
from service.store.base import ACTIVE, ENDED, JobRecord, Page, RunRecord, RunStore, Status

logger = logging.getLogger("service.runs")

NOUNS = {JobKind.RUN: "run", JobKind.SWEEP: "sweep", JobKind.LR_FINDER: "range test", JobKind.LANDSCAPE: "landscape"}


Release = Callable[[], Awaitable[None]]


class AnswerBudget:
    """Memory the run answers in flight may hold at once: a big stored trace is read whole, then encoded and sent.
    An answer waits (up to its `wait`) for room, then gets `Busy`; one answer alone always fits, so any run admitted
    under the job limit can be read."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used = capacity, 0
        self._room = asyncio.Condition()

    async def take(self, nbytes: int, wait: float) -> Release:
        """Reserve `nbytes` (or raise `Busy` after `wait` seconds); returns the release, to await once."""
        async with self._room:
            with anyio.move_on_after(wait):
                await self._room.wait_for(lambda: self.used == 0 or self.used + nbytes <= self.capacity)
            if self.used and self.used + nbytes > self.capacity:
                raise Busy(
                    f"The server is sending answers that hold about {self.used / 2**20:,.0f} MB of the "
                    f"{self.capacity / 2**20:,.0f} MB it allows (DESCENT_MAX_ANSWER_MEMORY_MB); retry in a moment, "
                    "or ask for fewer rows (max_points, every)."
                )
            self.used += nbytes
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                async with self._room:
                    self.used -= nbytes
                    self._room.notify_all()

        return release


class Lifecycle:
    """The application service the routers call; every store access runs in a thread, off the event loop."""

    def __init__(
        self,
        store: RunStore,
        pool: WorkerPool,
        limits: Limits,
        wakeups: Wakeups | None = None,
        sweeps: DaskSweeps | None = None,
        lease_seconds: float = 10.0,
    ) -> None:
        """With `sweeps` (DESCENT_DASK_SCHEDULER), sweeps execute on the Dask cluster instead of the pool.
        `wakeups` end the waits of followers early (default: polling every 50 ms)."""
        self.store, self.pool, self.limits = store, pool, limits
        self.wakeups = wakeups or Wakeups(0.05)
        self.answers = AnswerBudget(limits.max_answer_bytes)
        self.sweeps, self.lease_seconds = sweeps, lease_seconds
        self._commits = GroupCommit(store)
        self._watchers: set[asyncio.Task[None]] = set()

    # Admission -------------------------------------------------------------------------------------------------

    async def submit_run(
        self, document: dict[str, Any], name: str | None, steps: int
    ) -> tuple[RunRecord, "asyncio.Future[str]"]:
        """Store the run as queued and start it; refused with `Busy` before anything is stored when full."""
        scalar = not isinstance(document["w0"], list)
        record = RunRecord(
            id=str(uuid.uuid4()),
            name=name,
            status=Status.QUEUED,
            created_at=now(),
            finished_at=None,
            spec=document,
            summary=None,
            dtype=document["dtype"],
            dims=0 if scalar else len(document["w0"]),
        )
        finished = await self._admit(JobKind.RUN, record.id, document, lambda: self.store.insert(record))
        logger.info("run queued", extra={"run_id": record.id, "steps": steps})
        return record, finished

    def run_inline(
        self, document: dict[str, Any], name: str | None, steps: int, problem: Problem
    ) -> tuple[RunRecord, Trace] | None:
        """A tiny run (DESCENT_INLINE_RUN_WORK) computed here, in the calling thread, from the problem the edge
        built, and stored finished with its trace in one transaction; None for a bigger run (the pool's). Called
        in a thread, never on the event loop."""
        if not self.is_tiny(steps, problem):
            return None
        created = now()
        record, trace = self._finished(document, name, problem, created, *compute_run(problem, document))
        self.store_finished(record, trace)
        return record, trace

    def is_tiny(self, steps: int, problem: Problem) -> bool:
        """Whether the run is computed in its request (DESCENT_INLINE_RUN_WORK) rather than by the pool."""
        return bool((steps + 1) * problem.w0.shape[1] <= self.limits.inline_run_work)

    def compute_now(
        self, document: dict[str, Any], name: str | None, steps: int, problem: Problem
    ) -> tuple[RunRecord, Trace] | None:
        """A tiny run the whole-run path computes (microseconds, compiled), computed here, on the event loop, as
        `run_inline` would: the finished record and its trace, not stored yet (`store_computed`). None for any other
        run: `run_inline` in a thread computes it."""
        if not self.is_tiny(steps, problem):
            return None
        created = now()
        computed = compute_run_whole(problem, document)
        return None if computed is None else self._finished(document, name, problem, created, *computed)

    async def store_computed(self, record: RunRecord, trace: Trace) -> None:
        """Store a run `compute_now` computed, from the event loop: at once if the store takes it without waiting,
        else in the next group commit (`GroupCommit`)."""
        await self._commits.store(record, trace)
        self._ended(record)

    def store_finished(self, record: RunRecord, trace: Trace) -> None:
        """Store a finished run and its trace in one transaction (blocking: in a thread)."""
        self.store.create(record, trace)
        self._ended(record)

    @staticmethod
    def _ended(record: RunRecord) -> None:
        logger.info("run ended", extra={"run_id": record.id, "status": record.status, "steps_run": record.last_step})

    @staticmethod
    def _finished(
        document: dict[str, Any],
        name: str | None,
        problem: Problem,
        created: str,
        trace: Trace,
        status: Status,
        summary: dict[str, Any],
    ) -> tuple[RunRecord, Trace]:
        record = RunRecord(
            id=str(uuid.uuid4()),
            name=name,
            status=status,
            created_at=created,
            finished_at=now(),
            spec=document,
            summary=summary,
            dtype=document["dtype"],
            dims=0 if build.is_scalar(document) else problem.w0.shape[1],
            last_step=int(trace.step[-1]) if len(trace) else -1,
        )
        return record, trace

    async def submit_job(
        self,
        kind: JobKind,
        document: dict[str, Any],
        name: str | None = None,
        steps: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> tuple[JobRecord, "asyncio.Future[str]"]:
        """Store a sweep, range test or landscape as queued and start it; `Busy` when the pool is full."""
        record = JobRecord(str(uuid.uuid4()), kind, name, Status.QUEUED, now(), None, document, meta or {}, steps)
        finished = await self._admit(kind, record.id, document, lambda: self.store.insert_job(record))
        return record, finished

    async def _admit(self, kind: JobKind, job_id: str, document: dict[str, Any], insert: Any) -> "asyncio.Future[str]":
        """Take a place, store the job as queued, and wake a claimer; the future resolves to its final status once
        it has ended, on whichever replica executed it."""
        if kind == JobKind.SWEEP and self.sweeps is not None:
            return await self._admit_to_dask(job_id, document, insert)
        self.pool.reserve()
        try:
            await anyio.to_thread.run_sync(insert)
        except BaseException:
            self.pool.release()
            raise
        self.wakeups.bind(asyncio.get_running_loop())
        self.pool.poke()
        ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        watcher = asyncio.create_task(self._watch(kind, job_id, ended))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return ended

    async def _admit_to_dask(self, job_id: str, document: dict[str, Any], insert: Any) -> "asyncio.Future[str]":
        """A sweep with a Dask cluster: this process claims it at once and drives it on the cluster."""
        assert self.sweeps is not None
        self.sweeps.reserve()
        try:
            await anyio.to_thread.run_sync(insert)
            await anyio.to_thread.run_sync(
                lambda: self.store.claim(self.pool.owner, self.lease_seconds, [JobKind.SWEEP], job_id)
            )
        except BaseException:
            self.sweeps.release()
            raise
        return self.sweeps.submit(Job(JobKind.SWEEP, job_id, document, self.limits, self.pool.owner))

    async def _watch(self, kind: JobKind, job_id: str, ended: "asyncio.Future[str]") -> None:
        """Until the job has ended (or is gone): then resolve `ended` and give its place back."""
        read = self.store.get if kind == JobKind.RUN else self.store.get_job
        try:
            while True:
                try:
                    record = await anyio.to_thread.run_sync(read, job_id)
                except Exception:  # the database is away for a moment: look again
                    logger.exception("reading a job's status failed", extra={"job_id": job_id})
                else:
                    if record is None or record.status in ENDED:
                        if not ended.done():
                            ended.set_result(Status.FAILED if record is None else record.status)
                        return
                await self.wakeups.wait(job_id)
        finally:
            self.pool.release()

    async def compute(self, kind: JobKind, document: dict[str, Any]) -> tuple[JobRecord, dict[str, npt.NDArray[Any]]]:
        """A job whose answer is synchronous (range test, landscape): run it through the pool, read its result,
        and forget it (the job is deleted once read, or if the caller goes away)."""
        record, finished = await self.submit_job(kind, document)
        try:
            await finished
            done = await self.job(record.id, kind)
            arrays = await anyio.to_thread.run_sync(self.store.job_arrays, record.id)
        finally:
            if finished.done():
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(self.store.delete_job, record.id)
            else:  # the caller went away first: forget the job once the worker is done with it
                finished.add_done_callback(lambda _: self.store.delete_job(record.id))
        if done.status != Status.FINISHED:
            raise RuntimeError(done.error or f"The {NOUNS[kind]} failed.")
        return done, arrays

    # Reading ---------------------------------------------------------------------------------------------------

    async def run(self, run_id: str) -> RunRecord:
        return _found(await anyio.to_thread.run_sync(self.store.get, run_id), JobKind.RUN, run_id)

    async def run_with_trace(self, run_id: str) -> tuple[RunRecord, Trace]:
        record = await self.run(run_id)
        trace = await anyio.to_thread.run_sync(self.store.trace, run_id)
        return record, _found(trace, JobKind.RUN, run_id)

    async def answer(self, run_id: str, wait: float = 1.0) -> tuple[RunRecord, Trace, Release]:
        """The run and its whole trace for an answer, with room taken in the answer budget for reading, encoding
        and sending it; the caller releases it once the answer is sent (or abandoned)."""
        record = await self.run(run_id)
        release = await self.answers.take(cost.trace_answer_bytes(record.spec, record.last_step, record.dims), wait)
        try:
            trace = await anyio.to_thread.run_sync(self.store.trace, run_id)
            return record, _found(trace, JobKind.RUN, run_id), release
        except BaseException:
            with anyio.CancelScope(shield=True):
                await release()
            raise

    async def page(self, limit: int, cursor: str | None) -> Page:
        return await anyio.to_thread.run_sync(self.store.page, limit, cursor)

    async def job(self, job_id: str, kind: JobKind) -> JobRecord:
        return _found(await anyio.to_thread.run_sync(self.store.get_job, job_id, kind), kind, job_id)

    async def finished_job_arrays(self, record: JobRecord) -> dict[str, npt.NDArray[Any]]:
        """A finished job's result arrays; `Conflict` before it has finished."""
        if record.status != Status.FINISHED:
            raise Conflict(
                f"The {NOUNS[JobKind(record.kind)]} is {record.status}; its result exists once it has finished."
            )
        return await anyio.to_thread.run_sync(self.store.job_arrays, record.id)

    async def job_arrays(self, record: JobRecord) -> dict[str, npt.NDArray[Any]] | None:
        """A finished job's result arrays, or None before it has finished."""
        if record.status != Status.FINISHED:
            return None
        return await anyio.to_thread.run_sync(self.store.job_arrays, record.id)

    # Cancelling and deleting -----------------------------------------------------------------------------------

    async def cancel_or_delete(self, run_id: str, wait_seconds: float = 5.0) -> RunRecord | None:
        """A queued or running run is asked to stop and returned once its worker has stopped it (or after
        `wait_seconds`); an ended run is deleted (None)."""
        record = await self.run(run_id)
        if record.status in ACTIVE:
            await anyio.to_thread.run_sync(self.store.request_cancel, run_id, "client")
            with anyio.move_on_after(wait_seconds):
                while record.status not in ENDED:
                    await self.wakeups.wait(run_id)
                    record = await self.run(run_id)
            return record
        if not await anyio.to_thread.run_sync(self.store.delete, run_id):
            raise _not_found(JobKind.RUN, run_id)
        return None

    # Events ----------------------------------------------------------------------------------------------------

    def run_events(
        self, run_id: str, after: int = -1, batch: int | None = None, interval_ms: int = 0
    ) -> AsyncIterator[Event]:
        self.wakeups.bind(asyncio.get_running_loop())
        return run_events(self.store, run_id, after, batch, interval_ms, self.wakeups.wait)

    async def followed_run(self, run_id: str, batch: int | None) -> AsyncIterator[Event]:
        """The events of a run this request started; if the client goes away before `end`, the run is cancelled."""
        ended = False
        try:
            async for event in self.run_events(run_id, batch=batch):
                ended = event.name == "end"
                yield event
        finally:
            if not ended:  # a quick write, done in place: this may run while the generator is being closed
                self.store.request_cancel(run_id, "client")

    def job_events(self, job_id: str) -> AsyncIterator[Event]:
        self.wakeups.bind(asyncio.get_running_loop())
        return job_events(self.store, job_id, self.wakeups.wait)


T = TypeVar("T")


def _found(value: T | None, kind: JobKind, job_id: str) -> T:
    if value is None:
        raise _not_found(kind, job_id)
    return value


def _not_found(kind: JobKind, job_id: str) -> NotFound:
    if kind == JobKind.RUN:
        return NotFound(f"There is no run {job_id!r}; list runs with GET /v1/runs.")
    return NotFound(f"There is no {NOUNS[kind]} {job_id!r}.")
