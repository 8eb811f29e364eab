"""Executing a stored job: whatever happens, the job ends with a final status in the store, never an exception.

A run's stored rows are the engine's rows bit for bit; a stopped run keeps the rows computed until then; sweeps,
range tests and landscapes store their result arrays in their dtype and shape."""

import threading
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from service.engine.execute import run_one
from service.runs import worker
from service.runs.job import Job, JobKind
from service.runs.ownership import recover
from service.specs.build import build_problem
from service.store.base import RunStore, Status
from tests.conftest import DECAY_SCHEDULE
from tests.runs.support import (
    COURSE_RUN,
    CRAWL_RUN,
    DIVERGING_RUN,
    LIMITS,
    PARABOLA,
    RATES,
    SHUTDOWN,
    assert_same_rows,
    execute,
    has_rows,
    landscape_document,
    lr_finder_document,
    queue_job,
    queue_run,
    run_document,
    sweep_document,
    wait_for,
)

# Runs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "verdict"),
    [
        (COURSE_RUN, Status.FINISHED, "converged"),
        ({**COURSE_RUN, "record": {"every": 7}}, Status.FINISHED, "converged"),
        ({**COURSE_RUN, "w0": [5, -3], "dtype": "float64"}, Status.FINISHED, "converged"),
        (
            {**COURSE_RUN, "optimizer": {"kind": "torch.Adam"}, "record": {"state": True}, "schedule": DECAY_SCHEDULE},
            Status.FINISHED,
            None,
        ),
        ({**COURSE_RUN, "steps": 5000, "stop": {"grad_tol": 1e-3}}, Status.FINISHED, "converged"),
        (DIVERGING_RUN, Status.DIVERGED, "diverged"),
    ],
    ids=["course", "every-7", "vector-float64", "adam-state-decay", "early-stop", "diverging"],
)
def test_a_run_stores_the_engines_rows_bit_for_bit_and_its_summary(
    store: RunStore, body: dict[str, Any], status: Status, verdict: str | None
) -> None:
    document = run_document(body)
    run_id = queue_run(store, document)
    assert execute(store, JobKind.RUN, run_id, document) == status
    expected = run_one(build_problem(document), every=document["record"]["every"])
    record = store.get(run_id)
    assert record is not None
    assert (record.status, record.error) == (status, None)
    assert record.finished_at is not None
    assert record.last_step == int(expected.trace.step[-1])
    assert_same_rows(store.trace(run_id), expected.trace)
    assert record.summary is not None
    assert record.summary["final"]["step"] == record.last_step
    if verdict is not None:
        assert record.summary["verdict"] == verdict


def test_a_diverging_run_says_where_it_overflowed(store: RunStore) -> None:
    document = run_document(DIVERGING_RUN)
    run_id = queue_run(store, document)
    assert execute(store, JobKind.RUN, run_id, document) == Status.DIVERGED
    record = store.get(run_id)
    assert record is not None
    assert record.summary is not None
    assert record.summary["diverged_at"] == 27
    assert record.last_step == 26  # the last finite row


@pytest.mark.parametrize(
    ("reason", "status", "error"),
    [("client", Status.CANCELLED, None), ("shutdown", Status.FAILED, SHUTDOWN)],
)
def test_a_run_stopped_before_it_starts_computes_nothing(
    store: RunStore, reason: str, status: Status, error: str | None
) -> None:
    document = run_document(CRAWL_RUN)
    run_id = queue_run(store, document)
    store.request_cancel(run_id, reason)
    assert execute(store, JobKind.RUN, run_id, document) == status
    record = store.get(run_id)
    assert record is not None
    assert (record.status, record.error, record.summary, record.last_step) == (status, error, None, -1)
    assert record.finished_at is not None
    stored = store.trace(run_id)
    assert stored is not None
    assert len(stored) == 0


@pytest.mark.parametrize(
    ("reason", "status", "error"),
    [("client", Status.CANCELLED, None), ("shutdown", Status.FAILED, SHUTDOWN)],
)
def test_a_run_stopped_while_it_runs_keeps_its_rows_and_a_summary(
    store: RunStore, monkeypatch: pytest.MonkeyPatch, reason: str, status: Status, error: str | None
) -> None:
    monkeypatch.setattr("service.runs.worker.FLUSH_SECONDS", 0.0)  # rows stored after every chunk
    document = run_document(CRAWL_RUN)
    run_id = queue_run(store, document)

    def stop_once_rows_appear() -> None:
        wait_for(has_rows(store, run_id))
        store.request_cancel(run_id, reason)

    stopper = threading.Thread(target=stop_once_rows_appear)
    stopper.start()
    assert execute(store, JobKind.RUN, run_id, document) == status
    stopper.join()
    record = store.get(run_id)
    assert record is not None
    assert (record.status, record.error) == (status, error)
    assert 0 < record.last_step < CRAWL_RUN["steps"]
    assert record.summary is not None
    assert record.summary["steps_run"] == record.summary["final"]["step"] == record.last_step
    # the rows kept are the rows a run of exactly that many steps computes, bit for bit
    expected = run_one(build_problem({**document, "steps": record.last_step}), every=10)
    assert_same_rows(store.trace(run_id), expected.trace)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"loss": {"kind": "nope"}}, "InvalidSpec: loss.kind: 'nope' is not a loss kind"),
        ({"w0": [1.0, 2.0], "loss": {**PARABOLA, "a": [1.0, 2.0, 3.0]}}, "InvalidSpec: loss.a: a has 3 values"),
        ({"optimizer": {"kind": "torch.SGD", "momentum": -1}}, "InvalidSpec: optimizer.momentum:"),
        ({"w0": "x"}, "ValueError: could not convert string to float: 'x'"),
        ({"record": None}, "TypeError:"),
    ],
    ids=["unknown-loss", "dims-mismatch", "refused-option", "not-a-number", "no-record"],
)
def test_a_run_the_engine_cannot_build_fails_with_the_reason_stored(
    store: RunStore, change: dict[str, Any], reason: str
) -> None:
    document = {**run_document(), **change}
    run_id = queue_run(store, document)
    assert execute(store, JobKind.RUN, run_id, document) == Status.FAILED
    record = store.get(run_id)
    assert record is not None
    assert record.status == Status.FAILED
    assert record.error is not None
    assert record.error.startswith(f"The run failed in the engine: {reason}")
    assert record.summary is None
    assert record.finished_at is not None
    stored = store.trace(run_id)
    assert stored is not None
    assert len(stored) == 0


# Sweeps, range tests, landscapes --------------------------------------------------------------------------------

SWEEP = {"base": COURSE_RUN, "axes": [{"path": "schedule.learning_rate", "values": RATES}], "max_points": 11}
GRID_2D = {
    "base": {**COURSE_RUN, "w0": [5, 5], "dtype": "float64"},
    "axes": [
        {"path": "schedule.learning_rate", "values": RATES},
        {"path": "w0", "linspace": {"start": -2, "stop": 2, "num": 4}},
    ],
}


def test_a_sweep_stores_one_entry_per_grid_point_and_its_kept_traces(store: RunStore) -> None:
    document, meta, steps = sweep_document(SWEEP)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)
    assert execute(store, JobKind.SWEEP, job_id, document) == Status.FINISHED
    record = store.get_job(job_id)
    assert record is not None
    assert (record.status, record.error, record.progress, record.steps) == (Status.FINISHED, None, 40, 40)
    assert record.meta == meta
    arrays = store.job_arrays(job_id)
    shapes = {name: (str(values.dtype), values.shape) for name, values in arrays.items()}
    assert shapes == {
        "final_loss": ("float32", (3,)),
        "best_loss": ("float32", (3,)),
        "verdict": ("<U9", (3,)),
        "converged_at": ("int64", (3,)),
        "diverged_at": ("int64", (3,)),
        "trace.step": ("int64", (11,)),
        "trace.w": ("float32", (3, 11)),
        "trace.loss": ("float32", (3, 11)),
        "trace.lr": ("float32", (3, 11)),
    }
    assert arrays["verdict"].tolist() == ["converged", "converged", "diverged"]
    # grid point 1 is the course run at rate 0.2: the same final loss and rows as the single run
    single = run_one(build_problem(run_document(COURSE_RUN))).trace
    assert arrays["final_loss"][1] == single.loss[-1]
    np.testing.assert_array_equal(arrays["trace.w"][1], single.w[arrays["trace.step"], 0])


def test_a_two_axis_sweep_stores_its_arrays_flat_in_the_runs_dtype(store: RunStore) -> None:
    document, meta, steps = sweep_document(GRID_2D)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)
    assert execute(store, JobKind.SWEEP, job_id, document) == Status.FINISHED
    assert meta["shape"] == [3, 4]
    arrays = store.job_arrays(job_id)
    assert arrays["final_loss"].dtype == np.float64
    assert arrays["final_loss"].shape == (12,)
    assert "trace.w" not in arrays  # no max_points: no traces kept
    record = store.get_job(job_id)
    assert record is not None
    assert record.progress == record.steps == 40


def test_a_range_test_stores_its_curve_and_suggestions(store: RunStore) -> None:
    document = lr_finder_document({"loss": PARABOLA, "w0": 5})
    job_id = queue_job(store, JobKind.LR_FINDER, document, steps=document["num_iter"])
    assert execute(store, JobKind.LR_FINDER, job_id, document) == Status.FINISHED
    record = store.get_job(job_id)
    assert record is not None
    assert (record.status, record.error) == (Status.FINISHED, None)
    arrays = store.job_arrays(job_id)
    shapes = {name: (str(values.dtype), values.shape) for name, values in arrays.items()}
    points = arrays["lr"].size
    assert 2 <= points <= document["num_iter"]
    assert shapes == {
        "lr": ("float32", (points,)),
        "loss": ("float32", (points,)),
        "smoothed_loss": ("float64", (points,)),
    }
    assert np.all(np.diff(arrays["lr"]) > 0)
    assert record.meta["stopped_early"] is (points < document["num_iter"])
    assert [s["name"] for s in record.meta["suggestions"]] == ["steepest", "valley", "minimum"]


@pytest.mark.parametrize(
    ("bounds", "resolution", "dtype", "shapes"),
    [
        ([[-3, 1]], 5, "float32", {"x": (5,), "loss": (5,)}),
        ([[-3, 1], [-2, 2]], 7, "float64", {"x": (7,), "y": (7,), "loss": (7, 7)}),
    ],
    ids=["curve", "contour"],
)
def test_a_landscape_stores_its_grid_and_values(
    store: RunStore, bounds: list[list[float]], resolution: int, dtype: str, shapes: dict[str, tuple[int, ...]]
) -> None:
    document = landscape_document({"loss": PARABOLA, "bounds": bounds, "resolution": resolution, "dtype": dtype})
    job_id = queue_job(store, JobKind.LANDSCAPE, document)
    assert execute(store, JobKind.LANDSCAPE, job_id, document) == Status.FINISHED
    record = store.get_job(job_id)
    assert record is not None
    assert (record.status, record.error) == (Status.FINISHED, None)
    arrays = store.job_arrays(job_id)
    assert {name: values.shape for name, values in arrays.items()} == shapes
    assert {str(values.dtype) for values in arrays.values()} == {dtype}
    if len(bounds) == 1:
        assert arrays["loss"].tolist() == [4.0, 1.0, 0.0, 1.0, 4.0]
        assert record.meta["minimum"] == {"w": [-1.0], "loss": 0.0, "index": [2]}


def test_a_sweep_whose_runs_all_end_early_finishes_with_progress_at_its_last_step(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rates just above 1 diverge slowly: every point overflows near step 21,300 of 100,000, three chunks in.
    Progress is throttled to one write per FLUSH_SECONDS "and at the end": the end is written however long."""
    monkeypatch.setattr("service.runs.worker.FLUSH_SECONDS", 3600.0)
    body = {"base": {**COURSE_RUN, "steps": 100_000}, "axes": [{"path": "schedule.learning_rate", "values": [1.001]}]}
    document, meta, steps = sweep_document(body)
    job_id = queue_job(store, JobKind.SWEEP, document, meta, steps)
    assert execute(store, JobKind.SWEEP, job_id, document) == Status.FINISHED
    ended_at = int(store.job_arrays(job_id)["diverged_at"].max())
    assert 8192 < ended_at < steps
    record = store.get_job(job_id)
    assert record is not None
    assert record.progress >= ended_at - 1  # at least its last finite row


def sweep_with_a_bad_path() -> dict[str, Any]:
    document, _, _ = sweep_document(SWEEP)
    return {**document, "axes": [{**document["axes"][0], "path": "schedule.rate"}]}


@pytest.mark.parametrize(
    ("kind", "document", "reason"),
    [
        (JobKind.SWEEP, sweep_with_a_bad_path(), "The sweep failed in the engine: InvalidSpec: axes.0.path:"),
        (
            JobKind.LR_FINDER,
            {**lr_finder_document({"loss": PARABOLA, "w0": 5}), "start_lr": 20.0},
            "The range test failed in the engine: InvalidSpec:",
        ),
        (
            JobKind.LR_FINDER,
            {**lr_finder_document({"loss": PARABOLA, "w0": 5}), "w0": [1.0] * 1001},
            "The range test failed in the engine: LimitExceeded: w0: w0 has 1001 dimensions",
        ),
        (
            JobKind.LANDSCAPE,
            landscape_document({"loss": {**PARABOLA, "a": [1, 2, 3]}, "bounds": [[-1, 1]]}),
            "The landscape failed in the engine: InvalidSpec: bounds:",
        ),
        (JobKind.LANDSCAPE, {"loss": PARABOLA}, "The landscape failed in the engine: KeyError: 'bounds'"),
    ],
    ids=["sweep-bad-path", "range-test-bad-rates", "range-test-too-many-dims", "landscape-dims", "landscape-no-bounds"],
)
def test_a_job_the_engine_refuses_fails_with_the_reason_stored(
    store: RunStore, kind: JobKind, document: dict[str, Any], reason: str
) -> None:
    job_id = queue_job(store, kind, document)
    assert execute(store, kind, job_id, document) == Status.FAILED
    record = store.get_job(job_id)
    assert record is not None
    assert record.status == Status.FAILED
    assert record.error is not None
    assert record.error.startswith(reason), record.error
    assert record.finished_at is not None
    assert store.job_arrays(job_id) == {}


def test_a_job_deleted_before_its_worker_starts_leaves_nothing_behind(store: RunStore) -> None:
    document = landscape_document({"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})
    job_id = queue_job(store, JobKind.LANDSCAPE, document)
    assert store.delete_job(job_id)
    execute(store, JobKind.LANDSCAPE, job_id, document)
    assert store.get_job(job_id) is None
    assert store.job_arrays(job_id) == {}


@pytest.mark.parametrize("kind", [JobKind.RUN, JobKind.SWEEP])
def test_a_job_recovered_by_another_process_is_never_written_again(store: RunStore, kind: JobKind) -> None:
    """An orphan worker (its server died, a new one marked its job failed) finds every write refused: the job stays
    failed with the recovery's reason and no row or result is added."""
    owner = "tests:0:0"
    if kind == JobKind.RUN:
        document = run_document()
        job_id = queue_run(store, document, owner)
        store.append(job_id, None, status=Status.RUNNING, owner=owner)  # computing when its server died
    else:
        document, meta, steps = sweep_document(SWEEP)
        job_id = queue_job(store, kind, document, meta, steps, owner)
        store.job_progress(job_id, -1, owner=owner)
    recover(store, alive=lambda who: False)
    assert worker.execute(Job(kind, job_id, document, LIMITS, owner), store) == Status.FAILED
    if kind == JobKind.RUN:
        record = store.get(job_id)
        assert record is not None
        assert (record.status, record.last_step) == (Status.FAILED, -1)
        assert record.error is not None
        assert "server stopped" in record.error
    else:
        job = store.get_job(job_id)
        assert job is not None
        assert (job.status, job.progress) == (Status.FAILED, -1)
        assert store.job_arrays(job_id) == {}


def test_a_run_past_its_budget_fails_naming_the_setting_and_keeps_its_rows(store: RunStore) -> None:
    document = run_document({**CRAWL_RUN, "schedule": 1e-7, "record": {"every": 1000}})
    run_id = queue_run(store, document)
    limits = replace(LIMITS, max_run_seconds=0.2)
    assert worker.execute(Job(JobKind.RUN, run_id, document, limits, "tests:0:0"), store) == Status.FAILED
    record = store.get(run_id)
    assert record is not None
    assert record.error is not None
    assert "DESCENT_MAX_RUN_SECONDS" in record.error
    assert 0 < record.last_step < 1_000_000
    assert record.summary is not None
    assert record.summary["steps_run"] == record.last_step
