"""A single run that fits one chunk, computed whole (`service.engine.whole`), against the general path on NumPy
(`iterate`, `Analyzer`, `record`): the recorded rows and every summary field, bit for bit, on random problems and on
the runs the chapter is about; and which runs it leaves to the general path."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine import kernels, whole
from service.engine.analysis import Verdict
from service.engine.execute import run_one
from service.engine.kernels import layout
from service.engine.loop import Problem, chunk_length
from service.engine.losses import build, polynomial, quadratic
from service.engine.optimizers import GradientDescent, Optimizer
from service.engine.optimizers import keras as keras_optimizers
from service.engine.optimizers import torch as torch_optimizers
from service.engine.schedules import Constant, Schedule, tf1
from service.engine.schedules import torch as torch_schedules
from service.engine.trace import COLUMNS, Trace
from tests.engine.test_kernels import DTYPES, F32, F64, assert_same_summary, losses, optimizers

wide = st.one_of(st.floats(-8, 8, allow_nan=False, width=32), st.sampled_from([0.0, -0.0, 3e38, -1e30, 1e20]))


def general(problem: Problem, every: int) -> tuple[Trace, Any]:
    """The reference: `run_one` on the NumPy path (the whole-run path needs the kernels, so it is not taken)."""
    with kernels.use("numpy"), np.errstate(all="ignore"):  # as the loop: overflows are values, not warnings
        assert whole.compute(problem, every) is None
        result = run_one(problem, every)
    return result.trace, result.summary


def fast(problem: Problem, every: int) -> tuple[Trace, Any]:
    with kernels.use("compiled"):
        computed = whole.compute(problem, every)
    assert computed is not None, "the run should be computed whole"
    return computed


def assert_same_run(problem: Problem, every: int = 1) -> None:
    (expected_trace, expected_summary), (trace, summary) = general(problem, every), fast(problem, every)
    for column in COLUMNS:
        a, b = getattr(expected_trace, column), getattr(trace, column)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), column
        assert a.tobytes() == b.tobytes(), f"{column}: {a!r} != {b!r}"
    assert_same_summary(expected_summary, summary)


@st.composite
def schedules(draw: st.DrawFn, dtype: np.dtype[np.floating]) -> Schedule:
    rate = draw(st.one_of(st.floats(1e-6, 3.0), st.sampled_from([0.0, -0.1, 1.0, 3e38])))
    kind = draw(st.sampled_from(["constant", "exponential", "step"]))
    if kind == "exponential":
        return tf1.exponential_decay(learning_rate=rate, decay_steps=3, decay_rate=0.9, dtype=dtype)
    if kind == "step":
        return torch_schedules.step_lr(lr=rate, step_size=5, gamma=draw(st.sampled_from([0.5, 3.0])), dtype=dtype)
    return Constant(rate=np.array([rate]).astype(dtype))


@st.composite
def problems(draw: st.DrawFn) -> tuple[Problem, int]:
    dtype = draw(st.sampled_from(DTYPES))
    loss, dims = draw(losses(dtype, 1).filter(lambda drawn: drawn[1] <= whole.MAX_DIMS))
    w0 = np.array([[draw(wide) for _ in range(dims)]], dtype)
    stops: dict[str, Any] = draw(
        st.sampled_from(
            [{}, {"grad_tol": 1e-3}, {"grad_tol": 0.1}, {"loss_tol": 0.5}, {"loss_tol": 0.1}, {"loss_tol": -1.0}]
        )
    )
    problem = Problem(loss, draw(schedules(dtype)), draw(optimizers(dtype)), w0, draw(st.integers(0, 300)), **stops)
    return problem, draw(st.sampled_from([1, 1, 7, 64]))


@settings(max_examples=200)
@given(problems())
def test_a_run_computed_whole_has_the_general_paths_bits(case: tuple[Problem, int]) -> None:
    assert_same_run(*case)


def single(
    loss: Any = None, schedule: Any = 0.1, optimizer: Optimizer | None = None, w0: float = 5.0, steps: int = 40,
    dtype: np.dtype[np.floating] = F32, **options: Any,
) -> Problem:  # fmt: skip
    """A batch of one run: the course's loss (w + 1)² and plain gradient descent unless given."""
    return Problem(
        quadratic(1.0, 1.0, 0.0, 1, dtype) if loss is None else loss,
        Constant(np.array([schedule], dtype)) if isinstance(schedule, float) else schedule,
        optimizer or GradientDescent(),
        np.full((1, 1 if loss is None else loss.dims), w0, dtype),
        steps,
        **options,
    )


ONE_CHUNK = chunk_length(1, 1, compiled=True)
TF1_COURSE = tf1.exponential_decay(learning_rate=0.1, decay_steps=1, decay_rate=0.99, staircase=True, dtype=F32)


@pytest.mark.parametrize(
    ("problem", "verdict"),
    [
        pytest.param(single(schedule=0.2), "converged", id="course"),
        pytest.param(single(schedule=1.0), "oscillating", id="edge"),
        pytest.param(single(schedule=1.05), "diverged", id="beyond"),
        pytest.param(single(schedule=1e-4), "slow", id="crawl"),
        pytest.param(single(schedule=1e30, steps=5), "diverged", id="overflow"),
        pytest.param(single(schedule=0.2, steps=100, dtype=F64, grad_tol=1e-3), "converged", id="tolerance"),
        pytest.param(single(schedule=0.5, steps=3), "converged", id="one-step"),
        pytest.param(single(schedule=1e-7, steps=ONE_CHUNK - 1), "slow", id="one-chunk"),
        pytest.param(single(quadratic(-1.0, 0.0, 0.0, 1, F32), w0=1.0), "unbounded", id="unbounded"),
        pytest.param(single(schedule=TF1_COURSE, optimizer=GradientDescent(tensorflow=True)), "converged", id="tf1"),
        pytest.param(
            single(schedule=0.2, optimizer=GradientDescent(tensorflow=True), dtype=F64), "converged", id="tf1-float64"
        ),
        pytest.param(
            single(schedule=0.2, optimizer=torch_optimizers.sgd(momentum=0.5, dtype=F32)), "converged", id="sgd"
        ),
        pytest.param(single(polynomial([0.0, 0.0, 0.0, 1.0], 1, F32), schedule=0.01, w0=1.0), "unbounded", id="cubic"),
        pytest.param(single(polynomial([0.0, 0.0, 0.0, 0.0, -1.0], 1, F32), 0.01, w0=1.0), "unbounded", id="quartic"),
        pytest.param(single(polynomial([2.0], 1, F32), w0=1.0), "converged", id="constant"),
    ],
)
def test_the_chapters_runs_computed_whole(problem: Problem, verdict: str) -> None:
    assert_same_run(problem)
    assert_same_run(problem, every=7)
    assert fast(problem, 1)[1].verdict[0] == verdict


def test_a_loss_tolerance_is_compared_in_the_runs_dtype() -> None:
    """A float32 loss of exactly float32(0.1) meets `loss_tol` 0.1, as NumPy compares a float32 array with a Python
    float (in float32), although float32(0.1) is above the double 0.1: the run stops at its first row."""
    problem = single(quadratic(0.0, 1.0, 0.1, 1, F32), loss_tol=0.1)
    assert_same_run(problem)
    trace, summary = fast(problem, 1)
    assert (len(trace), summary.outcome[0], summary.final_step[0]) == (1, 3, 0)  # 3: Outcome.STOPPED


def test_the_kernels_verdict_codes_index_the_verdicts() -> None:
    codes = {
        layout.VERDICT_CONVERGED: Verdict.CONVERGED,
        layout.VERDICT_SLOW: Verdict.SLOW,
        layout.VERDICT_OSCILLATING: Verdict.OSCILLATING,
        layout.VERDICT_DIVERGED: Verdict.DIVERGED,
        layout.VERDICT_STALLED: Verdict.STALLED,
        layout.VERDICT_UNBOUNDED: Verdict.UNBOUNDED,
    }
    assert [list(Verdict)[code] for code in codes] == list(codes.values())
    assert [verdict[0] for verdict in whole.VERDICTS] == list(Verdict)


def test_a_start_that_is_not_finite_ends_at_once_with_no_rows() -> None:
    problem = single(w0=np.inf)
    assert_same_run(problem)
    trace, summary = fast(problem, 1)
    assert len(trace) == 0
    assert summary.diverged_at[0] == 0


@pytest.mark.parametrize(
    "problem",
    [
        pytest.param(single(quadratic(1.0, 1.0, 0.0, 3, F32)), id="three-dimensions"),
        pytest.param(
            Problem(
                quadratic(1.0, 1.0, 0.0, 1, F32),
                Constant(np.array([0.1, 0.2], F32)),
                GradientDescent(),
                np.ones((2, 1), F32),
                40,
            ),
            id="two-runs",
        ),
        pytest.param(single(steps=ONE_CHUNK), id="longer-than-a-chunk"),
        pytest.param(single(record_state=True), id="state-recorded"),
        pytest.param(single(build({"kind": "expression", "formula": "(w + 1)**2"}, 1, F32)), id="formula"),
        pytest.param(single(optimizer=torch_optimizers.rmsprop(centered=True, dtype=F32)), id="torch-rmsprop-centered"),
        pytest.param(single(optimizer=keras_optimizers.adadelta(dtype=F32)), id="keras-adadelta"),
    ],
)
def test_runs_left_to_the_general_path(problem: Problem) -> None:
    with kernels.use("compiled"):
        assert whole.compute(problem, 1) is None
