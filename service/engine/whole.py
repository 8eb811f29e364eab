"""A single run that fits one chunk, computed whole in one compiled call: the course's 40 steps in microseconds.

`iterate`, `Analyzer` and `record` serve any batch and any length, chunk by chunk, and pay about a hundred NumPy
calls of fixed cost per run whatever its length. A run of one batch of 1 or 2 dimensions whose rows all fit one
chunk, with a compiled kernel for its loss and optimizer and a schedule known ahead, needs none of that:
`kernels.whole.run_and_analyze` fills a constant rate's table, runs plain gradient descent (another optimizer's
runner steps first), computes the loss values, finds the run's end and analyses it, and writes the summary's values
into three small arrays whose 1-element slices become the `RunSummary`. Python adds the growth's power (NumPy's, as
`Analyzer.finish` takes it) and picks the verdict the kernel worked out for it. The result is the same `Result` as
`run_one`'s, bit for bit (a property test compares them on random specs); anything else returns None and takes the
general path.
"""

import functools
from collections.abc import Callable
from types import ModuleType

import numpy as np
import numpy.typing as npt

from service.engine import kernels
from service.engine.analysis import CONVERGED_RATIO, FIXED_POINT_RATIO, STEADY, WINDOW, RunSummary, Verdict, rate_bounds
from service.engine.arrays import Array
from service.engine.kernels.layout import (
    BEST_LOSS,
    BEST_STEP,
    CONVERGED_AT,
    COUNT,
    DIVERGED_AT,
    EXPONENT,
    FINAL_STEP,
    GRAD0,
    INTS,
    LOSS0,
    LR_FIRST,
    LR_LAST,
    LR_MAX,
    LR_MIN,
    NO_LOSS,
    RATIO,
    REALS,
    VALUES,
)
from service.engine.loop import Problem, chunk_length, rates_per_run, schedule_traits
from service.engine.losses import Loss, Polynomial, Quadratic, QuadraticForm
from service.engine.optimizers import GradientDescent, Optimizer
from service.engine.schedules import Constant
from service.engine.trace import Trace

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
MAX_DIMS = 2
"""Gradient norms and window sums over more dimensions are NumPy's pairwise sums: the general path keeps them."""
ONE_CHUNK = {dims: chunk_length(1, dims, compiled=True) for dims in range(1, MAX_DIMS + 1)}
"""The most rows a run of 1 or 2 dimensions has in one chunk of the compiled path."""
VERDICTS = tuple(np.array([verdict], dtype=object) for verdict in Verdict)
"""Each verdict as a summary's (1,) column, indexed by the kernel's verdict codes (copied per run)."""
EMPTY = {dtype: (np.zeros(0, dtype), np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype)) for dtype in (F32, F64)}
"""Placeholders for the kernel's unused arguments, (0,), (0, 0) and (0, 0, 0), per dtype (never written)."""

Reals = npt.NDArray[np.float64]
Encoded = tuple[int, Array, Array, Array, int, Array, Array, Array]
Runners = Callable[[Loss, Optimizer, np.dtype[np.floating]], kernels.Runner | None]


def compute(problem: Problem, every: int) -> tuple[Trace, RunSummary] | None:
    """The run's recorded rows (every `every`-th, first and last kept) and its summary, or None when the run does
    not qualify (several runs, more than 2 dimensions, longer than a chunk, recorded state, a schedule that reads
    the loss or cycles the momentum, no compiled kernel for its loss and optimizer, or the kernels not loaded)."""
    runs, dims = problem.w0.shape
    if runs != 1 or dims > MAX_DIMS or problem.record_state:
        return None
    reads_loss, cycles_momentum = schedule_traits(type(problem.schedule))
    if reads_loss or cycles_momentum or problem.steps + 1 > ONE_CHUNK[dims] or not kernels.enabled():
        return None
    return computed(problem, every, kernels.runner)


def computed(problem: Problem, every: int, runners: Runners) -> tuple[Trace, RunSummary] | None:
    """`compute` for a problem that qualifies but for its loss and optimizer, with the kernels loaded; `runners`
    gives the optimizer's compiled runner (`kernels.runner`; the warm-up passes `adapters.runner`)."""
    dtype = problem.w0.dtype
    encoded = _encode(_kernel(), problem.loss, dtype)
    if encoded is None:
        return None
    if isinstance(problem.optimizer, GradientDescent) and encoded[4] != NO_LOSS:
        return _compute(problem, every, encoded, None)  # descends in the kernel
    run = runners(problem.loss, problem.optimizer, dtype)
    return None if run is None else _compute(problem, every, encoded, run)


@functools.cache
def _kernel() -> ModuleType:
    """`kernels.whole`, imported once the kernels are loaded (importing it imports Numba)."""
    from service.engine.kernels import whole

    return whole


def _encode(kernel: ModuleType, loss: Loss, dtype: np.dtype[np.floating]) -> Encoded | None:
    """The loss as the kernel's gradient encoding and loss values encoding (`adapters.encode`, `adapters.values`),
    every array C-contiguous and writable (another layout would make Numba compile at request time)."""
    _, none2, none3 = EMPTY[dtype]
    if isinstance(loss, Quadratic):
        b, a = kernels.writable(loss.b), kernels.writable(loss.a)
        return (
            kernel.QUADRATIC,
            b,
            kernels.writable(loss.twice_a),
            none3,
            kernel.QUADRATIC,
            b,
            a,
            kernels.writable(loss.c),
        )
    if isinstance(loss, Polynomial):
        derivative, coefficients = kernels.writable(loss.derivative), kernels.writable(loss.coefficients)
        return kernel.POLYNOMIAL, derivative, none2, none3, kernel.POLYNOMIAL, coefficients, none2, none2
    if isinstance(loss, QuadraticForm):
        b, s = kernels.writable(loss.b), kernels.writable(loss.s)
        return kernel.QUADRATIC_FORM, b, none2, s, NO_LOSS, none2, none2, none2
    return None


def _compute(problem: Problem, every: int, encoded: Encoded, run: kernels.Runner | None) -> tuple[Trace, RunSummary]:
    """`run`: the optimizer's compiled runner, or None for plain gradient descent in the kernel."""
    kernel = _kernel()
    dtype, dims = problem.w0.dtype, problem.w0.shape[1]
    n = problem.steps + 1
    w, grads, loss = np.empty((n, dims), dtype), np.empty((n, dims), dtype), np.empty(n, dtype)
    w[0] = problem.w0[0]
    schedule = problem.schedule
    constant = schedule.rate if isinstance(schedule, Constant) and schedule.rate.size == 1 else None
    if constant is not None and run is None:
        rate, lr = _rate(constant, dtype), np.empty(n, dtype)  # the kernel fills the table
    else:
        rate, lr = EMPTY[dtype][0], _table(problem, n, dtype)
    given_loss = encoded[4] == NO_LOSS
    if run is not None or given_loss:
        with np.errstate(all="ignore"):  # as in the loop: overflows are values, not warnings
            if run is not None:
                state = problem.optimizer.init(w[:1])
                run(w.reshape(n, 1, dims), grads.reshape(n, 1, dims), lr.reshape(n, 1), n - 1, state)
            if given_loss:
                loss = kernels.writable(problem.loss.value(w.reshape(n, 1, dims))).reshape(n)
    window_w = np.empty((WINDOW, 1, dims), dtype)
    values = np.empty(WINDOW + VALUES, dtype)
    reals: Reals = np.empty(WINDOW + REALS, F64)
    ints, outcome, alternating = np.empty(INTS, np.int64), np.empty(1, np.int8), np.empty(1, np.bool_)
    rows, power, finite, growing, steady, neither = kernel.run_and_analyze(
        *encoded,
        rate,
        run is None,
        dtype != F32 and bool(getattr(problem.optimizer, "tensorflow", False)),
        w,
        grads,
        loss,
        lr,
        constant is not None,
        np.nan if problem.grad_tol is None else float(problem.grad_tol),
        np.nan if problem.loss_tol is None else float(problem.loss_tol),
        CONVERGED_RATIO,
        FIXED_POINT_RATIO,
        not given_loss or bool(problem.loss.bounded_below().flat[0]),
        window_w,
        values,
        reals,
        ints,
        outcome,
        alternating,
    )
    v, r = WINDOW, WINDOW  # the slots after the windows
    growth = (
        _power(reals[r + RATIO : r + RATIO + 1], reals[r + EXPONENT : r + EXPONENT + 1], finite)
        if power
        else reals[r + RATIO : r + RATIO + 1]
    )
    factor = float(growth[0])
    code = growing if factor > 1 + STEADY else steady if abs(factor - 1) <= STEADY else neither
    if constant is not None or rows == 0:
        lr_min, lr_max = values[v + LR_MIN : v + LR_MIN + 1], values[v + LR_MAX : v + LR_MAX + 1]
    else:
        lr_min, lr_max = _rate_range(lr, rows)
    summary = RunSummary(  # by position, in the fields' order (keywords cost 1.5 µs here; tests check each by name)
        ints[FINAL_STEP : FINAL_STEP + 1],  # final_step
        window_w[-1],  # final_w
        values[v - 1 : v],  # final_loss
        ints[BEST_STEP : BEST_STEP + 1],  # best_step
        values[v + BEST_LOSS : v + BEST_LOSS + 1],  # best_loss
        ints[CONVERGED_AT : CONVERGED_AT + 1],  # converged_at
        ints[DIVERGED_AT : DIVERGED_AT + 1],  # diverged_at
        outcome,  # outcome
        VERDICTS[code].copy(),  # verdict
        values[v + LOSS0 : v + LOSS0 + 1],  # loss0
        reals[r + GRAD0 : r + GRAD0 + 1],  # grad_norm0
        reals[r - 1 : r],  # grad_norm_final
        growth,  # growth
        window_w,  # window_w
        ints[COUNT : COUNT + 1],  # window_count
        alternating,  # alternating
        values[v + LR_FIRST : v + LR_FIRST + 1],  # lr_first
        values[v + LR_LAST : v + LR_LAST + 1],  # lr_last
        lr_min,  # lr_min
        lr_max,  # lr_max
    )
    return _recorded(w, loss, lr, grads, rows, every), summary


def _rate(rate: Array, dtype: np.dtype[np.floating]) -> Array:
    """A constant rate (1,) in the run's dtype (where the loop's table rounds it)."""
    if rate.dtype == dtype:
        return kernels.writable(rate)
    with np.errstate(all="ignore"):
        return rate.astype(dtype)


def _table(problem: Problem, n: int, dtype: np.dtype[np.floating]) -> Array:
    """The loop's rate table for rows 0..n-1, as (n,)."""
    with np.errstate(all="ignore"):  # a schedule may overflow: inf is a value (the run diverges there)
        return kernels.writable(rates_per_run(problem.schedule(np.arange(n, dtype=np.int64)), n, 1, dtype)).reshape(n)


def _power(ratio: Reals, exponent: Reals, finite: bool) -> Reals:
    """The gradient norm's per-step factor over the window, as `Analyzer.finish` computes it (NumPy's power; a
    finite positive base and an exponent in (0, 1] give a finite result, nothing to warn about)."""
    if finite:
        return np.power(ratio, exponent)
    with np.errstate(all="ignore"):
        return np.power(ratio, exponent)


def _rate_range(lr: Array, rows: int) -> tuple[Array, Array]:
    """The Analyzer's lowest and highest rate over the valid rows, from its own NumPy calls (a zero's sign in the
    minimum of +0 and -0 is the reduction's)."""
    low, high = rate_bounds(lr.reshape(-1, 1), np.array([rows], np.int64))
    return np.fmin(np.full(1, np.inf, lr.dtype), low), np.fmax(np.full(1, -np.inf, lr.dtype), high)


def _recorded(w: Array, loss: Array, lr: Array, grads: Array, rows: int, every: int) -> Trace:
    """`record(chunk, 0, every)` of the run's one chunk (the run ended in it: its last valid row is kept)."""
    if every <= 1 or rows == 0:
        if rows == w.shape[0]:
            return Trace(np.arange(rows, dtype=np.int64), w, loss, lr, grads)
        return Trace(np.arange(rows, dtype=np.int64), w[:rows], loss[:rows], lr[:rows], grads[:rows])
    index = np.arange(0, rows, every, dtype=np.int64)
    if index[-1] != rows - 1:
        index = np.append(index, rows - 1)
    return Trace(index, w[index], loss[index], lr[index], grads[index])
