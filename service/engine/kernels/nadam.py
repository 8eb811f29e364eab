"""Compiled step kernels (Numba) for NAdam: Keras' `Nadam` and `torch.optim.NAdam`, row by row as `compiled`'s
kernels (same loss encodings, same `OPTIONS`: no FMA contraction, no fast-math), in the order the NumPy optimizer
does each operation (`optimizers.keras.Nadam`, `optimizers.torch.NAdam`). (`optax.nadam` is `kernels.adam`'s
`optax_adam` with Nesterov.)

What NumPy takes from its vectorised power (`0.96^t`, `β2^t`, torch's `0.96^(t·momentum_decay)` and the momentum
schedule built from it, all independent of the weights) arrives in per-update tables from the adapter; the running
product of the momentum schedule, which both libraries keep as state and round at every step, is multiplied here.
Hyperparameters are (P, 1) columns ((0, 1) for none), tables (u, P) or (u, R) per update, state buffers (R, D).
"""

from typing import Any

import numpy as np

from service.engine.kernels.adam import _column
from service.engine.kernels.compiled import OPTIONS, _gradient_row, _row, jit, narrow


@jit(**OPTIONS)
def keras_nadam(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    weak_power: Any,
    cast_power: Any,
    power2: Any,
    beta_1: Any,
    beta_2: Any,
    beta_1_weak: Any,
    epsilon: Any,
    weight_decay: Any,
    u_product: Any,
    m: Any,
    v: Any,
) -> None:
    """Keras `Nadam`: `u_product = (u_product·β1)·(1 − 0.5·0.96^t)` (0.96 and β1 as Python floats: `weak_power`
    (u, 1) is `0.96^t` in the run's dtype); `var = var − (var·wd)·lr` (decoupled decay, when given);
    `u_t = β1·(1 − 0.5·0.96^t)` and `u_{t+1}` (0.96 through float32: `cast_power` (u + 1, 1), rows t and t + 1);
    `m += (g − m)·(1 − β1)`; `v += (g² − v)·(1 − β2)`;
    `m̂ = (u_{t+1}·m)/(1 − u_product·u_{t+1}) + ((1 − u_t)·g)/(1 − u_product)`; `v̂ = v/(1 − β2^t)` (`power2`);
    `var −= (m̂·lr) / (√v̂ + epsilon)`. `u_product` (P, 1) changes in place."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        like = weights[i, 0, 0]
        one, half = narrow(1.0, like), narrow(0.5, like)
        schedule = one - half * weak_power[i, 0]
        for k in range(u_product.shape[0]):
            product = u_product[k, 0] * beta_1_weak[k, 0]
            u_product[k, 0] = product * schedule
        now = one - half * cast_power[i, 0]
        ahead = one - half * cast_power[i + 1, 0]
        for r in range(runs):
            rate = rates[i, r]
            b1, b2 = beta_1[_row(beta_1, r), 0], beta_2[_row(beta_2, r), 0]
            eps = epsilon[_row(epsilon, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else eps
            u_t, u_next = b1 * now, b1 * ahead
            held = u_product[_row(u_product, r), 0]
            held_next = held * u_next
            w1, w2 = one - b1, one - b2
            correction2 = one - power2[i, _column(power2, r)]
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
                estimate = (u_next * first) / (one - held_next)
                estimate = estimate + ((one - u_t) * g) / (one - held)
                denominator = np.sqrt(second / correction2) + eps
                estimate = estimate * rate
                estimate = estimate / denominator
                weights[i + 1, r, d] = var - estimate


@jit(**OPTIONS)
def torch_nadam(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    lr: Any,
    updates: int,
    mu: Any,
    mu_next: Any,
    correction2: Any,
    decay_factor: Any,
    weight1: Any,
    decay2: Any,
    weight2: Any,
    eps: Any,
    l2: Any,
    mu_product: Any,
    exp_avg: Any,
    exp_avg_sq: Any,
) -> None:
    """torch.optim.NAdam (`optimizers.torch.NAdam`) without a cycled β1. Per update row i (tables from the
    adapter): `mu`, `mu_next` (n, P) float64 = β1·(1 − 0.5·0.96^(t·ψ)) at t and t + 1; `correction2` (n, P) =
    1 − β2^t in the run's dtype; `decay_factor` (n, R) = 1 − lr·wd (decoupled; (0, 0) when there is none).
    `mu_product` (R, 1) float32 ·= μ_t; L2 decay `g + wd·p`; the moments as torch.Adam's;
    `den = √(v/(1 − β2^t)) + eps`; `p + (c1·g)/den`, then `+ (c2·m)/den` with `c1 = (−lr·(1 − μ_t))/(1 − Πμ)` and
    `c2 = (−lr·μ_{t+1})/(1 − Πμ·μ_{t+1})`, computed in float64 (Python doubles) and rounded once."""
    n, runs, dims = grads.shape
    decoupled = decay_factor.shape[0] > 0
    decays = l2.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            w1 = weight1[_row(weight1, r), 0]
            near = abs(w1) < 0.5
            w1_wide, far1 = np.float64(w1), np.float64(narrow(1 - w1, w1))  # torch's `1 − weight`, in the dtype
            b2, w2, epsilon = decay2[_row(decay2, r), 0], weight2[_row(weight2, r), 0], eps[_row(eps, r), 0]
            decay = l2[_row(l2, r), 0] if decays else w1
            factor = decay_factor[i, r] if decoupled else w1
            now, ahead = mu[i, _column(mu, r)], mu_next[i, _column(mu_next, r)]
            product = np.float32(mu_product[r, 0] * np.float32(now))
            mu_product[r, 0] = product
            held = np.float64(product)
            negative_rate = -np.float64(lr[i, r])
            like = weights[i, r, 0]
            c1 = narrow((negative_rate * (1.0 - now)) / (1.0 - held), like)
            c2 = narrow((negative_rate * ahead) / (1.0 - held * ahead), like)
            c2_root = correction2[i, _column(correction2, r)]
            for d in range(dims):
                x, g, first = weights[i, r, d], grads[i, r, d], exp_avg[r, d]
                p = x * factor if decoupled else x
                if decays:
                    g = narrow(np.float64(decay) * np.float64(x) + np.float64(g), x)
                diff = g - first
                if near:
                    first = narrow(w1_wide * np.float64(diff) + np.float64(first), x)
                else:
                    first = narrow(np.float64(g) - far1 * np.float64(diff), x)
                exp_avg[r, d] = first
                second = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(exp_avg_sq[r, d] * b2), x)
                exp_avg_sq[r, d] = second
                denominator = np.sqrt(second / c2_root) + epsilon
                p = p + (c1 * g) / denominator
                weights[i + 1, r, d] = p + (c2 * first) / denominator
