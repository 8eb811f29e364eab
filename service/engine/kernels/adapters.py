"""From a problem's loss and optimizer to a compiled chunk runner, and the NumPy tables the kernels read.

A runner is `run(weights, grads, lr, updates, state) -> state`, the loop's fast branch for one chunk: the same
contract as the NumPy step loop (rows 0..n-1 of `grads`, rows 1..updates of `weights`, the state changed in place).
What the kernels cannot compute bit for bit themselves (powers, which NumPy takes from its own vectorised
library) is computed here per chunk, vectorised, with the same NumPy calls the optimizers make per step.

Which pairs run compiled: every loss kind whose gradient is a handful of IEEE operations (quadratic, polynomial,
quadratic_form up to 2 dimensions: NumPy's einsum sums 3 or more products in SIMD lanes, in an order this module
does not reproduce), with plain gradient descent (`sgd`, `tf1.GradientDescentOptimizer`), `torch.SGD`,
`torch.Adam`, `torch.AdamW`, the momentum family of the other libraries (`tf1.MomentumOptimizer`, `keras.SGD`,
`optax.sgd`: `kernels.momentum`) and their Adam family (`tf1.AdamOptimizer`, `keras.Adam`, `keras.AdamW`,
`optax.adam`, `optax.adamw`, `optax.nadam`: `kernels.adam`), Adamax of every library (`keras.Adamax`,
`optax.adamax`, `torch.Adamax`: `kernels.adamax`), `keras.Nadam` and `torch.NAdam` (`kernels.nadam`; their
momentum schedules' powers, torch's `0.96^(t·momentum_decay)` included, come from NumPy in per-chunk tables, the
running product is multiplied in the kernel), Adagrad and RMSprop of every library (`torch.RMSprop` when not
centered), and the Adadelta of TF1, torch and Optax (`kernels.adaptive`).

Two stay on the NumPy path, because NumPy itself decides the sign bit of their NaNs by where an element sits in
its array: `keras.Adadelta` and the centered `torch.RMSprop`. Both negate a value that may be NaN (Keras'
`delta = −(√(ad + eps)·g / √(ag + eps))`, 0/0 with eps 0 and a zero gradient; torch's `addcmul(sq, −ga, ga)`), and
NumPy's `negative` flips a NaN's sign, so a NaN of each sign exists; they then meet in a commutative operation
(`ρ·ad + (1 − ρ)·delta²` one step later; `(−ga)·ga`). x86 returns the first operand's NaN, and which operand is
first depends in NumPy on its loop: measured on this AVX-512 machine, a float64 `np.add` or `np.multiply` of two
NaN arrays of 9 elements returns the first one's NaN in elements 0-7 and the second one's in element 8 (15
elements: 0-7 and 8-14; float32: 16-lane blocks), and a broadcast scalar operand switches sides past 8 elements.
A kernel would have to model NumPy's loops per array shape and per CPU to give the same bits. Every other kernel
only ever meets NaNs of one sign (x86's default NaN, negative; no negation of a value that can be NaN: `−lr` comes
negated by NumPy, `negated`); a property test holds `torch.RMSprop`'s NaNs to NumPy's over 400 runs with eps 0
and zero gradients.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from service.engine.arrays import Array
from service.engine.kernels import adam as adam_kernels
from service.engine.kernels import adamax as adamax_kernels
from service.engine.kernels import adaptive as adaptive_kernels
from service.engine.kernels import compiled, writable
from service.engine.kernels import momentum as momentum_kernels
from service.engine.kernels import nadam as nadam_kernels
from service.engine.losses import Loss, Polynomial, Quadratic, QuadraticForm
from service.engine.optimizers import GradientDescent, Optimizer
from service.engine.optimizers import keras as keras_optimizers
from service.engine.optimizers import optax as optax_optimizers
from service.engine.optimizers import tf1 as tf1_optimizers
from service.engine.optimizers import torch as torch_optimizers
from service.engine.optimizers.base import F32, F64, rate_via_float32

Runner = Callable[[Array, Array, Array, int, Any], Any]
Encoded = tuple[int, Array, Array, Array]

FAST_POWERS = (-1.0, 0.0, 0.5, 1.0, 2.0)
"""Exponents for which `array ** float` may take NumPy's scalar shortcut (reciprocal, ones, sqrt, copy, square)."""
LAST_STEP = float(2**24)
"""torch's float32 `step` tensor stops counting here (2²⁴ + 1 rounds back to 2²⁴)."""


def encode(loss: Loss, dtype: np.dtype[np.floating]) -> Encoded | None:
    """The loss as the kernels' (kind, p1, p2, p3), or None when it stays on the NumPy path."""
    none2, none3 = np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype)
    if isinstance(loss, Quadratic):
        return compiled.QUADRATIC, writable(loss.b), writable(loss.twice_a), none3
    if isinstance(loss, Polynomial):
        return compiled.POLYNOMIAL, writable(loss.derivative), none2, none3
    if isinstance(loss, QuadraticForm) and loss.dims <= 2:
        return compiled.QUADRATIC_FORM, writable(loss.b), none2, writable(loss.s)
    return None


def runner(loss: Loss, optimizer: Optimizer, dtype: np.dtype[np.floating]) -> Runner | None:
    """The compiled runner for this loss and optimizer, or None when either stays on the NumPy path."""
    encoded = encode(loss, dtype)
    if encoded is None:
        return None
    build = _RUNNERS.get(type(optimizer))  # the optimizer classes subclass none of each other
    return None if build is None else build(encoded, optimizer, dtype)


def values(loss: Loss, dtype: np.dtype[np.floating]) -> Callable[[Array], Array] | None:
    """`loss.value` by `compiled.loss_values` for a quadratic of 1 or 2 dimensions or a polynomial (one pass
    instead of NumPy's four or five), or None (the loop calls `loss.value`)."""
    if isinstance(loss, Quadratic) and loss.dims <= 2:
        encoded = (compiled.QUADRATIC, writable(loss.b), writable(loss.a), writable(loss.c[:, :, None]))
    elif isinstance(loss, Polynomial):
        encoded = (
            compiled.POLYNOMIAL,
            writable(loss.coefficients),
            np.zeros((0, 0), dtype),
            np.zeros((0, 0, 0), dtype),
        )
    else:
        return None

    def value(w: Array) -> Array:
        out = np.empty(w.shape[:2], dtype)
        compiled.loss_values(*encoded, w, out)
        return out

    return value


def _gradient_descent(encoded: Encoded, optimizer: GradientDescent, _dtype: np.dtype[np.floating]) -> Runner:
    def run(weights: Array, grads: Array, lr: Array, updates: int, state: Any) -> Any:
        rates = rate_via_float32(lr) if optimizer.tensorflow else lr
        compiled.gradient_descent(*encoded, weights, grads, writable(rates), updates)
        return state

    return run


def _column(value: Array | None, dtype: np.dtype[np.floating]) -> Array:
    """A (P, 1) hyperparameter column, or an empty (0, 1) one for 'none'."""
    return np.zeros((0, 1), dtype) if value is None else writable(value.astype(dtype, copy=False))


def _torch_sgd(encoded: Encoded, optimizer: torch_optimizers.SGD, dtype: np.dtype[np.floating]) -> Runner:
    momentum, keep = _column(optimizer.momentum, dtype), _column(optimizer.keep, dtype)
    weight_decay = _column(optimizer.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.SGDState) -> Any:
        compiled.torch_sgd(
            *encoded,
            weights,
            grads,
            writable(lr),
            updates,
            momentum,
            keep,
            weight_decay,
            optimizer.nesterov,
            state.momentum_buffer,
            state.started,
        )
        return state

    return run


def _tf1_momentum(encoded: Encoded, optimizer: tf1_optimizers.Momentum, dtype: np.dtype[np.floating]) -> Runner:
    mu = _column(optimizer.momentum, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: tf1_optimizers.MomentumState) -> Any:
        rates = writable(rate_via_float32(lr))
        momentum_kernels.tf1_momentum(
            *encoded, weights, grads, rates, updates, mu, optimizer.use_nesterov, state.momentum
        )
        return state

    return run


def _keras_sgd(encoded: Encoded, optimizer: keras_optimizers.SGD, dtype: np.dtype[np.floating]) -> Runner:
    mu, weight_decay = _column(optimizer.momentum, dtype), _column(optimizer.decay.weight_decay, dtype)
    none = np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: Any) -> Any:
        velocity = state.momentum if isinstance(state, keras_optimizers.SGDState) else none
        rates = writable(rate_via_float32(lr))
        momentum_kernels.keras_sgd(
            *encoded, weights, grads, rates, updates, mu, optimizer.nesterov, weight_decay, velocity
        )
        return state

    return run


def _optax_sgd(encoded: Encoded, optimizer: optax_optimizers.SGD, dtype: np.dtype[np.floating]) -> Runner:
    mu = _column(optimizer.momentum, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.TraceState) -> Any:
        momentum_kernels.optax_sgd(*encoded, weights, grads, negated(lr), updates, mu, optimizer.nesterov, state.trace)
        return state

    return run


def negated(lr: Array) -> Array:
    """`−lr` by NumPy, for the kernels that add `u·(−lr)`: in a kernel, LLVM may move a negation into the product
    or sum next to it, which changes the sign bit of a NaN there (NumPy's `negative` flips it)."""
    return np.negative(lr)


def powers(base: Array, exponents: Array) -> Array:
    """`base ** t` for every t of `exponents` (u,), as (u, P) from a (P, 1) float64 column: bit for bit what
    `base ** float(t)` gives step by step (one vectorised `np.power`; the exponents for which NumPy takes a
    scalar shortcut are computed the step-by-step way)."""
    table = np.power(base[:, 0][None, :], exponents[:, None])
    for k in np.flatnonzero(np.isin(exponents, FAST_POWERS)):
        table[k] = (base ** float(exponents[k]))[:, 0]
    return np.asarray(table)


def torch_steps(step: Array, updates: int) -> Array:
    """The step counts t of the next `updates` updates (u,) as float64: torch's float32 counter, from `step` (1,)."""
    return np.minimum(float(step[0]) + np.arange(1, updates + 1, dtype=F64), LAST_STEP)


def decay_factors(weight_decay: Array, rate: Array, dtype: np.dtype[np.floating]) -> Array:
    """torch's decoupled decay factor `1 − lr·wd` per update (u, R) in the run's dtype from the float64 rates
    (u, R), or (0, 0) when the decay is 0 everywhere (torch then skips it)."""
    if not weight_decay.any():
        return np.zeros((0, 0), dtype)
    return writable((1 - rate * weight_decay[:, 0][None, :]).astype(dtype))


def adam_tables(
    optimizer: torch_optimizers.Adam, state: torch_optimizers.AdamState, lr: Array, dtype: np.dtype[np.floating]
) -> tuple[Array, Array, Array, Array]:
    """The per-update tables `compiled.torch_adam` reads for the next `u` updates at the rates `lr` (u, Q):
    −lr/(1 − β1^t) and √(1 − β2^t) in the run's dtype, the decoupled decay factor 1 − lr·wd ((0, 0) for none),
    and the step counts t (torch's float32 counter)."""
    moments = optimizer.moments
    steps = torch_steps(state.step, lr.shape[0])
    rate = lr.astype(F64)  # the Python double torch would hold
    step_size = rate / (1 - powers(moments.beta1, steps))
    negative_step = writable(np.negative(step_size).astype(dtype))
    correction2_sqrt = writable(((1 - powers(moments.beta2, steps)) ** 0.5).astype(dtype))
    decoupled = optimizer.decoupled_weight_decay
    decay_factor = decay_factors(optimizer.weight_decay, rate, dtype) if decoupled else np.zeros((0, 0), dtype)
    return negative_step, correction2_sqrt, decay_factor, steps


def adam_columns(optimizer: torch_optimizers.Adam, dtype: np.dtype[np.floating]) -> tuple[Array, ...]:
    """The (P, 1) hyperparameter columns of `compiled.torch_adam`: 1 − β1, β2, 1 − β2, eps, and the L2 decay
    ((0, 1) for none)."""
    moments = optimizer.moments
    return tuple(
        _column(value, dtype) for value in (moments.weight1, moments.decay2, moments.weight2, moments.eps, optimizer.l2)
    )


def _torch_adam(encoded: Encoded, optimizer: torch_optimizers.Adam, dtype: np.dtype[np.floating]) -> Runner:
    weight1, decay2, weight2, eps, l2 = adam_columns(optimizer, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.AdamState) -> Any:
        negative_step, correction2_sqrt, decay_factor, steps = adam_tables(optimizer, state, lr[:updates], dtype)
        compiled.torch_adam(
            *encoded,
            weights,
            grads,
            updates,
            negative_step,
            correction2_sqrt,
            decay_factor,
            weight1,
            decay2,
            weight2,
            eps,
            l2,
            optimizer.amsgrad,
            state.exp_avg,
            state.exp_avg_sq,
            state.max_exp_avg_sq,
        )
        if updates:
            state.step[0] = np.float32(steps[-1])
        return state

    return run


def _tf1_adam(encoded: Encoded, optimizer: tf1_optimizers.Adam, dtype: np.dtype[np.floating]) -> Runner:
    beta1, beta2 = _column(optimizer.beta1, F32), _column(optimizer.beta2, F32)
    weight1, weight2 = _column(optimizer.one_minus_beta1, dtype), _column(optimizer.one_minus_beta2, dtype)
    epsilon = _column(optimizer.epsilon, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: tf1_optimizers.AdamState) -> Any:
        rates = writable(rate_via_float32(lr))
        adam_kernels.tf1_adam(*encoded, weights, grads, rates, updates, beta1, beta2, weight1, weight2, epsilon,
                              state.m, state.v, state.beta1_power, state.beta2_power)  # fmt: skip
        return state

    return run


def _keras_adam(encoded: Encoded, optimizer: keras_optimizers.Adam, dtype: np.dtype[np.floating]) -> Runner:
    bases = optimizer.beta_1.astype(F64), optimizer.beta_2.astype(F64)
    weight1, weight2 = _column(optimizer.one_minus_beta_1, dtype), _column(optimizer.one_minus_beta_2, dtype)
    epsilon, weight_decay = _column(optimizer.epsilon, dtype), _column(optimizer.decay.weight_decay, dtype)
    none = np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: keras_optimizers.AdamState) -> Any:
        first = int(state.iterations)
        steps = first + np.arange(1, updates + 1, dtype=F64)  # Keras' `iterations + 1`
        power1, power2 = (writable(powers(base, steps).astype(dtype)) for base in bases)  # `_power`, per update
        rates = writable(rate_via_float32(lr))
        v_hat = none if state.velocity_hat is None else state.velocity_hat
        adam_kernels.keras_adam(*encoded, weights, grads, rates, updates, power1, power2, weight1, weight2, epsilon,
                                weight_decay, optimizer.amsgrad, state.momentum, state.velocity, v_hat)  # fmt: skip
        state.iterations[...] = first + updates
        return state

    return run


def corrections(decay: optax_optimizers.Decay, counts: Array, dtype: np.dtype[np.floating]) -> tuple[Array, Array]:
    """`1 − decay^count` per update (u, P) in the run's dtype, as `optax.Decay.correct` rounds it, and its
    reciprocal `1 / (1 − decay^count)`."""
    correction = 1 - powers(decay.base, counts).astype(dtype)
    return writable(correction), writable(1 / correction)


def _optax_adam(encoded: Encoded, optimizer: optax_optimizers.Adam, dtype: np.dtype[np.floating]) -> Runner:
    b1, b2 = optimizer.b1, optimizer.b2
    rate1, rest1, rate2, rest2 = (_column(value, dtype) for value in (b1.rate, b1.rest, b2.rate, b2.rest))
    eps = _column(optimizer.eps, dtype)
    eps_root, weight_decay = _column(optimizer.eps_root, dtype), _column(optimizer.weight_decay, dtype)
    none = np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.ScaleByAdamState) -> Any:
        first = int(state.count[0])
        counts = np.minimum(first + np.arange(1, updates + 1, dtype=F64), optax_optimizers.INT32_MAX)
        correction1, reciprocal1 = corrections(b1, counts, dtype)
        ahead1, ahead_reciprocal1 = (
            corrections(b1, np.minimum(counts + 1, optax_optimizers.INT32_MAX), dtype)
            if optimizer.nesterov
            else (none, none)
        )
        correction2, reciprocal2 = corrections(b2, counts, dtype)
        adam_kernels.optax_adam(*encoded, weights, grads, negated(lr), updates, rate1, rest1, rate2, rest2, eps,
                                eps_root, weight_decay, optimizer.nesterov, correction1, reciprocal1, ahead1,
                                ahead_reciprocal1, correction2, reciprocal2, state.mu, state.nu)  # fmt: skip
        if updates:
            state.count[0] = int(counts[-1])
        return state

    return run


def _keras_adamax(encoded: Encoded, optimizer: keras_optimizers.Adamax, dtype: np.dtype[np.floating]) -> Runner:
    base = optimizer.beta_1.astype(F64)
    weight1, beta2 = _column(optimizer.one_minus_beta_1, dtype), _column(optimizer.beta_2, dtype)
    epsilon, weight_decay = _column(optimizer.epsilon, dtype), _column(optimizer.decay.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: keras_optimizers.AdamaxState) -> Any:
        first = int(state.iterations)
        steps = first + np.arange(1, updates + 1, dtype=F64)  # Keras' `iterations + 1`
        power1 = writable(powers(base, steps).astype(dtype))  # `_power(beta_1, t)`, per update
        rates = writable(rate_via_float32(lr))
        adamax_kernels.keras_adamax(*encoded, weights, grads, rates, updates, power1, weight1, beta2, epsilon,
                                    weight_decay, state.momentum, state.norm)  # fmt: skip
        state.iterations[...] = first + updates
        return state

    return run


def _optax_adamax(encoded: Encoded, optimizer: optax_optimizers.Adamax, dtype: np.dtype[np.floating]) -> Runner:
    b1 = optimizer.b1
    rate1, rest1 = _column(b1.rate, dtype), _column(b1.rest, dtype)
    b2, eps = _column(optimizer.b2, dtype), _column(optimizer.eps, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.ScaleByAdamState) -> Any:
        first = int(state.count[0])
        counts = np.minimum(first + np.arange(1, updates + 1, dtype=F64), optax_optimizers.INT32_MAX)
        correction1, reciprocal1 = corrections(b1, counts, dtype)
        adamax_kernels.optax_adamax(*encoded, weights, grads, negated(lr), updates, rate1, rest1, b2, eps,
                                    correction1, reciprocal1, state.mu, state.nu)  # fmt: skip
        if updates:
            state.count[0] = int(counts[-1])
        return state

    return run


def _torch_adamax(encoded: Encoded, optimizer: torch_optimizers.Adamax, dtype: np.dtype[np.floating]) -> Runner:
    moments = optimizer.moments
    weight1, decay2, eps = (_column(value, dtype) for value in (moments.weight1, moments.decay2, moments.eps))
    l2 = _column(optimizer.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.AdamaxState) -> Any:
        steps = torch_steps(state.step, updates)
        clr = lr[:updates].astype(F64) / (1 - powers(moments.beta1, steps))  # torch's Python double
        negative_step = writable(np.negative(clr).astype(dtype))
        adamax_kernels.torch_adamax(*encoded, weights, grads, updates, negative_step, weight1, decay2, eps, l2,
                                    state.exp_avg, state.exp_inf)  # fmt: skip
        if updates:
            state.step[0] = np.float32(steps[-1])
        return state

    return run


NADAM_DECAY = 0.96
"""The base of Nadam's momentum schedule, `1 − 0.5·0.96^t` (Keras; torch: `0.96^(t·momentum_decay)`)."""


def _keras_nadam(encoded: Encoded, optimizer: keras_optimizers.Nadam, dtype: np.dtype[np.floating]) -> Runner:
    weak = np.full((1, 1), NADAM_DECAY, dtype).astype(F64)  # a Python float straight to the dtype
    cast = np.full((1, 1), np.float32(NADAM_DECAY), dtype).astype(F64)  # `ops.cast`: through float32
    base2 = optimizer.beta_2.astype(F64)
    beta1, beta2 = _column(optimizer.beta_1, dtype), _column(optimizer.beta_2, dtype)
    beta1_weak, epsilon = _column(optimizer.beta_1_weak, dtype), _column(optimizer.epsilon, dtype)
    weight_decay = _column(optimizer.decay.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: keras_optimizers.NadamState) -> Any:
        first = int(state.iterations)
        steps = first + np.arange(1, updates + 2, dtype=F64)  # t = iterations + 1, and t + 1 for u_{t+1}
        weak_power = writable(powers(weak, steps[:updates]).astype(dtype))
        cast_power = writable(powers(cast, steps).astype(dtype))
        power2 = writable(powers(base2, steps[:updates]).astype(dtype))
        rates = writable(rate_via_float32(lr))
        nadam_kernels.keras_nadam(*encoded, weights, grads, rates, updates, weak_power, cast_power, power2, beta1,
                                  beta2, beta1_weak, epsilon, weight_decay, state.u_product, state.momentum,
                                  state.velocity)  # fmt: skip
        state.iterations[...] = first + updates
        return state

    return run


def _torch_nadam(encoded: Encoded, optimizer: torch_optimizers.NAdam, dtype: np.dtype[np.floating]) -> Runner:
    moments = optimizer.moments
    weight1, decay2, weight2, eps = (
        _column(value, dtype) for value in (moments.weight1, moments.decay2, moments.weight2, moments.eps)
    )
    l2 = _column(optimizer.l2, dtype)
    beta1, psi = moments.beta1[:, 0][None, :], optimizer.momentum_decay[:, 0][None, :]

    def schedule(t: Array) -> Array:
        """`β1·(1 − 0.5·0.96^(t·momentum_decay))` per update (u, P), as torch's Python doubles."""
        return np.asarray(beta1 * (1.0 - 0.5 * NADAM_DECAY ** (t[:, None] * psi)))

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.NAdamState) -> Any:
        steps = torch_steps(state.step, updates)
        mu, mu_next = writable(schedule(steps)), writable(schedule(steps + 1))
        correction2 = writable((1 - powers(moments.beta2, steps)).astype(dtype))
        rate = lr[:updates].astype(F64)
        decoupled = optimizer.decoupled_weight_decay
        decay_factor = decay_factors(optimizer.weight_decay, rate, dtype) if decoupled else np.zeros((0, 0), dtype)
        nadam_kernels.torch_nadam(*encoded, weights, grads, writable(lr), updates, mu, mu_next, correction2,
                                  decay_factor, weight1, decay2, weight2, eps, l2, state.mu_product, state.exp_avg,
                                  state.exp_avg_sq)  # fmt: skip
        if updates:
            state.step[0] = np.float32(steps[-1])
        return state

    return run


def _tf1_adagrad(encoded: Encoded, optimizer: tf1_optimizers.Adagrad, dtype: np.dtype[np.floating]) -> Runner:
    def run(weights: Array, grads: Array, lr: Array, updates: int, state: tf1_optimizers.AdagradState) -> Any:
        rates = writable(rate_via_float32(lr))
        adaptive_kernels.tf1_adagrad(*encoded, weights, grads, rates, updates, state.accumulator)
        return state

    return run


def _tf1_rmsprop(encoded: Encoded, optimizer: tf1_optimizers.RMSProp, dtype: np.dtype[np.floating]) -> Runner:
    rest, mu = _column(optimizer.one_minus_decay, dtype), _column(optimizer.momentum, dtype)
    epsilon, none = _column(optimizer.epsilon, dtype), np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: tf1_optimizers.RMSPropState) -> Any:
        rates = writable(rate_via_float32(lr))
        mg = none if state.mg is None else state.mg
        adaptive_kernels.tf1_rmsprop(*encoded, weights, grads, rates, updates, rest, mu, epsilon, state.rms,
                                     state.momentum, mg)  # fmt: skip
        return state

    return run


def _keras_adagrad(encoded: Encoded, optimizer: keras_optimizers.Adagrad, dtype: np.dtype[np.floating]) -> Runner:
    epsilon, weight_decay = _column(optimizer.epsilon, dtype), _column(optimizer.decay.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: keras_optimizers.AdagradState) -> Any:
        rates = writable(rate_via_float32(lr))
        adaptive_kernels.keras_adagrad(*encoded, weights, grads, rates, updates, epsilon, weight_decay,
                                       state.accumulator)  # fmt: skip
        return state

    return run


def _keras_rmsprop(encoded: Encoded, optimizer: keras_optimizers.RMSprop, dtype: np.dtype[np.floating]) -> Runner:
    rho, rest = _column(optimizer.rho, dtype), _column(optimizer.one_minus_rho, dtype)
    mu, epsilon = _column(optimizer.momentum, dtype), _column(optimizer.epsilon, dtype)
    weight_decay, none = _column(optimizer.decay.weight_decay, dtype), np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: keras_optimizers.RMSpropState) -> Any:
        rates = writable(rate_via_float32(lr))
        buffer = none if state.momentum is None else state.momentum
        average = none if state.average_gradient is None else state.average_gradient
        adaptive_kernels.keras_rmsprop(*encoded, weights, grads, rates, updates, rho, rest, mu, epsilon, weight_decay,
                                       state.velocity, buffer, average)  # fmt: skip
        return state

    return run


def _torch_adagrad(encoded: Encoded, optimizer: torch_optimizers.Adagrad, dtype: np.dtype[np.floating]) -> Runner:
    lr_decay, weight_decay = _column(optimizer.lr_decay, F64), _column(optimizer.weight_decay, dtype)
    eps = _column(optimizer.eps, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.AdagradState) -> Any:
        adaptive_kernels.torch_adagrad(*encoded, weights, grads, writable(lr), updates, lr_decay, weight_decay, eps,
                                       state.step, state.sum)  # fmt: skip
        return state

    return run


def _torch_rmsprop(
    encoded: Encoded, optimizer: torch_optimizers.RMSprop, dtype: np.dtype[np.floating]
) -> Runner | None:
    if optimizer.centered:  # NaN sign bits NumPy itself picks by array position (the docstring above)
        return None
    alpha, rest, eps = (_column(value, dtype) for value in (optimizer.alpha, optimizer.rest, optimizer.eps))
    weight_decay, mu = _column(optimizer.weight_decay, dtype), _column(optimizer.momentum, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.RMSpropState) -> Any:
        adaptive_kernels.torch_rmsprop(*encoded, weights, grads, negated(lr), updates, alpha, rest, eps, weight_decay,
                                       mu, state.step, state.square_avg, state.momentum_buffer)  # fmt: skip
        return state

    return run


def _optax_adagrad(encoded: Encoded, optimizer: optax_optimizers.Adagrad, dtype: np.dtype[np.floating]) -> Runner:
    eps = _column(optimizer.eps, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.ScaleByRssState) -> Any:
        adaptive_kernels.optax_adagrad(*encoded, weights, grads, negated(lr), updates, eps, state.sum_of_squares)
        return state

    return run


def _optax_rmsprop(encoded: Encoded, optimizer: optax_optimizers.RMSprop, dtype: np.dtype[np.floating]) -> Runner:
    decay = optimizer.decay
    rate, rest, eps = (_column(value, dtype) for value in (decay.rate, decay.rest, optimizer.eps))
    mu, none = _column(optimizer.momentum, dtype), np.zeros((0, 0), dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.RMSpropState) -> Any:
        correction, reciprocal = none, none
        if optimizer.bias_correction:
            first = int(state.count[0])
            counts = np.minimum(first + np.arange(1, updates + 1, dtype=F64), optax_optimizers.INT32_MAX)
            correction, reciprocal = corrections(decay, counts, dtype)
            if updates:
                state.count[0] = int(counts[-1])
        adaptive_kernels.optax_rmsprop(*encoded, weights, grads, negated(lr), updates, rate, rest, eps,
                                       optimizer.eps_in_sqrt, optimizer.centered, mu, optimizer.nesterov,
                                       optimizer.bias_correction, correction, reciprocal, state.mu, state.nu,
                                       state.trace)  # fmt: skip
        return state

    return run


def _tf1_adadelta(encoded: Encoded, optimizer: tf1_optimizers.Adadelta, dtype: np.dtype[np.floating]) -> Runner:
    rho, rest, epsilon = (
        _column(value, dtype) for value in (optimizer.rho, optimizer.one_minus_rho, optimizer.epsilon)
    )

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: tf1_optimizers.AdadeltaState) -> Any:
        rates = writable(rate_via_float32(lr))
        adaptive_kernels.tf1_adadelta(*encoded, weights, grads, rates, updates, rho, rest, epsilon, state.accum,
                                      state.accum_update)  # fmt: skip
        return state

    return run


def _torch_adadelta(encoded: Encoded, optimizer: torch_optimizers.Adadelta, dtype: np.dtype[np.floating]) -> Runner:
    rho, rest, eps = (_column(value, dtype) for value in (optimizer.rho, optimizer.rest, optimizer.eps))
    weight_decay = _column(optimizer.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: torch_optimizers.AdadeltaState) -> Any:
        adaptive_kernels.torch_adadelta(*encoded, weights, grads, negated(lr), updates, rho, rest, eps, weight_decay,
                                        state.step, state.square_avg, state.acc_delta)  # fmt: skip
        return state

    return run


def _optax_adadelta(encoded: Encoded, optimizer: optax_optimizers.Adadelta, dtype: np.dtype[np.floating]) -> Runner:
    rate, rest = _column(optimizer.rho.rate, dtype), _column(optimizer.rho.rest, dtype)
    eps, weight_decay = _column(optimizer.eps, dtype), _column(optimizer.weight_decay, dtype)

    def run(weights: Array, grads: Array, lr: Array, updates: int, state: optax_optimizers.ScaleByAdaDeltaState) -> Any:
        adaptive_kernels.optax_adadelta(*encoded, weights, grads, negated(lr), updates, rate, rest, eps, weight_decay,
                                        state.e_g, state.e_x)  # fmt: skip
        return state

    return run


_RUNNERS: dict[type, Callable[[Encoded, Any, np.dtype[np.floating]], Runner | None]] = {
    GradientDescent: _gradient_descent,
    torch_optimizers.SGD: _torch_sgd,
    torch_optimizers.Adam: _torch_adam,
    tf1_optimizers.Momentum: _tf1_momentum,
    keras_optimizers.SGD: _keras_sgd,
    optax_optimizers.SGD: _optax_sgd,
    tf1_optimizers.Adam: _tf1_adam,
    keras_optimizers.Adam: _keras_adam,
    optax_optimizers.Adam: _optax_adam,
    keras_optimizers.Adamax: _keras_adamax,
    optax_optimizers.Adamax: _optax_adamax,
    torch_optimizers.Adamax: _torch_adamax,
    keras_optimizers.Nadam: _keras_nadam,
    torch_optimizers.NAdam: _torch_nadam,
    tf1_optimizers.Adagrad: _tf1_adagrad,
    tf1_optimizers.RMSProp: _tf1_rmsprop,
    keras_optimizers.Adagrad: _keras_adagrad,
    keras_optimizers.RMSprop: _keras_rmsprop,
    torch_optimizers.Adagrad: _torch_adagrad,
    torch_optimizers.RMSprop: _torch_rmsprop,
    optax_optimizers.Adagrad: _optax_adagrad,
    optax_optimizers.RMSprop: _optax_rmsprop,
    tf1_optimizers.Adadelta: _tf1_adadelta,
    torch_optimizers.Adadelta: _torch_adadelta,
    optax_optimizers.Adadelta: _optax_adadelta,
}
"""The compiled runner's builder of each optimizer class the kernels cover (`compiled`, `momentum`, `adam`,
`adamax`, `nadam`, `adaptive`); `runner` answers None for any other."""


def analyze(analyzer: Any, chunk: Any) -> bool:
    """`Analyzer.add` through `compiled.analyze`, when every array is C-contiguous in the run's dtype (the one
    specialisation the warm-up compiles); the gradient norms of 3 or more dimensions come from NumPy."""
    dtype = analyzer.dtype
    columns = (chunk.w, chunk.loss, chunk.grad, chunk.lr)
    if any(a.dtype != dtype or not (a.flags.c_contiguous and a.flags.writeable) for a in columns):
        return False
    dims = chunk.grad.shape[-1]
    norms = np.sqrt(np.square(chunk.grad, dtype=F64).sum(axis=-1)) if dims > 2 else np.zeros((0, 0), F64)
    from service.engine.analysis import CONVERGED_RATIO

    analyzer.outcome, analyzer.diverged_at = chunk.outcome, chunk.diverged_at
    compiled.analyze(
        chunk.step,
        *columns,
        chunk.rows,
        norms,
        CONVERGED_RATIO,
        analyzer.loss0,
        analyzer.grad0,
        analyzer.best_loss,
        analyzer.best_step,
        analyzer.last_step,
        analyzer.last_above,
        analyzer.last_moved,
        analyzer.lr_first,
        analyzer.lr_last,
        analyzer.w,
        analyzer.window_loss,
        analyzer.window_grad,
        analyzer.count,
    )
    return True


__all__ = ["F32", "Runner", "encode", "powers", "runner", "writable"]
