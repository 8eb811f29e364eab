"""A sweep through the fused kernel (`fused.sweep_chunk`): the loop, its checks, the Analyzer's running values
and the kept trace rows in one compiled pass per chunk, without the chunk's rows in memory.

`sweeper(problem)` says whether a problem can take this path: a covered loss whose values the kernels compute
(quadratic of 1 or 2 dimensions, polynomial), a covered optimizer (plain gradient descent, torch.SGD,
torch.Adam/AdamW), a schedule that neither reads the loss nor cycles the momentum, no recorded optimizer state.
The run then fills the caller's `Analyzer` (its running values, in place, and its finished summary, computed by
`fused.summarize`: `analyzer.finish()` returns it, as on the NumPy path) and the kept rows straight into the
caller's arrays (each kept row where it is computed when they are step-major in memory, as `run_sweep` allocates
them).
"""

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from service.engine.analysis import (
    CONVERGED_RATIO,
    FIXED_POINT_RATIO,
    STEADY,
    WINDOW,
    Analyzer,
    RunSummary,
    Verdict,
)
from service.engine.arrays import Array, IntArray
from service.engine.kernels import adapters, compiled, fused
from service.engine.loop import Outcome, Problem, chunk_length, schedule_traits
from service.engine.losses import Polynomial, Quadratic
from service.engine.optimizers import GradientDescent
from service.engine.optimizers import torch as torch_optimizers
from service.engine.optimizers.base import rate_via_float32
from service.engine.schedules import Constant

VERDICTS = np.array(list(Verdict), dtype=object)
"""The verdicts in `Verdict`'s order, indexed by the kernels' verdict codes (`kernels.layout`)."""

Sweeper = Callable[[Analyzer, IntArray, tuple[Array, Array, Array], Callable[[int], None] | None], int]
"""`run(analyzer, kept, (w, loss, lr), progress) -> kept rows written`: `kept` (K,) the kept steps in order,
`w` (R, K, D), `loss` and `lr` (R, K) filled with them (NaN after a run's end); the rows from the returned
count on were never reached (every run had ended) and are left as they are."""


def value_encoding(loss: Any, dtype: np.dtype[np.floating]) -> tuple[int, Array, Array, Array] | None:
    """The loss value's encoding for `fused._value`, or None when the kernels do not compute its values."""
    if isinstance(loss, Quadratic) and loss.dims <= 2:
        return (
            compiled.QUADRATIC,
            adapters.writable(loss.b),
            adapters.writable(loss.a),
            adapters.writable(loss.c[:, :, None]),
        )
    if isinstance(loss, Polynomial):
        return (
            compiled.POLYNOMIAL,
            adapters.writable(loss.coefficients),
            np.zeros((0, 0), dtype),
            np.zeros((0, 0, 0), dtype),
        )
    return None


def sweeper(problem: Problem) -> Sweeper | None:
    """The fused run of this problem, or None when it keeps the loop (see the module's docstring)."""
    dtype = problem.w0.dtype
    loss, optimizer, schedule = problem.loss, problem.optimizer, problem.schedule
    reads_loss, cycles_momentum = schedule_traits(type(schedule))
    if reads_loss or cycles_momentum or problem.record_state:
        return None
    encoded, values = adapters.encode(loss, dtype), value_encoding(loss, dtype)
    if encoded is None or values is None:
        return None
    if isinstance(optimizer, GradientDescent):
        code = fused.GRADIENT_DESCENT
    elif isinstance(optimizer, torch_optimizers.SGD):
        code = fused.TORCH_SGD
    elif isinstance(optimizer, torch_optimizers.Adam):
        code = fused.TORCH_ADAM
    else:
        return None

    def run(
        analyzer: Analyzer,
        kept: IntArray,
        targets: tuple[Array, Array, Array],
        progress: Callable[[int], None] | None,
    ) -> int:
        return _run(problem, code, encoded, values, analyzer, kept, targets, progress)

    return run


def _run(
    problem: Problem,
    code: int,
    encoded: adapters.Encoded,
    values: tuple[int, Array, Array, Array],
    analyzer: Analyzer,
    kept: IntArray,
    targets: tuple[Array, Array, Array],
    progress: Callable[[int], None] | None,
) -> int:
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    optimizer, schedule = problem.optimizer, problem.schedule
    x, prev = problem.w0.copy(), problem.w0.copy()
    scratch = (np.empty_like(x), np.empty(runs), np.zeros(runs, np.bool_), np.zeros(runs, np.bool_))
    state = optimizer.init(x)
    track = (
        analyzer.outcome,
        analyzer.diverged_at,
        np.zeros(runs, np.bool_),  # whether the current row is valid
        analyzer.loss0,
        analyzer.grad0,
        analyzer.lr_first,
        analyzer.best_loss,
        analyzer.best_step,
        analyzer.last_above,
        analyzer.last_moved,
        analyzer.last_step,
        analyzer.lr_last,
        analyzer.lr_min,
        analyzer.lr_max,
        analyzer.count,
        np.empty(runs, dtype),  # the current row's loss
    )
    # the last rows, step s at s % WINDOW (`fused.summarize`); a slot is read only once a valid row was written there
    ring = (np.empty((WINDOW, runs, dims), dtype), np.empty((WINDOW, runs), dtype), np.empty((WINDOW, runs)))
    sgd = _sgd_arrays(optimizer, state, runs, dims, dtype)
    adam_columns = _adam_columns(optimizer, dtype)
    tensorflow = isinstance(optimizer, GradientDescent) and optimizer.tensorflow
    constant = _table(schedule.rate.astype(dtype)[None, :], runs) if isinstance(schedule, Constant) else None
    grad_tol = np.nan if problem.grad_tol is None else float(problem.grad_tol)
    loss_tol = np.nan if problem.loss_tol is None else float(problem.loss_tol)
    w, loss, lr_rows = targets
    step_major = bool(
        loss.T.flags.c_contiguous and lr_rows.T.flags.c_contiguous and w.transpose(1, 0, 2).flags.c_contiguous
    )
    columns = (w.transpose(1, 0, 2), loss.T, lr_rows.T) if step_major else targets
    rows = chunk_length(runs, dims, compiled=True)
    start, written = 0, 0
    with np.errstate(all="ignore"):
        while start <= problem.steps and (analyzer.outcome == Outcome.RUNNING).any():
            n = min(rows, problem.steps + 1 - start)
            steps = np.arange(start, start + n, dtype=np.int64)
            lr = constant if constant is not None else _table(schedule(steps).astype(dtype, copy=False), runs)
            apply = _table(rate_via_float32(lr), runs) if tensorflow else lr
            updates = min(n, problem.steps - start)
            adam = _adam_arrays(optimizer, state, lr, updates, adam_columns, runs, dims, dtype)
            first, last = (int(k) for k in np.searchsorted(kept, [start, start + n]))
            keep_at = np.full(n, -1, np.int64)
            keep_at[kept[first:last] - start] = np.arange(first, last)
            fused.sweep_chunk(
                code, *encoded, *values[1:], x, prev, lr, apply, start, n, problem.steps, grad_tol, loss_tol,
                CONVERGED_RATIO, keep_at, *columns, step_major, track, ring, scratch, sgd, _nesterov(optimizer), adam,
                _amsgrad(optimizer),
            )  # fmt: skip
            if isinstance(state, torch_optimizers.AdamState) and updates:
                state.step[0] = np.float32(min(float(state.step[0]) + updates, adapters.LAST_STEP))
            written = last
            if progress is not None:
                progress(start + n - 1)
            start += n
    analyzer.done = _summary(code, encoded, values, analyzer, ring, track)
    return written


def _summary(
    code: int,
    encoded: adapters.Encoded,
    values: tuple[int, Array, Array, Array],
    analyzer: Analyzer,
    ring: tuple[Array, Array, Array],
    track: tuple[npt.NDArray[Any], ...],
) -> RunSummary:
    """The sweep's summary (`Analyzer.finish`'s fields) from the kernel's running values and ring: `fused.summarize`
    computes every field but the growth, NumPy's power of the ratios it gives (as `Analyzer.finish` takes it, so
    the same bits), which picks each run's verdict among the kernel's three."""
    runs = analyzer.count.size
    dtype = analyzer.dtype
    window_w = ring[0]  # turned into the window in place
    final_loss, best_loss = np.empty(runs, dtype), np.empty(runs, dtype)
    grad_final, ratio, exponent = np.empty(runs), np.empty(runs), np.empty(runs)
    power, alternating = np.empty(runs, np.bool_), np.empty(runs, np.bool_)
    converged_at, codes = np.empty(runs, np.int64), np.empty((3, runs), np.int8)
    kind, p1, p2, _ = encoded
    fused.summarize(
        code, kind, p1, p2, values[2], values[3], ring, track, np.ascontiguousarray(analyzer.bounded),
        CONVERGED_RATIO, FIXED_POINT_RATIO, final_loss, grad_final, ratio, exponent, power, converged_at,
        alternating, best_loss, codes,
    )  # fmt: skip
    with np.errstate(all="ignore"):  # a run without a gradient's growth: 0/0, its growth is 1
        growth = np.where(power, ratio**exponent, 1.0)
        verdict = np.where(growth > 1 + STEADY, codes[0], np.where(np.abs(growth - 1) <= STEADY, codes[1], codes[2]))
    return RunSummary(
        final_step=analyzer.last_step,
        final_w=window_w[-1],
        final_loss=final_loss,
        best_step=analyzer.best_step,
        best_loss=best_loss,
        converged_at=converged_at,
        diverged_at=analyzer.diverged_at,
        outcome=analyzer.outcome,
        verdict=VERDICTS[verdict],
        loss0=analyzer.loss0,
        grad_norm0=analyzer.grad0,
        grad_norm_final=grad_final,
        growth=growth,
        window_w=window_w,
        window_count=analyzer.count,
        alternating=alternating,
        lr_first=analyzer.lr_first,
        lr_last=analyzer.lr_last,
        lr_min=analyzer.lr_min,
        lr_max=analyzer.lr_max,
    )


def _table(table: Array, runs: int) -> Array:
    """A (T, P) rate table as (T, R), C-contiguous and writable: the one array type the kernel is compiled for."""
    return adapters.writable(np.ascontiguousarray(np.broadcast_to(table, (table.shape[0], runs))))


def _sgd_arrays(optimizer: Any, state: Any, runs: int, dims: int, dtype: np.dtype[np.floating]) -> tuple[Array, ...]:
    if isinstance(optimizer, torch_optimizers.SGD):
        columns = (optimizer.momentum, optimizer.keep, optimizer.weight_decay)
        momentum, keep, weight_decay = (
            np.zeros((0, 1), dtype) if value is None else adapters.writable(value.astype(dtype, copy=False))
            for value in columns
        )
        return momentum, keep, weight_decay, state.momentum_buffer, state.started
    empty = np.zeros((0, 1), dtype)
    return empty, empty, empty, np.zeros((0, dims), dtype), np.zeros((0, 1), np.bool_)


def _adam_columns(optimizer: Any, dtype: np.dtype[np.floating]) -> tuple[Array, ...]:
    if isinstance(optimizer, torch_optimizers.Adam):
        return adapters.adam_columns(optimizer, dtype)
    return tuple(np.zeros((0, 1), dtype) for _ in range(5))


def _adam_arrays(
    optimizer: Any,
    state: Any,
    lr: Array,
    updates: int,
    columns: tuple[Array, ...],
    runs: int,
    dims: int,
    dtype: np.dtype[np.floating],
) -> tuple[Array, ...]:
    if isinstance(optimizer, torch_optimizers.Adam):
        rates = np.broadcast_to(lr, (updates, lr.shape[1])) if lr.shape[0] == 1 else lr[:updates]
        negative_step, correction2_sqrt, decay_factor, _ = adapters.adam_tables(optimizer, state, rates, dtype)
        return (negative_step, correction2_sqrt, decay_factor, *columns, state.exp_avg, state.exp_avg_sq,
                state.max_exp_avg_sq)  # fmt: skip
    empty, moments = np.zeros((0, 0), dtype), np.zeros((0, dims), dtype)
    return (empty, empty, empty, *columns, moments, moments, moments)


def _nesterov(optimizer: Any) -> bool:
    return bool(isinstance(optimizer, torch_optimizers.SGD) and optimizer.nesterov)


def _amsgrad(optimizer: Any) -> bool:
    return bool(isinstance(optimizer, torch_optimizers.Adam) and optimizer.amsgrad)
