"""The lifecycle the routers call: submit (or `Busy`, storing nothing), await the final status, read records,
traces and arrays back, cancel then delete, page through runs, and compute synchronous jobs that leave nothing
behind."""

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread
import pytest

from service.engine.execute import run_one
from service.errors import Busy, Conflict, NotFound
from service.runs.job import JobKind
from service.runs.lifecycle import Lifecycle
from service.specs.build import build_problem
from service.store.base import RunStore, Status
from tests.runs.support import (
    COURSE_RUN,
    CRAWL_RUN,
    PARABOLA,
    RATES,
    Gate,
    assert_same_rows,
    closing,
    count_jobs,
    has_rows,
    landscape_document,
    lifecycle,
    lr_finder_document,
    run_async,
    run_document,
    sweep_document,
    wait_for,
)

UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    ("body", "dims"),
    [(COURSE_RUN, 0), ({**COURSE_RUN, "w0": [5, -3], "dtype": "float64", "name": "pair"}, 2)],
    ids=["scalar", "vector"],
)
def test_a_submitted_run_is_queued_then_read_back_finished_with_its_trace(
    store: RunStore, body: dict[str, Any], dims: int
) -> None:
    document = run_document(body)

    async def main() -> None:
        with lifecycle(store) as service:
            record, finished = await service.submit_run(document, body.get("name"), document["steps"])
            assert (record.status, record.spec, record.dtype, record.dims) == (
                Status.QUEUED,
                document,
                document["dtype"],
                dims,
            )
            assert record.name == body.get("name")
            assert await finished == Status.FINISHED
            done, trace = await service.run_with_trace(record.id)
            assert (done.id, done.status, done.error, done.last_step) == (record.id, Status.FINISHED, None, 40)
            assert done.created_at == record.created_at
            assert done.summary is not None
            assert done.summary["verdict"] == "converged"
            expected = run_one(build_problem(document)).trace
            assert_same_rows(trace, expected)
            assert service.pool.in_flight == 0

    run_async(main)


def test_a_sweep_is_queued_with_its_meta_and_read_back_with_its_arrays(store: RunStore) -> None:
    document, meta, steps = sweep_document(
        {"base": COURSE_RUN, "axes": [{"path": "schedule.learning_rate", "values": RATES}], "name": "rates"}
    )

    async def main() -> None:
        with lifecycle(store) as service:
            record, finished = await service.submit_job(JobKind.SWEEP, document, "rates", steps, meta)
            assert (record.kind, record.name, record.status, record.steps, record.meta) == (
                JobKind.SWEEP,
                "rates",
                Status.QUEUED,
                40,
                meta,
            )
            assert await finished == Status.FINISHED
            done = await service.job(record.id, JobKind.SWEEP)
            assert (done.status, done.progress, done.steps) == (Status.FINISHED, 40, 40)
            arrays = await service.finished_job_arrays(done)
            assert arrays["verdict"].tolist() == ["converged", "converged", "diverged"]
            assert await service.job_arrays(done) is not None
            with pytest.raises(NotFound, match=f"There is no landscape '{record.id}'"):
                await service.job(record.id, JobKind.LANDSCAPE)  # a sweep is not a landscape

    run_async(main)


@pytest.mark.parametrize(
    ("read", "message"),
    [
        (lambda s: s.run(UNKNOWN), f"There is no run '{UNKNOWN}'; list runs with GET /v1/runs."),
        (lambda s: s.run_with_trace(UNKNOWN), f"There is no run '{UNKNOWN}'; list runs with GET /v1/runs."),
        (lambda s: s.cancel_or_delete(UNKNOWN), f"There is no run '{UNKNOWN}'; list runs with GET /v1/runs."),
        (lambda s: s.job(UNKNOWN, JobKind.SWEEP), f"There is no sweep '{UNKNOWN}'."),
        (lambda s: s.job(UNKNOWN, JobKind.LR_FINDER), f"There is no range test '{UNKNOWN}'."),
        (lambda s: s.job(UNKNOWN, JobKind.LANDSCAPE), f"There is no landscape '{UNKNOWN}'."),
    ],
    ids=["run", "run_with_trace", "cancel_or_delete", "sweep", "range-test", "landscape"],
)
def test_unknown_ids_are_not_found(
    store: RunStore, read: Callable[[Lifecycle], Awaitable[object]], message: str
) -> None:
    async def main() -> None:
        with lifecycle(store) as service:
            with pytest.raises(NotFound) as missing:
                await read(service)
            assert missing.value.detail == message

    run_async(main)


def test_cancel_stops_a_running_run_then_delete_removes_the_ended_run(store: RunStore) -> None:
    document = run_document(CRAWL_RUN)

    async def main() -> None:
        with lifecycle(store) as service:
            record, finished = await service.submit_run(document, None, document["steps"])
            await anyio.to_thread.run_sync(wait_for, has_rows(store, record.id))
            stopped = await service.cancel_or_delete(record.id)
            assert stopped is not None
            assert (stopped.status, stopped.error) == (Status.CANCELLED, None)
            assert 0 < stopped.last_step < CRAWL_RUN["steps"]
            assert stopped.summary is not None
            assert await finished == Status.CANCELLED
            _, kept = await service.run_with_trace(record.id)
            assert int(kept.step[-1]) == stopped.last_step
            assert await service.cancel_or_delete(record.id) is None  # ended: deleted
            with pytest.raises(NotFound):
                await service.run(record.id)
            with pytest.raises(NotFound):
                await service.cancel_or_delete(record.id)
            assert store.trace(record.id) is None

    run_async(main)


def test_a_queued_run_asked_to_stop_ends_cancelled_without_computing(store: RunStore, gate: Gate) -> None:
    document = run_document(CRAWL_RUN)

    async def main() -> None:
        with lifecycle(store, gate=gate) as service:
            record, finished = await service.submit_run(document, None, document["steps"])
            await anyio.to_thread.run_sync(wait_for, lambda: gate.arrived == [record.id])
            waiting = await service.cancel_or_delete(record.id, wait_seconds=0.05)
            assert waiting is not None
            assert waiting.status == Status.QUEUED  # claimed, but its worker has not started it yet
            gate.open()
            assert await finished == Status.CANCELLED
            ended, trace = await service.run_with_trace(record.id)
            assert (ended.status, ended.summary, len(trace)) == (Status.CANCELLED, None, 0)

    run_async(main)


def test_a_queued_run_nobody_claimed_is_cancelled_at_once(store: RunStore, gate: Gate) -> None:
    document = run_document(CRAWL_RUN)

    async def main() -> None:
        with lifecycle(store, workers=1, gate=gate) as service:
            busy, _ = await service.submit_run(document, None, document["steps"])
            await anyio.to_thread.run_sync(wait_for, lambda: gate.arrived == [busy.id])
            record, finished = await service.submit_run(document, None, document["steps"])  # the one lane is busy
            cancelled = await service.cancel_or_delete(record.id, wait_seconds=5)
            assert cancelled is not None
            assert cancelled.status == Status.CANCELLED
            assert await finished == Status.CANCELLED
            assert gate.arrived == [busy.id]  # never handed to a worker

    run_async(main)


def test_a_submission_beyond_the_pools_places_is_busy_and_stores_nothing(store: RunStore, gate: Gate) -> None:
    document = run_document()
    sweep, meta, steps = sweep_document({"base": COURSE_RUN, "axes": [{"path": "w0", "values": [1, 2]}]})

    async def main() -> None:
        with lifecycle(store, workers=1, queue=1, gate=gate) as service:
            first, first_done = await service.submit_run(document, None, 40)
            second, second_done = await service.submit_job(JobKind.SWEEP, sweep, None, steps, meta)
            with pytest.raises(Busy):
                await service.submit_run(document, None, 40)
            with pytest.raises(Busy):
                await service.submit_job(JobKind.SWEEP, sweep, None, steps, meta)
            assert [r.id for r in (await service.page(10, None)).records] == [first.id]
            assert store.unfinished_jobs() == [(second.id, None)]  # waiting in the shared queue, nobody's yet
            gate.open()
            assert (await first_done, await second_done) == (Status.FINISHED, Status.FINISHED)
            third, third_done = await service.submit_run(document, None, 40)  # places are free again
            assert await third_done == Status.FINISHED
            assert [r.id for r in (await service.page(10, None)).records] == [third.id, first.id]

    run_async(main)


def test_a_failed_insert_gives_its_place_back(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    document = run_document()

    def unavailable(*args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    async def main() -> None:
        with lifecycle(store, workers=1, queue=0) as service:
            monkeypatch.setattr(store, "insert", unavailable)
            with pytest.raises(sqlite3.OperationalError):
                await service.submit_run(document, None, 40)
            assert service.pool.in_flight == 0
            monkeypatch.undo()
            _, finished = await service.submit_run(document, None, 40)  # its one place is free
            assert await finished == Status.FINISHED

    run_async(main)


@pytest.mark.parametrize(
    ("kind", "document", "names"),
    [
        (
            JobKind.LANDSCAPE,
            landscape_document({"loss": PARABOLA, "bounds": [[-3, 1], [-2, 2]], "resolution": 5}),
            {"x", "y", "loss"},
        ),
        (JobKind.LR_FINDER, lr_finder_document({"loss": PARABOLA, "w0": 5}), {"lr", "loss", "smoothed_loss"}),
    ],
    ids=["landscape", "range-test"],
)
def test_compute_returns_the_result_and_forgets_the_job(
    store: RunStore, kind: JobKind, document: dict[str, Any], names: set[str]
) -> None:
    async def main() -> None:
        with lifecycle(store) as service:
            record, arrays = await service.compute(kind, document)
            assert (record.kind, record.status, record.error) == (kind, Status.FINISHED, None)
            assert set(arrays) == names
            assert store.get_job(record.id) is None  # read once, then deleted
            assert store.unfinished_jobs() == []
            assert service.pool.in_flight == 0

    run_async(main)


def test_a_landscape_computes_its_values_on_the_grid(store: RunStore) -> None:
    document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})

    async def main() -> None:
        with lifecycle(store) as service:
            record, arrays = await service.compute(JobKind.LANDSCAPE, document)
            assert arrays["x"].tolist() == [-3.0, -2.0, -1.0, 0.0, 1.0]
            assert arrays["loss"].tolist() == [4.0, 1.0, 0.0, 1.0, 4.0]
            assert record.meta["minimum"] == {"w": [-1.0], "loss": 0.0, "index": [2]}

    run_async(main)


def test_compute_of_a_failing_job_raises_its_reason_and_forgets_it(store: RunStore) -> None:
    document = landscape_document({"loss": {**PARABOLA, "a": [1, 2, 3]}, "bounds": [[-1, 1]]})

    async def main() -> None:
        with lifecycle(store) as service:
            with pytest.raises(RuntimeError, match="The landscape failed in the engine: InvalidSpec: bounds:"):
                await service.compute(JobKind.LANDSCAPE, document)
            assert count_jobs(store) == 0

    run_async(main)


def test_compute_forgets_the_job_when_the_caller_goes_away(store: RunStore, gate: Gate) -> None:
    document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})

    async def main() -> None:
        with lifecycle(store, gate=gate) as service:
            with anyio.move_on_after(5) as scope:
                async with anyio.create_task_group() as group:
                    group.start_soon(service.compute, JobKind.LANDSCAPE, document)
                    await anyio.to_thread.run_sync(wait_for, lambda: len(gate.arrived) == 1)
                    group.cancel_scope.cancel()  # the client went away while the job computes
            assert not scope.cancelled_caught
            assert store.get_job(gate.arrived[0]) is None
            gate.open()
            await anyio.to_thread.run_sync(wait_for, lambda: service.pool.in_flight == 0)
            assert store.get_job(gate.arrived[0]) is None  # its worker ended without a row to write to
            assert store.job_arrays(gate.arrived[0]) == {}

    run_async(main)


def test_a_jobs_result_is_a_conflict_until_it_has_finished(store: RunStore, gate: Gate) -> None:
    document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})

    async def main() -> None:
        with lifecycle(store, gate=gate) as service:
            record, finished = await service.submit_job(JobKind.LANDSCAPE, document)
            with pytest.raises(Conflict) as early:
                await service.finished_job_arrays(record)
            assert early.value.detail == "The landscape is queued; its result exists once it has finished."
            assert await service.job_arrays(record) is None
            gate.open()
            assert await finished == Status.FINISHED
            done = await service.job(record.id, JobKind.LANDSCAPE)
            assert set(await service.finished_job_arrays(done)) == {"x", "loss"}

    run_async(main)


def test_page_lists_runs_newest_first_and_continues_from_its_cursor(store: RunStore) -> None:
    async def main() -> None:
        with lifecycle(store) as service:
            ids = []
            for rate in (0.1, 0.2, 0.3, 0.4, 0.5):
                record, finished = await service.submit_run(run_document({**COURSE_RUN, "schedule": rate}), None, 40)
                await finished
                ids.append(record.id)
            first = await service.page(2, None)
            second = await service.page(2, first.next_cursor)
            last = await service.page(2, second.next_cursor)
            assert [[r.id for r in page.records] for page in (first, second, last)] == [
                ids[:2:-1],
                ids[2:0:-1],
                ids[:1],
            ]
            assert last.next_cursor is None
            assert {r.status for page in (first, second, last) for r in page.records} == {Status.FINISHED}

    run_async(main)


def test_a_followed_run_is_cancelled_when_its_client_goes_away(store: RunStore) -> None:
    document = run_document(CRAWL_RUN)

    async def main() -> None:
        with lifecycle(store) as service:
            record, finished = await service.submit_run(document, None, document["steps"])
            names = []
            async with closing(service.followed_run(record.id, batch=1000)) as events:
                async for event in events:
                    names.append(event.name)
                    if event.name == "steps":
                        break  # the client disconnects
            assert names == ["run", "steps"]
            assert await finished == Status.CANCELLED
            assert store.cancel_reason(record.id) == "client"

    run_async(main)


def test_a_followed_run_streams_to_its_end_and_is_left_alone(store: RunStore) -> None:
    document = run_document()

    async def main() -> None:
        with lifecycle(store) as service:
            record, finished = await service.submit_run(document, None, 40)
            async with closing(service.followed_run(record.id, batch=None)) as events:
                names = [event.name async for block in events for event in block.each()]
            assert names == ["run", *["step"] * 41, "end"]
            assert await finished == Status.FINISHED
            assert store.cancel_reason(record.id) is None

    run_async(main)
