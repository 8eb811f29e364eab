"""Keras 3 `keras.optimizers` (TensorFlow backend, eager), op by op as their `update_step` computes them.

Every Keras op runs as one TensorFlow float op, rounded in the variable's dtype, so float32 runs are bit-exact.
Keras meets a Python float in two ways, and they differ in float64 runs:
- `ops.cast(x, dtype)` (momentum in SGD, betas inside the powers, Nadam's betas, weight_decay, Adagrad's
  initial accumulator) goes through a float32 tensor first: `_cast`;
- a Python float (or Python arithmetic on it, such as `1 - self.beta_1`) meeting a tensor in an op is converted
  straight to the tensor's dtype: `_weak`.
The rate is a float32 tensor (schedule or variable) cast to the variable's dtype. `weight_decay` is decoupled in
every optimizer (`base_optimizer._apply_weight_decay`): `var −= var·wd·lr` before the update, with the same rate.
Bias corrections use `t = iterations + 1`; `pow` is TensorFlow's scalar pow, correctly rounded (computed in double,
rounded once). Gradient clipping, EMA, loss scaling and gradient accumulation are not served.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from service.engine.arrays import Array, IntArray, Numbers, as_dtype_array
from service.engine.optimizers.base import F64, hyper_via_float32, rate_via_float32, register, require

_cast = hyper_via_float32
"""`ops.cast(python_float, dtype)`: through float32 first."""


def _weak(name: str, value: Numbers, dtype: np.dtype[np.floating], complement: bool = False) -> Array:
    """A Python float meeting a tensor: rounded once, straight to `dtype`; `complement`: `1 - value` computed by
    Python in double first (Keras' `1 - self.beta_1`)."""
    exact = as_dtype_array(name, value, F64)[:, None]
    return (1.0 - exact if complement else exact).astype(dtype)


def _power(base: Array, exponent: int) -> Array:
    """TensorFlow's scalar `pow(base, t)`: correctly rounded, i.e. computed in double and rounded once."""
    return np.power(base.astype(np.float64), float(exponent)).astype(base.dtype)


class Decay(NamedTuple):
    """Keras' decoupled weight decay: `var − var·wd·lr`, or nothing when `weight_decay` is None."""

    weight_decay: Array | None  # (P, 1)

    def apply(self, w: Array, rate: Array, out: Array) -> Array:
        """The decayed variable, written into `out` (or `w` itself, untouched, without decay)."""
        if self.weight_decay is None:
            return w
        np.multiply(w, self.weight_decay, out=out)
        np.multiply(out, rate, out=out)
        return np.subtract(w, out, out=out)


def _decay(weight_decay: Numbers | None, dtype: np.dtype[np.floating]) -> Decay:
    return Decay(None if weight_decay is None else _cast("weight_decay", weight_decay, dtype))


def _step(counter: IntArray) -> int:
    """`iterations + 1`, the 1-based step of this update, advancing the counter (a 0-d int64 array) in place."""
    np.add(counter, 1, out=counter)
    return int(counter)


class NoSlots(NamedTuple):
    """Keras SGD without momentum keeps no variables."""


class SGDState(NamedTuple):
    momentum: Array


@dataclass(frozen=True)
class SGD:
    """`m = m·momentum − g·lr`; `var += m`, or with Nesterov `var += m·momentum − g·lr`. The rate is folded into the
    velocity, unlike TF1 and torch, so the two differ under a changing rate. Without momentum, `var −= g·lr`."""

    momentum: Array | None  # (P, 1); None: momentum 0, no variable
    nesterov: bool
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> SGDState | NoSlots:
        return NoSlots() if self.momentum is None else SGDState(momentum=np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: SGDState | NoSlots, out: Array, momentum: Array | None = None
    ) -> SGDState | NoSlots:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        step = g * rate
        if not isinstance(state, SGDState) or self.momentum is None:
            np.subtract(var, step, out=out)
            return state
        m = state.momentum
        np.multiply(m, self.momentum, out=m)
        np.subtract(m, step, out=m)
        if self.nesterov:
            increment = m * self.momentum
            np.subtract(increment, step, out=increment)
            np.add(var, increment, out=out)
        else:
            np.add(var, m, out=out)
        return state

    def slots(self, state: SGDState | NoSlots) -> dict[str, Array]:
        return {"momentum": state.momentum} if isinstance(state, SGDState) else {}


class AdagradState(NamedTuple):
    accumulator: Array


@dataclass(frozen=True)
class Adagrad:
    """`acc += g²`; `var −= lr·g / sqrt(acc + epsilon)` (epsilon inside the sqrt; torch puts it outside)."""

    initial_accumulator_value: Array  # (P, 1), through float32 (`initializers.Constant`)
    epsilon: Array
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> AdagradState:
        return AdagradState(accumulator=np.broadcast_to(self.initial_accumulator_value, w.shape).copy())

    def update(
        self, w: Array, g: Array, lr: Array, state: AdagradState, out: Array, momentum: Array | None = None
    ) -> AdagradState:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        accumulator = state.accumulator
        np.add(accumulator, np.square(g), out=accumulator)
        denominator = np.add(accumulator, self.epsilon)
        np.sqrt(denominator, out=denominator)
        step = rate * g
        np.divide(step, denominator, out=step)
        np.subtract(var, step, out=out)
        return state

    def slots(self, state: AdagradState) -> dict[str, Array]:
        return {"accumulator": state.accumulator}


class RMSpropState(NamedTuple):
    velocity: Array
    momentum: Array | None
    average_gradient: Array | None


@dataclass(frozen=True)
class RMSprop:
    """`v = rho·v + (1 − rho)·g²`; centered also `ag = rho·ag + (1 − rho)·g`; `inc = lr·g / sqrt(v [− ag²] + eps)`;
    with momentum `mom = momentum·mom + inc`, `var −= mom`, else `var −= inc`. TF1's equations, but the velocity starts
    at 0 (TF1's rms at 1) and without momentum there is no buffer."""

    rho: Array  # (P, 1)
    one_minus_rho: Array
    momentum: Array | None  # None: momentum 0, no variable
    epsilon: Array
    centered: bool
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> RMSpropState:
        return RMSpropState(
            velocity=np.zeros_like(w),
            momentum=None if self.momentum is None else np.zeros_like(w),
            average_gradient=np.zeros_like(w) if self.centered else None,
        )

    def update(
        self, w: Array, g: Array, lr: Array, state: RMSpropState, out: Array, momentum: Array | None = None
    ) -> RMSpropState:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        velocity, average = state.velocity, state.average_gradient
        np.multiply(self.rho, velocity, out=velocity)
        np.add(velocity, self.one_minus_rho * np.square(g), out=velocity)
        if average is not None:
            np.multiply(self.rho, average, out=average)
            np.add(average, self.one_minus_rho * g, out=average)
            denominator = np.subtract(velocity, np.square(average))
            np.add(denominator, self.epsilon, out=denominator)
        else:
            denominator = np.add(velocity, self.epsilon)
        np.sqrt(denominator, out=denominator)
        increment: Array = rate * g
        np.divide(increment, denominator, out=increment)
        if state.momentum is not None and self.momentum is not None:
            np.multiply(self.momentum, state.momentum, out=state.momentum)
            np.add(state.momentum, increment, out=state.momentum)
            increment = state.momentum
        np.subtract(var, increment, out=out)
        return state

    def slots(self, state: RMSpropState) -> dict[str, Array]:
        found = {"velocity": state.velocity}
        if state.momentum is not None:
            found["momentum"] = state.momentum
        if state.average_gradient is not None:
            found["average_gradient"] = state.average_gradient
        return found


class AdamState(NamedTuple):
    momentum: Array
    velocity: Array
    velocity_hat: Array | None
    iterations: IntArray


@dataclass(frozen=True)
class Adam:
    """`alpha = lr·sqrt(1 − beta_2^t) / (1 − beta_1^t)`; `m += (g − m)·(1 − beta_1)`; `v += (g² − v)·(1 − beta_2)`;
    amsgrad: `v̂ = max(v̂, v)` replaces v; `var −= m·alpha / (sqrt(v) + epsilon)`. Epsilon on the uncorrected sqrt(v),
    like TF1 (torch and Optax put it on the corrected one). Also AdamW, with its weight decay."""

    beta_1: Array  # (P, 1), through float32 (for the powers)
    beta_2: Array
    one_minus_beta_1: Array  # (P, 1), Python's `1 - beta` rounded once
    one_minus_beta_2: Array
    epsilon: Array
    amsgrad: bool
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> AdamState:
        return AdamState(
            momentum=np.zeros_like(w),
            velocity=np.zeros_like(w),
            velocity_hat=np.zeros_like(w) if self.amsgrad else None,
            iterations=np.zeros((), np.int64),
        )

    def update(
        self, w: Array, g: Array, lr: Array, state: AdamState, out: Array, momentum: Array | None = None
    ) -> AdamState:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        t = _step(state.iterations)
        one = w.dtype.type(1)
        alpha = rate * np.sqrt(one - _power(self.beta_2, t)) / (one - _power(self.beta_1, t))
        m, v = state.momentum, state.velocity
        np.add(m, (g - m) * self.one_minus_beta_1, out=m)
        np.add(v, (np.square(g) - v) * self.one_minus_beta_2, out=v)
        if state.velocity_hat is not None:
            np.maximum(state.velocity_hat, v, out=state.velocity_hat)
            v = state.velocity_hat
        denominator = np.sqrt(v)
        np.add(denominator, self.epsilon, out=denominator)
        step = m * alpha
        np.divide(step, denominator, out=step)
        np.subtract(var, step, out=out)
        return state

    def slots(self, state: AdamState) -> dict[str, Array]:
        found = {"momentum": state.momentum, "velocity": state.velocity}
        if state.velocity_hat is not None:
            found["velocity_hat"] = state.velocity_hat
        return found


class AdamaxState(NamedTuple):
    momentum: Array
    norm: Array
    iterations: IntArray


@dataclass(frozen=True)
class Adamax:
    """`m += (g − m)·(1 − beta_1)`; `u = max(beta_2·u, |g|)`; `var −= lr·m / ((1 − beta_1^t)·(u + epsilon))`
    (epsilon outside the max; torch puts it inside)."""

    beta_1: Array  # (P, 1), through float32 (for the power)
    one_minus_beta_1: Array
    beta_2: Array  # (P, 1), Python's value rounded once
    epsilon: Array
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> AdamaxState:
        return AdamaxState(momentum=np.zeros_like(w), norm=np.zeros_like(w), iterations=np.zeros((), np.int64))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdamaxState, out: Array, momentum: Array | None = None
    ) -> AdamaxState:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        t = _step(state.iterations)
        m, u = state.momentum, state.norm
        np.add(m, (g - m) * self.one_minus_beta_1, out=m)
        np.multiply(self.beta_2, u, out=u)
        np.maximum(u, np.abs(g), out=u)
        denominator = u + self.epsilon
        np.multiply(w.dtype.type(1) - _power(self.beta_1, t), denominator, out=denominator)
        step = rate * m
        np.divide(step, denominator, out=step)
        np.subtract(var, step, out=out)
        return state

    def slots(self, state: AdamaxState) -> dict[str, Array]:
        return {"momentum": state.momentum, "norm": state.norm}


class NadamState(NamedTuple):
    momentum: Array
    velocity: Array
    u_product: Array  # (P, 1), the product of the momentum schedule so far (starts at 1.0)
    iterations: IntArray


@dataclass(frozen=True)
class Nadam:
    """`u_t = beta_1·(1 − 0.5·0.96^t)` (no 0.004 factor: ~250× faster ramp than torch); `u_product ·= u_t`;
    `m`, `v` as Adam; `m̂ = u_{t+1}·m / (1 − u_product·u_{t+1}) + (1 − u_t)·g / (1 − u_product)`;
    `v̂ = v / (1 − beta_2^t)`; `var −= m̂·lr / (sqrt(v̂) + epsilon)`."""

    beta_1: Array  # (P, 1), through float32 (`ops.cast`)
    beta_2: Array
    beta_1_weak: Array  # (P, 1), Python's value rounded once (the u_product update)
    epsilon: Array
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> NadamState:
        return NadamState(
            momentum=np.zeros_like(w),
            velocity=np.zeros_like(w),
            u_product=np.ones_like(self.beta_1),
            iterations=np.zeros((), np.int64),
        )

    def update(
        self, w: Array, g: Array, lr: Array, state: NadamState, out: Array, momentum: Array | None = None
    ) -> NadamState:
        rate = rate_via_float32(lr)
        dtype = w.dtype.type
        one, half = dtype(1), dtype(0.5)
        t = _step(state.iterations)
        # Nadam._backend_update_step: `u_product · beta_1 · (1 − 0.5·0.96^t)`, Python floats straight to the dtype
        u_product = state.u_product
        np.multiply(u_product, self.beta_1_weak, out=u_product)
        np.multiply(u_product, one - half * _power(np.full((1, 1), 0.96, w.dtype), t), out=u_product)
        var = self.decay.apply(w, rate, out)
        decay = np.full((1, 1), np.float32(0.96), dtype=w.dtype)
        u_t = self.beta_1 * (one - half * _power(decay, t))
        u_next = self.beta_1 * (one - half * _power(decay, t + 1))
        u_product_next = u_product * u_next
        m, v = state.momentum, state.velocity
        np.add(m, (g - m) * (one - self.beta_1), out=m)
        np.add(v, (np.square(g) - v) * (one - self.beta_2), out=v)
        m_hat = u_next * m / (one - u_product_next)
        np.add(m_hat, (one - u_t) * g / (one - u_product), out=m_hat)
        v_hat = v / (one - _power(self.beta_2, t))
        np.sqrt(v_hat, out=v_hat)
        np.add(v_hat, self.epsilon, out=v_hat)
        np.multiply(m_hat, rate, out=m_hat)
        np.divide(m_hat, v_hat, out=m_hat)
        np.subtract(var, m_hat, out=out)
        return state

    def slots(self, state: NadamState) -> dict[str, Array]:
        shape = state.momentum.shape
        return {
            "momentum": state.momentum,
            "velocity": state.velocity,
            "u_product": np.broadcast_to(state.u_product, shape),
        }


class AdadeltaState(NamedTuple):
    accumulated_grad: Array
    accumulated_delta_var: Array


@dataclass(frozen=True)
class Adadelta:
    """`ag = rho·ag + (1 − rho)·g²`; `delta = −sqrt(ad + eps)·g / sqrt(ag + eps)`; `ad = rho·ad + (1 − rho)·delta²`;
    `var += lr·delta`. The rate scales only the step (library default 0.001, ~1000× smaller than torch's 1.0)."""

    rho: Array  # (P, 1), Python's value rounded once
    one_minus_rho: Array
    epsilon: Array
    decay: Decay
    cycles_momentum = False

    def init(self, w: Array) -> AdadeltaState:
        return AdadeltaState(accumulated_grad=np.zeros_like(w), accumulated_delta_var=np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdadeltaState, out: Array, momentum: Array | None = None
    ) -> AdadeltaState:
        rate = rate_via_float32(lr)
        var = self.decay.apply(w, rate, out)
        grad_acc, delta_acc = state.accumulated_grad, state.accumulated_delta_var
        np.multiply(self.rho, grad_acc, out=grad_acc)
        np.add(grad_acc, self.one_minus_rho * np.square(g), out=grad_acc)
        delta = np.add(delta_acc, self.epsilon)
        np.sqrt(delta, out=delta)
        np.multiply(delta, g, out=delta)
        np.divide(delta, np.sqrt(grad_acc + self.epsilon), out=delta)
        np.negative(delta, out=delta)
        np.multiply(self.rho, delta_acc, out=delta_acc)
        np.add(delta_acc, self.one_minus_rho * np.square(delta), out=delta_acc)
        np.multiply(rate, delta, out=delta)
        np.add(var, delta, out=out)
        return state

    def slots(self, state: AdadeltaState) -> dict[str, Array]:
        return {"accumulated_grad": state.accumulated_grad, "accumulated_delta_var": state.accumulated_delta_var}


@register("keras.SGD")
def sgd(
    momentum: Numbers = 0.0,
    nesterov: bool = False,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> SGD:
    """`keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None)`."""
    values = np.asarray(momentum, dtype=np.float64)
    require(
        bool(((values >= 0) & (values <= 1)).all()),
        "momentum",
        f"`momentum` must be a float between [0, 1] (Keras' SGD rule); got {momentum}. Give a momentum from 0 to 1.",
    )
    return SGD(
        momentum=None if (values == 0).all() else _cast("momentum", momentum, dtype),
        nesterov=nesterov,
        decay=_decay(weight_decay, dtype),
    )


@register("keras.Adagrad")
def adagrad(
    initial_accumulator_value: Numbers = 0.1,
    epsilon: Numbers = 1e-7,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Adagrad:
    """`keras.optimizers.Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7)`."""
    return Adagrad(
        initial_accumulator_value=_cast("initial_accumulator_value", initial_accumulator_value, dtype),
        epsilon=_weak("epsilon", epsilon, dtype),
        decay=_decay(weight_decay, dtype),
    )


@register("keras.RMSprop")
def rmsprop(
    rho: Numbers = 0.9,
    momentum: Numbers = 0.0,
    epsilon: Numbers = 1e-7,
    centered: bool = False,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> RMSprop:
    """`keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False)`. Keras
    keeps a momentum buffer only when `momentum > 0`."""
    with_momentum = bool((np.asarray(momentum, dtype=np.float64) > 0).any())
    return RMSprop(
        rho=_weak("rho", rho, dtype),
        one_minus_rho=_weak("rho", rho, dtype, complement=True),
        momentum=_weak("momentum", momentum, dtype) if with_momentum else None,
        epsilon=_weak("epsilon", epsilon, dtype),
        centered=centered,
        decay=_decay(weight_decay, dtype),
    )


def _adam(
    beta_1: Numbers,
    beta_2: Numbers,
    epsilon: Numbers,
    amsgrad: bool,
    weight_decay: Numbers | None,
    dtype: np.dtype[np.floating],
) -> Adam:
    return Adam(
        beta_1=_cast("beta_1", beta_1, dtype),
        beta_2=_cast("beta_2", beta_2, dtype),
        one_minus_beta_1=_weak("beta_1", beta_1, dtype, complement=True),
        one_minus_beta_2=_weak("beta_2", beta_2, dtype, complement=True),
        epsilon=_weak("epsilon", epsilon, dtype),
        amsgrad=amsgrad,
        decay=_decay(weight_decay, dtype),
    )


@register("keras.Adam")
def adam(
    beta_1: Numbers = 0.9,
    beta_2: Numbers = 0.999,
    epsilon: Numbers = 1e-7,
    amsgrad: bool = False,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """`keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False)`."""
    return _adam(beta_1, beta_2, epsilon, amsgrad, weight_decay, dtype)


@register("keras.AdamW")
def adamw(
    weight_decay: Numbers | None = 0.004,
    beta_1: Numbers = 0.9,
    beta_2: Numbers = 0.999,
    epsilon: Numbers = 1e-7,
    amsgrad: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """`keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004, ...)`: Adam with its decoupled weight decay,
    which Keras requires."""
    require(
        weight_decay is not None,
        "weight_decay",
        "Argument `weight_decay` must be a float. Received: weight_decay=None (Keras' AdamW rule); "
        "give a number (the default is 0.004), or use keras.Adam for no weight decay.",
    )
    return _adam(beta_1, beta_2, epsilon, amsgrad, weight_decay, dtype)


@register("keras.Adamax")
def adamax(
    beta_1: Numbers = 0.9,
    beta_2: Numbers = 0.999,
    epsilon: Numbers = 1e-7,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Adamax:
    """`keras.optimizers.Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`."""
    return Adamax(
        beta_1=_cast("beta_1", beta_1, dtype),
        one_minus_beta_1=_weak("beta_1", beta_1, dtype, complement=True),
        beta_2=_weak("beta_2", beta_2, dtype),
        epsilon=_weak("epsilon", epsilon, dtype),
        decay=_decay(weight_decay, dtype),
    )


@register("keras.Nadam")
def nadam(
    beta_1: Numbers = 0.9,
    beta_2: Numbers = 0.999,
    epsilon: Numbers = 1e-7,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Nadam:
    """`keras.optimizers.Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7)`."""
    return Nadam(
        beta_1=_cast("beta_1", beta_1, dtype),
        beta_2=_cast("beta_2", beta_2, dtype),
        beta_1_weak=_weak("beta_1", beta_1, dtype),
        epsilon=_weak("epsilon", epsilon, dtype),
        decay=_decay(weight_decay, dtype),
    )


@register("keras.Adadelta")
def adadelta(
    rho: Numbers = 0.95,
    epsilon: Numbers = 1e-7,
    weight_decay: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Adadelta:
    """`keras.optimizers.Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7)`."""
    return Adadelta(
        rho=_weak("rho", rho, dtype),
        one_minus_rho=_weak("rho", rho, dtype, complement=True),
        epsilon=_weak("epsilon", epsilon, dtype),
        decay=_decay(weight_decay, dtype),
    )
