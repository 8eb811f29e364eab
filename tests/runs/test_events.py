"""A job's events read back from the store: a run replays `run`, one `step` per stored row (its id the step), then
`end`; a stream resumed after step n continues at the next row, with no gap and no duplicate; `batch` gives
columnar `steps` events. A sweep's stream is `progress` then `end`."""

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import pytest

from service.documents import run_document as run_answer
from service.engine.trace import Trace
from service.runs.events import PING, Event, job_events, polling, run_events
from service.runs.job import JobKind
from service.store.base import RunRecord, RunStore, Status
from tests.conftest import NUMPY_PARABOLA
from tests.runs.support import (
    COURSE_RUN,
    PARABOLA,
    RATES,
    closing,
    execute,
    landscape_document,
    queue_job,
    queue_run,
    run_async,
    run_document,
    sweep_document,
)

POLL = 0.005
LIVE_RUN = {**COURSE_RUN, "loss": NUMPY_PARABOLA, "schedule": 1e-6, "steps": 100_000, "record": {"every": 10_000}}
"""Crawls for a few tenths of a second, storing a row every 10,000 steps as it goes."""


async def collect(stream: AsyncIterator[Event], until: Callable[[Event], bool] | None = None) -> list[Event]:
    """The stream's events up to its end, or up to the first for which `until` holds (then the stream is closed)."""
    found = []
    async with closing(stream) as events:
        async for block in events:
            for event in block.each():  # a block of per-row `step` events is one Event
                found.append(event)
                if until is not None and until(event):
                    return found
    return found


async def live(stream: AsyncIterator[Event], work: Callable[[], object]) -> list[Event]:
    """The stream's first event, then `work` (a worker executing the job) in a thread while the stream follows it."""
    async with anyio.create_task_group() as group, closing(stream) as events:
        found = [await anext(events)]
        group.start_soon(anyio.to_thread.run_sync, work)
        found += [event async for block in events for event in block.each()]
    return found


def finished_run(store: RunStore, body: dict[str, Any] = COURSE_RUN) -> tuple[RunRecord, Trace]:
    document = run_document(body)
    run_id = queue_run(store, document)
    execute(store, JobKind.RUN, run_id, document)
    record, trace = store.get(run_id), store.trace(run_id)
    assert record is not None
    assert trace is not None
    return record, trace


def step_ids(events: list[Event]) -> list[int | None]:
    return [event.id for event in events if event.name in ("step", "steps")]


def test_a_finished_runs_events_are_the_run_each_stored_row_and_the_end(store: RunStore) -> None:
    record, trace = finished_run(store)
    events = run_async(collect, run_events(store, record.id, wait=polling(POLL)))
    assert [event.name for event in events] == ["run", *["step"] * 41, "end"]
    assert events[0] == Event("run", run_answer(record))
    assert events[0].data["status"] == Status.FINISHED
    steps = events[1:-1]
    assert [event.id for event in steps] == list(range(41))
    for row, event in enumerate(steps):
        assert event.data == {
            "step": trace.step[row],
            "w": trace.w[row, 0],  # a scalar run's rows hold numbers
            "loss": trace.loss[row],
            "lr": trace.lr[row],
            "grad": trace.grad[row, 0],
        }
    assert events[-1] == Event("end", {"status": Status.FINISHED, "summary": record.summary, "error": None})


@pytest.mark.parametrize("after", [-1, 0, 1, 19, 39, 40, 1000])
def test_a_stream_resumed_after_step_n_starts_at_the_next_row(store: RunStore, after: int) -> None:
    record, _ = finished_run(store)
    events = run_async(collect, run_events(store, record.id, after=after, wait=polling(POLL)))
    assert events[0].name == "run"
    assert step_ids(events) == list(range(after + 1, 41))
    assert events[-1].name == "end"


def test_a_stream_resumed_while_the_run_runs_has_no_gap_and_no_duplicate(store: RunStore) -> None:
    document = run_document(LIVE_RUN)
    run_id = queue_run(store, document)

    async def main() -> tuple[list[Event], list[Event]]:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, execute, store, JobKind.RUN, run_id, document)
            first = await collect(run_events(store, run_id, wait=polling(POLL)), lambda event: event.id == 20_000)
            resumed = await collect(run_events(store, run_id, after=20_000, wait=polling(POLL)))
        return first, resumed

    first, resumed = run_async(main)
    assert step_ids(first) == [0, 10_000, 20_000]
    record = store.get(run_id)
    assert record is not None
    assert resumed[-1] == Event("end", {"status": Status.FINISHED, "summary": record.summary, "error": None})
    stored = store.trace(run_id)
    assert stored is not None
    assert step_ids(first) + step_ids(resumed) == stored.step.tolist() == list(range(0, 100_001, 10_000))


def test_a_live_streams_steps_arrive_in_order_until_the_end(store: RunStore) -> None:
    document = run_document(LIVE_RUN)
    run_id = queue_run(store, document)

    events = run_async(
        live, run_events(store, run_id, wait=polling(POLL)), lambda: execute(store, JobKind.RUN, run_id, document)
    )
    assert events[0].name == "run"
    assert events[0].data["status"] == Status.QUEUED  # the stream began before the worker
    assert step_ids(events) == list(range(0, 100_001, 10_000))
    assert events[-1].data["status"] == Status.FINISHED


@pytest.mark.parametrize("batch", [1, 7, 41, 100])
def test_batched_events_carry_the_rows_in_columns(store: RunStore, batch: int) -> None:
    record, trace = finished_run(store, {**COURSE_RUN, "w0": [5, -3], "dtype": "float64"})
    events = run_async(collect, run_events(store, record.id, batch=batch, wait=polling(POLL)))
    middle = events[1:-1]
    assert [event.name for event in middle] == ["steps"] * -(-41 // batch)
    assert [event.id for event in middle] == [min(first + batch, 41) - 1 for first in range(0, 41, batch)]
    for event in middle:
        assert set(event.data) == {"step", "w", "loss", "lr", "grad"}
        assert len(event.data["step"]) <= batch
        assert event.data["w"].shape == (len(event.data["step"]), 2)  # a vector run's rows hold lists
        assert event.id == event.data["step"][-1]
    for column in ("step", "w", "loss", "lr", "grad"):
        joined = np.concatenate([event.data[column] for event in middle])
        np.testing.assert_array_equal(joined, getattr(trace, column), strict=True)


def test_a_run_recording_optimizer_state_streams_it_per_row(store: RunStore) -> None:
    body = {**COURSE_RUN, "optimizer": {"kind": "torch.Adam"}, "record": {"state": True}}
    record, trace = finished_run(store, body)
    events = run_async(collect, run_events(store, record.id, wait=polling(POLL)))
    assert set(trace.state) == set(events[5].data["state"])
    for name, values in trace.state.items():
        assert [event.data["state"][name] for event in events[1:-1]] == values[:, 0].tolist()


def test_batched_events_resume_after_step_n(store: RunStore) -> None:
    record, _ = finished_run(store, {**COURSE_RUN, "record": {"every": 3}})
    events = run_async(collect, run_events(store, record.id, after=20, batch=4, wait=polling(POLL)))
    columns = [event.data["step"].tolist() for event in events[1:-1]]
    assert columns == [[21, 24, 27, 30], [33, 36, 39, 40]]


def test_interval_paces_the_replay(store: RunStore) -> None:
    record, _ = finished_run(store)
    started = time.monotonic()
    events = run_async(collect, run_events(store, record.id, batch=10, interval_ms=20, wait=polling(POLL)))
    assert len(step_ids(events)) == 5
    assert time.monotonic() - started >= 5 * 0.02


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"loss": {"kind": "nope"}}, Status.FAILED, "The run failed in the engine: InvalidSpec:"),
        ({}, Status.CANCELLED, None),
    ],
    ids=["failed", "cancelled"],
)
def test_a_run_that_did_not_finish_says_why_before_its_end(
    store: RunStore, change: dict[str, Any], status: Status, error: str | None
) -> None:
    document = {**run_document(), **change}
    run_id = queue_run(store, document)
    if status == Status.CANCELLED:
        store.request_cancel(run_id, "client")
    execute(store, JobKind.RUN, run_id, document)
    events = run_async(collect, run_events(store, run_id, wait=polling(POLL)))
    record = store.get(run_id)
    assert record is not None
    assert record.status == status
    if error is None:
        assert [event.name for event in events] == ["run", "end"]
    else:
        assert [event.name for event in events] == ["run", "error", "end"]
        assert events[1].data == {
            "type": "urn:descent:problem:run-failed",
            "title": "Run failed",
            "status": 500,
            "detail": record.error,
        }
        assert record.error is not None
        assert record.error.startswith(error)
    assert events[-1].data == {"status": status, "summary": None, "error": record.error}


def test_a_run_deleted_while_it_is_streamed_ends_its_stream_with_not_found(store: RunStore) -> None:
    run_id = queue_run(store, run_document())  # queued, never executed

    async def main() -> list[Event]:
        async with closing(run_events(store, run_id, wait=polling(POLL))) as events:
            found = [await anext(events)]
            store.delete(run_id)
            found += [event async for event in events]
        return found

    events = run_async(main)
    assert [event.name for event in events] == ["run", "error"]
    assert events[1].data["status"] == 404
    assert events[1].data["detail"] == f"Run {run_id!r} was deleted while it was streamed."


def test_a_quiet_stream_sends_keep_alive_pings(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.runs.events.PING_SECONDS", 0.0)
    run_id = queue_run(store, run_document())  # queued, never executed: nothing to send
    events = run_async(collect, run_events(store, run_id, wait=polling(POLL)), lambda event: event.name is None)
    assert events[1:] == [PING]
    assert (PING.name, PING.data, PING.id) == (None, None, None)


# Jobs -----------------------------------------------------------------------------------------------------------

SWEEP = {"base": COURSE_RUN, "axes": [{"path": "schedule.learning_rate", "values": RATES}]}


def test_a_finished_jobs_events_are_its_progress_then_the_end(store: RunStore) -> None:
    document, meta, steps = sweep_document(SWEEP)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)
    execute(store, JobKind.SWEEP, job_id, document)
    events = run_async(collect, job_events(store, job_id, polling(POLL)))
    assert events == [
        Event("progress", {"step": 40, "steps": 40}),
        Event("end", {"status": Status.FINISHED, "error": None}),
    ]


def test_a_live_jobs_progress_only_moves_forward_to_its_last_step(store: RunStore) -> None:
    body = {
        **SWEEP,
        "base": {**COURSE_RUN, "steps": 20_000},
        "axes": [{"path": "w0", "linspace": {"start": -9, "stop": 9, "num": 64}}],
    }
    document, meta, steps = sweep_document(body)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)
    events = run_async(
        live, job_events(store, job_id, polling(POLL)), lambda: execute(store, JobKind.SWEEP, job_id, document)
    )
    progress = [event.data["step"] for event in events if event.name == "progress"]
    assert progress[0] == -1  # queued: nothing computed yet
    assert progress == sorted(set(progress))
    assert progress[-1] == steps
    assert {event.data["steps"] for event in events if event.name == "progress"} == {steps}
    assert events[-1] == Event("end", {"status": Status.FINISHED, "error": None})


def test_a_failed_jobs_stream_ends_with_its_reason(store: RunStore) -> None:
    document = landscape_document({"loss": {**PARABOLA, "a": [1, 2, 3]}, "bounds": [[-1, 1]]})
    job_id = queue_job(store, JobKind.LANDSCAPE, document)
    execute(store, JobKind.LANDSCAPE, job_id, document)
    events = run_async(collect, job_events(store, job_id, polling(POLL)))
    assert [event.name for event in events] == ["progress", "end"]
    assert events[-1].data["status"] == Status.FAILED
    assert events[-1].data["error"].startswith("The landscape failed in the engine: InvalidSpec: bounds:")


def test_a_job_deleted_while_it_is_streamed_ends_its_stream(store: RunStore) -> None:
    document, meta, steps = sweep_document(SWEEP)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)  # queued, never executed

    async def main() -> list[Event]:
        async with closing(job_events(store, job_id, polling(POLL))) as events:
            found = [await anext(events)]
            store.delete_job(job_id)
            found += [event async for event in events]
        return found

    assert run_async(main) == [Event("progress", {"step": -1, "steps": 40})]
