"""A single run that fits one chunk, from its rate table to its verdicts, in one compiled call.

`run_and_analyze` does, for a batch of one run of 1 or 2 dimensions whose rows 0..steps are all in one chunk, what
the loop, `_close_chunk`, `Analyzer.add` and most of `Analyzer.finish` do with a hundred NumPy calls on 1-element
arrays: the constant rate's table, plain gradient descent (other optimizers arrive stepped by their runner), the
loss values, the first row that is not finite or meets a stop tolerance, the running values (first loss and
gradient norm, the first smallest loss, the last row above the convergence threshold, the last row where w moved,
the window of the last rows), whether w alternates, and the verdict. The same IEEE operations in the same order
(gradient norms in float64, window steps and their products in the run's dtype), so the results are the same bits.

One value stays with NumPy: the gradient norm's growth over the window is a power, which NumPy takes from its own
vectorised library. The verdict depends on it only through two tests (growing, steady), so the kernel returns the
verdict for each of the three cases (growing, steady, neither) and `service.engine.whole` picks one.
"""

from typing import Any

import numpy as np

from service.engine.kernels.compiled import (
    OPTIONS,
    POLYNOMIAL,
    QUADRATIC,
    QUADRATIC_FORM,
    _norm,
    gradient_descent,
    jit,
    loss_values,
    narrow,
)
from service.engine.kernels.layout import (
    BEST_LOSS,
    BEST_STEP,
    CONVERGED_AT,
    COUNT,
    DIVERGED_AT,
    EXPONENT,
    FINAL_STEP,
    GRAD0,
    LOSS0,
    LR_FIRST,
    LR_LAST,
    LR_MAX,
    LR_MIN,
    NO_LOSS,
    RATIO,
    VERDICT_CONVERGED,
    VERDICT_DIVERGED,
    VERDICT_OSCILLATING,
    VERDICT_SLOW,
    VERDICT_STALLED,
    VERDICT_UNBOUNDED,
)

COMPLETED, DIVERGED, STOPPED = 1, 2, 3
"""`loop.Outcome` values (this module imports no engine module, so that Numba loads only kernels)."""


@jit(**OPTIONS)
def run_and_analyze(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    value_kind: int,
    v1: Any,
    v2: Any,
    v3: Any,
    rate: Any,
    descend: bool,
    through_float32: bool,
    w: Any,
    grads: Any,
    loss: Any,
    lr: Any,
    constant: bool,
    grad_tol: float,
    loss_tol: float,
    converged_ratio: float,
    fixed_point_ratio: float,
    bounded: bool,
    window_w: Any,
    values: Any,
    reals: Any,
    ints: Any,
    outcome: Any,
    alternating: Any,
) -> tuple[int, bool, bool, int, int, int]:
    """`w` and `grads` (n, D), `loss` and `lr` (n,): the run's rows 0..n-1 (step = row), `w[0]` its start.

    - `rate` (1,): fill `lr` with it (a constant rate); (0,): `lr` comes filled. `descend`: run plain gradient
      descent here (`compiled.gradient_descent` with the gradient encoding `kind, p1, p2, p3`; `through_float32`:
      TF1's rate, cast to float32 first); else `w` and `grads` come computed. `value_kind, v1, v2, v3`:
      `compiled.loss_values`'s encoding (v3: the quadratic's c as (P, D)), or NO_LOSS when `loss` comes computed
      (then `bounded` says whether the loss is bounded below; else the kernel reads it from the encoding).
    - `constant`: every row has the same rate (its range is that rate). A NaN tolerance is none; the loss
      tolerance is compared in the run's dtype, as NumPy compares an array with a Python float.
    - Results: `window_w` (WINDOW, 1, D); `values` (WINDOW + VALUES,) in the run's dtype, `reals`
      (WINDOW + REALS,) float64: the window's losses and gradient norms, then the slots of `kernels.layout` (LR_MIN
      and LR_MAX only for a constant rate or no row); `ints` (INTS,); `outcome` (1,) int8; `alternating` (1,) bool.

    Returns (rows, whether the growth needs its power, whether its base is finite, and the verdict codes if the
    growth is growing, steady, neither)."""
    n, dims = grads.shape
    window = window_w.shape[0]
    weights, gradients = w.reshape((n, 1, dims)), grads.reshape((n, 1, dims))
    if rate.shape[0] > 0:
        lr[:] = rate[0]
    if descend:
        rates = lr.astype(np.float32).astype(lr.dtype) if through_float32 else lr
        gradient_descent(kind, p1, p2, p3, weights, gradients, rates.reshape((n, 1)), n - 1)
    if value_kind != NO_LOSS:
        loss_values(value_kind, v1, v2, v3.reshape((v3.shape[0], v3.shape[1], 1)), weights, loss.reshape((n, 1)))
        bounded = _bounded_below(value_kind, v1, v2)

    rows, ended, diverged_at = _end(weights, gradients, loss, lr, grad_tol, narrow(loss_tol, loss[0]))
    outcome[0] = ended

    nan = narrow(np.nan, loss[0])  # Analyzer.add's running values, over the valid rows
    loss0, grad0, lr_first, lr_last, best_loss = nan, np.nan, nan, nan, narrow(np.inf, loss[0])
    best_step, last_step, last_above, last_moved = -1, -1, -1, 0
    if rows > 0:
        loss0, grad0, lr_first = loss[0], _norm(gradients, 0, 0), lr[0]
        threshold = converged_ratio * grad0
        best, best_at, seen_nan = loss[0], 0, False
        above_at, moved_at = -1, -1
        for i in range(rows):
            value = loss[i]
            if not seen_nan:
                if value != value:
                    seen_nan = True
                elif value < best:
                    best, best_at = value, i
            if _norm(gradients, i, 0) > threshold:
                above_at = i
            moved = False
            for d in range(dims):
                if w[i, d] - w[max(i - 1, 0), d] != 0:
                    moved = True
            if moved:
                moved_at = i
        if not seen_nan and best < best_loss:
            best_loss, best_step = best, best_at
        if above_at >= 0:
            last_above = above_at
        if moved_at >= 0:
            last_moved = moved_at
        last_step, lr_last = rows - 1, lr[rows - 1]

    count = min(rows, window)  # the window: a fresh Analyzer's zeros, then the last `count` rows
    window_w[:] = 0
    values[:window] = 0
    reals[:window] = 0
    for j in range(window - count, window):
        i = rows - window + j
        for d in range(dims):
            window_w[j, 0, d] = w[i, d]
        values[j] = loss[i]
        reals[j] = _norm(gradients, i, 0)
    turns = count >= 3
    for j in range(window - count, window - 2):  # the pairs of steps inside the window: each must turn back
        total = (window_w[j + 2, 0, 0] - window_w[j + 1, 0, 0]) * (window_w[j + 1, 0, 0] - window_w[j, 0, 0])
        for d in range(1, dims):
            total = total + (window_w[j + 2, 0, d] - window_w[j + 1, 0, d]) * (
                window_w[j + 1, 0, d] - window_w[j, 0, d]
            )
        if not total < 0:
            turns = False
    alternating[0] = turns

    # Analyzer.finish on scalars
    g_last, g_first = reals[window - 1], reals[window - max(count, 1)]
    l_last, l_first = values[window - 1], values[window - max(count, 1)]
    power = count > 1 and g_first > 0
    ratio, exponent = (g_last / g_first, 1 / max(count - 1, 1)) if power else (1.0, 1.0)
    fixed = last_step - last_moved >= 3 and count >= 3
    tol_converged = g_last <= converged_ratio * grad0
    converged = tol_converged or (fixed and g_last <= fixed_point_ratio * grad0)
    converged = converged and count > 0 and ended != DIVERGED
    converged_at = (last_above + 1 if tol_converged else last_moved) if converged else -1
    below_start, rising, falling = l_last < loss0, l_last > loss0, l_last < l_first
    diverged = ended == DIVERGED
    if diverged or converged:  # decided before the growth is read
        growing = steady = neither = _verdict(diverged, below_start, bounded, converged, False, rising, falling,
                                              turns, False, fixed)  # fmt: skip
    else:
        growing = _verdict(False, below_start, bounded, False, True, rising, falling, turns, False, fixed)
        steady = _verdict(False, below_start, bounded, False, False, rising, falling, turns, True, fixed)
        neither = _verdict(False, below_start, bounded, False, False, rising, falling, turns, False, fixed)

    ints[FINAL_STEP], ints[BEST_STEP], ints[CONVERGED_AT], ints[DIVERGED_AT] = (
        last_step,
        best_step,
        converged_at,
        diverged_at,
    )
    ints[COUNT] = count
    values[window + LOSS0], values[window + BEST_LOSS] = loss0, best_loss if best_step >= 0 else nan
    values[window + LR_FIRST], values[window + LR_LAST] = lr_first, lr_last
    if rows == 0:
        values[window + LR_MIN], values[window + LR_MAX] = np.inf, -np.inf
    elif constant:
        values[window + LR_MIN], values[window + LR_MAX] = lr[0], lr[0]
    reals[window + GRAD0], reals[window + RATIO], reals[window + EXPONENT] = grad0, ratio, exponent
    return rows, power, np.isfinite(ratio), growing, steady, neither


@jit(inline="always", **OPTIONS)
def _end(weights: Any, gradients: Any, loss: Any, lr: Any, grad_tol: float, loss_tol: Any) -> tuple[int, int, int]:
    """`_close_chunk` of the run's one chunk: (valid rows, outcome, diverged_at). A row is finite when its weights,
    loss, gradient and rate all are; the first row that is not ends the run (diverged), else the first that meets
    a tolerance (stopped, that row included), else it completes."""
    n, _, dims = gradients.shape
    for i in range(n):
        finite = np.isfinite(loss[i]) and np.isfinite(lr[i])
        for d in range(dims):
            finite = finite and np.isfinite(weights[i, 0, d]) and np.isfinite(gradients[i, 0, d])
        if not finite:
            return i, DIVERGED, i
        if (grad_tol == grad_tol and _norm(gradients, i, 0) <= grad_tol) or (
            loss_tol == loss_tol and loss[i] <= loss_tol
        ):
            return i + 1, STOPPED, -1
    return n, COMPLETED, -1


@jit(inline="always", **OPTIONS)
def _bounded_below(value_kind: int, v1: Any, v2: Any) -> bool:
    """The loss's `bounded_below()` for the run (parameter row 0): `Quadratic`'s every a ≥ 0 (v2 = a);
    `Polynomial`'s constant, or even degree with a positive leading coefficient (v1 = the coefficients)."""
    if value_kind == QUADRATIC:
        bounded = True
        for d in range(v2.shape[1]):
            bounded = bounded and v2[0, d] >= 0
        return bounded
    degree = v1.shape[1] - 1
    return bool(degree == 0 or (v1[0, degree] > 0 and degree % 2 == 0))


@jit(inline="always", **OPTIONS)
def _verdict(
    diverged: bool,
    below_start: bool,
    bounded: bool,
    converged: bool,
    growing: bool,
    rising: bool,
    falling: bool,
    alternating: bool,
    steady: bool,
    fixed: bool,
) -> int:
    """`Analyzer.finish`'s rules, in its order: the first that holds decides."""
    if diverged and below_start and not bounded:
        return VERDICT_UNBOUNDED
    if diverged:
        return VERDICT_DIVERGED
    if converged:
        return VERDICT_CONVERGED
    if growing and rising:
        return VERDICT_DIVERGED
    if not bounded and below_start and falling:
        return VERDICT_UNBOUNDED
    if alternating and steady:
        return VERDICT_OSCILLATING
    if falling:
        return VERDICT_SLOW
    if alternating:
        return VERDICT_OSCILLATING
    if fixed:
        return VERDICT_STALLED
    return VERDICT_SLOW


__all__ = ["POLYNOMIAL", "QUADRATIC", "QUADRATIC_FORM", "run_and_analyze"]
