"""Compiled step kernels (Numba) for Adamax: Keras' `Adamax`, `optax.adamax` and `torch.optim.Adamax`, row by row
as `compiled`'s kernels (same loss encodings, same `OPTIONS`: no FMA contraction, no fast-math). Every operation is
one IEEE operation in the run's dtype (torch's fused lerp in float64, rounded once), in the order the NumPy
optimizer does it (`optimizers.keras.Adamax`, `optimizers.optax.Adamax`, `optimizers.torch.Adamax`).

The bias corrections' powers `β1^t` are NumPy's and arrive in per-update tables computed by the adapter
(`adapters.powers`, then the same casts and `1 − ·` as the optimizers). Hyperparameters are (P, 1) columns ((0, 1)
for none), tables (u, P) or (u, R) per update, state buffers (R, D), changed in place.
"""

from typing import Any

import numpy as np

from service.engine.kernels.adam import _column, _corrected, _larger
from service.engine.kernels.compiled import OPTIONS, _gradient_row, _row, jit, narrow


@jit(**OPTIONS)
def keras_adamax(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    power1: Any,
    one_minus_beta_1: Any,
    beta_2: Any,
    epsilon: Any,
    weight_decay: Any,
    m: Any,
    u: Any,
) -> None:
    """Keras `Adamax`: `var = var − (var·wd)·lr` (decoupled decay, when given); `m += (g − m)·(1 − β1)`;
    `u = max(β2·u, |g|)`; `var −= (lr·m) / ((1 − β1^t)·(u + epsilon))` (`power1`: the table of `β1^t` in the
    run's dtype)."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            correction = narrow(1.0, rate) - power1[i, _column(power1, r)]
            w1 = one_minus_beta_1[_row(one_minus_beta_1, r), 0]
            b2 = beta_2[_row(beta_2, r), 0]
            eps = epsilon[_row(epsilon, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else eps
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                var = x
                if decays:
                    shrink = x * wd
                    shrink = shrink * rate
                    var = x - shrink
                first = m[r, d]
                first = first + (g - first) * w1
                m[r, d] = first
                norm = _larger(b2 * u[r, d], abs(g))
                u[r, d] = norm
                denominator = correction * (norm + eps)
                step = rate * first
                step = step / denominator
                weights[i + 1, r, d] = var - step


@jit(**OPTIONS)
def optax_adamax(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    rate1: Any,
    rest1: Any,
    b2: Any,
    eps: Any,
    correction1: Any,
    reciprocal1: Any,
    mu: Any,
    nu: Any,
) -> None:
    """`optax.adamax` (scale_by_adamax): `mu = (1 − b1)·g + b1·mu`; `nu = max(|g| + eps, b2·nu)`;
    `u = (mu/(1 − b1^t)) / nu` (the correction as XLA computes it: `adam._corrected`); `p + u·(−lr)`. The tables
    (u, P) hold `1 − b1^t` in the run's dtype and its reciprocal."""
    n, runs, dims = grads.shape
    divide = dims == 1
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            b1, rest_1 = rate1[_row(rate1, r), 0], rest1[_row(rest1, r), 0]
            decay, epsilon = b2[_row(b2, r), 0], eps[_row(eps, r), 0]
            k1 = _column(correction1, r)
            c1, i1 = correction1[i, k1], reciprocal1[i, k1]
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                first = rest_1 * g + b1 * mu[r, d]
                mu[r, d] = first
                norm = _larger(abs(g) + epsilon, decay * nu[r, d])
                nu[r, d] = norm
                update = _corrected(first, c1, i1, divide) / norm
                weights[i + 1, r, d] = x + update * negative_rate


@jit(**OPTIONS)
def torch_adamax(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    updates: int,
    negative_step: Any,
    weight1: Any,
    decay2: Any,
    eps: Any,
    l2: Any,
    exp_avg: Any,
    exp_inf: Any,
) -> None:
    """torch.optim.Adamax (`optimizers.torch.Adamax`) without a cycled β1: L2 decay `g + wd·p` (one rounding);
    `exp_avg.lerp_(g, 1 − β1)` (lerp's near branch for |1 − β1| < 0.5, else its far branch; each rounded once);
    `exp_inf = max(exp_inf·β2, |g| + eps)`; `p + (−clr·exp_avg) / exp_inf` with `negative_step` (n, R) =
    −(lr/(1 − β1^t)) in the run's dtype. Columns (P, 1): `weight1` = 1 − β1, `decay2` = β2, `eps`, `l2` ((0, 1)
    when none)."""
    n, runs, dims = grads.shape
    decays = l2.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            w1 = weight1[_row(weight1, r), 0]
            near = abs(w1) < 0.5
            w1_wide, far1 = np.float64(w1), np.float64(narrow(1 - w1, w1))  # torch's `1 − weight`, in the dtype
            b2, epsilon = decay2[_row(decay2, r), 0], eps[_row(eps, r), 0]
            decay = l2[_row(l2, r), 0] if decays else w1
            value = negative_step[i, r]
            for d in range(dims):
                x, g, first = weights[i, r, d], grads[i, r, d], exp_avg[r, d]
                if decays:
                    g = narrow(np.float64(decay) * np.float64(x) + np.float64(g), x)
                diff = g - first
                if near:
                    first = narrow(w1_wide * np.float64(diff) + np.float64(first), x)
                else:
                    first = narrow(np.float64(g) - far1 * np.float64(diff), x)
                exp_avg[r, d] = first
                norm = _larger(exp_inf[r, d] * b2, abs(g) + epsilon)
                exp_inf[r, d] = norm
                weights[i + 1, r, d] = x + (value * first) / norm
