"""The bounded worker pool (threads, in-memory store): at most `workers` jobs execute and `queue` wait, beyond that
`Busy`; every submitted job's future resolves to its final status once that is stored, and its place is freed
whatever happened to its worker."""

import time
from typing import Any

import anyio
import anyio.to_thread
import pytest

from service.errors import Busy
from service.runs.job import Job, JobKind
from service.runs.pool import WorkerPool
from service.store.base import RunStore, Status
from tests.runs.support import (
    COURSE_RUN,
    CRAWL_RUN,
    DIVERGING_RUN,
    LIMITS,
    PARABOLA,
    RATES,
    SHUTDOWN,
    Gate,
    has_rows,
    landscape_document,
    queue_job,
    queue_run,
    run_async,
    run_document,
    sweep_document,
    wait_for,
    worker_pool,
)


@pytest.mark.parametrize(("workers", "queue"), [(1, 0), (1, 2), (3, 1)])
def test_places_beyond_workers_and_queue_are_refused_busy_until_one_is_released(
    store: RunStore, workers: int, queue: int
) -> None:
    with worker_pool(store, workers, queue) as pool:
        for _ in range(workers + queue):
            pool.reserve()
        assert pool.in_flight == workers + queue
        with pytest.raises(Busy) as refused:
            pool.reserve()
        assert refused.value.detail == (
            f"All {workers} workers are busy and {queue} jobs are waiting; retry in a moment."
        )
        assert refused.value.retry_after == 1
        assert pool.in_flight == workers + queue
        pool.release()
        pool.reserve()  # the released place is free again
        with pytest.raises(Busy):
            pool.reserve()
        for _ in range(workers + queue):
            pool.release()
        assert pool.in_flight == 0
    assert store.page(10, None).records == []  # reserving stores nothing


SWEEP = {"base": COURSE_RUN, "axes": [{"path": "schedule.learning_rate", "values": RATES}]}


def queued(pool: WorkerPool, store: RunStore, case: str) -> Job:
    """A queued job of each kind of ending, stored as owned by the pool's process (as `Lifecycle` does)."""
    owner = pool.owner
    if case == "sweep":
        document, meta, steps = sweep_document(SWEEP)
        return Job(JobKind.SWEEP, queue_job(store, JobKind.SWEEP, document, meta, steps, owner), document, LIMITS)
    if case == "landscape":
        document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})
        return Job(JobKind.LANDSCAPE, queue_job(store, JobKind.LANDSCAPE, document, owner=owner), document, LIMITS)
    bodies: dict[str, dict[str, Any]] = {"diverging": DIVERGING_RUN, "crawl": CRAWL_RUN, "cancelled": CRAWL_RUN}
    document = run_document(bodies.get(case, COURSE_RUN))
    if case == "unbuildable":
        document = {**document, "loss": {"kind": "nope"}}
    run_id = queue_run(store, document, owner)
    if case == "cancelled":
        store.request_cancel(run_id, "client")
    return Job(JobKind.RUN, run_id, document, LIMITS)


def final_status(store: RunStore, job: Job) -> str:
    record = store.get(job.id) if job.kind == JobKind.RUN else store.get_job(job.id)
    assert record is not None
    return record.status


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("course", Status.FINISHED),
        ("diverging", Status.DIVERGED),
        ("cancelled", Status.CANCELLED),
        ("unbuildable", Status.FAILED),
        ("sweep", Status.FINISHED),
        ("landscape", Status.FINISHED),
    ],
)
def test_a_submitted_jobs_future_resolves_to_its_stored_final_status(
    store: RunStore, case: str, status: Status
) -> None:
    settled: list[str] = []

    async def main() -> None:
        with worker_pool(store, on_settled=lambda job: settled.append(job.id)) as pool:
            job = queued(pool, store, case)
            pool.reserve()
            assert await pool.submit(job) == status
            assert final_status(store, job) == status  # stored before the future resolved
            assert settled == [job.id]
            assert pool.in_flight == 0

    run_async(main)


@pytest.mark.parametrize(
    ("case", "error"),
    [
        (
            "course",
            "The worker process running this run stopped (RuntimeError); the rows stored until then are kept.",
        ),
        (
            "sweep",
            "The worker process running this job stopped (RuntimeError); the results stored until then are kept.",
        ),
    ],
)
def test_a_job_whose_worker_dies_is_stored_failed_and_its_place_freed(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, case: str, error: str
) -> None:
    def dies(job: Job, target: Any) -> str:
        raise RuntimeError("killed")

    monkeypatch.setattr("service.runs.pool.execute", dies)

    async def main() -> None:
        with worker_pool(store, workers=1, queue=0) as pool:
            job = queued(pool, store, case)
            pool.reserve()
            assert await pool.submit(job) == Status.FAILED
            record = store.get(job.id) if job.kind == JobKind.RUN else store.get_job(job.id)
            assert record is not None
            assert (record.status, record.error) == (Status.FAILED, error)
            assert record.finished_at is not None
            assert pool.in_flight == 0
            pool.reserve()  # the one place is free again
            pool.release()

    run_async(main)


def test_at_most_workers_jobs_execute_at_once_and_the_rest_wait_their_turn(store: RunStore, gate: Gate) -> None:
    async def main() -> None:
        with worker_pool(store, workers=2, queue=2, gate=gate) as pool:
            jobs = [queued(pool, store, "course") for _ in range(4)]
            futures = []
            for job in jobs:
                pool.reserve()
                futures.append(pool.submit(job))
            await anyio.to_thread.run_sync(wait_for, lambda: len(gate.arrived) == 2)
            await anyio.sleep(0.05)
            assert gate.arrived == [jobs[0].id, jobs[1].id]  # the other two wait, still queued
            assert [final_status(store, job) for job in jobs] == [Status.QUEUED] * 4
            with pytest.raises(Busy):
                pool.reserve()
            gate.open()
            assert [await future for future in futures] == [Status.FINISHED] * 4
            assert sorted(gate.arrived) == sorted(job.id for job in jobs)
            assert pool.in_flight == 0

    run_async(main)


def test_shutdown_stops_this_processs_runs_and_fails_the_jobs_still_waiting(store: RunStore, gate: Gate) -> None:
    """A run its worker has taken stops at once, failed with the shutdown message; a job still waiting in the queue
    never starts; another process's run is not asked to stop."""

    async def main() -> None:
        with worker_pool(store, workers=1, queue=2, gate=gate) as pool:
            taken, waiting = queued(pool, store, "course"), queued(pool, store, "sweep")
            others = queue_run(store, run_document(), owner="another-host:1:1")
            futures = []
            for job in (taken, waiting):
                pool.reserve()
                futures.append(pool.submit(job))
            await anyio.to_thread.run_sync(wait_for, lambda: gate.arrived == [taken.id])
            async with anyio.create_task_group() as group:
                group.start_soon(anyio.to_thread.run_sync, pool.shutdown)
                # shutdown drops the waiting job from the queue at once, then waits for the taken one
                await anyio.to_thread.run_sync(wait_for, lambda: final_status(store, waiting) == Status.FAILED)
                gate.open()
            assert [await future for future in futures] == [Status.FAILED, Status.FAILED]
            assert pool.in_flight == 0
        stopped = store.get(taken.id)
        assert stopped is not None
        assert (
            stopped.error == "The server shut down while the run was executing; the rows computed until then are kept."
        )
        dropped = store.get_job(waiting.id)
        assert dropped is not None
        assert dropped.error == "The server shut down before the job started."
        assert gate.arrived == [taken.id]
        left = store.get(others)
        assert left is not None
        assert left.status == Status.QUEUED
        assert store.cancel_reason(others) is None

    run_async(main)


def test_a_run_executing_when_the_pool_shuts_down_keeps_its_rows(store: RunStore) -> None:
    async def main() -> None:
        with worker_pool(store, workers=1, queue=0) as pool:
            job = queued(pool, store, "crawl")
            pool.reserve()
            finished = pool.submit(job)
            await anyio.to_thread.run_sync(wait_for, has_rows(store, job.id))
            started = time.monotonic()
            await anyio.to_thread.run_sync(pool.shutdown)
            assert time.monotonic() - started < 2  # stopped at its next chunk, not run to its 10^6 steps
            assert await finished == Status.FAILED
        record = store.get(job.id)
        assert record is not None
        assert record.status == Status.FAILED
        assert record.error == SHUTDOWN
        assert record.summary is not None
        assert 0 < record.last_step < CRAWL_RUN["steps"]
        stored = store.trace(job.id)
        assert stored is not None
        assert int(stored.step[-1]) == record.last_step

    run_async(main)
