"""Compiled step kernels (Numba) for Adagrad and RMSprop (TF1's `AdagradOptimizer` and `RMSPropOptimizer`, Keras'
`Adagrad` and `RMSprop`, `torch.optim.Adagrad`, `optax.adagrad` and `optax.rmsprop`) and Adadelta of TF1, torch and
Optax (`adapters` says why `keras.Adadelta` and `torch.RMSprop` stay on NumPy), row by row as `compiled`'s kernels
(same loss encodings, same `OPTIONS`: no FMA contraction, no fast-math). Every operation is the IEEE operation the
NumPy optimizer does, in its order and its dtype: the run's, or float64 where torch's fused ops (`add(alpha=)`,
`addcmul`) and Optax's `rsqrt` compute wide and round once. Optax's bias corrections arrive in per-update tables
(`1 − decay^t` and its reciprocal, from the adapter). Hyperparameters are (P, 1) columns ((0, 1) for none), state
buffers (R, D), changed in place ((0, 0) for none).
"""

from typing import Any

import numpy as np

from service.engine.kernels.adam import _column
from service.engine.kernels.compiled import OPTIONS, _gradient_row, _row, jit, narrow, negative


@jit(**OPTIONS)
def tf1_adagrad(
    kind: int, p1: Any, p2: Any, p3: Any, weights: Any, grads: Any, rates: Any, updates: int, accum: Any
) -> None:
    """`ApplyAdagrad`: `accum += g²`; `var −= (g·lr)·(1/√accum)`."""
    n, runs, dims = grads.shape
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            one = narrow(1.0, rate)
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                total = accum[r, d] + g * g
                accum[r, d] = total
                step = g * rate
                step = step * (one / np.sqrt(total))
                weights[i + 1, r, d] = x - step


@jit(**OPTIONS)
def tf1_rmsprop(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    one_minus_decay: Any,
    momentum: Any,
    epsilon: Any,
    ms: Any,
    mom: Any,
    mg: Any,
) -> None:
    """`ApplyRMSProp` / `ApplyCenteredRMSProp` (`mg` (0, 0) when not centered): `ms += (g² − ms)·(1 − rho)`;
    centered `mg += (g − mg)·(1 − rho)`; `mom = mom·momentum + (g·lr) / √(ms [− mg²] + eps)`; `var −= mom`."""
    n, runs, dims = grads.shape
    centered = mg.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            rest, mu = one_minus_decay[_row(one_minus_decay, r), 0], momentum[_row(momentum, r), 0]
            eps = epsilon[_row(epsilon, r), 0]
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                square = ms[r, d]
                square = square + (g * g - square) * rest
                ms[r, d] = square
                if centered:
                    mean = mg[r, d]
                    mean = mean + (g - mean) * rest
                    mg[r, d] = mean
                    denominator = (square - mean * mean) + eps
                else:
                    denominator = square + eps
                step = (g * rate) / np.sqrt(denominator)
                buffer = mom[r, d] * mu + step
                mom[r, d] = buffer
                weights[i + 1, r, d] = x - buffer


@jit(**OPTIONS)
def keras_adagrad(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    epsilon: Any,
    weight_decay: Any,
    accumulator: Any,
) -> None:
    """Keras `Adagrad`: `var = var − (var·wd)·lr` (when given); `acc += g²`; `var −= (lr·g) / √(acc + eps)`."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate, eps = rates[i, r], epsilon[_row(epsilon, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else eps
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                var = x
                if decays:
                    shrink = x * wd
                    var = x - shrink * rate
                total = accumulator[r, d] + g * g
                accumulator[r, d] = total
                step = rate * g
                weights[i + 1, r, d] = var - step / np.sqrt(total + eps)


@jit(**OPTIONS)
def keras_rmsprop(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    rho: Any,
    one_minus_rho: Any,
    momentum: Any,
    epsilon: Any,
    weight_decay: Any,
    velocity: Any,
    buffer: Any,
    average: Any,
) -> None:
    """Keras `RMSprop` (`buffer` (0, 0) without momentum, `average` (0, 0) when not centered): decay as Adagrad;
    `v = rho·v + (1 − rho)·g²`; centered `ag = rho·ag + (1 − rho)·g`; `inc = (lr·g) / √(v [− ag²] + eps)`; with
    momentum `mom = momentum·mom + inc`, `var −= mom`, else `var −= inc`."""
    n, runs, dims = grads.shape
    decays, moves, centered = weight_decay.shape[0] > 0, buffer.shape[0] > 0, average.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate, eps = rates[i, r], epsilon[_row(epsilon, r), 0]
            keep, rest = rho[_row(rho, r), 0], one_minus_rho[_row(one_minus_rho, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else eps
            mu = momentum[_row(momentum, r), 0] if moves else eps
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                var = x
                if decays:
                    shrink = x * wd
                    var = x - shrink * rate
                v = keep * velocity[r, d]
                v = v + rest * (g * g)
                velocity[r, d] = v
                if centered:
                    mean = keep * average[r, d]
                    mean = mean + rest * g
                    average[r, d] = mean
                    denominator = (v - mean * mean) + eps
                else:
                    denominator = v + eps
                increment = (rate * g) / np.sqrt(denominator)
                if moves:
                    increment = mu * buffer[r, d] + increment
                    buffer[r, d] = increment
                weights[i + 1, r, d] = var - increment


@jit(**OPTIONS)
def torch_adagrad(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    lr: Any,
    updates: int,
    lr_decay: Any,
    weight_decay: Any,
    eps: Any,
    step: Any,
    total: Any,
) -> None:
    """torch.optim.Adagrad: `step += 1` (float32); `g = g + wd·p` (one rounding); `clr = lr/(1 + (t−1)·lr_decay)`
    in float64; `sum = g·g + sum` (one rounding); `p + (−clr·g)/(√sum + eps)` (`clr` rounded to the run's dtype,
    then every operation rounded). `lr_decay` is a float64 column."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        step[0] = step[0] + np.float32(1.0)
        t = np.float64(step[0])
        for r in range(runs):
            epsilon = eps[_row(eps, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else epsilon
            clr = np.float64(lr[i, r]) / (1.0 + (t - 1.0) * lr_decay[_row(lr_decay, r), 0])
            value = negative(narrow(clr, epsilon))
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                if decays:
                    g = narrow(np.float64(wd) * np.float64(x) + np.float64(g), x)
                s = narrow(np.float64(g) * np.float64(g) + np.float64(total[r, d]), x)
                total[r, d] = s
                weights[i + 1, r, d] = x + (value * g) / (np.sqrt(s) + epsilon)


@jit(**OPTIONS)
def torch_rmsprop(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    alpha: Any,
    rest: Any,
    eps: Any,
    weight_decay: Any,
    momentum: Any,
    step: Any,
    square_avg: Any,
    momentum_buffer: Any,
) -> None:
    """torch.optim.RMSprop, not centered: `step += 1` (float32); `g = g + wd·p` (one rounding);
    `sq = addcmul(sq·α, (1−α)·g, g)` (one rounding); `avg = √sq + eps`; momentum > 0: `buf = buf·μ + g/avg`,
    `p = p.add(buf, alpha=−lr)` (one rounding); else `p + (−lr·g)/avg`. `negative_lr` is −lr from NumPy (a
    negation written here could be moved by LLVM, flipping a NaN's sign)."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        step[0] = step[0] + np.float32(1.0)
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            a, weight, epsilon = alpha[_row(alpha, r), 0], rest[_row(rest, r), 0], eps[_row(eps, r), 0]
            mu = momentum[_row(momentum, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else epsilon
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                if decays:
                    g = narrow(np.float64(wd) * np.float64(x) + np.float64(g), x)
                sq = narrow(np.float64(weight * g) * np.float64(g) + np.float64(square_avg[r, d] * a), x)
                square_avg[r, d] = sq
                avg = np.sqrt(sq) + epsilon
                if mu > 0:
                    buf = momentum_buffer[r, d] * mu + g / avg
                    momentum_buffer[r, d] = buf
                    weights[i + 1, r, d] = narrow(np.float64(negative_rate) * np.float64(buf) + np.float64(x), x)
                else:
                    weights[i + 1, r, d] = x + (negative_rate * g) / avg


@jit(inline="always", **OPTIONS)
def _rsqrt(x: Any) -> Any:
    """`jax.lax.rsqrt` as the engine computes it: 1/√x in float64, rounded once to x's dtype."""
    return narrow(1.0 / np.sqrt(np.float64(x)), x)


@jit(**OPTIONS)
def optax_adagrad(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    eps: Any,
    sum_of_squares: Any,
) -> None:
    """`optax.adagrad`: `sum = g·g + sum`; `u = rsqrt(sum + eps)·g` where the sum is positive (+0 elsewhere);
    `p + u·(−lr)`."""
    n, runs, dims = grads.shape
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate, epsilon = negative_lr[i, r], eps[_row(eps, r), 0]
            zero = narrow(0.0, epsilon)
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                total = g * g + sum_of_squares[r, d]
                sum_of_squares[r, d] = total
                scaling = _rsqrt(total + epsilon) if total > 0 else zero
                weights[i + 1, r, d] = x + (scaling * g) * negative_rate


@jit(**OPTIONS)
def optax_rmsprop(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    rate: Any,
    rest: Any,
    eps: Any,
    eps_in_sqrt: bool,
    centered: bool,
    momentum: Any,
    nesterov: bool,
    bias_correction: bool,
    correction: Any,
    reciprocal: Any,
    mu: Any,
    nu: Any,
    trace: Any,
) -> None:
    """`optax.rmsprop`: centered `mu = (1 − decay)·g + decay·mu`; `nu = (1 − decay)·g² + decay·nu`; bias-corrected
    (the tables `1 − decay^t` and their reciprocals: a division for one-element parameters, else a product);
    centered `nu − mu²`; `scale = rsqrt(nu + eps)` or `1/(√nu + eps)`; `u = (scale·g)·(−lr)`; with a momentum
    (`momentum` (0, 1) without) `trace = u + momentum·trace`, `u = trace` or (Nesterov) `u + momentum·trace`;
    `p + u`."""
    n, runs, dims = grads.shape
    moves = momentum.shape[0] > 0
    divide = dims == 1
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            decay, keep, epsilon = rate[_row(rate, r), 0], rest[_row(rest, r), 0], eps[_row(eps, r), 0]
            m = momentum[_row(momentum, r), 0] if moves else epsilon
            one = narrow(1.0, epsilon)
            c = correction[i, _column(correction, r)] if bias_correction else epsilon
            k = reciprocal[i, _column(reciprocal, r)] if bias_correction else epsilon
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                mean = mu[r, d]
                if centered:
                    mean = keep * g + decay * mean
                    mu[r, d] = mean
                square = keep * (g * g) + decay * nu[r, d]
                nu[r, d] = square
                if bias_correction:
                    mean = mean / c if divide else mean * k
                    square = square / c if divide else square * k
                if centered:
                    square = square - mean * mean
                scaling = _rsqrt(square + epsilon) if eps_in_sqrt else one / (np.sqrt(square) + epsilon)
                u = (scaling * g) * negative_rate
                if moves:
                    t = u + m * trace[r, d]
                    trace[r, d] = t
                    u = u + m * t if nesterov else t
                weights[i + 1, r, d] = x + u


@jit(**OPTIONS)
def tf1_adadelta(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    rho: Any,
    one_minus_rho: Any,
    epsilon: Any,
    accum: Any,
    accum_update: Any,
) -> None:
    """`ApplyAdadelta`: `accum = accum·rho + g²·(1 − rho)`; `update = √(accum_update + eps)·(1/√(accum + eps))·g`;
    `var −= update·lr`; `accum_update = accum_update·rho + update²·(1 − rho)`."""
    n, runs, dims = grads.shape
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            keep, rest = rho[_row(rho, r), 0], one_minus_rho[_row(one_minus_rho, r), 0]
            eps = epsilon[_row(epsilon, r), 0]
            one = narrow(1.0, eps)
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                total = accum[r, d] * keep
                total = total + (g * g) * rest
                accum[r, d] = total
                update = np.sqrt(accum_update[r, d] + eps)
                update = update * (one / np.sqrt(total + eps))
                update = update * g
                weights[i + 1, r, d] = x - update * rate
                held = accum_update[r, d] * keep
                accum_update[r, d] = held + (update * update) * rest


@jit(**OPTIONS)
def torch_adadelta(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    rho: Any,
    rest: Any,
    eps: Any,
    weight_decay: Any,
    step: Any,
    square_avg: Any,
    acc_delta: Any,
) -> None:
    """torch.optim.Adadelta: `step += 1`; `g = g + wd·p`; `sq = addcmul(sq·ρ, (1−ρ)·g, g)`;
    `δ = (√(acc + eps)/√(sq + eps))·g`; `acc = addcmul(acc·ρ, (1−ρ)·δ, δ)`; `p = p.add(δ, alpha=−lr)`."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        step[0] = step[0] + np.float32(1.0)
        for r in range(runs):
            negative_rate = np.float64(negative_lr[i, r])
            keep, weight, epsilon = rho[_row(rho, r), 0], rest[_row(rest, r), 0], eps[_row(eps, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else epsilon
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                if decays:
                    g = narrow(np.float64(wd) * np.float64(x) + np.float64(g), x)
                sq = narrow(np.float64(weight * g) * np.float64(g) + np.float64(square_avg[r, d] * keep), x)
                square_avg[r, d] = sq
                acc = acc_delta[r, d]
                delta = (np.sqrt(acc + epsilon) / np.sqrt(sq + epsilon)) * g
                acc_delta[r, d] = narrow(np.float64(weight * delta) * np.float64(delta) + np.float64(acc * keep), x)
                weights[i + 1, r, d] = narrow(negative_rate * np.float64(delta) + np.float64(x), x)


@jit(**OPTIONS)
def optax_adadelta(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    rate: Any,
    rest: Any,
    eps: Any,
    weight_decay: Any,
    e_g: Any,
    e_x: Any,
) -> None:
    """`optax.adadelta`: `g = g + wd·p` (when given); `e_g = (1 − rho)·g² + rho·e_g`;
    `u = (√(e_x + eps)/√(e_g + eps))·g`; `e_x = (1 − rho)·u² + rho·e_x`; `p + u·(−lr)`."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            keep, fresh, epsilon = rate[_row(rate, r), 0], rest[_row(rest, r), 0], eps[_row(eps, r), 0]
            wd = weight_decay[_row(weight_decay, r), 0] if decays else epsilon
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                if decays:
                    g = g + wd * x
                square = fresh * (g * g) + keep * e_g[r, d]
                e_g[r, d] = square
                held = e_x[r, d]
                u = (np.sqrt(held + epsilon) / np.sqrt(square + epsilon)) * g
                e_x[r, d] = fresh * (u * u) + keep * held
                weights[i + 1, r, d] = x + u * negative_rate
