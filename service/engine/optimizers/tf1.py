"""TensorFlow 1 `tf.compat.v1.train` optimizers, op by op as TensorFlow's CPU training kernels compute them.

Each `update` follows its kernel in `tensorflow/core/kernels/training_ops.cc` (`ApplyMomentum`, `ApplyAdagrad`,
`ApplyRMSProp`, `ApplyCenteredRMSProp`, `ApplyAdam`, `ApplyAdadelta`), rounding after every operation in the
variable's dtype, so float32 runs are bit-exact. TF1 turns Python-float hyperparameters and the rate into float32
tensors and casts them to the variable's dtype, so float64 runs see them rounded to float32 first; TF1 Adam's
`beta1_power`/`beta2_power` are float32 variables even then. Kernel `rsqrt(x)` is `1 / sqrt(x)` (Eigen's scalar
path, which TensorFlow takes for variables of fewer than 8 float32 elements; its vectorised rsqrt for longer ones is
an approximation that can differ by an ulp). `tf1.GradientDescentOptimizer` lives in `base`.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from service.engine.arrays import Array, Numbers, as_dtype_array
from service.engine.optimizers.base import F32, hyper, hyper_via_float32, rate_via_float32, register, require


def _complement(value: Array) -> Array:
    """`static_cast<T>(1) - x` in the variable's dtype, as the kernels compute `1 - rho` and `1 - beta`."""
    return np.subtract(value.dtype.type(1), value)


class MomentumState(NamedTuple):
    momentum: Array


@dataclass(frozen=True)
class Momentum:
    """`ApplyMomentum`: `accum = accum·momentum + g`; `var −= accum·lr`, or with Nesterov
    `var −= g·lr + accum·momentum·lr`. The buffer holds raw gradients; the current rate multiplies it."""

    momentum: Array  # (P, 1)
    use_nesterov: bool
    cycles_momentum = False

    def init(self, w: Array) -> MomentumState:
        return MomentumState(momentum=np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: MomentumState, out: Array, momentum: Array | None = None
    ) -> MomentumState:
        rate = rate_via_float32(lr)
        accum = state.momentum
        np.multiply(accum, self.momentum, out=accum)
        np.add(accum, g, out=accum)
        if self.use_nesterov:
            np.multiply(accum, self.momentum, out=out)
            np.multiply(out, rate, out=out)
            np.add(g * rate, out, out=out)
        else:
            np.multiply(accum, rate, out=out)
        np.subtract(w, out, out=out)
        return state

    def slots(self, state: MomentumState) -> dict[str, Array]:
        return {"momentum": state.momentum}


class AdagradState(NamedTuple):
    accumulator: Array


@dataclass(frozen=True)
class Adagrad:
    """`ApplyAdagrad`: `accum += g²`; `var −= g·lr·rsqrt(accum)`. No epsilon: the accumulator starts positive."""

    initial_accumulator_value: Array  # (P, 1), the exact value in the variable's dtype
    cycles_momentum = False

    def init(self, w: Array) -> AdagradState:
        return AdagradState(accumulator=np.broadcast_to(self.initial_accumulator_value, w.shape).copy())

    def update(
        self, w: Array, g: Array, lr: Array, state: AdagradState, out: Array, momentum: Array | None = None
    ) -> AdagradState:
        accum = state.accumulator
        np.add(accum, np.square(g), out=accum)
        np.multiply(g, rate_via_float32(lr), out=out)
        np.multiply(out, _reciprocal_sqrt(accum), out=out)
        np.subtract(w, out, out=out)
        return state

    def slots(self, state: AdagradState) -> dict[str, Array]:
        return {"accumulator": state.accumulator}


def _reciprocal_sqrt(x: Array) -> Array:
    """Eigen's scalar `rsqrt`: `1 / sqrt(x)`, each rounded."""
    root = np.sqrt(x)
    np.divide(root.dtype.type(1), root, out=root)
    return root


class RMSPropState(NamedTuple):
    rms: Array
    momentum: Array
    mg: Array | None


@dataclass(frozen=True)
class RMSProp:
    """`ApplyRMSProp` / `ApplyCenteredRMSProp`: `ms += (g² − ms)·(1 − rho)` (ms starts at 1.0); centered also
    `mg += (g − mg)·(1 − rho)`; `mom = mom·momentum + g·lr / sqrt(ms [− mg²] + epsilon)`; `var −= mom`. The rate
    sits inside the momentum buffer, and TF1 goes through it even with momentum 0."""

    one_minus_decay: Array  # (P, 1)
    momentum: Array
    epsilon: Array
    centered: bool
    cycles_momentum = False

    def init(self, w: Array) -> RMSPropState:
        return RMSPropState(
            rms=np.ones_like(w), momentum=np.zeros_like(w), mg=np.zeros_like(w) if self.centered else None
        )

    def update(
        self, w: Array, g: Array, lr: Array, state: RMSPropState, out: Array, momentum: Array | None = None
    ) -> RMSPropState:
        ms, mom, mg = state.rms, state.momentum, state.mg
        np.subtract(np.square(g), ms, out=out)
        np.multiply(out, self.one_minus_decay, out=out)
        np.add(ms, out, out=ms)
        if mg is not None:
            np.subtract(g, mg, out=out)
            np.multiply(out, self.one_minus_decay, out=out)
            np.add(mg, out, out=mg)
            np.square(mg, out=out)
            np.subtract(ms, out, out=out)
            np.add(out, self.epsilon, out=out)
        else:
            np.add(ms, self.epsilon, out=out)
        np.sqrt(out, out=out)
        np.divide(g * rate_via_float32(lr), out, out=out)
        np.multiply(mom, self.momentum, out=mom)
        np.add(mom, out, out=mom)
        np.subtract(w, mom, out=out)
        return state

    def slots(self, state: RMSPropState) -> dict[str, Array]:
        found = {"rms": state.rms, "momentum": state.momentum}
        if state.mg is not None:
            found["mg"] = state.mg
        return found


class AdamState(NamedTuple):
    m: Array
    v: Array
    beta1_power: Array  # (P, 1) float32, multiplied by beta1 after each update
    beta2_power: Array


@dataclass(frozen=True)
class Adam:
    """`ApplyAdam`: `alpha = lr·sqrt(1 − beta2_power) / (1 − beta1_power)` as a scalar first;
    `m += (g − m)·(1 − beta1)`; `v += (g² − v)·(1 − beta2)`; `var −= m·alpha / (sqrt(v) + epsilon)`.
    Epsilon sits on the uncorrected sqrt(v) (the paper's epsilon-hat). The powers are float32 variables, starting at
    beta1 and beta2."""

    beta1: Array  # (P, 1) float32, for the power accumulators
    beta2: Array
    one_minus_beta1: Array  # (P, 1), the variable's dtype
    one_minus_beta2: Array
    epsilon: Array
    cycles_momentum = False

    def init(self, w: Array) -> AdamState:
        return AdamState(
            m=np.zeros_like(w), v=np.zeros_like(w), beta1_power=self.beta1.copy(), beta2_power=self.beta2.copy()
        )

    def update(
        self, w: Array, g: Array, lr: Array, state: AdamState, out: Array, momentum: Array | None = None
    ) -> AdamState:
        dtype = w.dtype.type
        one = dtype(1)
        beta1_power = state.beta1_power.astype(w.dtype)
        beta2_power = state.beta2_power.astype(w.dtype)
        alpha = rate_via_float32(lr) * np.sqrt(one - beta2_power) / (one - beta1_power)
        m, v = state.m, state.v
        np.subtract(g, m, out=out)
        np.multiply(out, self.one_minus_beta1, out=out)
        np.add(m, out, out=m)
        np.subtract(np.square(g), v, out=out)
        np.multiply(out, self.one_minus_beta2, out=out)
        np.add(v, out, out=v)
        denominator = np.sqrt(v)
        np.add(denominator, self.epsilon, out=denominator)
        np.multiply(m, alpha, out=out)
        np.divide(out, denominator, out=out)
        np.subtract(w, out, out=out)
        np.multiply(state.beta1_power, self.beta1, out=state.beta1_power)
        np.multiply(state.beta2_power, self.beta2, out=state.beta2_power)
        return state

    def slots(self, state: AdamState) -> dict[str, Array]:
        return {"m": state.m, "v": state.v}


class AdadeltaState(NamedTuple):
    accum: Array
    accum_update: Array


@dataclass(frozen=True)
class Adadelta:
    """`ApplyAdadelta`: `accum = accum·rho + g²·(1 − rho)`;
    `update = sqrt(accum_update + epsilon)·rsqrt(accum + epsilon)·g`; `var −= update·lr`;
    `accum_update = accum_update·rho + update²·(1 − rho)`. The rate scales only the step, not the accumulators."""

    rho: Array  # (P, 1)
    one_minus_rho: Array
    epsilon: Array
    cycles_momentum = False

    def init(self, w: Array) -> AdadeltaState:
        return AdadeltaState(accum=np.zeros_like(w), accum_update=np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdadeltaState, out: Array, momentum: Array | None = None
    ) -> AdadeltaState:
        accum, accum_update = state.accum, state.accum_update
        np.multiply(accum, self.rho, out=accum)
        np.add(accum, np.square(g) * self.one_minus_rho, out=accum)
        step = np.add(accum_update, self.epsilon)
        np.sqrt(step, out=step)
        np.multiply(step, _reciprocal_sqrt(accum + self.epsilon), out=step)
        np.multiply(step, g, out=step)
        np.multiply(step, rate_via_float32(lr), out=out)
        np.subtract(w, out, out=out)
        np.multiply(accum_update, self.rho, out=accum_update)
        np.square(step, out=step)
        np.multiply(step, self.one_minus_rho, out=step)
        np.add(accum_update, step, out=accum_update)
        return state

    def slots(self, state: AdadeltaState) -> dict[str, Array]:
        return {"accum": state.accum, "accum_update": state.accum_update}


@register("tf1.MomentumOptimizer")
def momentum_optimizer(momentum: Numbers, use_nesterov: bool = False, *, dtype: np.dtype[np.floating]) -> Momentum:
    """`tf.compat.v1.train.MomentumOptimizer(learning_rate, momentum, use_nesterov=False)`; TF1 validates nothing."""
    return Momentum(momentum=hyper_via_float32("momentum", momentum, dtype), use_nesterov=use_nesterov)


@register("tf1.AdagradOptimizer")
def adagrad_optimizer(initial_accumulator_value: Numbers = 0.1, *, dtype: np.dtype[np.floating]) -> Adagrad:
    """`tf.compat.v1.train.AdagradOptimizer(learning_rate, initial_accumulator_value=0.1)`. The accumulator's
    `constant_initializer` takes the Python value directly in the variable's dtype (not through float32)."""
    initial = hyper("initial_accumulator_value", initial_accumulator_value, dtype)
    values = np.asarray(initial_accumulator_value, dtype=np.float64)
    require(
        bool((values > 0).all()),
        "initial_accumulator_value",
        f"initial_accumulator_value must be positive: {initial_accumulator_value} (TF1's AdagradOptimizer rule; "
        "the kernel divides by sqrt(accumulator), which has no epsilon). Give a value above 0; the default is 0.1.",
    )
    return Adagrad(initial_accumulator_value=initial)


@register("tf1.RMSPropOptimizer")
def rmsprop_optimizer(
    decay: Numbers = 0.9,
    momentum: Numbers = 0.0,
    epsilon: Numbers = 1e-10,
    centered: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> RMSProp:
    """`tf.compat.v1.train.RMSPropOptimizer(learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, centered=False)`."""
    return RMSProp(
        one_minus_decay=_complement(hyper_via_float32("decay", decay, dtype)),
        momentum=hyper_via_float32("momentum", momentum, dtype),
        epsilon=hyper_via_float32("epsilon", epsilon, dtype),
        centered=centered,
    )


@register("tf1.AdamOptimizer")
def adam_optimizer(
    beta1: Numbers = 0.9, beta2: Numbers = 0.999, epsilon: Numbers = 1e-8, *, dtype: np.dtype[np.floating]
) -> Adam:
    """`tf.compat.v1.train.AdamOptimizer(learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8)`."""
    b1 = as_dtype_array("beta1", beta1, F32)[:, None]
    b2 = as_dtype_array("beta2", beta2, F32)[:, None]
    return Adam(
        beta1=b1,
        beta2=b2,
        one_minus_beta1=_complement(b1.astype(dtype)),
        one_minus_beta2=_complement(b2.astype(dtype)),
        epsilon=hyper_via_float32("epsilon", epsilon, dtype),
    )


@register("tf1.AdadeltaOptimizer")
def adadelta_optimizer(rho: Numbers = 0.95, epsilon: Numbers = 1e-8, *, dtype: np.dtype[np.floating]) -> Adadelta:
    """`tf.compat.v1.train.AdadeltaOptimizer(learning_rate=0.001, rho=0.95, epsilon=1e-8)`."""
    rate = hyper_via_float32("rho", rho, dtype)
    return Adadelta(rho=rate, one_minus_rho=_complement(rate), epsilon=hyper_via_float32("epsilon", epsilon, dtype))
