"""Compiled step kernels (Numba) for the Adam family of the other libraries: TF1's `AdamOptimizer`, Keras' `Adam` and
`AdamW`, and `optax.adam`/`adamw`/`nadam`, row by row as `compiled`'s kernels (same loss encodings, same `OPTIONS`:
no FMA contraction, no fast-math). Every operation is one IEEE operation in the run's dtype, in the order the NumPy
optimizer does it (`optimizers.tf1.Adam`, `optimizers.keras.Adam`, `optimizers.optax.Adam`).

The bias corrections' powers `beta^t` are NumPy's (its vectorised `np.power`, not glibc's): Keras' and Optax's arrive
in per-update tables computed by the adapter (`adapters.powers`, then the same casts, `1 − ·` and `1 / ·` as the
optimizers); TF1's are float32 products (`beta1_power ·= beta1`), computed here. Hyperparameters are (P, 1)
columns ((0, 1) for none), tables (u, P) per update, state buffers (R, D), changed in place ((0, 0) for none).
"""

from typing import Any

import numpy as np

from service.engine.kernels.compiled import OPTIONS, _gradient_row, _row, jit, narrow


@jit(inline="always", **OPTIONS)
def _column(table: Any, r: int) -> int:
    """The column of run r in a per-update table (u, P): its own, or the shared one."""
    return r if table.shape[1] > 1 else 0


@jit(inline="always", **OPTIONS)
def _larger(top: Any, value: Any) -> Any:
    """`np.maximum(top, value)`: a NaN in either wins (top's first)."""
    if top >= value or top != top:
        return top
    return value


@jit(**OPTIONS)
def tf1_adam(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    beta1: Any,
    beta2: Any,
    one_minus_beta1: Any,
    one_minus_beta2: Any,
    epsilon: Any,
    m: Any,
    v: Any,
    beta1_power: Any,
    beta2_power: Any,
) -> None:
    """`ApplyAdam`: `alpha = lr·√(1 − beta2_power) / (1 − beta1_power)` (the float32 powers cast to the run's
    dtype); `m += (g − m)·(1 − beta1)`; `v += (g² − v)·(1 − beta2)`; `var −= (m·alpha) / (√v + epsilon)`; then
    the float32 powers times beta1 and beta2 (`beta1`, `beta2`, `beta1_power`, `beta2_power`: float32 columns)."""
    n, runs, dims = grads.shape
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            like = weights[i, r, 0]
            one = narrow(1.0, like)
            power1 = narrow(beta1_power[_row(beta1_power, r), 0], like)
            power2 = narrow(beta2_power[_row(beta2_power, r), 0], like)
            alpha = rates[i, r] * np.sqrt(one - power2)
            alpha = alpha / (one - power1)
            w1 = one_minus_beta1[_row(one_minus_beta1, r), 0]
            w2 = one_minus_beta2[_row(one_minus_beta2, r), 0]
            eps = epsilon[_row(epsilon, r), 0]
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                first = m[r, d]
                first = first + (g - first) * w1
                m[r, d] = first
                second = v[r, d]
                second = second + (g * g - second) * w2
                v[r, d] = second
                step = first * alpha
                step = step / (np.sqrt(second) + eps)
                weights[i + 1, r, d] = x - step
        for k in range(beta1_power.shape[0]):
            beta1_power[k, 0] = beta1_power[k, 0] * beta1[k, 0]
        for k in range(beta2_power.shape[0]):
            beta2_power[k, 0] = beta2_power[k, 0] * beta2[k, 0]


@jit(**OPTIONS)
def keras_adam(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    power1: Any,
    power2: Any,
    one_minus_beta_1: Any,
    one_minus_beta_2: Any,
    epsilon: Any,
    weight_decay: Any,
    amsgrad: bool,
    m: Any,
    v: Any,
    v_hat: Any,
) -> None:
    """Keras `Adam`/`AdamW`: `var = var − (var·wd)·lr` (decoupled decay, when given); `alpha = lr·√(1 − β2^t) /
    (1 − β1^t)` (`power1`, `power2`: the tables of `β^t` in the run's dtype); `m += (g − m)·(1 − β1)`;
    `v += (g² − v)·(1 − β2)`; amsgrad: `v̂ = max(v̂, v)` replaces v; `var −= (m·alpha) / (√v + epsilon)`."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            one = narrow(1.0, rate)
            alpha = rate * np.sqrt(one - power2[i, _column(power2, r)])
            alpha = alpha / (one - power1[i, _column(power1, r)])
            w1 = one_minus_beta_1[_row(one_minus_beta_1, r), 0]
            w2 = one_minus_beta_2[_row(one_minus_beta_2, r), 0]
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
                second = v[r, d]
                second = second + (g * g - second) * w2
                v[r, d] = second
                if amsgrad:
                    second = _larger(v_hat[r, d], second)
                    v_hat[r, d] = second
                step = first * alpha
                step = step / (np.sqrt(second) + eps)
                weights[i + 1, r, d] = var - step


@jit(inline="always", **OPTIONS)
def _corrected(moment: Any, correction: Any, reciprocal: Any, divide: bool) -> Any:
    """`optax.tree.bias_correction` as XLA computes it: a division for one-element parameters, else a product with
    the correction's reciprocal."""
    return moment / correction if divide else moment * reciprocal


@jit(**OPTIONS)
def optax_adam(
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
    rate2: Any,
    rest2: Any,
    eps: Any,
    eps_root: Any,
    weight_decay: Any,
    nesterov: bool,
    correction1: Any,
    reciprocal1: Any,
    ahead1: Any,
    ahead_reciprocal1: Any,
    correction2: Any,
    reciprocal2: Any,
    mu: Any,
    nu: Any,
) -> None:
    """`optax.adam`/`adamw`/`nadam` (scale_by_adam): `mu = (1 − b1)·g + b1·mu`; `nu = (1 − b2)·g² + b2·nu`;
    `m̂ = mu/(1 − b1^t)`, or with Nesterov `b1·mu/(1 − b1^(t+1)) + (1 − b1)·g/(1 − b1^t)`;
    `u = m̂ / (√(nu/(1 − b2^t) + eps_root) + eps)`; adamw `u + wd·p`; `p + u·(−lr)`. The tables (u, P) hold
    `1 − b^t` in the run's dtype and its reciprocal (`ahead1`: at t + 1, (0, 0) without Nesterov)."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    divide = dims == 1
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            b1, rest_1 = rate1[_row(rate1, r), 0], rest1[_row(rest1, r), 0]
            b2, rest_2 = rate2[_row(rate2, r), 0], rest2[_row(rest2, r), 0]
            epsilon, root = eps[_row(eps, r), 0], eps_root[_row(eps_root, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else epsilon
            k1, k2 = _column(correction1, r), _column(correction2, r)
            c1, i1 = correction1[i, k1], reciprocal1[i, k1]
            c2, i2 = correction2[i, k2], reciprocal2[i, k2]
            a1 = ahead1[i, _column(ahead1, r)] if nesterov else c1
            ai1 = ahead_reciprocal1[i, _column(ahead_reciprocal1, r)] if nesterov else i1
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                first = rest_1 * g + b1 * mu[r, d]
                mu[r, d] = first
                second = rest_2 * (g * g) + b2 * nu[r, d]
                nu[r, d] = second
                if nesterov:
                    ahead = b1 * _corrected(first, a1, ai1, divide)
                    estimate = ahead + rest_1 * _corrected(g, c1, i1, divide)
                else:
                    estimate = _corrected(first, c1, i1, divide)
                u = estimate / (np.sqrt(_corrected(second, c2, i2, divide) + root) + epsilon)
                if decays:
                    u = u + wd * x
                weights[i + 1, r, d] = x + u * negative_rate
