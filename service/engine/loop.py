"""The batched gradient-descent loop: one generator of trace chunks for every consumer.

Arrays are step-major inside a chunk, shaped (n, R, D), so the row being updated is contiguous. Finiteness
and early stopping are checked once per chunk, vectorised, never inside the step loop.

Cycles. Plain gradient descent keeps no state, so with it row t + 1 depends on row t and the rate alone. Once
`w[t + 2] == w[t]` bit for bit for every running run (a fixed point, where w stopped moving, or a period-2 cycle, as
the course's loss at rate 1), the rows that follow repeat rows t and t + 1 for as long as each update with its
row's rate gives the next row. Under a `Constant` schedule it does by construction; under any other schedule one
vectorised update over the rest of the chunk checks it (a fixed point with a zero gradient survives any finite
rate; a cycle under a decaying rate does not), and only the rows it proves are filled. The loop looks for a cycle
after rows 64, 128, 256, ... of a chunk and at every chunk's end. This relies on the loss's value and gradient being
pure functions of w (no loss reads the step). Rows past a run's end are unspecified, as they always were.
"""

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from typing import cast

import numpy as np
import numpy.typing as npt

from service.engine import kernels
from service.engine.arrays import Array, IntArray
from service.engine.losses import Loss
from service.engine.optimizers import GradientDescent, NoState, Optimizer
from service.engine.schedules import Constant, CyclesMomentum, ReadsLoss, Schedule

CHUNK_VALUES = 1 << 21
"""Target number of weight values per chunk (8 MiB of float32): big enough to amortise the per-chunk work (a
sweep of 10,000 runs gets 209 rows a chunk), small enough to stream."""
MAX_ROWS, MAX_COMPILED_ROWS = 8192, 65536
"""Rows per chunk at most: on the NumPy path a row of a narrow batch costs microseconds, so 8192 rows already
take tens of milliseconds; a compiled kernel does a row in nanoseconds, and the chunk's fixed cost is what counts."""


def chunk_length(runs: int, dims: int, compiled: bool) -> int:
    """Rows per chunk for a batch of `runs` × `dims` weights (`compiled`: the kernels compute its steps)."""
    return max(16, min(CHUNK_VALUES // (runs * dims), MAX_COMPILED_ROWS if compiled else MAX_ROWS))


@functools.cache
def schedule_traits(kind: type) -> tuple[bool, bool]:
    """Whether a schedule class reads the loss and whether it cycles momentum (runtime protocol checks are slow:
    tens of microseconds each, once per class here)."""
    return issubclass(kind, ReadsLoss), issubclass(kind, CyclesMomentum)


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


def iterate(problem: Problem, chunk_rows: int | None = None, skip_cycles: bool = True) -> Iterator[TraceChunk]:
    """Run the problem for rows 0..steps, yielding chunks until every run has ended. `skip_cycles=False` computes
    every row even where the rows are known to repeat (the output is the same; tests and benchmarks compare)."""
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    schedule, optimizer, loss = problem.schedule, problem.optimizer, problem.loss
    compiled = kernels.runner(loss, optimizer, dtype)
    value_of = kernels.values(loss, dtype) or loss.value  # the chunk's loss values, compiled where covered
    rows_per_chunk = chunk_rows or chunk_length(runs, dims, compiled is not None)
    w = problem.w0.copy()
    state = optimizer.init(w)
    reads_loss, cycles_momentum = schedule_traits(type(schedule))
    reader = cast(ReadsLoss, schedule) if reads_loss else None
    feedback = reader.start(runs) if reader is not None else None
    cycles = skip_cycles and isinstance(optimizer, GradientDescent) and compiled is None
    constant_rate = isinstance(schedule, Constant)
    with np.errstate(over="ignore"):  # a rate beyond the run's dtype becomes inf there, and must be seen
        finite_rates = isinstance(schedule, Constant) and bool(np.isfinite(schedule.rate.astype(dtype)).all())
    carried: Cycle | None = None
    outcome = np.zeros(runs, dtype=np.int8)
    diverged_at = np.full(runs, -1, dtype=np.int64)
    start = 0
    with np.errstate(all="ignore"):
        while start <= problem.steps and (outcome == Outcome.RUNNING).any():
            n = min(rows_per_chunk, problem.steps + 1 - start)
            steps = np.arange(start, start + n, dtype=np.int64)
            lr = np.empty((n, runs), dtype) if feedback is not None else rates_per_run(schedule(steps), n, runs, dtype)
            momentum = (
                rates_per_run(cast(CyclesMomentum, schedule).momentum(steps), n, runs, dtype)[:, :, None]
                if cycles_momentum
                else None
            )
            weights = np.empty((n + 1, runs, dims), dtype=dtype)
            grads = np.empty((n, runs, dims), dtype=dtype)
            recorded = optimizer.slots(state) if problem.record_state else {}
            slots = {name: np.empty((n, runs, dims), dtype) for name in recorded}
            weights[0] = w
            updates = min(n, problem.steps - start)
            fast = feedback is None and momentum is None and not slots
            if fast and compiled is not None:  # the same rows, computed by a compiled kernel
                state = compiled(weights, grads, lr, updates, state)
            elif fast and not cycles:
                rates = lr[:, :, None]
                for i in range(n):
                    loss.gradient(weights[i], out=grads[i])
                    if i < updates:
                        state = optimizer.update(weights[i], grads[i], rates[i], state, out=weights[i + 1])
            elif fast:
                rates = lr[:, :, None]
                running = outcome == Outcome.RUNNING
                i, probe, cycle = 0, PROBE_FROM, carried
                while i < n:
                    if cycle is not None:  # rows i.. may repeat a cycle: fill what is proved, compute the rest
                        i = _repeat(cycle, i, weights, grads, rates, updates, optimizer, constant_rate, running)
                        cycle = None
                        continue
                    while probe <= i:
                        probe *= 2
                    stop = min(n, probe)
                    for j in range(i, stop):
                        loss.gradient(weights[j], out=grads[j])
                        if j < updates:
                            state = optimizer.update(weights[j], grads[j], rates[j], state, out=weights[j + 1])
                    i = stop
                    if i < updates:
                        cycle = _cycle(weights, grads, i, running)
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
            values = value_of(rows_w)
            checked_lr = None if finite_rates else lr
            rows = _close_chunk(problem, start, rows_w, values, grads, checked_lr, outcome, diverged_at)
            if cycles and fast and updates == n:  # does the next chunk start inside a cycle?
                carried = _cycle(weights, grads, n, outcome == Outcome.RUNNING)
            yield TraceChunk(steps, rows_w, values, grads, lr, rows, outcome.copy(), diverged_at.copy(), slots)
            start += n


PROBE_FROM = 64
"""The first row of a chunk after which the loop looks for a cycle (then after twice as many rows, and so on)."""


@dataclass(frozen=True)
class Cycle:
    """Rows k + j (j = 0, 1, 2, ...) hold `w[j % 2]` and `grad[j % 2]`, each (2, R, D)."""

    w: Array
    grad: Array


def _cycle(weights: Array, grads: Array, i: int, running: npt.NDArray[np.bool_]) -> Cycle | None:
    """With rows 0..i of `weights` and 0..i-1 of `grads` computed: the cycle rows i.. would continue, if row i
    repeats row i - 2 bit for bit in every running run (a run that stopped moving repeats it too)."""
    if i < 2 or not (_same(weights[i], weights[i - 2]) | ~running).all():
        return None
    return Cycle(weights[i - 2 : i].copy(), grads[i - 2 : i].copy())


def _repeat(
    cycle: Cycle,
    k: int,
    weights: Array,
    grads: Array,
    rates: Array,
    updates: int,
    optimizer: Optimizer,
    constant_rate: bool,
    running: npt.NDArray[np.bool_],
) -> int:
    """Fill rows k.. of the chunk from `cycle` (row k already holds `cycle.w[0]`) as far as the updates reproduce
    it; return the first row whose gradient is still to compute (the chunk's length when every row is filled).

    Under a constant rate every update repeats one already made. Otherwise the updates of rows k..updates - 1 are
    made at once, vectorised over rows, and compared with the cycle's next rows, bit for bit, for running runs."""
    end = int(grads.shape[0])
    if not constant_rate and k < updates:
        phase = np.arange(updates - k) & 1
        following = np.empty((phase.size, *weights.shape[1:]), weights.dtype)
        optimizer.update(cycle.w[phase], cycle.grad[phase], rates[k:updates], NoState(), out=following)
        proved = (_same(following, cycle.w[phase ^ 1]) | ~running).all(axis=1)
        if not proved.all():
            end = k + int(np.flatnonzero(~proved)[0])  # the update of this row breaks the cycle: compute from here
    if end > k:
        grads[k:end:2] = cycle.grad[0]
        grads[k + 1 : end : 2] = cycle.grad[1]
        weights[k + 1 : end + 1 : 2] = cycle.w[1]
        weights[k + 2 : end + 1 : 2] = cycle.w[0]
    return end


def _same(a: Array, b: Array) -> npt.NDArray[np.bool_]:
    """Per row of (..., R, D) arrays: whether every component holds the same bits (so -0.0 differs from 0.0, and a
    NaN equals the same NaN)."""
    bits = np.dtype(f"u{a.dtype.itemsize}")
    return _every_dim(np.asarray(a.view(bits) == b.view(bits)))


def rates_per_run(table: Array, n: int, runs: int, dtype: np.dtype[np.floating]) -> Array:
    """A schedule's (n, P) table as a contiguous (n, R) array in the run's dtype (where the libraries round it)."""
    return np.ascontiguousarray(np.broadcast_to(table.astype(dtype, copy=False), (n, runs)))


def _close_chunk(
    problem: Problem,
    start: int,
    w: Array,
    loss: Array,
    grad: Array,
    lr: Array | None,
    outcome: npt.NDArray[np.int8],
    diverged_at: IntArray,
) -> IntArray:
    """Find where each running run ends in this chunk; update `outcome` and `diverged_at` in place. A row is
    finite when its weights, loss, gradient and rate all are (a schedule can overflow too; `lr` is None when every
    rate is known to be finite). Runs that ended in an earlier chunk are left out of every search."""
    n = loss.shape[0]
    running = outcome == Outcome.RUNNING
    finite = np.isfinite(loss)
    if lr is not None:
        finite &= np.isfinite(lr)
    finite &= _every_dim(np.isfinite(w))
    finite &= _every_dim(np.isfinite(grad))
    first_bad = _first_true(np.less(finite, running))  # False < True: not finite, and running
    first_stop = None
    if problem.grad_tol is not None or problem.loss_tol is not None:
        stop_hit = np.zeros_like(finite)
        if problem.grad_tol is not None:
            stop_hit |= np.sqrt(np.square(grad, dtype=np.float64).sum(axis=-1)) <= problem.grad_tol
        if problem.loss_tol is not None:
            stop_hit |= loss <= problem.loss_tol
        first_stop = _first_true(stop_hit & finite & running)
    last = start + n - 1 == problem.steps
    if first_bad is None and first_stop is None:  # the common chunk: every running run goes on (or completes)
        if last:
            outcome[running] = Outcome.COMPLETED
        return np.where(running, n, 0)
    none = np.full(running.shape, n, dtype=np.int64)
    first_bad = none if first_bad is None else first_bad
    first_stop = none if first_stop is None else first_stop
    diverges = running & (first_bad < n) & (first_bad <= first_stop)
    stops = running & ~diverges & (first_stop < n)
    completes = running & ~diverges & ~stops & last
    rows = np.where(running, n, 0)
    rows[diverges] = first_bad[diverges]
    rows[stops] = first_stop[stops] + 1
    outcome[diverges] = Outcome.DIVERGED
    outcome[stops] = Outcome.STOPPED
    outcome[completes] = Outcome.COMPLETED
    diverged_at[diverges] = start + first_bad[diverges]
    return rows


def _every_dim(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """(n, R, D) -> (n, R): true where every dimension is. NumPy reduces a short last axis very slowly (an `all`
    over D = 2 costs 200 times the ufunc that made the mask), so short rows are read as one integer each: D bools
    of bytes 0/1 are all true when the D-byte word is 0x0101...01."""
    dims = mask.shape[-1]
    if dims == 1:
        return mask[..., 0]
    if dims in (2, 4, 8) and mask.flags.c_contiguous:
        return np.asarray(mask.view(f"u{dims}")[..., 0] == int.from_bytes(b"\x01" * dims, "little"))
    if dims <= 16:
        every = mask[..., 0] & mask[..., 1]
        for d in range(2, dims):
            every &= mask[..., d]
        return every
    return np.asarray(mask.all(axis=-1))


def _first_true(mask: npt.NDArray[np.bool_]) -> IntArray | None:
    """Per column, the index of the first True row, or the number of rows when there is none; None when the mask
    has no True at all."""
    hit = np.flatnonzero(mask.any(axis=0))  # rows OR-ed together: contiguous and cheap
    if not hit.size:
        return None
    first = np.full(mask.shape[1], mask.shape[0], dtype=np.int64)
    first[hit] = mask[:, hit].argmax(axis=0)  # an argmax along axis 0 is slow: only over the columns with a True
    return first
