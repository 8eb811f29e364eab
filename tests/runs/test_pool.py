"""The bounded worker pool (threads, in-memory store, and PostgreSQL): at most `workers + queue` places are taken,
beyond that `Busy`; free lanes claim the queued jobs nobody owns from the store, oldest first, at most `workers` at
once, and store each one's final status whatever happened to its worker."""

import time
from typing import Any

import anyio
import anyio.to_thread
import pytest

from service.errors import Busy
from service.runs.job import Job, JobKind
from service.store.base import ENDED, RunStore, Status
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


def queued(store: RunStore, case: str) -> Job:
    """A queued job of each kind of ending in the shared queue (owned by nobody, as `Lifecycle` stores it)."""
    if case == "sweep":
        document, meta, steps = sweep_document(SWEEP)
        return Job(JobKind.SWEEP, queue_job(store, JobKind.SWEEP, document, meta, steps, None), document, LIMITS)
    if case == "landscape":
        document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})
        return Job(JobKind.LANDSCAPE, queue_job(store, JobKind.LANDSCAPE, document, owner=None), document, LIMITS)
    bodies: dict[str, dict[str, Any]] = {"diverging": DIVERGING_RUN, "crawl": CRAWL_RUN}
    document = run_document(bodies.get(case, COURSE_RUN))
    if case == "unbuildable":
        document = {**document, "loss": {"kind": "nope"}}
    return Job(JobKind.RUN, queue_run(store, document, None), document, LIMITS)


def final_status(store: RunStore, job: Job) -> str:
    record = store.get(job.id) if job.kind == JobKind.RUN else store.get_job(job.id)
    assert record is not None
    return record.status


def ended(store: RunStore, *jobs: Job) -> bool:
    return all(final_status(store, job) in ENDED for job in jobs)


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("course", Status.FINISHED),
        ("diverging", Status.DIVERGED),
        ("unbuildable", Status.FAILED),
        ("sweep", Status.FINISHED),
        ("landscape", Status.FINISHED),
    ],
)
def test_a_queued_job_is_claimed_executed_and_stored_with_its_final_status(
    store: RunStore, case: str, status: Status
) -> None:
    settled: list[str] = []
    with worker_pool(store, on_settled=lambda job: settled.append(job.id)) as pool:
        job = queued(store, case)
        pool.poke()
        wait_for(lambda: settled == [job.id])
        assert final_status(store, job) == status  # stored before the pool called back
        assert store.unfinished() == []
        assert store.unfinished_jobs() == []


def test_a_pool_claims_only_its_kinds(store: RunStore) -> None:
    """With a Dask cluster the pool leaves sweeps alone (the process that admitted one drives it on the cluster)."""
    with worker_pool(store, kinds=[JobKind.RUN]) as pool:
        sweep, run = queued(store, "sweep"), queued(store, "course")
        wait_for(lambda: ended(store, run))
        time.sleep(0.05)
        assert final_status(store, sweep) == Status.QUEUED
        assert store.unfinished_jobs() == [(sweep.id, None)]
        assert pool.in_flight == 0


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
def test_a_job_whose_worker_dies_is_stored_failed_and_the_lane_goes_on(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, case: str, error: str
) -> None:
    def dies(job: Job, target: Any) -> str:
        raise RuntimeError("killed")

    monkeypatch.setattr("service.runs.pool.execute", dies)
    with worker_pool(store, workers=1, queue=0) as pool:
        job = queued(store, case)
        pool.poke()
        wait_for(lambda: ended(store, job))
        record = store.get(job.id) if job.kind == JobKind.RUN else store.get_job(job.id)
        assert record is not None
        assert (record.status, record.error) == (Status.FAILED, error)
        assert record.finished_at is not None
        monkeypatch.undo()
        following = queued(store, "course")  # the one lane was rebuilt and claims the next job
        wait_for(lambda: ended(store, following))
        assert final_status(store, following) == Status.FINISHED


def test_at_most_workers_jobs_execute_at_once_and_the_rest_wait_their_turn_oldest_first(
    store: RunStore, gate: Gate
) -> None:
    with worker_pool(store, workers=2, queue=2, gate=gate):
        jobs = [queued(store, "course") for _ in range(4)]
        wait_for(lambda: len(gate.arrived) == 2)
        time.sleep(0.05)
        assert gate.arrived == [jobs[0].id, jobs[1].id]  # the other two wait in the queue, owned by nobody
        assert [final_status(store, job) for job in jobs] == [Status.QUEUED] * 4
        assert {owner for job_id, owner in store.unfinished() if job_id in {jobs[2].id, jobs[3].id}} == {None}
        gate.open()
        wait_for(lambda: ended(store, *jobs))
        assert [final_status(store, job) for job in jobs] == [Status.FINISHED] * 4
        assert sorted(gate.arrived[2:]) == sorted([jobs[2].id, jobs[3].id])  # two lanes claim them side by side


def test_two_pools_on_one_store_never_claim_the_same_job(store: RunStore) -> None:
    """Two server processes (replicas) sharing the store: each queued job is executed exactly once."""
    executed: list[str] = []
    settle = executed.append
    with (
        worker_pool(store, workers=2, on_settled=lambda job: settle(job.id)),
        worker_pool(store, workers=2, on_settled=lambda job: settle(job.id)),
    ):
        jobs = [queued(store, "course") for _ in range(12)]
        wait_for(lambda: ended(store, *jobs))
    assert sorted(executed) == sorted(job.id for job in jobs)
    assert [final_status(store, job) for job in jobs] == [Status.FINISHED] * 12


def test_shutdown_stops_this_processs_runs_and_leaves_the_queue_to_others(store: RunStore, gate: Gate) -> None:
    """A run its worker has taken stops at once, failed with the shutdown message; a job still waiting stays queued
    in the shared queue (for another replica, or the next start); another process's run is not asked to stop."""

    async def main() -> None:
        with worker_pool(store, workers=1, queue=2, gate=gate) as pool:
            taken = queued(store, "course")
            await anyio.to_thread.run_sync(wait_for, lambda: gate.arrived == [taken.id])
            waiting = queued(store, "sweep")
            others = queue_run(store, run_document(), owner="another-host:1:1")
            async with anyio.create_task_group() as group:
                group.start_soon(anyio.to_thread.run_sync, pool.shutdown)
                await anyio.to_thread.run_sync(wait_for, lambda: store.cancel_reason(taken.id) == "shutdown")
                gate.open()
        stopped = store.get(taken.id)
        assert stopped is not None
        assert (stopped.status, stopped.error) == (Status.FAILED, SHUTDOWN)
        assert final_status(store, waiting) == Status.QUEUED
        assert store.unfinished_jobs() == [(waiting.id, None)]
        assert gate.arrived == [taken.id]
        left = store.get(others)
        assert left is not None
        assert left.status == Status.QUEUED
        assert store.cancel_reason(others) is None

    run_async(main)


def test_a_run_executing_when_the_pool_shuts_down_keeps_its_rows(store: RunStore) -> None:
    with worker_pool(store, workers=1, queue=0) as pool:
        job = queued(store, "crawl")
        wait_for(has_rows(store, job.id))
        started = time.monotonic()
        pool.shutdown()
        assert time.monotonic() - started < 2  # stopped at its next chunk, not run to its 10^6 steps
    record = store.get(job.id)
    assert record is not None
    assert record.status == Status.FAILED
    assert record.error == SHUTDOWN
    assert record.summary is not None
    assert 0 < record.last_step < CRAWL_RUN["steps"]
    stored = store.trace(job.id)
    assert stored is not None
    assert int(stored.step[-1]) == record.last_step
