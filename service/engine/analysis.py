"""What happened in a run, in words a student understands: the summary, the verdict and its explanation.

`Analyzer` consumes trace chunks as the loop yields them (all rows, before any recording choice) and keeps
O(runs) state plus a short window of the latest rows, so it works for a single run, a stream or a sweep.

Verdict rules, on the last `WINDOW` rows of each run (g = gradient norm, g0 its value at step 0):
- converged: g ≤ g0/1000 (or w stopped moving at the float precision limit with g ≤ g0/100);
- diverged: a non-finite value, or a loss above its start whose gradient keeps growing;
- unbounded: the loss has no minimum and keeps falling;
- oscillating: w changes direction at every step and the amplitude neither shrinks nor grows;
- slow: still moving towards a minimum, not there yet; stalled: w no longer moves, far from a minimum.
"""

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from service.engine import kernels
from service.engine.arrays import Array, IntArray
from service.engine.loop import Outcome, TraceChunk
from service.engine.losses import Loss

WINDOW = 16
CONVERGED_RATIO = 1e-3
FIXED_POINT_RATIO = 1e-2
STEADY = 1e-6
"""Per-step growth of the gradient norm within ±STEADY counts as neither shrinking nor growing."""


class Verdict(StrEnum):
    CONVERGED = "converged"
    SLOW = "slow"
    OSCILLATING = "oscillating"
    DIVERGED = "diverged"
    STALLED = "stalled"
    UNBOUNDED = "unbounded"


@dataclass(frozen=True)
class RunSummary:
    """Per-run results as arrays over the batch; `final_step` is -1 for a run with no finite row."""

    final_step: IntArray
    final_w: Array
    final_loss: Array
    best_step: IntArray
    best_loss: Array
    converged_at: IntArray  # -1 when not converged
    diverged_at: IntArray  # -1 when not diverged
    outcome: npt.NDArray[np.int8]
    verdict: npt.NDArray[np.object_]  # (R,) of Verdict
    loss0: Array
    grad_norm0: npt.NDArray[np.float64]
    grad_norm_final: npt.NDArray[np.float64]
    growth: npt.NDArray[np.float64]  # per-step factor of the gradient norm over the window
    window_w: Array  # (WINDOW, R, D), the last rows, oldest first
    window_count: IntArray
    alternating: npt.NDArray[np.bool_]
    lr_first: Array
    lr_last: Array
    lr_min: Array  # the lowest and highest rate over the run's rows (NaN rows left out)
    lr_max: Array


class Analyzer:
    """Accumulates what the summary needs from a stream of chunks."""

    def __init__(
        self,
        loss: Loss,
        runs: int,
        dims: int,
        dtype: np.dtype[np.floating],
        compiled: bool | None = None,
        window: bool = True,
    ) -> None:
        """`compiled`: whether `add` runs the compiled kernel (None: when `kernels.enabled()` says so). `window`:
        False for a fused sweep (`kernels.sweeps`), which keeps the last rows in its own ring and sets `done`: the
        window's arrays are then left empty (no run)."""
        self.loss = loss
        self.bounded = np.broadcast_to(loss.bounded_below(), (runs,))
        self.dtype = dtype
        self.loss0 = np.full(runs, np.nan, dtype)
        self.grad0 = np.full(runs, np.nan)
        self.best_loss = np.full(runs, np.inf, dtype)
        self.best_step = np.full(runs, -1, np.int64)
        self.last_step = np.full(runs, -1, np.int64)
        self.last_above = np.full(runs, -1, np.int64)
        self.last_moved = np.full(runs, 0, np.int64)
        self.lr_first = np.full(runs, np.nan, dtype)
        self.lr_last = np.full(runs, np.nan, dtype)
        self.lr_min = np.full(runs, np.inf, dtype)
        self.lr_max = np.full(runs, -np.inf, dtype)
        width = runs if window else 0
        self.w = np.zeros((WINDOW, width, dims), dtype)
        self.window_loss = np.zeros((WINDOW, width), dtype)
        self.window_grad = np.zeros((WINDOW, width))
        self.count = np.zeros(runs, np.int64)
        self.outcome = np.zeros(runs, np.int8)
        self.diverged_at = np.full(runs, -1, np.int64)
        self.compiled = kernels.enabled() if compiled is None else compiled  # once: the kernel changes them in place
        self.done: RunSummary | None = None
        """The summary, when a compiled sweep computed it with its running values (`kernels.sweeps`)."""

    def add(self, chunk: TraceChunk) -> None:
        self._rate_range(chunk)
        if self.compiled and kernels.analyze(self, chunk):
            return
        n, runs = chunk.loss.shape
        rows = chunk.rows
        valid = np.arange(n)[:, None] < rows[None, :]
        gnorm = np.sqrt(np.square(chunk.grad, dtype=np.float64).sum(axis=-1))
        self.outcome, self.diverged_at = chunk.outcome, chunk.diverged_at
        if chunk.step[0] == 0:
            has = rows > 0
            self.loss0[has], self.grad0[has], self.lr_first[has] = chunk.loss[0, has], gnorm[0, has], chunk.lr[0, has]
        with np.errstate(invalid="ignore"):
            masked = np.where(valid, chunk.loss, np.inf)
        best = masked.argmin(axis=0)
        better = masked[best, np.arange(runs)] < self.best_loss
        self.best_loss[better] = masked[best, np.arange(runs)][better]
        self.best_step[better] = chunk.step[best][better]
        above = valid & (gnorm > CONVERGED_RATIO * self.grad0)
        self.last_above = np.where(above.any(axis=0), chunk.step[_last_true(above)], self.last_above)
        previous = np.where((self.count > 0)[:, None], self.w[-1], chunk.w[0])
        moved = (np.diff(np.concatenate([previous[None], chunk.w]), axis=0) != 0).any(axis=-1) & valid
        self.last_moved = np.where(moved.any(axis=0), chunk.step[_last_true(moved)], self.last_moved)
        has = rows > 0
        last = np.maximum(rows - 1, 0)
        self.last_step[has] = chunk.step[last][has]
        self.lr_last[has] = chunk.lr[last, np.arange(runs)][has]
        self._slide(chunk.w, chunk.loss, gnorm, rows)

    def _rate_range(self, chunk: TraceChunk) -> None:
        """The lowest and highest rate of each run's valid rows (the explanation names a rate by its whole path),
        on both the NumPy and the compiled path."""
        if chunk.lr.shape[0] == 0:
            return
        low, high = rate_bounds(chunk.lr, chunk.rows)
        self.lr_min, self.lr_max = np.fmin(self.lr_min, low), np.fmax(self.lr_max, high)

    def _slide(self, w: Array, loss: Array, gnorm: npt.NDArray[np.float64], rows: IntArray) -> None:
        """Keep, per run, the last WINDOW valid rows of the old window followed by this chunk's rows."""
        ended = rows == 0
        if ((rows == loss.shape[0]) | ended).all():  # the usual chunk: a run has all its rows or none (it ended)
            self.w = np.where(ended[None, :, None], self.w, np.concatenate([self.w, w])[-WINDOW:])
            self.window_loss = np.where(ended, self.window_loss, np.concatenate([self.window_loss, loss])[-WINDOW:])
            self.window_grad = np.where(ended, self.window_grad, np.concatenate([self.window_grad, gnorm])[-WINDOW:])
            self.count = np.minimum(self.count + rows, WINDOW)
            return
        end = WINDOW + rows  # one past each run's last valid row in the concatenation
        index = end[None, :] - WINDOW + np.arange(WINDOW)[:, None]
        self.w = np.take_along_axis(np.concatenate([self.w, w]), index[:, :, None], axis=0)
        self.window_loss = np.take_along_axis(np.concatenate([self.window_loss, loss]), index, axis=0)
        self.window_grad = np.take_along_axis(np.concatenate([self.window_grad, gnorm]), index, axis=0)
        self.count = np.minimum(self.count + rows, WINDOW)

    def finish(self) -> RunSummary:
        if self.done is not None:
            return self.done
        runs = self.count.size
        cols = np.arange(runs)
        count = self.count
        first = WINDOW - np.maximum(count, 1)
        g_last, g_first = self.window_grad[-1], self.window_grad[first, cols]
        l_last, l_first = self.window_loss[-1], self.window_loss[first, cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = np.where((count > 1) & (g_first > 0), (g_last / g_first) ** (1 / np.maximum(count - 1, 1)), 1.0)
        fixed = (self.last_step - self.last_moved >= 3) & (count >= 3)
        tol_converged = g_last <= CONVERGED_RATIO * self.grad0
        converged = tol_converged | (fixed & (g_last <= FIXED_POINT_RATIO * self.grad0))
        converged &= (count > 0) & (self.outcome != Outcome.DIVERGED)
        converged_at = np.where(tol_converged, self.last_above + 1, self.last_moved)
        steps = np.diff(self.w, axis=0)
        turns = (steps[1:] * steps[:-1]).sum(axis=-1) < 0  # (WINDOW - 2, R)
        pair_valid = np.arange(WINDOW - 2)[:, None] >= (WINDOW - count)[None, :]
        alternating = (count >= 3) & (turns | ~pair_valid).all(axis=0)
        rising = l_last > self.loss0
        falling = l_last < l_first
        diverged = self.outcome == Outcome.DIVERGED
        below_start = l_last < self.loss0
        growing, steady = growth > 1 + STEADY, np.abs(growth - 1) <= STEADY
        verdicts = _verdicts(
            [  # the first rule that holds decides, in this order
                (diverged & below_start & ~self.bounded, Verdict.UNBOUNDED),
                (diverged, Verdict.DIVERGED),
                (converged, Verdict.CONVERGED),
                (growing & rising, Verdict.DIVERGED),
                (~self.bounded & below_start & falling, Verdict.UNBOUNDED),
                (alternating & steady, Verdict.OSCILLATING),
                (falling, Verdict.SLOW),
                (alternating, Verdict.OSCILLATING),
                (fixed, Verdict.STALLED),
            ],
            Verdict.SLOW,  # still moving, not steadily down yet (momentum ringing, say): not there yet
        )
        return RunSummary(
            final_step=self.last_step,
            final_w=self.w[-1],
            final_loss=l_last,
            best_step=self.best_step,
            best_loss=np.where(self.best_step >= 0, self.best_loss, np.nan),
            converged_at=np.where(converged, converged_at, -1),
            diverged_at=self.diverged_at,
            outcome=self.outcome,
            verdict=verdicts,
            loss0=self.loss0,
            grad_norm0=self.grad0,
            grad_norm_final=g_last,
            growth=growth,
            window_w=self.w,
            window_count=count,
            alternating=alternating,
            lr_first=self.lr_first,
            lr_last=self.lr_last,
            lr_min=self.lr_min,
            lr_max=self.lr_max,
        )


def rate_bounds(lr: Array, rows: IntArray) -> tuple[Array, Array]:
    """Per run, the lowest and highest rate of its valid rows of an (n, R) chunk, n > 0 (a NaN among them is the
    answer, as `min` and `max` give it; +inf and -inf for a run without rows)."""
    n = lr.shape[0]
    with np.errstate(invalid="ignore"):
        if (rows == n).all():  # the usual chunk: every run has all its rows
            return lr.min(axis=0), lr.max(axis=0)
        valid = np.arange(n)[:, None] < rows[None, :]
        return np.where(valid, lr, np.inf).min(axis=0), np.where(valid, lr, -np.inf).max(axis=0)


def _verdicts(rules: list[tuple[npt.NDArray[np.bool_], Verdict]], otherwise: Verdict) -> npt.NDArray[np.object_]:
    """Per run, the verdict of the first rule whose condition holds (vectorised over the batch)."""
    codes = np.select([condition for condition, _ in rules], list(range(len(rules))), default=len(rules))
    names = np.array([verdict for _, verdict in rules] + [otherwise], dtype=object)
    return np.asarray(names[codes], dtype=object)


def _last_true(mask: npt.NDArray[np.bool_]) -> IntArray:
    """Per column, the index of the last True row (0 when there is none; callers mask that case)."""
    return np.asarray(mask.shape[0] - 1 - mask[::-1].argmax(axis=0), dtype=np.int64)


def loss_facts(loss: Loss, run: int = 0) -> dict[str, Any] | None:
    """The analytic facts the course chapter is about: where the minimum is and which constant rates work, for run
    `run` of the batch; each loss kind says them (`Loss.facts`), None when it cannot.

    For `a·(w+b)²` the curvature is 2a: a constant rate below 1/a converges, exactly 1/a oscillates forever,
    above it diverges, and 1/(2a) lands on the minimum in one step. A quadratic form's curvatures are the
    eigenvalues λ of its symmetric part, and the limit is 2/λmax. For a polynomial, or a named test function, the
    same numbers hold near its (first known) minimum, from the second derivatives there. A formula gets the facts
    of the polynomial or quadratic form it is, when it is one; otherwise only whether it is bounded below.
    """
    return loss.facts(run)


def explain(summary: RunSummary, run: int, facts: dict[str, Any] | None) -> str:
    """One line saying what happened to `run`, with the numbers that show it."""
    verdict = summary.verdict[run]
    loss0, loss_n = _g(summary.loss0[run]), _g(summary.final_loss[run])
    w_n = _w(summary.final_w[run])
    steps = int(summary.final_step[run])
    rate = _rate_phrase(summary, run)
    limit = facts.get("max_stable_lr") if facts else None
    limit_phrase = f"; constant rates below {_g(limit)} converge on this loss" if limit else ""
    if verdict is Verdict.CONVERGED:
        return (
            f"Converged: the loss fell from {loss0} to {loss_n} and w settled at {w_n} "
            f"by step {int(summary.converged_at[run])} ({rate})."
        )
    if verdict is Verdict.OSCILLATING:
        low, high = sorted([summary.window_w[-1, run], summary.window_w[-2, run]], key=lambda w: float(w[0]))
        return (
            f"Oscillating: w bounces between {_w(low)} and {_w(high)} without settling and the loss stays near "
            f"{loss_n} ({rate}, at the edge of stability{limit_phrase})."
        )
    if verdict is Verdict.DIVERGED:
        if summary.diverged_at[run] >= 0:
            return (
                f"Diverged: the values overflowed at step {int(summary.diverged_at[run])}; the last finite "
                f"loss was {loss_n} at step {steps}, from {loss0} at the start ({rate}{limit_phrase})."
            )
        return (
            f"Diverged: the loss grew from {loss0} to {loss_n} and keeps growing, each step overshooting "
            f"the minimum further ({rate}{limit_phrase})."
        )
    if verdict is Verdict.SLOW:
        more = _steps_to_converge(summary, run)
        pace = f"; at this pace it needs about {more:,} more steps" if more else ""
        bounce = ", w bouncing across the minimum with slowly shrinking swings" if summary.alternating[run] else ""
        return f"Slow: after {steps} steps the loss only fell from {loss0} to {loss_n}{bounce}{pace} ({rate})."
    if verdict is Verdict.UNBOUNDED:
        return f"Unbounded: this loss has no minimum, and the loss keeps falling, from {loss0} to {loss_n}."
    return f"Stalled: w stopped moving at {w_n}, where the loss is {loss_n} and the gradient is not zero ({rate})."


def _steps_to_converge(summary: RunSummary, run: int) -> int | None:
    growth = float(summary.growth[run])
    target = CONVERGED_RATIO * float(summary.grad_norm0[run])
    now = float(summary.grad_norm_final[run])
    if not 0 < growth < 1 or now <= 0 or target <= 0:
        return None
    return math.ceil(math.log(target / now) / math.log(growth))


def _rate_phrase(summary: RunSummary, run: int) -> str:
    """The rate in words, true to its whole path: a warm-up that starts at 0, a one-cycle that rises to its peak
    before it anneals, or restarts that come back up, are named by their range, not by their first value."""
    first, last = float(summary.lr_first[run]), float(summary.lr_last[run])
    low, high = float(summary.lr_min[run]), float(summary.lr_max[run])
    if math.isnan(last) or not math.isfinite(low) or not math.isfinite(high) or low == high:
        return f"rate {_g(first)}"
    if high == first and low == last:
        return f"rate {_g(first)} decaying to {_g(last)}"
    if low == first and high == last:
        return f"rate {_g(first)} rising to {_g(last)}"
    if low == first and last < high:
        return f"rate {_g(first)} rising to {_g(high)}, then down to {_g(last)}"
    return f"rate between {_g(low)} and {_g(high)}, {_g(first)} at the start and {_g(last)} at the end"


def _g(value: float | np.floating | None) -> str:
    return "none" if value is None else f"{float(value):.6g}"


def _w(w: Array) -> str:
    return _g(w[0]) if w.size == 1 else "[" + ", ".join(_g(x) for x in w) + "]"
