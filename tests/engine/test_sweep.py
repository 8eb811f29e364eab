"""Sweeps (`service.engine.sweep`): the fused kernel's summaries against the NumPy path's on grids whose runs end
in every verdict, and the trace arrays' layout (step-major memory, run-major shape)."""

from typing import Any

import numpy as np
import pytest

from service import documents
from service.engine import kernels
from service.engine.analysis import Verdict
from service.engine.kernels import fused, sweeps
from service.engine.loop import Problem
from service.engine.losses import build, polynomial
from service.engine.optimizers import GradientDescent
from service.engine.optimizers import torch as torch_optimizers
from service.engine.schedules import Constant
from service.engine.sweep import SweepResult, SweepTraces, run_major, run_sweep, traces_for
from tests.engine.test_kernels import assert_same_summary

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
RATES = [0.5, 1e-4, 1.0, 1.5, 1e-9, 0.3, 0.99, 1.01, 0.0, np.inf]
"""On a·(w + 1)² from w = 5 with a = 1: lands on the minimum, slow, oscillates exactly, diverges, stalls (w stops
moving at the float precision), converges, rings down, grows slowly, never moves, not finite from the start."""


def quadratic(dims: int, dtype: np.dtype[np.floating]) -> Any:
    return build({"kind": "quadratic", "a": 1.0, "b": 1.0, "c": 0.0}, dims, dtype)


def problems(dtype: np.dtype[np.floating], steps: int) -> dict[str, Problem]:
    """Each path of the fused kernel: the tiled one (plain gradient descent on a shared 1-D quadratic), the row
    passes for momentum, 2 dimensions and Adam, and a polynomial with no minimum (unbounded) or with one."""
    rates = np.array(RATES, dtype)
    runs = rates.size

    def start(dims: int) -> Any:
        return np.full((runs, dims), 5.0, dtype)

    cubic = polynomial([0.0, -1.0, 0.0, 0.5], 1, dtype)  # 0.5·w³ − w: a local minimum, no global one
    return {
        "gd": Problem(quadratic(1, dtype), Constant(rate=rates), GradientDescent(), start(1), steps),
        "gd.stops": Problem(quadratic(1, dtype), Constant(rate=rates), GradientDescent(), start(1), steps, 1e-3, 1e-6),
        "torch.SGD": Problem(
            quadratic(1, dtype), Constant(rate=rates), torch_optimizers.sgd(momentum=0.9, dtype=dtype), start(1), steps
        ),
        "gd.plane": Problem(quadratic(2, dtype), Constant(rate=rates), GradientDescent(), start(2), steps),
        "torch.Adam": Problem(
            quadratic(2, dtype), Constant(rate=rates), torch_optimizers.adam(dtype=dtype), start(2), steps
        ),
        "cubic": Problem(
            cubic, Constant(rate=rates * 0.1), GradientDescent(), np.linspace(-3, 3, runs, dtype=dtype)[:, None], steps
        ),
    }


def sweep(problem: Problem, mode: kernels.Mode, max_points: int | None = None) -> SweepResult:
    with kernels.use(mode):
        return run_sweep(problem, max_points)


@pytest.mark.parametrize("steps", [0, 2, 5, 40, 1000])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_the_fused_summary_is_the_analyzers_in_every_verdict(dtype: np.dtype[np.floating], steps: int) -> None:
    """`fused.summarize` (the window, the final values, alternation, convergence and the verdict rules in the
    kernel; the growth's power by NumPy): every field the NumPy path's Analyzer gives, bit for bit, on runs that
    end in each verdict, short runs (a window not full) and runs that end early (diverged, stopped)."""
    seen: set[str] = set()
    for name, problem in problems(dtype, steps).items():
        assert sweeps.sweeper(problem) is not None, name
        expected, got = sweep(problem, "numpy"), sweep(problem, "compiled")
        assert_same_summary(expected.summary, got.summary)
        seen |= {str(verdict) for verdict in got.summary.verdict}
    if steps == 1000:
        assert seen == {str(verdict) for verdict in Verdict}


def step_major(traces: SweepTraces) -> bool:
    """Whether the arrays' memory is (K, R, D) and (K, R), C order."""
    return bool(
        traces.w.transpose(1, 0, 2).flags.c_contiguous
        and traces.loss.T.flags.c_contiguous
        and traces.lr.T.flags.c_contiguous
    )


@pytest.mark.parametrize("max_points", [1, 7, 1001])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_a_sweep_keeps_its_rows_step_major_and_a_store_gets_them_run_major(
    dtype: np.dtype[np.floating], max_points: int
) -> None:
    """The arrays `run_sweep` allocates are step-major in memory, (runs, kept, dims) in shape, on both paths, with
    the same values (NaN after a run's end); reused as `into` they give the same again; `run_major` and
    `documents.sweep_arrays` (what the store writes) give them C-contiguous, the same bytes as run-major arrays
    (`traces_for`) filled by the same sweep."""
    for name, problem in problems(dtype, 1000).items():
        runs, dims = problem.w0.shape
        expected, got = sweep(problem, "numpy", max_points), sweep(problem, "compiled", max_points)
        assert expected.traces is not None
        assert got.traces is not None
        kept = expected.traces.step.size
        for traces in (expected.traces, got.traces):
            assert traces.w.shape == (runs, kept, dims)
            assert traces.loss.shape == traces.lr.shape == (runs, kept)
            assert step_major(traces), name
        assert_same_traces(expected.traces, got.traces)
        for mode in ("numpy", "compiled"):
            with kernels.use(mode):
                again = run_sweep(problem, max_points, None, got.traces)
                rows = run_sweep(problem, max_points, None, traces_for(problem, max_points))
            assert again.traces is got.traces
            assert rows.traces is not None
            assert rows.traces.loss.flags.c_contiguous
            assert_same_traces(expected.traces, rows.traces)
            copied = run_major(got.traces)
            assert all(array.flags.c_contiguous for array in (copied.w, copied.loss, copied.lr))
            assert_same_traces(rows.traces, copied)
        stored = documents.sweep_arrays(got, scalar=dims == 1)
        for column in ("w", "loss", "lr"):
            array = stored[f"trace.{column}"]
            assert array.flags.c_contiguous, column
            ours = getattr(rows.traces, column)
            assert array.tobytes() == (ours[..., 0] if column == "w" and dims == 1 else ours).data.tobytes(), column


def assert_same_traces(expected: SweepTraces, got: SweepTraces) -> None:
    for column in ("step", "w", "loss", "lr"):
        a, b = getattr(expected, column), getattr(got, column)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), column
        assert a.tobytes() == b.tobytes(), column


@pytest.mark.parametrize("dtype", [F32, F64])
def test_a_sweep_wider_than_a_wide_block(dtype: np.dtype[np.floating]) -> None:
    """More runs than `fused.WIDE_BLOCK` (blocks of that many runs, the last one shorter), some diverging, some
    stopping at a tolerance, 101 rows kept: the NumPy path's summary and traces."""
    runs = fused.WIDE_BLOCK + 1500
    rates = np.linspace(1e-4, 3.0, runs).astype(dtype)
    problem = Problem(
        quadratic(1, dtype), Constant(rate=rates), GradientDescent(), np.full((runs, 1), 5.0, dtype), 500, 1e-3
    )
    expected, got = sweep(problem, "numpy", 101), sweep(problem, "compiled", 101)
    assert (expected.summary.outcome == 2).any()
    assert (expected.summary.outcome == 3).any()
    assert_same_summary(expected.summary, got.summary)
    assert expected.traces is not None
    assert got.traces is not None
    assert_same_traces(expected.traces, got.traces)
