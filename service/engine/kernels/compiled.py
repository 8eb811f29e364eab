"""The compiled step kernels (Numba): the whole step loop of a chunk, gradient and update, row after row.

Each kernel does, for rows i = 0..n-1 of a chunk, what the NumPy path does with one ufunc call per operation:
`grads[i] = ∇loss(weights[i])`, and for i < updates `weights[i + 1] = update(weights[i], grads[i], lr[i])`, with the
optimizer's state arrays changed in place. Only IEEE operations that round the same everywhere are done here
(+, −, ×, ÷, sqrt, comparisons, casts): anything NumPy computes with its own vectorised transcendental functions
(`beta ** t` goes through SVML on AVX-512 machines, and glibc would round differently) arrives precomputed in
tables by `service.engine.kernels.adapters`. Every operation NumPy rounds to the run's dtype is rounded here too
(`narrow`), and the ones torch computes wide and rounds once are computed in float64 and rounded once.

Compiled with `fastmath=False` (no reassociation, no contraction into fused multiply-adds: LLVM contracts only
instructions flagged `contract`, which Numba sets only under fastmath) and `error_model="numpy"` (a division by
zero gives inf or NaN, as in NumPy, instead of raising). `cache=True`: the machine code is kept in
`NUMBA_CACHE_DIR` (or `__pycache__`), so a process loads it instead of compiling.

Loss encodings (`kind`, p1, p2, p3), each parameter array with its own leading P (1, or one row per run):
QUADRATIC: p1 = b (P, D), p2 = 2a (P, D); gradient (w + b)·2a. POLYNOMIAL: p1 = the derivative's coefficients
(P, n), increasing degree; Horner from the highest. QUADRATIC_FORM: p3 = S (P, D, D), p1 = b (P, D); gradient
Σ_j w_j·S_ij (left to right from 0, as NumPy's einsum for D ≤ 2) + b.
"""

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numba import njit, types
from numba.extending import overload

from service.engine.kernels import cache

cache.configure()  # before the first @njit: the cache folder is keyed by every kernel source (see cache.py)

Function = TypeVar("Function", bound=Callable[..., Any])
jit: Callable[..., Callable[[Function], Function]] = njit
"""Numba's `njit`, typed for mypy: the decorated function keeps its signature."""

QUADRATIC, POLYNOMIAL, QUADRATIC_FORM = 0, 1, 2

OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


def narrow(x: Any, like: Any) -> Any:
    """`x` rounded to the dtype of `like` (a float32 or float64 scalar): NumPy's rounding after an operation."""
    raise NotImplementedError("only inside compiled kernels")


@overload(narrow)
def _narrow(x: Any, like: Any) -> Any:
    def single(x: Any, like: Any) -> Any:
        return np.float32(x)

    def double(x: Any, like: Any) -> Any:
        return np.float64(x)

    return single if isinstance(like, types.Float) and like.bitwidth == 32 else double


@jit(inline="always", **OPTIONS)
def negative(x: Any) -> Any:
    """`np.negative(x)`: the sign bit flipped, NaN's too (Numba's unary minus subtracts from −0, which leaves a
    NaN's sign as it was)."""
    return narrow(math.copysign(x, -math.copysign(1.0, x)), x)


NARROW = 64
"""Batches of at most this many weights (runs × dimensions) run element by element, all the rows of one weight
before the next (its value and state stay in registers); wider ones row by row (contiguous over the runs)."""


@jit(inline="always", **OPTIONS)
def _row(params: Any, r: int) -> int:
    """The parameter row of run r: its own, or the shared one."""
    return r if params.shape[0] > 1 else 0


@jit(inline="always", **OPTIONS)
def _element_gradient(kind: int, p1: Any, p2: Any, r: int, d: int, x: Any) -> Any:
    """∂loss/∂w_d at w_d = x for a loss whose gradient is element by element (QUADRATIC, POLYNOMIAL)."""
    if kind == QUADRATIC:
        return (x + p1[_row(p1, r), d]) * p2[_row(p2, r), d]
    pc = _row(p1, r)
    top = p1.shape[1] - 1
    result = p1[pc, top]
    for k in range(top - 1, -1, -1):
        result = result * x
        result = result + p1[pc, k]
    return result


@jit(inline="always", **OPTIONS)
def _row_gradient(p1: Any, p3: Any, weights: Any, i: int, r: int, grads: Any) -> None:
    """grads[i, r] = S·w + b (QUADRATIC_FORM), each coordinate summed left to right from +0 as einsum does."""
    dims = weights.shape[2]
    ps, pb = _row(p3, r), _row(p1, r)
    for d in range(dims):
        total = narrow(0.0, weights[i, r, 0])
        for j in range(dims):
            total = total + weights[i, r, j] * p3[ps, d, j]
        grads[i, r, d] = total + p1[pb, d]


@jit(**OPTIONS)
def _gradient_row(kind: int, p1: Any, p2: Any, p3: Any, weights: Any, i: int, grads: Any) -> None:
    """grads[i] = ∇loss(weights[i]) for every run: one call per row, the loops written out per kind (simple
    loops over the runs vectorise; a helper inlined per element does not)."""
    _, runs, dims = grads.shape
    if kind == QUADRATIC and p1.shape[0] == 1 and p2.shape[0] == 1:
        if dims == 1:
            b, twice_a = p1[0, 0], p2[0, 0]
            for r in range(runs):
                grads[i, r, 0] = (weights[i, r, 0] + b) * twice_a
        else:
            for r in range(runs):
                for d in range(dims):
                    grads[i, r, d] = (weights[i, r, d] + p1[0, d]) * p2[0, d]
    elif kind == QUADRATIC_FORM:
        for r in range(runs):
            _row_gradient(p1, p3, weights, i, r, grads)
    else:
        for r in range(runs):
            for d in range(dims):
                grads[i, r, d] = _element_gradient(kind, p1, p2, r, d, weights[i, r, d])


@jit(**OPTIONS)
def gradient_descent(kind: int, p1: Any, p2: Any, p3: Any, weights: Any, grads: Any, lr: Any, updates: int) -> None:
    """`w ← w − g·lr`, rounded after the product and after the difference (`GradientDescent`)."""
    n, runs, dims = grads.shape
    if kind != QUADRATIC_FORM and runs * dims <= NARROW:
        for r in range(runs):
            for d in range(dims):
                x = weights[0, r, d]
                for i in range(n):
                    g = _element_gradient(kind, p1, p2, r, d, x)
                    grads[i, r, d] = g
                    if i < updates:
                        x = x - g * lr[i, r]
                        weights[i + 1, r, d] = x
        return
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        if dims == 1:
            for r in range(runs):
                weights[i + 1, r, 0] = weights[i, r, 0] - grads[i, r, 0] * lr[i, r]
        else:
            for r in range(runs):
                rate = lr[i, r]
                for d in range(dims):
                    weights[i + 1, r, d] = weights[i, r, d] - grads[i, r, d] * rate


@jit(inline="always", **OPTIONS)
def _sgd_element(
    x: Any,
    g: Any,
    buf: Any,
    started: bool,
    mu: Any,
    kept: Any,
    wd: Any,
    decays: bool,
    nesterov: bool,
    negative_rate: Any,
) -> Any:
    """One torch.SGD update of one weight: (next weight, next momentum buffer)."""
    if decays:
        g = narrow(np.float64(wd) * np.float64(x) + np.float64(g), x)
    if mu == 0:
        return narrow(np.float64(negative_rate) * np.float64(g) + np.float64(x), x), buf
    buf = narrow(np.float64(kept) * np.float64(g) + np.float64(buf * mu), x) if started else g
    direction = narrow(np.float64(mu) * np.float64(buf) + np.float64(g), x) if nesterov else buf
    return narrow(np.float64(negative_rate) * np.float64(direction) + np.float64(x), x), buf


@jit(**OPTIONS)
def torch_sgd(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    lr: Any,
    updates: int,
    momentum: Any,
    keep: Any,
    weight_decay: Any,
    nesterov: bool,
    buf: Any,
    started: Any,
) -> None:
    """torch.optim.SGD (`optimizers.torch.SGD`): `momentum`, `keep` = 1 − dampening and `weight_decay` are (P, 1)
    columns (weight_decay (0, 1) when there is none); `buf` (R, D) and `started` (R, 1) change in place. torch's
    fused `add(x, alpha=a)` is computed in float64 and rounded once."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    by_element = kind != QUADRATIC_FORM and runs * dims <= NARROW
    for r in range(runs if by_element else 0):
        mu, kept = momentum[_row(momentum, r), 0], keep[_row(keep, r), 0]
        wd = weight_decay[_row(weight_decay, r), 0] if decays else mu
        for d in range(dims):
            x, b, begun = weights[0, r, d], buf[r, d], started[r, 0]
            for i in range(n):
                g = _element_gradient(kind, p1, p2, r, d, x)
                grads[i, r, d] = g
                if i < updates:
                    x, b = _sgd_element(x, g, b, begun, mu, kept, wd, decays, nesterov, -lr[i, r])
                    begun = begun or mu != 0
                    weights[i + 1, r, d] = x
            buf[r, d] = b
        if updates > 0 and mu != 0:
            started[r, 0] = True
    for i in range(0 if by_element else n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            mu, kept = momentum[_row(momentum, r), 0], keep[_row(keep, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else mu
            negative_rate = -lr[i, r]
            for d in range(dims):
                x, b = _sgd_element(
                    weights[i, r, d],
                    grads[i, r, d],
                    buf[r, d],
                    started[r, 0],
                    mu,
                    kept,
                    wd,
                    decays,
                    nesterov,
                    negative_rate,
                )
                weights[i + 1, r, d] = x
                buf[r, d] = b
            if mu != 0:
                started[r, 0] = True


@jit(inline="always", **OPTIONS)
def _adam_element(
    x: Any,
    g: Any,
    m: Any,
    v: Any,
    top: Any,
    near: bool,
    w1_wide: Any,
    far1: Any,
    b2: Any,
    w2: Any,
    epsilon: Any,
    c2: Any,
    value: Any,
    factor: Any,
    decoupled: bool,
    l2: Any,
    decays: bool,
    amsgrad: bool,
) -> Any:
    """One torch.Adam update of one weight: (next weight, exp_avg, exp_avg_sq, max_exp_avg_sq)."""
    p = x * factor if decoupled else x
    if decays:
        g = narrow(np.float64(l2) * np.float64(x) + np.float64(g), x)
    diff = g - m
    if near:
        m = narrow(w1_wide * np.float64(diff) + np.float64(m), x)
    else:
        m = narrow(np.float64(g) - far1 * np.float64(diff), x)
    v = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(v * b2), x)
    used = v
    if amsgrad:
        if not (top >= v or top != top):  # np.maximum: a NaN in either wins
            top = v
        used = top
    denom = np.sqrt(used) / c2 + epsilon
    return p + (value * m) / denom, m, v, top


@jit(**OPTIONS)
def _adam_row(
    weights: Any,
    grads: Any,
    i: int,
    negative_step: Any,
    c2: Any,
    w1: Any,
    b2: Any,
    w2: Any,
    epsilon: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
) -> None:
    """One row of `_adam_element` for shared hyperparameters, lerp's near branch, no weight decay, no amsgrad:
    the same operations, written out so the loop over the runs compiles tight."""
    _, runs, dims = grads.shape
    w1_wide = np.float64(w1)
    for r in range(runs):
        value = negative_step[i, r]
        for d in range(dims):
            x, g, m = weights[i, r, d], grads[i, r, d], exp_avg[r, d]
            m = narrow(w1_wide * np.float64(g - m) + np.float64(m), x)
            exp_avg[r, d] = m
            v = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(exp_avg_sq[r, d] * b2), x)
            exp_avg_sq[r, d] = v
            weights[i + 1, r, d] = x + (value * m) / (np.sqrt(v) / c2 + epsilon)


@jit(**OPTIONS)
def torch_adam(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    updates: int,
    negative_step: Any,
    correction2_sqrt: Any,
    decay_factor: Any,
    weight1: Any,
    decay2: Any,
    weight2: Any,
    eps: Any,
    l2: Any,
    amsgrad: bool,
    exp_avg: Any,
    exp_avg_sq: Any,
    max_exp_avg_sq: Any,
) -> None:
    """torch.optim.Adam/AdamW (`optimizers.torch.Adam`) without a cycled β1. Per update row i (tables from the
    adapter): `negative_step` (n, R) = −(lr/(1 − β1^t)) in the run's dtype, `correction2_sqrt` (n, P) =
    √(1 − β2^t) in the run's dtype, `decay_factor` (n, R) = 1 − lr·wd (AdamW; (0, 0) when there is none).
    Columns (P, 1): `weight1` = 1 − β1, `decay2` = β2, `weight2` = 1 − β2, `eps`, `l2` ((0, 1) when none).
    `exp_avg.lerp_(g, 1 − β1)` takes lerp's near branch for |1 − β1| < 0.5 and its far branch otherwise."""
    n, runs, dims = grads.shape
    decoupled = decay_factor.shape[0] > 0
    decays = l2.shape[0] > 0
    by_element = kind != QUADRATIC_FORM and runs * dims <= NARROW
    wide = correction2_sqrt.shape[1] > 1
    for r in range(runs):
        w1 = weight1[_row(weight1, r), 0]
        near = abs(w1) < 0.5
        w1_wide, far1 = np.float64(w1), np.float64(narrow(1 - w1, w1))  # torch's `1 − weight`, in the run's dtype
        b2, w2, epsilon = decay2[_row(decay2, r), 0], weight2[_row(weight2, r), 0], eps[_row(eps, r), 0]
        decay = l2[_row(l2, r), 0] if decays else w1
        if not by_element:
            break
        for d in range(dims):
            x, m, v, top = weights[0, r, d], exp_avg[r, d], exp_avg_sq[r, d], max_exp_avg_sq[r, d]
            for i in range(n):
                g = _element_gradient(kind, p1, p2, r, d, x)
                grads[i, r, d] = g
                if i < updates:
                    x, m, v, top = _adam_element(
                        x,
                        g,
                        m,
                        v,
                        top,
                        near,
                        w1_wide,
                        far1,
                        b2,
                        w2,
                        epsilon,
                        correction2_sqrt[i, r if wide else 0],
                        negative_step[i, r],
                        decay_factor[i, r] if decoupled else x,
                        decoupled,
                        decay,
                        decays,
                        amsgrad,
                    )
                    weights[i + 1, r, d] = x
            exp_avg[r, d], exp_avg_sq[r, d], max_exp_avg_sq[r, d] = m, v, top
    plain = (
        not (decoupled or decays or amsgrad or wide)
        and weight1.shape[0] == 1
        and decay2.shape[0] == 1
        and weight2.shape[0] == 1
        and eps.shape[0] == 1
        and abs(weight1[0, 0]) < 0.5
    )
    for i in range(0 if by_element else n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        if plain:
            _adam_row(weights, grads, i, negative_step, correction2_sqrt[i, 0], weight1[0, 0], decay2[0, 0],
                      weight2[0, 0], eps[0, 0], exp_avg, exp_avg_sq)  # fmt: skip
            continue
        for r in range(runs):
            w1 = weight1[_row(weight1, r), 0]
            near = abs(w1) < 0.5
            w1_wide, far1 = np.float64(w1), np.float64(narrow(1 - w1, w1))
            b2, w2, epsilon = decay2[_row(decay2, r), 0], weight2[_row(weight2, r), 0], eps[_row(eps, r), 0]
            decay = l2[_row(l2, r), 0] if decays else w1
            c2, value = correction2_sqrt[i, r if wide else 0], negative_step[i, r]
            factor = decay_factor[i, r] if decoupled else w1
            for d in range(dims):
                x, m, v, top = _adam_element(
                    weights[i, r, d],
                    grads[i, r, d],
                    exp_avg[r, d],
                    exp_avg_sq[r, d],
                    max_exp_avg_sq[r, d],
                    near,
                    w1_wide,
                    far1,
                    b2,
                    w2,
                    epsilon,
                    c2,
                    value,
                    factor,
                    decoupled,
                    decay,
                    decays,
                    amsgrad,
                )
                weights[i + 1, r, d] = x
                exp_avg[r, d], exp_avg_sq[r, d], max_exp_avg_sq[r, d] = m, v, top


@jit(**OPTIONS)
def analyze(
    step: Any,
    w: Any,
    loss: Any,
    grad: Any,
    lr: Any,
    rows: Any,
    norms: Any,
    converged_ratio: float,
    loss0: Any,
    grad0: Any,
    best_loss: Any,
    best_step: Any,
    last_step: Any,
    last_above: Any,
    last_moved: Any,
    lr_first: Any,
    lr_last: Any,
    window_w: Any,
    window_loss: Any,
    window_grad: Any,
    count: Any,
) -> None:
    """`Analyzer.add` for one chunk, run by run over its valid rows, the analyzer's arrays changed in place, with
    the same operations: the gradient norm in float64 (√(g0²) or √(g0² + g1²); `norms` (n, R) brings NumPy's for
    3 dimensions or more, whose sum order this kernel does not reproduce, else it is (0, 0)), the first smallest
    loss (a NaN wins, as in `argmin`, and is never better), the last row whose norm is above the convergence
    threshold, the last row where w moved (`w[i] − w[i−1] != 0`, so inf − inf counts as a move), and the window of
    the last WINDOW valid rows."""
    n, runs, dims = grad.shape
    window = window_w.shape[0]
    given = norms.shape[0] > 0
    best = np.empty(runs, loss.dtype)
    best_at = np.zeros(runs, np.int64)
    seen_nan = np.zeros(runs, np.bool_)
    above_at = np.full(runs, -1, np.int64)
    moved_at = np.full(runs, -1, np.int64)
    threshold = np.empty(runs, np.float64)
    for r in range(runs):
        if rows[r] > 0 and step[0] == 0:
            loss0[r] = loss[0, r]
            grad0[r] = norms[0, r] if given else _norm(grad, 0, r)
            lr_first[r] = lr[0, r]
        threshold[r] = converged_ratio * grad0[r]
        best[r] = loss[0, r]
    if dims <= 2 and not given:  # passes over every row of every run, then the runs that ended inside the chunk
        _scan_full_rows(w, loss, grad, window_w, count, threshold, best, best_at, seen_nan, above_at, moved_at)
        for r in range(runs):
            if 0 < rows[r] < n:
                _scan_run(w, loss, grad, rows[r], r, window_w, count, threshold, best, best_at, seen_nan,
                          above_at, moved_at)  # fmt: skip
    else:
        _scan(w, loss, grad, rows, norms, window_w, count, threshold, best, best_at, seen_nan, above_at, moved_at)
    for r in range(runs):
        k = rows[r]
        if k == 0:
            continue
        if not seen_nan[r] and best[r] < best_loss[r]:
            best_loss[r], best_step[r] = best[r], step[best_at[r]]
        if above_at[r] >= 0:
            last_above[r] = step[above_at[r]]
        if moved_at[r] >= 0:
            last_moved[r] = step[moved_at[r]]
        last_step[r] = step[k - 1]
        lr_last[r] = lr[k - 1, r]
        keep = window - k if k < window else 0  # old rows still in the window, moved to its front
        for j in range(keep):
            for d in range(dims):
                window_w[j, r, d] = window_w[j + k, r, d]
            window_loss[j, r] = window_loss[j + k, r]
            window_grad[j, r] = window_grad[j + k, r]
        for j in range(keep, window):
            i = k - window + j
            for d in range(dims):
                window_w[j, r, d] = w[i, r, d]
            window_loss[j, r] = loss[i, r]
            window_grad[j, r] = norms[i, r] if given else _norm(grad, i, r)
        count[r] = min(count[r] + k, window)


@jit(**OPTIONS)
def _scan_run(
    w: Any,
    loss: Any,
    grad: Any,
    k: int,
    r: int,
    window_w: Any,
    count: Any,
    threshold: Any,
    best: Any,
    best_at: Any,
    seen_nan: Any,
    above_at: Any,
    moved_at: Any,
) -> None:
    """`_scan` of one run (of 1 or 2 dimensions) over its first k rows (a run that ended inside the chunk)."""
    best[r], best_at[r], seen_nan[r], above_at[r], moved_at[r] = loss[0, r], 0, False, -1, -1
    for i in range(k):
        value = loss[i, r]
        if not seen_nan[r]:
            if value != value:
                seen_nan[r] = True
            elif value < best[r]:
                best[r], best_at[r] = value, i
        if _norm(grad, i, r) > threshold[r]:
            above_at[r] = i
        if _moved(w, window_w, count, i, r):
            moved_at[r] = i


@jit(**OPTIONS)
def _scan_full_rows(
    w: Any,
    loss: Any,
    grad: Any,
    window_w: Any,
    count: Any,
    threshold: Any,
    best: Any,
    best_at: Any,
    seen_nan: Any,
    above_at: Any,
    moved_at: Any,
) -> None:
    """`_scan` for 1 or 2 dimensions and every run having every row of the chunk: branch-free passes, row by row,
    each simple enough for LLVM to vectorise (a NaN loss is never `<`, so the smallest non-NaN one is tracked and
    `seen_nan` rules it out at the end, as argmin would)."""
    n, runs, dims = grad.shape
    for i in range(n):
        for r in range(runs):
            value = loss[i, r]
            lower = value < best[r]
            best[r] = value if lower else best[r]
            best_at[r] = i if lower else best_at[r]
    for i in range(n):
        for r in range(runs):
            value = loss[i, r]
            seen_nan[r] = seen_nan[r] | (value != value)
    if dims == 1:
        for i in range(n):
            for r in range(runs):
                wide = np.float64(grad[i, r, 0])
                above_at[r] = i if np.sqrt(wide * wide) > threshold[r] else above_at[r]
    else:
        for i in range(n):
            for r in range(runs):
                first, second = np.float64(grad[i, r, 0]), np.float64(grad[i, r, 1])
                above_at[r] = i if np.sqrt(first * first + second * second) > threshold[r] else above_at[r]
    last = window_w.shape[0] - 1
    for r in range(runs):
        moved = False
        for d in range(dims):
            previous = window_w[last, r, d] if count[r] > 0 else w[0, r, d]
            moved = moved or w[0, r, d] - previous != 0
        moved_at[r] = 0 if moved else moved_at[r]
    if dims == 1:
        for i in range(1, n):
            for r in range(runs):
                moved_at[r] = i if w[i, r, 0] - w[i - 1, r, 0] != 0 else moved_at[r]
    else:
        for i in range(1, n):
            for r in range(runs):
                moved = (w[i, r, 0] - w[i - 1, r, 0] != 0) | (w[i, r, 1] - w[i - 1, r, 1] != 0)
                moved_at[r] = i if moved else moved_at[r]


@jit(**OPTIONS)
def _scan(
    w: Any,
    loss: Any,
    grad: Any,
    rows: Any,
    norms: Any,
    window_w: Any,
    count: Any,
    threshold: Any,
    best: Any,
    best_at: Any,
    seen_nan: Any,
    above_at: Any,
    moved_at: Any,
) -> None:
    """Per run, over its valid rows: the first smallest loss (`seen_nan`: a NaN came first or later, so argmin
    would pick it), the last row whose gradient norm is above the threshold, the last row where w moved."""
    n, runs, _ = grad.shape
    given = norms.shape[0] > 0
    for i in range(n):  # the smallest loss: row by row (each row's runs are contiguous)
        for r in range(runs):
            if i < rows[r] and not seen_nan[r]:
                value = loss[i, r]
                if value != value:
                    seen_nan[r] = True
                elif value < best[r]:
                    best[r], best_at[r] = value, i
    # the last row above the threshold, and the last row where w moved: from the end backwards, over the runs
    # still searching (a run whose last rows qualify is done after a row or two)
    pending = np.empty(runs, np.int64)
    searching = 0
    for r in range(runs):
        if rows[r] > 0:
            pending[searching] = r
            searching += 1
    i = n - 1
    while searching > 0 and i >= 0:
        still = 0
        for t in range(searching):
            r = pending[t]
            if i < rows[r] and (norms[i, r] if given else _norm(grad, i, r)) > threshold[r]:
                above_at[r] = i
                continue
            pending[still] = r
            still += 1
        searching, i = still, i - 1
    searching = 0
    for r in range(runs):
        if rows[r] > 0:
            pending[searching] = r
            searching += 1
    i = n - 1
    while searching > 0 and i >= 0:
        still = 0
        for t in range(searching):
            r = pending[t]
            if i < rows[r] and _moved(w, window_w, count, i, r):
                moved_at[r] = i
                continue
            pending[still] = r
            still += 1
        searching, i = still, i - 1


@jit(inline="always", **OPTIONS)
def _moved(w: Any, window_w: Any, count: Any, i: int, r: int) -> bool:
    """Whether w moved into row i of run r: `w[i] − w[i−1] != 0` in some dimension (row −1: the window's last row,
    or row 0 itself for a run's first chunk, as `np.diff` after the Analyzer's concatenation)."""
    moved = False
    for d in range(w.shape[2]):
        if i > 0:
            previous = w[i - 1, r, d]
        elif count[r] > 0:
            previous = window_w[window_w.shape[0] - 1, r, d]
        else:
            previous = w[0, r, d]
        if w[i, r, d] - previous != 0:
            moved = True
    return moved


@jit(inline="always", **OPTIONS)
def _norm(grad: Any, i: int, r: int) -> Any:
    """√(Σ g²) in float64 over 1 or 2 dimensions, as NumPy sums them."""
    total = np.float64(grad[i, r, 0]) * np.float64(grad[i, r, 0])
    if grad.shape[2] == 2:
        total = total + np.float64(grad[i, r, 1]) * np.float64(grad[i, r, 1])
    return np.sqrt(total)


@jit(**OPTIONS)
def loss_values(kind: int, p1: Any, p2: Any, p3: Any, w: Any, out: Any) -> None:
    """out[i, r] = loss(w[i, r]) for QUADRATIC of 1 or 2 dimensions (p1 = b, p2 = a, p3 = c as (P, D, 1)):
    `((w + b)²·a + c)` per dimension, the two terms added; POLYNOMIAL (p1 = the coefficients): Horner from the
    highest degree. The same operations as `Quadratic.value` and `Polynomial.value`, in one pass."""
    n, runs, dims = w.shape
    if kind == POLYNOMIAL:
        top = p1.shape[1] - 1
        for i in range(n):
            for r in range(runs):
                pc = _row(p1, r)
                x = w[i, r, 0]
                result = p1[pc, top]
                for k in range(top - 1, -1, -1):
                    result = result * x
                    result = result + p1[pc, k]
                out[i, r] = result
    elif dims == 1 and p1.shape[0] == 1 and p2.shape[0] == 1 and p3.shape[0] == 1:
        b, a, c = p1[0, 0], p2[0, 0], p3[0, 0, 0]
        for i in range(n):
            for r in range(runs):
                shifted = w[i, r, 0] + b
                out[i, r] = shifted * shifted * a + c
    else:
        for i in range(n):
            for r in range(runs):
                pb, pa, pc = _row(p1, r), _row(p2, r), _row(p3, r)
                shifted = w[i, r, 0] + p1[pb, 0]
                total = shifted * shifted * p2[pa, 0] + p3[pc, 0, 0]
                if dims == 2:
                    shifted = w[i, r, 1] + p1[pb, 1]
                    total = total + (shifted * shifted * p2[pa, 1] + p3[pc, 1, 0])
                out[i, r] = total
