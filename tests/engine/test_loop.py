"""The batched loop: batching changes nothing, chunking changes nothing, stops and divergence end runs."""

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.execute import run_one
from service.engine.loop import Outcome, Problem, TraceChunk, iterate
from service.engine.losses import quadratic
from service.engine.optimizers import GradientDescent
from service.engine.schedules import tf1
from service.engine.schedules.base import Constant, constant

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def course(
    rate: float,
    steps: int = 40,
    dtype: np.dtype[np.floating] = F32,
    grad_tol: float | None = None,
    loss_tol: float | None = None,
) -> Problem:
    w0 = np.array([[5]], dtype)
    return Problem(
        quadratic(1, 1, 0, 1, dtype), constant(rate, dtype), GradientDescent(), w0, steps, grad_tol, loss_tol
    )


def rows_of(chunks: list[TraceChunk], run: int) -> npt.NDArray[np.floating]:
    return np.concatenate([c.w[: c.rows[run], run, 0] for c in chunks])


@settings(max_examples=25)
@given(rates=st.lists(st.floats(0, 1.5), min_size=1, max_size=6), steps=st.integers(1, 60))
def test_a_batch_equals_its_runs_one_by_one(rates: list[float], steps: int) -> None:
    rate_array = np.asarray(rates, np.float32)
    batch = Problem(
        quadratic(1, 1, 0, 1, F32),
        Constant(rate_array),
        GradientDescent(),
        np.full((len(rates), 1), 5, np.float32),
        steps,
    )
    chunks = list(iterate(batch, chunk_rows=7))
    for run, rate in enumerate(rate_array):
        single = run_one(course(float(rate), steps)).trace.w[:, 0]
        np.testing.assert_array_equal(rows_of(chunks, run), single)


@given(chunk_rows=st.integers(1, 50))
def test_chunk_size_does_not_change_the_trace(chunk_rows: int) -> None:
    whole = run_one(course(0.3, 45)).trace
    chunks = list(iterate(course(0.3, 45), chunk_rows=chunk_rows))
    np.testing.assert_array_equal(np.concatenate([c.step[: c.rows[0]] for c in chunks]), np.arange(46))
    np.testing.assert_array_equal(rows_of(chunks, 0), whole.w[:, 0])


def test_float64_sgd_is_the_closed_form() -> None:
    trace = run_one(course(0.2, 30, F64)).trace
    np.testing.assert_allclose(trace.w[:, 0], -1 + 6 * 0.6 ** np.arange(31), rtol=1e-12, atol=1e-15)


def test_rows_hold_w_loss_grad_and_the_rate_of_the_next_update() -> None:
    trace = run_one(course(0.2, 3)).trace
    assert trace.step.tolist() == [0, 1, 2, 3]
    assert trace.w[0, 0] == 5
    assert trace.loss[0] == 36
    assert trace.grad[0, 0] == 12
    assert trace.w[1, 0] == np.float32(5) - np.float32(12) * np.float32(0.2)
    assert (trace.lr == np.float32(0.2)).all()


def test_grad_tol_stops_at_the_first_row_that_meets_it() -> None:
    result = run_one(course(0.2, 1000, grad_tol=1e-3))
    grad = np.abs(result.trace.grad[:, 0])
    assert grad[-1] <= 1e-3 < grad[-2]
    assert result.summary.outcome[0] == Outcome.STOPPED


def test_loss_tol_stops_early() -> None:
    result = run_one(course(0.2, 1000, loss_tol=1e-4))
    assert result.trace.loss[-1] <= 1e-4 < result.trace.loss[-2]
    assert len(result.trace) < 30


def test_a_diverging_run_ends_at_its_last_finite_row() -> None:
    result = run_one(course(3.0, 400))
    assert result.summary.outcome[0] == Outcome.DIVERGED
    diverged_at = int(result.summary.diverged_at[0])
    assert result.trace.step[-1] == diverged_at - 1
    assert np.isfinite(result.trace.loss).all()
    assert np.isfinite(result.trace.w).all()


def test_only_the_diverging_run_of_a_batch_ends() -> None:
    batch = Problem(
        quadratic(1, 1, 0, 1, F32),
        Constant(np.array([0.2, 3.0], np.float32)),
        GradientDescent(),
        np.full((2, 1), 5, np.float32),
        300,
    )
    chunks = list(iterate(batch, chunk_rows=64))
    assert chunks[-1].outcome.tolist() == [Outcome.COMPLETED, Outcome.DIVERGED]
    assert sum(int(c.rows[0]) for c in chunks) == 301
    assert sum(int(c.rows[1]) for c in chunks) == int(chunks[-1].diverged_at[1])


@pytest.mark.parametrize("steps", [1, 2, 4096, 4097])
def test_every_row_is_produced_once(steps: int) -> None:
    trace = run_one(course(0.1, steps)).trace
    np.testing.assert_array_equal(trace.step, np.arange(steps + 1))


def test_an_overflowing_schedule_ends_the_run_before_its_rate_is_written() -> None:
    problem = Problem(
        quadratic(1, 1, 0, 1, F32),
        tf1.exponential_decay(0.1, 1, 1e30, False, dtype=F32),
        GradientDescent(),
        np.array([[5]], np.float32),
        10,
    )
    result = run_one(problem)
    assert result.summary.outcome[0] == Outcome.DIVERGED
    assert np.isfinite(result.trace.lr).all()
    assert result.trace.step[-1] == int(result.summary.diverged_at[0]) - 1


@pytest.mark.parametrize("dims", [1, 2, 3, 4, 5, 8, 16, 17, 40])
def test_every_dimension_is_checked_for_finiteness(dims: int) -> None:
    """Any one non-finite component ends its run at that row, whatever the number of dimensions: the runs end
    where a plain `all` over the dimensions says."""
    w0 = np.full((4, dims), 5, np.float32)
    w0[1, dims - 1] = 2e19  # its loss overflows at once
    w0[2, 0] = 1e15  # diverges after some steps at rate 3
    w0[3, dims // 2] = -3e16  # so does this one, in another dimension
    rates = np.array([0.2, 0.2, 3.0, 2.5], np.float32)
    batch = Problem(quadratic(1, 1, 0, dims, F32), Constant(rates), GradientDescent(), w0, 60)
    chunks = list(iterate(batch, chunk_rows=8, skip_cycles=False))
    w = np.concatenate([c.w for c in chunks])
    grad = np.concatenate([c.grad for c in chunks])
    loss = np.concatenate([c.loss for c in chunks])
    finite = np.isfinite(loss) & np.isfinite(w).all(axis=-1) & np.isfinite(grad).all(axis=-1)
    expected = [int(np.argmin(column)) if not column.all() else -1 for column in finite.T]
    assert expected[:2] == [-1, 0]
    assert min(expected[2:]) > 0
    assert chunks[-1].diverged_at.tolist() == expected
    assert chunks[-1].outcome.tolist() == [Outcome.COMPLETED, Outcome.DIVERGED, Outcome.DIVERGED, Outcome.DIVERGED]
