"""Optax optimizer aliases (`optax.sgd`, `optax.adam`, ...), as their chains of transformations compute them.

Optax computes in the parameters' dtype (float32 by default, float64 under jax x64), one rounding per jnp
operation: Python-float hyperparameters are weakly typed, so `decay * t` is a product in the parameters' dtype,
while expressions of Python floats (`1 - decay`) are evaluated in double first; the factories precompute both
as columns (P, 1) in the run's dtype. Bias corrections use `1 - decay**count`
with the power rounded once (as XLA's pow of an int32 count gives), divided as XLA does it under jit.
`jax.lax.rsqrt` is computed as a correctly rounded 1/√x (XLA's CPU rsqrt can be 1–2 ulps off it, so Adagrad and
RMSprop are close, not bit-exact). The learning rate is applied as `u · (−lr)` and the update as `p + u`
(`optax.apply_updates`). State fields carry optax's NamedTuple field names.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from service.engine.arrays import Array, Numbers
from service.engine.optimizers.base import F64, hyper, register

INT32_MAX = 2**31 - 1


def _rsqrt(x: Array) -> Array:
    """`jax.lax.rsqrt`, correctly rounded."""
    return (1 / np.sqrt(x.astype(F64))).astype(x.dtype, copy=False)


def _increment(count: Array) -> int:
    """`numerics.safe_increment` on the int32 count, in place; returns the incremented count."""
    np.minimum(count + 1, INT32_MAX, out=count)
    return int(count[0])


def _number(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """A Python-float hyperparameter as optax applies it: a weakly typed scalar, i.e. in the run's dtype."""
    return hyper(name, value, dtype)


@dataclass(frozen=True)
class Decay:
    """A decay rate as optax's tree helpers use it: `decay·m` in the run's dtype, `(1 − decay)` evaluated as a
    Python double first, and `decay**count` for bias corrections."""

    rate: Array  # (P, 1), run dtype
    rest: Array  # 1 − decay, run dtype
    base: Array  # the run-dtype rate as float64, for the power

    @staticmethod
    def of(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> "Decay":
        decay = hyper(name, value, F64)
        rate = decay.astype(dtype)
        return Decay(rate, (1 - decay).astype(dtype), rate.astype(F64))

    def average(self, g: Array, moment: Array, order: int) -> Array:
        """`optax.tree.update_moment`: `(1 − decay)·g^order + decay·moment`."""
        power = g if order == 1 else g * g
        return self.rest * power + self.rate * moment

    def correct(self, moment: Array, count: int) -> Array:
        """`optax.tree.bias_correction`: `moment / (1 − decay**count)`, the power rounded once. It is jitted, and
        XLA rewrites the division by the broadcast scalar into a product with its reciprocal, except for a
        one-element parameter (the broadcast is then a reshape): measured with optax 0.2.8 / jaxlib 0.10.2."""
        correction = 1 - (self.base**count).astype(moment.dtype)
        if moment.shape[-1] == 1:
            return moment / correction
        return moment * (1 / correction)


def _apply(w: Array, u: Array, lr: Array, out: Array) -> None:
    """`scale_by_learning_rate` then `apply_updates`: `p + u·(−lr)`."""
    np.add(w, u * -lr, out=out)


def _counter() -> Array:
    return np.zeros(1, np.int64)


# --------------------------------------------------------------------------------------------------------------------
# sgd


class TraceState(NamedTuple):
    trace: Array  # (R, D)


@dataclass(frozen=True)
class SGD:
    """optax.sgd: `trace = g + momentum·trace` (optax.trace, first trace = g), Nesterov `g + momentum·trace`,
    then `p ← p − lr·update`; without momentum plain gradient descent."""

    momentum: Array | None  # run dtype
    nesterov: bool
    cycles_momentum = False

    def init(self, w: Array) -> TraceState:
        return TraceState(np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: TraceState, out: Array, momentum: Array | None = None
    ) -> TraceState:
        decay = self.momentum
        if decay is None:
            _apply(w, g, lr, out)
            return state
        np.add(g, decay * state.trace, out=state.trace)
        _apply(w, g + decay * state.trace if self.nesterov else state.trace, lr, out)
        return state

    def slots(self, state: TraceState) -> dict[str, Array]:
        return {} if self.momentum is None else {"trace": state.trace}


@register("optax.sgd")
def sgd(momentum: Numbers | None = None, nesterov: bool = False, *, dtype: np.dtype[np.floating]) -> SGD:
    """optax.sgd; `nesterov` only matters with a momentum (optax ignores it otherwise)."""
    return SGD(None if momentum is None else _number("momentum", momentum, dtype), nesterov)


# --------------------------------------------------------------------------------------------------------------------
# adam, adamw, nadam


class ScaleByAdamState(NamedTuple):
    count: Array  # type: ignore[assignment]  # optax's field name shadows tuple.count; (1,), int32 range
    mu: Array  # (R, D)
    nu: Array  # (R, D)


@dataclass(frozen=True)
class Adam:
    """optax.adam / adamw / nadam (scale_by_adam): `mu`, `nu` moving averages, `m̂ = mu/(1−b1^t)` (Nesterov:
    `b1·mu/(1−b1^(t+1)) + (1−b1)·g/(1−b1^t)`), `u = m̂/(√(nu/(1−b2^t) + eps_root) + eps)`; adamw adds
    `weight_decay·p` to u; then `p ← p − lr·u`."""

    b1: Decay
    b2: Decay
    eps: Array  # run dtype
    eps_root: Array
    nesterov: bool
    weight_decay: Array | None = None
    cycles_momentum = False

    def init(self, w: Array) -> ScaleByAdamState:
        return ScaleByAdamState(_counter(), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: ScaleByAdamState, out: Array, momentum: Array | None = None
    ) -> ScaleByAdamState:
        b1, b2 = self.b1, self.b2
        np.copyto(state.mu, b1.average(g, state.mu, 1))
        np.copyto(state.nu, b2.average(g, state.nu, 2))
        count = _increment(state.count)
        if self.nesterov:
            ahead = b1.correct(state.mu, min(count + 1, INT32_MAX))
            mu_hat: Array = b1.rate * ahead + b1.rest * b1.correct(g, count)
        else:
            mu_hat = b1.correct(state.mu, count)
        u = mu_hat / (np.sqrt(b2.correct(state.nu, count) + self.eps_root) + self.eps)
        if self.weight_decay is not None:
            u = u + self.weight_decay * w
        _apply(w, u, lr, out)
        return state

    def slots(self, state: ScaleByAdamState) -> dict[str, Array]:
        return {"mu": state.mu, "nu": state.nu}


def _adam(
    b1: Numbers,
    b2: Numbers,
    eps: Numbers,
    eps_root: Numbers,
    nesterov: bool,
    dtype: np.dtype[np.floating],
    weight_decay: Numbers | None = None,
) -> Adam:
    return Adam(
        Decay.of("b1", b1, dtype),
        Decay.of("b2", b2, dtype),
        _number("eps", eps, dtype),
        _number("eps_root", eps_root, dtype),
        nesterov,
        None if weight_decay is None else _number("weight_decay", weight_decay, dtype),
    )


@register("optax.adam")
def adam(
    b1: Numbers = 0.9,
    b2: Numbers = 0.999,
    eps: Numbers = 1e-8,
    eps_root: Numbers = 0.0,
    nesterov: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """optax.adam (optax validates none of these)."""
    return _adam(b1, b2, eps, eps_root, nesterov, dtype)


@register("optax.nadam")
def nadam(
    b1: Numbers = 0.9,
    b2: Numbers = 0.999,
    eps: Numbers = 1e-8,
    eps_root: Numbers = 0.0,
    nesterov: bool = True,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """optax.nadam = `functools.partial(optax.adam, nesterov=True)`."""
    return _adam(b1, b2, eps, eps_root, nesterov, dtype)


@register("optax.adamw")
def adamw(
    b1: Numbers = 0.9,
    b2: Numbers = 0.999,
    eps: Numbers = 1e-8,
    eps_root: Numbers = 0.0,
    weight_decay: Numbers = 1e-4,
    nesterov: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """optax.adamw: scale_by_adam, add_decayed_weights(weight_decay), scale by −lr."""
    return _adam(b1, b2, eps, eps_root, nesterov, dtype, weight_decay)


# --------------------------------------------------------------------------------------------------------------------
# rmsprop


class RMSpropState(NamedTuple):
    count: Array  # type: ignore[assignment]  # optax's field name shadows tuple.count; used with bias_correction
    mu: Array  # (R, D), used when centered (scale_by_stddev)
    nu: Array  # (R, D)
    trace: Array  # (R, D), used with a momentum


@dataclass(frozen=True)
class RMSprop:
    """optax.rmsprop: `nu = decay·nu + (1−decay)·g²` (centered: minus the square of the mean `mu`), optionally
    bias-corrected; `u = g/√(nu + eps)` (eps_in_sqrt) or `g/(√nu + eps)`; then `−lr·u`, and the momentum trace is
    taken **after** the rate (`trace = −lr·u + momentum·trace`), unlike optax.sgd."""

    decay: Decay
    eps: Array  # run dtype
    initial_scale: Array
    eps_in_sqrt: bool
    centered: bool
    momentum: Array | None
    nesterov: bool
    bias_correction: bool
    cycles_momentum = False

    def init(self, w: Array) -> RMSpropState:
        nu = np.array(np.broadcast_to(self.initial_scale, w.shape), dtype=w.dtype)
        return RMSpropState(_counter(), np.zeros_like(w), nu, np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: RMSpropState, out: Array, momentum: Array | None = None
    ) -> RMSpropState:
        decay = self.decay
        if self.centered:
            np.copyto(state.mu, decay.average(g, state.mu, 1))
        np.copyto(state.nu, decay.average(g, state.nu, 2))
        mu_hat, nu_hat = state.mu, state.nu
        if self.bias_correction:
            count = _increment(state.count)
            mu_hat = decay.correct(mu_hat, count)
            nu_hat = decay.correct(nu_hat, count)
        if self.centered:
            nu_hat = nu_hat - mu_hat * mu_hat
        scaling = _rsqrt(nu_hat + self.eps) if self.eps_in_sqrt else 1 / (np.sqrt(nu_hat) + self.eps)
        u: Array = scaling * g * -lr
        if self.momentum is not None:
            np.add(u, self.momentum * state.trace, out=state.trace)
            u = u + self.momentum * state.trace if self.nesterov else state.trace
        np.add(w, u, out=out)
        return state

    def slots(self, state: RMSpropState) -> dict[str, Array]:
        recorded = {"mu": state.mu} if self.centered else {}
        recorded["nu"] = state.nu
        if self.momentum is not None:
            recorded["trace"] = state.trace
        return recorded


@register("optax.rmsprop")
def rmsprop(
    decay: Numbers = 0.9,
    eps: Numbers = 1e-8,
    initial_scale: Numbers = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: Numbers | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> RMSprop:
    """optax.rmsprop (no momentum trace unless `momentum` is given)."""
    return RMSprop(
        Decay.of("decay", decay, dtype),
        _number("eps", eps, dtype),
        _number("initial_scale", initial_scale, dtype),
        eps_in_sqrt,
        centered,
        None if momentum is None else _number("momentum", momentum, dtype),
        nesterov,
        bias_correction,
    )


# --------------------------------------------------------------------------------------------------------------------
# adagrad


class ScaleByRssState(NamedTuple):
    sum_of_squares: Array  # (R, D)


@dataclass(frozen=True)
class Adagrad:
    """optax.adagrad (scale_by_rss): `sum_of_squares += g²`, `u = g/√(sum + eps)` where the sum is positive
    (0 elsewhere); eps inside the square root; the sum starts at `initial_accumulator_value` (0.1)."""

    initial_accumulator_value: Array  # run dtype
    eps: Array
    cycles_momentum = False

    def init(self, w: Array) -> ScaleByRssState:
        return ScaleByRssState(np.array(np.broadcast_to(self.initial_accumulator_value, w.shape), dtype=w.dtype))

    def update(
        self, w: Array, g: Array, lr: Array, state: ScaleByRssState, out: Array, momentum: Array | None = None
    ) -> ScaleByRssState:
        total = state.sum_of_squares
        np.add(g * g, total, out=total)
        with np.errstate(divide="ignore"):  # 1/√0 is computed, then discarded, as jnp.where does
            scaling = np.where(total > 0, _rsqrt(total + self.eps), 0).astype(w.dtype, copy=False)
        _apply(w, scaling * g, lr, out)
        return state

    def slots(self, state: ScaleByRssState) -> dict[str, Array]:
        return {"sum_of_squares": state.sum_of_squares}


@register("optax.adagrad")
def adagrad(initial_accumulator_value: Numbers = 0.1, eps: Numbers = 1e-7, *, dtype: np.dtype[np.floating]) -> Adagrad:
    """optax.adagrad."""
    return Adagrad(_number("initial_accumulator_value", initial_accumulator_value, dtype), _number("eps", eps, dtype))


# --------------------------------------------------------------------------------------------------------------------
# adamax


@dataclass(frozen=True)
class Adamax:
    """optax.adamax (scale_by_adamax): `mu` as in Adam, `nu = max(|g| + eps, b2·nu)` (eps inside the max),
    `u = (mu/(1−b1^t))/nu`."""

    b1: Decay
    b2: Array  # run dtype
    eps: Array
    cycles_momentum = False

    def init(self, w: Array) -> ScaleByAdamState:
        return ScaleByAdamState(_counter(), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: ScaleByAdamState, out: Array, momentum: Array | None = None
    ) -> ScaleByAdamState:
        count = _increment(state.count)
        np.copyto(state.mu, self.b1.average(g, state.mu, 1))
        np.maximum(np.abs(g) + self.eps, self.b2 * state.nu, out=state.nu)
        _apply(w, self.b1.correct(state.mu, count) / state.nu, lr, out)
        return state

    def slots(self, state: ScaleByAdamState) -> dict[str, Array]:
        return {"mu": state.mu, "nu": state.nu}


@register("optax.adamax")
def adamax(b1: Numbers = 0.9, b2: Numbers = 0.999, eps: Numbers = 1e-8, *, dtype: np.dtype[np.floating]) -> Adamax:
    """optax.adamax."""
    return Adamax(Decay.of("b1", b1, dtype), _number("b2", b2, dtype), _number("eps", eps, dtype))


# --------------------------------------------------------------------------------------------------------------------
# adadelta


class ScaleByAdaDeltaState(NamedTuple):
    e_g: Array  # (R, D)
    e_x: Array  # (R, D)


@dataclass(frozen=True)
class Adadelta:
    """optax.adadelta: optional `g += weight_decay·p`, `e_g = rho·e_g + (1−rho)·g²`,
    `u = √(e_x + eps)/√(e_g + eps)·g`, `e_x = rho·e_x + (1−rho)·u²` (lr-free, as torch), then `p ← p − lr·u`."""

    rho: Decay
    eps: Array  # run dtype
    weight_decay: Array | None
    cycles_momentum = False

    def init(self, w: Array) -> ScaleByAdaDeltaState:
        return ScaleByAdaDeltaState(np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: ScaleByAdaDeltaState, out: Array, momentum: Array | None = None
    ) -> ScaleByAdaDeltaState:
        if self.weight_decay is not None:
            g = g + self.weight_decay * w
        np.copyto(state.e_g, self.rho.average(g, state.e_g, 2))
        u = np.sqrt(state.e_x + self.eps) / np.sqrt(state.e_g + self.eps) * g
        np.copyto(state.e_x, self.rho.average(u, state.e_x, 2))
        _apply(w, u, lr, out)
        return state

    def slots(self, state: ScaleByAdaDeltaState) -> dict[str, Array]:
        return {"e_g": state.e_g, "e_x": state.e_x}


@register("optax.adadelta")
def adadelta(
    rho: Numbers = 0.9, eps: Numbers = 1e-6, weight_decay: Numbers = 0.0, *, dtype: np.dtype[np.floating]
) -> Adadelta:
    """optax.adadelta (its learning rate comes from the schedule; optax's own default None would skip it). A
    weight_decay of 0 is skipped, as optax does."""
    decay = _number("weight_decay", weight_decay, dtype)
    return Adadelta(Decay.of("rho", rho, dtype), _number("eps", eps, dtype), decay if decay.any() else None)
