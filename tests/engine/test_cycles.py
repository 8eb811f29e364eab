"""The loop's cycle shortcut (finding (a)): once plain gradient descent sits on an exact fixed point or a period-2
cycle, the loop fills the rows instead of computing them. The chunks must be the same as without the shortcut, bit
for bit, whatever the batch, the chunking, the stops, the divergences and the schedule."""

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.arrays import Array
from service.engine.execute import run_one
from service.engine.loop import Outcome, Problem, TraceChunk, iterate
from service.engine.losses import BoolArray, Quadratic, quadratic
from service.engine.optimizers import GradientDescent, torch
from service.engine.schedules import Constant, Schedule, constant, tf1

pytestmark = pytest.mark.usefixtures("engine_path")  # both engine paths, bit for bit the same

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@dataclass
class Counting:
    """A quadratic that counts the gradient evaluations the loop asks for (one per computed row)."""

    inner: Quadratic
    calls: int = field(default=0)

    @property
    def dims(self) -> int:
        return self.inner.dims

    def value(self, w: Array) -> Array:
        return self.inner.value(w)

    def gradient(self, w: Array, out: Array) -> None:
        self.calls += 1
        self.inner.gradient(w, out)

    def bounded_below(self) -> BoolArray:
        return self.inner.bounded_below()

    def facts(self, run: int) -> dict[str, Any] | None:
        return self.inner.facts(run)


def problem(
    rates: list[float] | Schedule,
    steps: int,
    dtype: np.dtype[np.floating] = F32,
    w0: float | list[float] = 5.0,
    a: float | list[float] = 1.0,
    b: float | list[float] = 1.0,
    grad_tol: float | None = None,
    loss_tol: float | None = None,
) -> Problem:
    """The course's loss (by default) for one run per rate, from w0."""
    schedule = rates if not isinstance(rates, list) else Constant(np.asarray(rates, dtype))
    runs = len(rates) if isinstance(rates, list) else 1
    start = np.atleast_1d(np.asarray(w0, dtype))
    loss = quadratic(a, b, 0, start.size, dtype)
    return Problem(Counting(loss), schedule, GradientDescent(), np.tile(start, (runs, 1)), steps, grad_tol, loss_tol)


def bits(values: npt.NDArray[np.floating]) -> npt.NDArray[np.unsignedinteger]:
    return values.view(f"u{values.dtype.itemsize}")


def assert_same_chunks(shortcut: list[TraceChunk], computed: list[TraceChunk]) -> None:
    """The same chunks: steps, valid rows, outcomes and divergence steps equal; every valid row the same bits."""
    assert len(shortcut) == len(computed)
    for ours, theirs in zip(shortcut, computed, strict=True):
        np.testing.assert_array_equal(ours.step, theirs.step)
        np.testing.assert_array_equal(ours.rows, theirs.rows)
        np.testing.assert_array_equal(ours.outcome, theirs.outcome)
        np.testing.assert_array_equal(ours.diverged_at, theirs.diverged_at)
        assert ours.state.keys() == theirs.state.keys()
        for run, valid in enumerate(theirs.rows):
            for name in ("w", "loss", "grad", "lr"):
                mine, reference = getattr(ours, name)[:valid, run], getattr(theirs, name)[:valid, run]
                np.testing.assert_array_equal(bits(mine), bits(reference), err_msg=f"{name} of run {run}")


def compare(p: Problem, chunk_rows: int | None = None) -> tuple[int, int]:
    """Assert both ways give the same chunks; return the gradient evaluations with and without the shortcut."""
    assert isinstance(p.loss, Counting)
    fresh = replace(p, loss=Counting(p.loss.inner))
    assert isinstance(fresh.loss, Counting)
    shortcut = list(iterate(p, chunk_rows))
    computed = list(iterate(fresh, chunk_rows, skip_cycles=False))
    assert_same_chunks(shortcut, computed)
    return p.loss.calls, fresh.loss.calls


def test_a_fixed_point_ends_the_work_of_a_long_run() -> None:
    calls, computed = compare(problem([0.2], 200_000))
    assert computed == 200_001 // 8192 * 8192 + 200_001 % 8192  # every row, one chunk after another
    assert calls < 200  # found at row 64 or 128 of the first chunk; every later chunk is filled at once


def test_the_course_at_rate_one_is_a_period_two_cycle() -> None:
    p = problem([1.0], 50_000)
    calls, _ = compare(p)
    assert calls < 200
    trace = run_one(problem([1.0], 50_000)).trace
    assert set(trace.w[:, 0].tolist()) == {5.0, -7.0}


def test_run_one_gives_the_same_trace_and_summary() -> None:
    """At rate 0.2, float32 stops at -0.99999994: lr·g is below half an ulp of w, a fixed point with g ≠ 0."""
    fast = run_one(problem([0.2], 30_000))
    assert fast.trace.w[-1, 0] == fast.trace.w[-2, 0] == np.float32(-0.99999994)
    assert fast.trace.grad[-1, 0] != 0
    slow = problem([0.2], 30_000)
    chunks = list(iterate(slow, skip_cycles=False))
    assert bits(fast.trace.w[:, 0]).tolist() == bits(np.concatenate([c.w[:, 0, 0] for c in chunks])).tolist()
    assert fast.summary.verdict == run_one(slow).summary.verdict


@pytest.mark.parametrize("chunk_rows", [None, 1, 2, 3, 7, 16, 64, 100, 4096])
def test_a_batch_whose_runs_settle_at_different_steps(chunk_rows: int | None) -> None:
    """0.5 lands on the minimum in one step, 0.45 to 0.1 later and later, 1.0 cycles, 1e-4 never settles."""
    rates = [0.5, 0.45, 0.3, 0.2, 0.1, 1.0, 0.05]
    calls, computed = compare(problem(rates, 3_000), chunk_rows)
    assert calls < computed or chunk_rows in (1, 2, 3)  # chunks of 1 to 3 rows cannot show a cycle inside
    compare(problem([*rates, 1e-4], 3_000), chunk_rows)


def test_runs_that_never_settle_keep_the_batch_computing() -> None:
    calls, computed = compare(problem([0.2, 1e-4], 20_000))
    assert calls == computed


@pytest.mark.parametrize("chunk_rows", [None, 16, 50])
def test_early_stops_and_settling_runs(chunk_rows: int | None) -> None:
    rates = [0.2, 0.05, 1.0, 0.5, 1e-3]
    compare(problem(rates, 5_000, grad_tol=1e-3), chunk_rows)
    compare(problem(rates, 5_000, loss_tol=1e-6), chunk_rows)
    compare(problem(rates, 5_000, grad_tol=0.0), chunk_rows)  # stops on an exact zero gradient


@pytest.mark.parametrize("chunk_rows", [None, 16, 33])
def test_diverging_runs_beside_settled_ones(chunk_rows: int | None) -> None:
    rates = [0.2, 1.0, 1.05, 1.5, 3.0, 0.5]
    calls, computed = compare(problem(rates, 10_000), chunk_rows)
    assert calls < computed  # the divergent runs end; the others settle
    chunks = list(iterate(problem(rates, 10_000), chunk_rows))
    assert chunks[-1].outcome.tolist().count(Outcome.DIVERGED) == 3


def test_a_decaying_rate_does_not_keep_a_cycle_going() -> None:
    """Rate 1 cycles the course between 5 and -7; the staircase then halves it at step 100 (w lands on -1, a fixed
    point that any rate keeps), then keeps halving: the cycle must not be assumed past step 100."""
    schedule = tf1.exponential_decay(1.0, 100, 0.5, True, dtype=F32)
    calls, computed = compare(problem(schedule, 20_000))
    assert calls < computed
    trace = run_one(problem(schedule, 20_000)).trace
    assert trace.w[99, 0] == -7
    assert trace.w[101, 0] == trace.w[-1, 0] == -1


@pytest.mark.parametrize("rate", [1.0, 0.999, 0.75])
def test_a_cycle_broken_by_a_smooth_decay(rate: float) -> None:
    """A cycle (or a fixed point) under a rate that shrinks a little at every step, or after a plateau."""
    smooth = tf1.exponential_decay(rate, 1, 0.9999, False, dtype=F32)
    compare(problem(smooth, 5_000))
    plateau = tf1.piecewise_constant([130, 900], [rate, rate * 0.999, rate * 0.5], dtype=F32)
    compare(problem(plateau, 5_000))
    compare(problem(plateau, 5_000), chunk_rows=70)


def test_a_fixed_point_survives_any_rate_with_a_zero_gradient() -> None:
    """From w = -1 (gradient exactly 0), a growing schedule changes nothing; every chunk is filled."""
    growing = tf1.exponential_decay(0.1, 10, 2.0, False, dtype=F32)  # grows until it overflows to inf
    p = problem(growing, 20_000, w0=-1.0)
    calls, computed = compare(p)
    assert calls < computed
    chunks = list(iterate(problem(growing, 20_000, w0=-1.0)))
    assert chunks[-1].outcome[0] == Outcome.DIVERGED  # the rate itself overflows: the run ends there


def test_signed_zeros_are_not_confused() -> None:
    """From w0 = -0.0 on w² with a negative rate: -0 - (-0) = +0, so row 1 differs from row 0 in its sign bit."""
    compare(problem([-0.5, 0.5, -0.25], 1_000, w0=-0.0, b=0.0))
    compare(problem([-0.5, 0.5], 1_000, w0=-0.0, b=0.0, dtype=F64))


def test_float64_and_several_dimensions() -> None:
    p = problem([0.2, 0.4, 0.25, 0.5], 20_000, F64, w0=[5.0, -3.0, 0.0], a=[1.0, 0.5, 2.0], b=[1.0, -2.0, 0.0])
    calls, computed = compare(p)
    assert calls < computed
    compare(problem([1.0, 0.5], 5_000, F64, w0=[5.0, 2.0], a=1.0, b=[1.0, 0.0]))


def test_tensorflow_gradient_descent_and_other_optimizers() -> None:
    """TF1's GradientDescent (rate through float32) takes the shortcut; an optimizer with state never does."""
    p = replace(problem([0.2, 1.0], 20_000, F64), optimizer=GradientDescent(tensorflow=True))
    calls, computed = compare(p)
    assert calls < computed
    momentum = torch.sgd(momentum=0.5, dtype=F32)
    calls, computed = compare(replace(problem([0.2, 1.0], 5_000), optimizer=momentum))
    assert calls == computed


@settings(max_examples=40)
@given(
    rates=st.lists(
        st.sampled_from([0.0, 0.05, 0.2, 0.3, 0.5, 0.75, 1.0, 1.0001, 1.2, 2.5, -0.1]), min_size=1, max_size=5
    ),
    steps=st.integers(1, 700),
    chunk_rows=st.one_of(st.none(), st.integers(1, 300)),
    decay=st.sampled_from([None, 0.5, 0.999]),
    dtype=st.sampled_from([F32, F64]),
)
def test_the_shortcut_never_changes_a_chunk(
    rates: list[float], steps: int, chunk_rows: int | None, decay: float | None, dtype: np.dtype[np.floating]
) -> None:
    base = problem(rates, steps, dtype)
    if decay is not None:
        base = replace(base, schedule=tf1.exponential_decay(rates, 37, decay, True, dtype=dtype))
    compare(base, chunk_rows)


def test_a_constant_schedule_of_one_run_is_recognised() -> None:
    p = replace(problem([0.2], 10_000), schedule=constant(0.2, F32))
    calls, computed = compare(p)
    assert calls < computed


def test_a_constant_rate_beyond_the_dtype_still_ends_the_run() -> None:
    """Rates given in float64 for a float32 run: 1e39 becomes inf in the run's dtype, and the run diverges at row 0."""
    p = replace(problem([0.2, 0.2], 100), schedule=Constant(np.array([0.2, 1e39])))
    chunks = list(iterate(p))
    assert chunks[-1].outcome.tolist() == [Outcome.COMPLETED, Outcome.DIVERGED]
    assert chunks[-1].diverged_at.tolist() == [-1, 0]
    compare(replace(problem([0.2, 0.2], 100), schedule=Constant(np.array([0.2, 1e39]))))
