"""Compiled step kernels (Numba) for the momentum family of the other libraries: TF1's `MomentumOptimizer`, Keras'
`SGD` and `optax.sgd`, row by row as `compiled`'s kernels (same loss encodings, same `OPTIONS`: no FMA contraction,
no fast-math). Every operation is one IEEE operation in the run's dtype, in the order the NumPy optimizer does it
(`optimizers.tf1.Momentum`, `optimizers.keras.SGD`, `optimizers.optax.SGD`); the float32 rate TF1 and Keras apply
arrives already rounded (`rate_via_float32`, in the adapter).

Hyperparameters are (P, 1) columns in the run's dtype ((0, 1) for none); state buffers (R, D) change in place
((0, 0) when the optimizer keeps none).
"""

from typing import Any

from service.engine.kernels.compiled import OPTIONS, _gradient_row, _row, jit


@jit(**OPTIONS)
def tf1_momentum(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    momentum: Any,
    nesterov: bool,
    accum: Any,
) -> None:
    """`ApplyMomentum`: `accum = accum·momentum + g`; `var −= accum·lr`, or with Nesterov
    `var −= g·lr + (accum·momentum)·lr`."""
    n, runs, dims = grads.shape
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            mu, rate = momentum[_row(momentum, r), 0], rates[i, r]
            for d in range(dims):
                g = grads[i, r, d]
                a = accum[r, d] * mu
                a = a + g
                accum[r, d] = a
                if nesterov:
                    step = a * mu
                    step = step * rate
                    step = g * rate + step
                else:
                    step = a * rate
                weights[i + 1, r, d] = weights[i, r, d] - step


@jit(**OPTIONS)
def keras_sgd(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    rates: Any,
    updates: int,
    momentum: Any,
    nesterov: bool,
    weight_decay: Any,
    velocity: Any,
) -> None:
    """Keras `SGD`: `var = var − (var·wd)·lr` (decoupled decay, when given); `m = m·momentum − g·lr`; `var += m`, or
    with Nesterov `var += m·momentum − g·lr`; without momentum (`velocity` (0, 0)) `var −= g·lr`."""
    n, runs, dims = grads.shape
    decays = weight_decay.shape[0] > 0
    moves = velocity.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            rate = rates[i, r]
            mu = momentum[_row(momentum, r), 0] if moves else rate
            wd = weight_decay[_row(weight_decay, r), 0] if decays else rate
            for d in range(dims):
                x, g = weights[i, r, d], grads[i, r, d]
                var = x
                if decays:
                    shrink = x * wd
                    shrink = shrink * rate
                    var = x - shrink
                step = g * rate
                if not moves:
                    weights[i + 1, r, d] = var - step
                    continue
                m = velocity[r, d] * mu
                m = m - step
                velocity[r, d] = m
                if nesterov:
                    increment = m * mu
                    increment = increment - step
                    weights[i + 1, r, d] = var + increment
                else:
                    weights[i + 1, r, d] = var + m


@jit(**OPTIONS)
def optax_sgd(
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    weights: Any,
    grads: Any,
    negative_lr: Any,
    updates: int,
    momentum: Any,
    nesterov: bool,
    trace: Any,
) -> None:
    """`optax.sgd`: `trace = g + momentum·trace`; `u = trace`, or with Nesterov `g + momentum·trace`; `p + u·(−lr)`;
    without momentum (`momentum` (0, 1)) `u = g`."""
    n, runs, dims = grads.shape
    moves = momentum.shape[0] > 0
    for i in range(n):
        _gradient_row(kind, p1, p2, p3, weights, i, grads)
        if i >= updates:
            continue
        for r in range(runs):
            negative_rate = negative_lr[i, r]
            mu = momentum[_row(momentum, r), 0] if moves else negative_rate
            for d in range(dims):
                x, u = weights[i, r, d], grads[i, r, d]
                if moves:
                    t = mu * trace[r, d]
                    t = u + t
                    trace[r, d] = t
                    if nesterov:
                        ahead = mu * t
                        u = u + ahead
                    else:
                        u = t
                weights[i + 1, r, d] = x + u * negative_rate
