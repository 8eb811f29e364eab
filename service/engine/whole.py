"""A single run that fits one chunk, computed whole in a handful of calls: the course's 40 steps in microseconds.

`iterate`, `Analyzer` and `record` serve any batch and any length, chunk by chunk, and pay about a hundred NumPy
calls of fixed cost per run whatever its length. A run of one batch of 1 or 2 dimensions whose rows all fit one
chunk, with a compiled kernel for its loss and optimizer and a schedule known ahead, needs none of that: the rate
table, the step kernel, the loss values, and `kernels.whole.close_and_analyze` for the chunk's end and the
analysis, then the verdict rules on scalars. The result is the same `Result` as `run_one`'s, bit for bit (a
property test compares them on random specs); anything else returns None and takes the general path.
"""

import numpy as np

from service.engine import kernels
from service.engine.analysis import (
    CONVERGED_RATIO,
    FIXED_POINT_RATIO,
    STEADY,
    WINDOW,
    RunSummary,
    Verdict,
    rate_bounds,
)
from service.engine.arrays import Array, IntArray
from service.engine.loop import Outcome, Problem, _per_run, _schedule_traits, chunk_length
from service.engine.schedules import Constant
from service.engine.trace import Trace

F64 = np.dtype(np.float64)
MAX_DIMS = 2
"""Gradient norms and window sums over more dimensions are NumPy's pairwise sums: the general path keeps them."""
ONE_CHUNK = {dims: chunk_length(1, dims, compiled=True) for dims in range(1, MAX_DIMS + 1)}
"""The most rows a run of 1 or 2 dimensions has in one chunk of the compiled path."""


def compute(problem: Problem, every: int) -> tuple[Trace, RunSummary] | None:
    """The run's recorded rows (every `every`-th, first and last kept) and its summary, or None when the run does
    not qualify (several runs, more than 2 dimensions, longer than a chunk, recorded state, a schedule that reads
    the loss or cycles the momentum, no compiled kernel for its loss and optimizer, or the kernels not loaded)."""
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    if runs != 1 or dims > MAX_DIMS or problem.record_state:
        return None
    reads_loss, cycles_momentum = _schedule_traits(type(problem.schedule))
    if reads_loss or cycles_momentum or problem.steps + 1 > ONE_CHUNK[dims]:
        return None
    run = kernels.runner(problem.loss, problem.optimizer, dtype)
    if run is None:
        return None
    with np.errstate(all="ignore"):  # as in the loop: overflows are seen as values, not warned about
        return _compute(problem, every, run)


def _compute(problem: Problem, every: int, run: kernels.Runner) -> tuple[Trace, RunSummary]:
    dtype, dims = problem.w0.dtype, problem.w0.shape[1]
    n = problem.steps + 1
    steps = np.arange(n, dtype=np.int64)
    schedule = problem.schedule
    constant = isinstance(schedule, Constant)
    if isinstance(schedule, Constant):  # the loop's table, without broadcasting a view to copy it
        lr = np.full((n, 1), schedule.rate.astype(dtype)[0], dtype)
    else:
        lr = kernels.writable(_per_run(schedule(steps), n, 1, dtype))
    weights = np.empty((n + 1, 1, dims), dtype)
    weights[0] = problem.w0
    grads = np.empty((n, 1, dims), dtype)
    run(weights, grads, lr, n - 1, problem.optimizer.init(weights[0]))
    value_of = kernels.values(problem.loss, dtype) or problem.loss.value
    loss = kernels.writable(value_of(weights[:n]))
    check_lr = not (constant and bool(np.isfinite(lr[0]).all()))
    window_w = np.zeros((WINDOW, 1, dims), dtype)
    window_loss = np.zeros((WINDOW, 1), dtype)
    window_grad = np.zeros((WINDOW, 1), F64)
    ints = np.empty(9, np.int64)
    reals = np.empty(5, F64)
    kernels.close_and_analyze(
        weights,
        grads,
        loss,
        lr,
        check_lr,
        np.nan if problem.grad_tol is None else float(problem.grad_tol),
        np.nan if problem.loss_tol is None else float(problem.loss_tol),
        CONVERGED_RATIO,
        window_w,
        window_loss,
        window_grad,
        ints,
        reals,
    )
    rows, outcome, diverged_at, best_step, last_step, last_above, last_moved, count, alternates = ints.tolist()
    alternating = alternates == 1
    loss0, grad0, best_loss, lr_first, lr_last = reals.tolist()
    lr_min, lr_max = _rate_range(lr, rows, constant)
    g_last, g_first = window_grad[-1], window_grad[WINDOW - max(count, 1)]
    l_last, l_first = float(window_loss[-1, 0]), float(window_loss[WINDOW - max(count, 1), 0])
    growth = _growth(g_last, g_first, count)
    fixed = last_step - last_moved >= 3 and count >= 3
    tol_converged = float(g_last[0]) <= CONVERGED_RATIO * grad0
    converged = tol_converged or (fixed and float(g_last[0]) <= FIXED_POINT_RATIO * grad0)
    converged = converged and count > 0 and outcome != Outcome.DIVERGED
    converged_at = (last_above + 1 if tol_converged else last_moved) if converged else -1
    bounded = bool(problem.loss.bounded_below().flat[0])
    below_start, rising, falling = l_last < loss0, l_last > loss0, l_last < l_first
    growing, steady = growth > 1 + STEADY, abs(growth - 1) <= STEADY
    diverged = outcome == Outcome.DIVERGED
    verdict = _first_verdict(
        [  # Analyzer.finish's rules, in its order
            (diverged and below_start and not bounded, Verdict.UNBOUNDED),
            (diverged, Verdict.DIVERGED),
            (converged, Verdict.CONVERGED),
            (growing and rising, Verdict.DIVERGED),
            (not bounded and below_start and falling, Verdict.UNBOUNDED),
            (alternating and steady, Verdict.OSCILLATING),
            (falling, Verdict.SLOW),
            (alternating, Verdict.OSCILLATING),
            (fixed, Verdict.STALLED),
        ]
    )
    summary = RunSummary(
        final_step=np.array([last_step], np.int64),
        final_w=window_w[-1],
        final_loss=window_loss[-1],
        best_step=np.array([best_step], np.int64),
        best_loss=np.array([best_loss if best_step >= 0 else np.nan], dtype),
        converged_at=np.array([converged_at], np.int64),
        diverged_at=np.array([diverged_at], np.int64),
        outcome=np.array([outcome], np.int8),
        verdict=np.array([verdict], dtype=object),
        loss0=np.array([loss0], dtype),
        grad_norm0=np.array([grad0], F64),
        grad_norm_final=g_last,
        growth=np.array([growth], F64),
        window_w=window_w,
        window_count=np.array([count], np.int64),
        alternating=np.array([alternating]),
        lr_first=np.array([lr_first], dtype),
        lr_last=np.array([lr_last], dtype),
        lr_min=lr_min,
        lr_max=lr_max,
    )
    return _recorded(steps, weights, loss, lr, grads, rows, every), summary


def _rate_range(lr: Array, rows: int, constant: bool) -> tuple[Array, Array]:
    """The Analyzer's lowest and highest rate over the valid rows (a constant rate is its own range)."""
    low, high = (lr[0], lr[0]) if constant and rows > 0 else rate_bounds(lr, np.array([rows], np.int64))
    return np.fmin(np.full(1, np.inf, lr.dtype), low), np.fmax(np.full(1, -np.inf, lr.dtype), high)


def _growth(g_last: Array, g_first: Array, count: int) -> float:
    """The gradient norm's per-step factor over the window, as `Analyzer.finish` computes it (NumPy's power)."""
    if count > 1 and float(g_first[0]) > 0:
        return float(np.power(g_last / g_first, np.array([1 / max(count - 1, 1)]))[0])
    return 1.0


def _first_verdict(rules: list[tuple[bool, Verdict]]) -> Verdict:
    return next((verdict for holds, verdict in rules if holds), Verdict.SLOW)


def _recorded(steps: IntArray, weights: Array, loss: Array, lr: Array, grads: Array, rows: int, every: int) -> Trace:
    """`record(chunk, 0, every)` of the run's one chunk (the run ended in it: its last valid row is kept)."""
    if every <= 1 or rows == 0:
        kept = slice(0, rows)
        return Trace(steps[kept], weights[kept, 0], loss[kept, 0], lr[kept, 0], grads[kept, 0])
    index = np.arange(0, rows, every, dtype=np.int64)
    if index[-1] != rows - 1:
        index = np.append(index, rows - 1)
    return Trace(steps[index], weights[index, 0], loss[index, 0], lr[index, 0], grads[index, 0])
