"""The batched gradient-descent loop: one generator of trace chunks for every consumer.

Arrays are step-major inside a chunk, shaped (n, R, D), so the row being updated is contiguous. Finiteness
and early stopping are checked once per chunk, vectorised, never inside the step loop.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, IntArray
from service.engine.losses import Loss
from service.engine.optimizers import Optimizer
from service.engine.schedules import CyclesMomentum, ReadsLoss, Schedule

CHUNK_VALUES = 1 << 16
"""Target number of weight values per chunk: big enough to amortise the per-chunk work, small enough to stream."""


class Outcome(IntEnum):
    RUNNING = 0
    COMPLETED = 1
    DIVERGED = 2
    STOPPED = 3


@dataclass(frozen=True)
class Problem:
    """Everything the loop needs: the batched start `w0` is shaped (R, D)."""

    loss: Loss
    schedule: Schedule
    optimizer: Optimizer
    w0: Array
    steps: int
    grad_tol: float | None = None
    loss_tol: float | None = None
    record_state: bool = False


@dataclass(frozen=True)
class TraceChunk:
    """Rows `step[0] .. step[-1]` of every run; run r's valid rows are the first `rows[r]`."""

    step: IntArray  # (n,)
    w: Array  # (n, R, D)
    loss: Array  # (n, R)
    grad: Array  # (n, R, D)
    lr: Array  # (n, R)
    rows: IntArray  # (R,)
    outcome: npt.NDArray[np.int8]  # (R,), after this chunk
    diverged_at: IntArray  # (R,), -1 unless diverged
    state: dict[str, Array]  # optimizer state by the library's names, each (n, R, D); empty unless recorded


def iterate(problem: Problem, chunk_rows: int | None = None) -> Iterator[TraceChunk]:
    """Run the problem for rows 0..steps, yielding chunks until every run has ended."""
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    rows_per_chunk = chunk_rows or int(np.clip(CHUNK_VALUES // (runs * dims), 16, 8192))
    schedule, optimizer, loss = problem.schedule, problem.optimizer, problem.loss
    w = problem.w0.copy()
    state = optimizer.init(w)
    reader = schedule if isinstance(schedule, ReadsLoss) else None
    feedback = reader.start(runs) if reader is not None else None
    outcome = np.zeros(runs, dtype=np.int8)
    diverged_at = np.full(runs, -1, dtype=np.int64)
    start = 0
    with np.errstate(all="ignore"):
        while start <= problem.steps and (outcome == Outcome.RUNNING).any():
            n = min(rows_per_chunk, problem.steps + 1 - start)
            steps = np.arange(start, start + n, dtype=np.int64)
            lr = np.empty((n, runs), dtype) if feedback is not None else _per_run(schedule(steps), n, runs, dtype)
            momentum = (
                _per_run(schedule.momentum(steps), n, runs, dtype)[:, :, None]
                if isinstance(schedule, CyclesMomentum)
                else None
            )
            weights = np.empty((n + 1, runs, dims), dtype=dtype)
            grads = np.empty((n, runs, dims), dtype=dtype)
            recorded = optimizer.slots(state) if problem.record_state else {}
            slots = {name: np.empty((n, runs, dims), dtype) for name in recorded}
            weights[0] = w
            updates = min(n, problem.steps - start)
            if feedback is None and momentum is None and not slots:
                rates = lr[:, :, None]
                for i in range(n):
                    loss.gradient(weights[i], out=grads[i])
                    if i < updates:
                        state = optimizer.update(weights[i], grads[i], rates[i], state, out=weights[i + 1])
            else:
                for i in range(n):
                    loss.gradient(weights[i], out=grads[i])
                    if reader is not None:
                        lr[i] = reader.rate(feedback)
                    if slots:
                        for name, value in optimizer.slots(state).items():
                            slots[name][i] = value
                    if i < updates:
                        cycled = None if momentum is None else momentum[i]
                        rate = lr[i][:, None]
                        state = optimizer.update(weights[i], grads[i], rate, state, out=weights[i + 1], momentum=cycled)
                        if reader is not None:
                            reader.observe(feedback, loss.value(weights[i : i + 1])[0])
            w = weights[n]
            rows_w = weights[:n]
            values = loss.value(rows_w)
            rows = _close_chunk(problem, start, rows_w, values, grads, lr, outcome, diverged_at)
            yield TraceChunk(steps, rows_w, values, grads, lr, rows, outcome.copy(), diverged_at.copy(), slots)
            start += n


def _per_run(table: Array, n: int, runs: int, dtype: np.dtype[np.floating]) -> Array:
    """A schedule's (n, P) table as a contiguous (n, R) array in the run's dtype (where the libraries round it)."""
    return np.ascontiguousarray(np.broadcast_to(table.astype(dtype, copy=False), (n, runs)))


def _close_chunk(
    problem: Problem,
    start: int,
    w: Array,
    loss: Array,
    grad: Array,
    lr: Array,
    outcome: npt.NDArray[np.int8],
    diverged_at: IntArray,
) -> IntArray:
    """Find where each running run ends in this chunk; update `outcome` and `diverged_at` in place. A row is
    finite when its weights, loss, gradient and rate all are (a schedule can overflow too)."""
    n = loss.shape[0]
    finite = np.isfinite(loss) & np.isfinite(w).all(axis=-1) & np.isfinite(grad).all(axis=-1) & np.isfinite(lr)
    first_bad = _first_true(~finite)
    stop_hit = np.zeros_like(finite)
    if problem.grad_tol is not None:
        stop_hit |= np.sqrt(np.square(grad, dtype=np.float64).sum(axis=-1)) <= problem.grad_tol
    if problem.loss_tol is not None:
        stop_hit |= loss <= problem.loss_tol
    first_stop = _first_true(stop_hit & finite)
    running = outcome == Outcome.RUNNING
    diverges = running & (first_bad < n) & (first_bad <= first_stop)
    stops = running & ~diverges & (first_stop < n)
    completes = running & ~diverges & ~stops & (start + n - 1 == problem.steps)
    rows = np.where(running, n, 0)
    rows[diverges] = first_bad[diverges]
    rows[stops] = first_stop[stops] + 1
    outcome[diverges] = Outcome.DIVERGED
    outcome[stops] = Outcome.STOPPED
    outcome[completes] = Outcome.COMPLETED
    diverged_at[diverges] = start + first_bad[diverges]
    return rows


def _first_true(mask: npt.NDArray[np.bool_]) -> IntArray:
    """Per column, the index of the first True row, or the number of rows when there is none."""
    if not mask.any():  # the common case, and an argmax along axis 0 is the chunk's most expensive call
        return np.full(mask.shape[1], mask.shape[0], dtype=np.int64)
    first: IntArray = mask.argmax(axis=0).astype(np.int64)
    first[~mask.any(axis=0)] = mask.shape[0]
    return first
