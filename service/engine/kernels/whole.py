"""The compiled end of a single run that fits one chunk: where it ends and what the Analyzer would keep, in one call.

`close_and_analyze` does, for a batch of one run of 1 or 2 dimensions whose rows 0..steps are all in one chunk,
what the loop's `_close_chunk` and then `Analyzer.add` and most of `Analyzer.finish` do with about a hundred NumPy
calls on 1-element arrays: the first row that is not finite or meets a stop tolerance, the running values (first
loss and gradient norm, the first smallest loss, the last row above the convergence threshold, the last row where
w moved, the window of the last rows) and whether w alternates. The same IEEE operations in the same order
(gradient norms in float64, window steps and their products in the run's dtype), so the results are the same bits;
`service.engine.whole` takes the one power NumPy computes with its own vectorised library (the gradient norm's
growth) and the verdict rules from there.
"""

from typing import Any

import numpy as np

from service.engine.kernels.compiled import OPTIONS, _norm, jit

COMPLETED, DIVERGED, STOPPED = 1, 2, 3
"""`loop.Outcome` values (this module imports no engine module, so that Numba loads only kernels)."""

ROWS, OUTCOME, DIVERGED_AT, BEST_STEP, LAST_STEP, LAST_ABOVE, LAST_MOVED, COUNT, ALTERNATING = range(9)
"""Slots of the integer results."""
LOSS0, GRAD0, BEST_LOSS, LR_FIRST, LR_LAST = range(5)
"""Slots of the real results (float64; a float32 value is held exactly)."""


@jit(**OPTIONS)
def close_and_analyze(
    weights: Any,
    grads: Any,
    loss: Any,
    lr: Any,
    check_lr: bool,
    grad_tol: float,
    loss_tol: float,
    converged_ratio: float,
    window_w: Any,
    window_loss: Any,
    window_grad: Any,
    ints: Any,
    reals: Any,
) -> None:
    """`weights` (n + 1, 1, D), `grads` (n, 1, D), `loss` and `lr` (n, 1): the run's rows 0..n-1 (step = row).
    A NaN tolerance is none. The window arrays (WINDOW, 1, D), (WINDOW, 1) and (WINDOW, 1) float64 come zeroed
    (a fresh Analyzer's); `ints` and `reals` receive the slots above."""
    n, _, dims = grads.shape
    window = window_w.shape[0]
    first_bad, first_stop = n, n
    for i in range(n):
        finite = np.isfinite(loss[i, 0]) and (not check_lr or np.isfinite(lr[i, 0]))
        for d in range(dims):
            finite = finite and np.isfinite(weights[i, 0, d]) and np.isfinite(grads[i, 0, d])
        if not finite:
            first_bad = i
            break
        if (grad_tol == grad_tol and _norm(grads, i, 0) <= grad_tol) or (
            loss_tol == loss_tol and loss[i, 0] <= loss_tol
        ):
            first_stop = i
            break
    if first_bad < n:
        rows, outcome, diverged_at = first_bad, DIVERGED, first_bad
    elif first_stop < n:
        rows, outcome, diverged_at = first_stop + 1, STOPPED, -1
    else:
        rows, outcome, diverged_at = n, COMPLETED, -1

    loss0, grad0, lr_first, lr_last = np.nan, np.nan, np.nan, np.nan
    best_step, last_step, last_above, last_moved = -1, -1, -1, 0
    best_loss = np.inf
    if rows > 0:
        loss0, grad0, lr_first = loss[0, 0], _norm(grads, 0, 0), lr[0, 0]
        threshold = converged_ratio * grad0
        best, best_at, seen_nan = loss[0, 0], 0, False
        above_at, moved_at = -1, -1
        for i in range(rows):
            value = loss[i, 0]
            if not seen_nan:
                if value != value:
                    seen_nan = True
                elif value < best:
                    best, best_at = value, i
            if _norm(grads, i, 0) > threshold:
                above_at = i
            moved = False
            for d in range(dims):
                if weights[i, 0, d] - weights[max(i - 1, 0), 0, d] != 0:
                    moved = True
            if moved:
                moved_at = i
        if not seen_nan and best < best_loss:
            best_loss, best_step = best, best_at
        if above_at >= 0:
            last_above = above_at
        if moved_at >= 0:
            last_moved = moved_at
        last_step, lr_last = rows - 1, lr[rows - 1, 0]
    count = min(rows, window)
    for j in range(window - count, window):
        i = rows - window + j
        for d in range(dims):
            window_w[j, 0, d] = weights[i, 0, d]
        window_loss[j, 0] = loss[i, 0]
        window_grad[j, 0] = _norm(grads, i, 0)

    alternating = count >= 3
    for j in range(window - count, window - 2):  # the pairs of steps inside the window: each must turn back
        total = (window_w[j + 2, 0, 0] - window_w[j + 1, 0, 0]) * (window_w[j + 1, 0, 0] - window_w[j, 0, 0])
        for d in range(1, dims):
            total = total + (window_w[j + 2, 0, d] - window_w[j + 1, 0, d]) * (
                window_w[j + 1, 0, d] - window_w[j, 0, d]
            )
        if not total < 0:
            alternating = False

    ints[ROWS], ints[OUTCOME], ints[DIVERGED_AT] = rows, outcome, diverged_at
    ints[BEST_STEP], ints[LAST_STEP], ints[LAST_ABOVE], ints[LAST_MOVED] = best_step, last_step, last_above, last_moved
    ints[COUNT], ints[ALTERNATING] = count, 1 if alternating else 0
    reals[LOSS0], reals[GRAD0], reals[BEST_LOSS] = loss0, grad0, best_loss
    reals[LR_FIRST], reals[LR_LAST] = lr_first, lr_last
