"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates"), as torch-lr-finder and fastai define it.

The rate grows from `start_lr` to `end_lr` over `num_iter` updates while the loss is recorded; the test stops once
the smoothed loss exceeds `diverge_th` times the best smoothed loss seen. The run itself goes through the engine's
one loop (`iterate`) with a schedule object for the growing rate; the stopping rule reads each chunk as it comes.

What is reproduced, and from where (davidtvs/pytorch-lr-finder `torch_lr_finder/lr_finder.py`, fastai/fastai
`fastai/callback/schedule.py`):

- Rates (torch-lr-finder `ExponentialLR.get_lr` / `LinearLR.get_lr`, PyTorch >= 1.1 branch): at iteration
  k = 0 .. num_iter - 1, with r = k / (num_iter - 1),
  exp: `base_lr * (end_lr / base_lr) ** r`; linear: `base_lr + r * (end_lr - base_lr)`; both refuse
  `num_iter <= 1` ("`num_iter` must be larger than 1"). The first rate is `start_lr`, the last `end_lr` (up
  to the rounding of those formulas, as in the library).
  (fastai's `LRFinder` uses `SchedExp(start, end)(train_iter / num_it)`, i.e. r = k / num_it, never reaching
  `end_lr`; torch-lr-finder's form is the one reproduced.)
- Pairing (`LRFinder.range_test`): iteration k computes the loss at the current weights, *then* updates them with
  rate k, and records `(lr_k, loss_k)`. So `loss[k]` is the loss at the weights the k-th update starts from,
  exactly the contract's trace row k (`w[k]`, `loss[k]`, `lr[k]`); the last update's result is never observed.
- Smoothing and stop (`range_test`'s loop): iteration 0: `best = loss`, recorded as is; then, if `smooth_f > 0`,
  `loss = smooth_f * loss + (1 - smooth_f) * history[-1]` (with `smooth_f == 0` no smoothing at all),
  `best = loss if loss < best`; the smoothed loss is recorded, *then* `if loss > diverge_th * best: break`, so the
  point that trips the rule is part of the curve. Smoothing is in Python doubles (`loss.item()`), as here.
  (fastai smooths with a debiased EMA, beta 0.98, and stops at 4 x best; not reproduced.)
- Suggestions: see `steepest`, `valley` and `minimum`; all read the *smoothed* losses, as both libraries do
  (torch-lr-finder plots `history["loss"]`, fastai's `Recorder.losses` holds `smooth_loss`).

Beyond the libraries: a non-finite weight, loss, gradient or rate ends the curve at the last finite row (the
libraries would record an `inf` and stop, or record `nan` and carry on), since JSON carries neither.
"""

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from service.engine.arrays import Array, IntArray
from service.engine.errors import ParameterError
from service.engine.loop import Problem, iterate
from service.engine.losses import Loss
from service.engine.optimizers import Optimizer

StepMode = Literal["exp", "linear"]
StopReason = Literal["completed", "diverged", "non_finite"]

CHUNK_ROWS = 128
"""Rows per loop chunk: the stopping rule is read per chunk, so at most this many rows are computed in vain."""
SKIP_START, SKIP_END = 10, 5
"""torch-lr-finder's `LRFinder.plot` defaults: points dropped at each end before the steepest-gradient rule."""
FASTAI_SKIP_END = 5
"""fastai's `Learner.lr_find` drops `num_it // 10` points at the start and 5 at the end before its suggestions."""


@dataclass(frozen=True)
class RangeSchedule:
    """The growing rate of the range test: a schedule (steps (n,) -> rates (n, 1)), in Python doubles."""

    start_lr: float
    end_lr: float
    num_iter: int
    step_mode: StepMode

    def __call__(self, steps: IntArray) -> Array:
        r = steps.astype(np.float64) / (self.num_iter - 1)
        if self.step_mode == "exp":
            # Python's `**` (the C library's pow), not np.power: NumPy's SIMD pow differs from it by one ulp for
            # about 5% of these exponents, and torch-lr-finder computes in Python floats. At most num_iter calls.
            ratio, start = self.end_lr / self.start_lr, self.start_lr
            rates = np.array([start * ratio**x for x in r.tolist()], dtype=np.float64)
        else:
            rates = self.start_lr + r * (self.end_lr - self.start_lr)
        return rates[:, None]


def range_schedule(start_lr: float, end_lr: float, num_iter: int, step_mode: str) -> RangeSchedule:
    """The schedule of a range test, checked: `num_iter >= 2` (torch-lr-finder's rule), `end_lr > start_lr`,
    a positive `start_lr` for the exponential mode (a ratio of rates) and a non-negative one for the linear."""
    if step_mode not in ("exp", "linear"):
        raise ParameterError("step_mode", f"expected one of (exp, linear), got {step_mode!r}.")
    if not isinstance(num_iter, int) or num_iter < 2:
        raise ParameterError("num_iter", f"num_iter must be larger than 1 (torch-lr-finder's rule); it is {num_iter}.")
    if not (np.isfinite(start_lr) and np.isfinite(end_lr)):
        raise ParameterError("start_lr", "start_lr and end_lr must be finite numbers.")
    if step_mode == "exp" and start_lr <= 0:
        raise ParameterError(
            "start_lr", f"start_lr must be positive for step_mode exp (rates grow by a ratio); it is {start_lr:g}."
        )
    if start_lr < 0:
        raise ParameterError("start_lr", f"start_lr must not be negative; it is {start_lr:g}.")
    if not end_lr > start_lr:
        raise ParameterError(
            "end_lr",
            f"end_lr must be larger than start_lr, as the rate grows; end_lr is {end_lr:g}, start_lr {start_lr:g}.",
        )
    return RangeSchedule(float(start_lr), float(end_lr), num_iter, "exp" if step_mode == "exp" else "linear")


def check_smoothing(smooth_f: float, diverge_th: float) -> None:
    """torch-lr-finder's rule for `smooth_f` ("outside the range [0, 1["); `diverge_th` at least 1 (below 1 the
    test would stop at its first point)."""
    if not 0 <= smooth_f < 1:
        raise ParameterError(
            "smooth_f", f"smooth_f is outside the range [0, 1[ (torch-lr-finder's rule): {smooth_f:g}."
        )
    if not (np.isfinite(diverge_th) and diverge_th >= 1):
        raise ParameterError("diverge_th", f"diverge_th must be a finite number of at least 1; it is {diverge_th:g}.")


@dataclass(frozen=True)
class RangeTest:
    """The curve: `lr[k]` (run dtype) is the rate of update k, `loss[k]` (run dtype) the loss before it,
    `smoothed[k]` (float64) the smoothed loss the stopping rule and the suggestions read."""

    lr: Array
    loss: Array
    smoothed: Array
    stop_reason: StopReason

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason != "completed"


def range_test(
    loss: Loss,
    optimizer: Optimizer,
    w0: Array,
    schedule: RangeSchedule,
    smooth_f: float = 0.05,
    diverge_th: float = 5.0,
) -> RangeTest:
    """Run the range test from `w0` (shape (D,) or (1, D), in the run's dtype) with the engine's loop."""
    check_smoothing(smooth_f, diverge_th)
    start = np.asarray(w0).reshape(1, -1)
    problem = Problem(loss, schedule, optimizer, start, steps=schedule.num_iter - 1)
    lrs: list[Array] = []
    losses: list[Array] = []
    smoothed: list[float] = []
    best = previous = 0.0
    stop: StopReason = "completed"
    for chunk in iterate(problem, CHUNK_ROWS):  # a generator left early is closed when collected
        rows = int(chunk.rows[0])
        kept = rows
        for i, value in enumerate(chunk.loss[:rows, 0].tolist()):
            current = float(value)
            if not smoothed:
                best = current
            else:
                if smooth_f > 0:
                    current = smooth_f * current + (1 - smooth_f) * previous
                if current < best:
                    best = current
            if not math.isfinite(current):  # a smoothed loss that overflowed float64: as non-finite
                kept, stop = i, "non_finite"
                break
            smoothed.append(current)
            previous = current
            if current > diverge_th * best:
                kept, stop = i + 1, "diverged"
                break
        lrs.append(chunk.lr[:kept, 0])
        losses.append(chunk.loss[:kept, 0])
        if stop != "completed":
            break
        if rows < chunk.step.size:  # the loop met a non-finite value in this chunk
            stop = "non_finite"
            break
    dtype = start.dtype
    return RangeTest(
        lr=np.concatenate(lrs) if lrs else np.empty(0, dtype),
        loss=np.concatenate(losses) if losses else np.empty(0, dtype),
        smoothed=np.asarray(smoothed, dtype=np.float64),
        stop_reason=stop,
    )


# Suggestions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A suggested rate: `index` is the point of the curve the rule picked (None when the curve is too short),
    `lr` the suggested rate (for `minimum`, a tenth of the rate at `index`)."""

    name: str
    library: str
    index: int | None
    lr: np.floating | None  # in the run's dtype, so that it is written as that dtype's shortest decimal
    rule: str
    note: str | None = None


STEEPEST_RULE = (
    "torch-lr-finder's suggestion (LRFinder.plot, suggest_lr=True): drop the first 10 and the last 5 points "
    "(skip_start=10, skip_end=5), take numpy.gradient of the smoothed losses over the point index, and suggest "
    "the rate at its most negative value (the first if tied): where the loss falls fastest per iteration."
)
VALLEY_RULE = (
    "fastai's valley (the default of Learner.lr_find): drop the first num_iter // 10 and the last 5 points; find the "
    "longest strictly decreasing subsequence of the smoothed losses (fastai's O(n²) 'longest valley' loop, with its "
    "start taken as end - length); with sections = (end - start) / 3, suggest the rate at index "
    "start + int(sections) + int(sections / 2), about halfway down the valley."
)
MINIMUM_RULE = (
    "fastai's minimum: drop the first num_iter // 10 and the last 5 points; take the rate at the lowest smoothed "
    "loss (the first if tied) and suggest one tenth of it."
)


def steepest(lrs: Array, losses: Array, skip_start: int = SKIP_START, skip_end: int = SKIP_END) -> int | None:
    """Index (into the whole curve) of torch-lr-finder's suggestion, or None with fewer than 2 points left, where
    `np.gradient` raises ("Failed to compute the gradients, there might not be enough points")."""
    start, stop = _window(losses.size, skip_start, skip_end)
    if stop - start < 2:
        return None
    return start + int(np.gradient(np.asarray(losses[start:stop], dtype=np.float64)).argmin())


def valley(losses: Sequence[float] | Array) -> int:
    """fastai's `valley` index over `losses` (already trimmed; at least one point). fastai's loop:

        lds = [1]*n
        for i in range(1,n):
            for j in range(0,i):
                if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                    lds[i] = lds[j] + 1
                if lds[max_end] < lds[i]:
                    max_end = i
                    max_start = max_end - lds[max_end]
        sections = (max_end - max_start) / 3
        idx = max_start + int(sections) + int(sections/2)

    `lds[i]` is the length of the longest strictly decreasing subsequence ending at i (not necessarily contiguous),
    computed here by patience sorting in O(n log n) instead of O(n²). `lds[max_end]` is always the largest `lds` so
    far, so `lds[i]` can only pass it by reaching it plus one, its final value: `max_end` is the first index of the
    largest `lds` and `max_start = max_end - lds[max_end]` (one before the subsequence's first point), both 0 when
    no point is below an earlier one. The index may be -1 (a valley from point 0 of length < 3), which, as in
    fastai's `lrs[idx]`, means the last point. tests/engine/test_lr_finder.py checks this against the loop above.
    """
    values = [float(value) for value in np.asarray(losses, dtype=np.float64).tolist()]
    if not values:
        raise ValueError("valley needs at least one point")
    tails: list[float] = []  # tails[k]: the largest last value of a decreasing subsequence of length k + 1, negated
    longest, max_end = 0, 0
    for i, value in enumerate(values):
        position = bisect.bisect_left(tails, -value)
        if position == len(tails):
            tails.append(-value)
        else:
            tails[position] = -value
        if position + 1 > longest:
            longest, max_end = position + 1, i
    max_start = max_end - longest if longest > 1 else 0
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def suggest(curve: RangeTest, num_iter: int) -> list[Suggestion]:
    """The three suggestions on a range test's smoothed curve, with their rules."""
    with np.errstate(all="ignore"):  # differences of huge losses may overflow; np.gradient then gives inf
        return _suggest(curve.lr, curve.smoothed, num_iter)


def _suggest(lrs: Array, smoothed: Array, num_iter: int) -> list[Suggestion]:
    index = steepest(lrs, smoothed)
    found = [
        Suggestion(
            "steepest",
            "torch-lr-finder",
            index,
            None if index is None else lrs[index],
            STEEPEST_RULE,
            None if index is not None else _too_short(smoothed.size, SKIP_START + SKIP_END + 2, "10 + 5 + 2"),
        )
    ]
    start, stop = _window(smoothed.size, num_iter // 10, FASTAI_SKIP_END)
    needed = num_iter // 10 + FASTAI_SKIP_END + 1
    if stop - start < 1:
        note = _too_short(smoothed.size, needed, f"num_iter // 10 + 5 + 1 = {needed}")
        found.append(Suggestion("valley", "fastai", None, None, VALLEY_RULE, note))
        found.append(Suggestion("minimum", "fastai", None, None, MINIMUM_RULE, note))
        return found
    trimmed = smoothed[start:stop]
    local = valley(trimmed)
    at = start + (local if local >= 0 else trimmed.size + local)
    found.append(Suggestion("valley", "fastai", at, lrs[at], VALLEY_RULE))
    lowest = start + int(trimmed.argmin())
    tenth = lrs[lowest] / lrs.dtype.type(10)  # in the run's dtype, as the curve's rates
    found.append(Suggestion("minimum", "fastai", lowest, tenth, MINIMUM_RULE))
    return found


def _window(n: int, skip_start: int, skip_end: int) -> tuple[int, int]:
    """Python's `[skip_start:-skip_end]` (or `[skip_start:]` when skip_end is 0) as explicit bounds."""
    stop = n - skip_end if skip_end else n
    start = min(skip_start, n)
    return start, max(start, stop)


def _too_short(points: int, needed: int, how: str) -> str:
    return (
        f"The curve has {points} points and this rule needs at least {needed} ({how}); "
        "lower start_lr or raise num_iter so that more points come before the loss diverges."
    )
