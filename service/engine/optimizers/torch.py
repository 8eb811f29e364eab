"""PyTorch `torch.optim` optimizers, as the single-tensor CPU path computes them (NUMERICS.md §3).

torch's hyperparameters are Python doubles: scalars derived from them (`1 - beta1`, `lr / bias_correction1`, ...)
are computed in float64 here too and cast to the parameters' dtype where an op uses them; the factories precompute
the constant ones (columns (P, 1)). In float32 the fused CPU kernels `add(x, alpha=a)`, `lerp_` and `addcmul_`
round once: they are computed in float64 and rounded once; `mul_`, `div`, `sqrt` and `addcdiv_` round after every
operation, as NumPy does in float32. In float64 the same code is the formula in double. torch keeps `step` as a
float32 tensor (even for float64 parameters), and NAdam's `mu_product` too. The rate arrives in the run's dtype,
so in float32 `lr / bias_correction` starts from the float32 rate where torch starts from the double (≤ 1 ulp).
Each update writes the state in place and the next weights into `out`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, Numbers
from service.engine.errors import ParameterError
from service.engine.optimizers.base import F32, F64, hyper, register

Mask = npt.NDArray[np.bool_]


# --------------------------------------------------------------------------------------------------------------------
# torch's CPU arithmetic: which ops round once, which round at every step


def _add(y: Array, x: Array, alpha: Array) -> Array:
    """`y.add(x, alpha=alpha)`: one rounding of `y + alpha·x` (alpha already in the tensor's dtype)."""
    return (alpha.astype(F64) * x + y).astype(y.dtype, copy=False)


def _lerp(y: Array, x: Array, weight: Array) -> Array:
    """`y.lerp_(x, weight)`: `y + w·(x−y)` for |w| < 0.5, else `x − (x−y)·(1−w)`, each rounded once."""
    diff = x - y
    small = np.abs(weight) < 0.5
    if small.all():
        return (weight.astype(F64) * diff + y).astype(y.dtype, copy=False)
    far = x - (1 - weight).astype(F64) * diff
    if not small.any():
        return far.astype(y.dtype, copy=False)
    return np.where(small, weight.astype(F64) * diff + y, far).astype(y.dtype, copy=False)


def _addcmul(y: Array, t1: Array, t2: Array, value: Array) -> Array:
    """`y.addcmul_(t1, t2, value=v)`: `fma(v·t1, t2, y)`, the product `v·t1` rounded first."""
    return ((value * t1).astype(F64) * t2 + y).astype(y.dtype, copy=False)


def _addcdiv(y: Array, t1: Array, t2: Array, value: Array) -> Array:
    """`y.addcdiv_(t1, t2, value=v)`: `y + (v·t1)/t2`, rounded after every operation."""
    return y + (value * t1) / t2


def _write(target: Array, value: Array) -> None:
    np.copyto(target, value, casting="same_kind")


def _next_step(step: Array) -> float:
    """`step += 1` on torch's float32 step tensor; the Python double torch's formulas then read from it."""
    np.add(step, np.float32(1), out=step)
    return float(step[0])


def _double(column: Array) -> Array:
    """A run-dtype column (a rate, a cycled momentum) as the Python double torch would hold."""
    return column.astype(F64, copy=False)


def _l2(g: Array, w: Array, weight_decay: Array | None) -> Array:
    """torch's L2 weight decay, `g.add(p, alpha=weight_decay)`, when there is one."""
    return g if weight_decay is None else _add(g, w, weight_decay)


# --------------------------------------------------------------------------------------------------------------------
# Validation: torch's ValueError rules, quoted


def _first_bad(values: Array, ok: Mask) -> float:
    return float(values[~ok].flat[0])


def _at_least_zero(name: str, values: Array, torch_text: str) -> None:
    """torch refuses a negative value with `ValueError(torch_text.format(value))`."""
    ok = values >= 0
    if not ok.all():
        raise ParameterError(
            name, f'torch raises ValueError("{torch_text.format(_first_bad(values, ok))}"): {name} must be 0 or more.'
        )


def _beta(index: int, values: Array) -> None:
    """torch: `if not 0.0 <= betas[i] < 1.0: raise ValueError("Invalid beta parameter at index i: ...")`."""
    ok = (values >= 0) & (values < 1)
    if not ok.all():
        raise ParameterError(
            ("betas", index),
            f'torch raises ValueError("Invalid beta parameter at index {index}: {_first_bad(values, ok)}"): '
            f"betas[{index}] must be at least 0 and less than 1.",
        )


def _betas(betas: Sequence[Numbers]) -> tuple[Array, Array]:
    if len(betas) != 2:
        raise ParameterError("betas", f"betas must be two numbers, [beta1, beta2]; got {len(betas)}.")
    beta1, beta2 = (hyper("betas", value, F64) for value in betas)
    _beta(0, beta1)
    _beta(1, beta2)
    return beta1, beta2


def _weight_decay(value: Numbers) -> Array:
    weight_decay = hyper("weight_decay", value, F64)
    _at_least_zero("weight_decay", weight_decay, "Invalid weight_decay value: {}")
    return weight_decay


def _eps(value: Numbers) -> Array:
    eps = hyper("eps", value, F64)
    _at_least_zero("eps", eps, "Invalid epsilon value: {}")
    return eps


def _decay_or_none(weight_decay: Array, dtype: np.dtype[np.floating]) -> Array | None:
    """The L2 decay in the run's dtype, or None when it is 0 everywhere (torch skips it: `if weight_decay != 0`)."""
    return weight_decay.astype(dtype) if weight_decay.any() else None


# --------------------------------------------------------------------------------------------------------------------
# SGD


class SGDState(NamedTuple):
    momentum_buffer: Array  # (R, D)
    started: Mask  # (R, 1): whether the buffer exists yet (torch creates it from the first gradient)


@dataclass(frozen=True)
class SGD:
    """torch.optim.SGD: `buf = g` on the first step, then `buf = μ·buf + (1−dampening)·g`; Nesterov
    `d = g + μ·buf`; `p ← p − lr·d`. A cycled momentum (CyclicLR/OneCycleLR) turns the buffer on even when the
    constructor's momentum is 0, as torch does (its test is `momentum != 0` at every step)."""

    momentum: Array  # (P, 1), run dtype
    keep: Array  # 1 − dampening, run dtype
    weight_decay: Array | None
    nesterov: bool
    cycles_momentum = True

    def init(self, w: Array) -> SGDState:
        return SGDState(np.zeros_like(w), np.zeros((w.shape[0], 1), dtype=bool))

    def update(
        self, w: Array, g: Array, lr: Array, state: SGDState, out: Array, momentum: Array | None = None
    ) -> SGDState:
        g = _l2(g, w, self.weight_decay)
        mu = self.momentum if momentum is None else momentum
        active = mu != 0
        if not active.any():
            _write(out, _add(w, g, -lr))
            return state
        buf, started = state.momentum_buffer, state.started
        if active.all() and started.all():
            _write(buf, _add(buf * mu, g, self.keep))
        else:
            later = _add(buf * mu, g, self.keep)
            _write(buf, np.where(active & started, later, np.where(active, g, buf)))
            started |= active
        direction = _add(g, buf, mu) if self.nesterov else buf
        if not active.all():
            direction = np.where(active, direction, g)
        _write(out, _add(w, direction, -lr))
        return state

    def slots(self, state: SGDState) -> dict[str, Array]:
        """`momentum_buffer` always (zeros until used): a cycling scheduler can switch it on at any momentum."""
        return {"momentum_buffer": state.momentum_buffer}


@register("torch.SGD")
def sgd(
    momentum: Numbers = 0.0,
    dampening: Numbers = 0.0,
    weight_decay: Numbers = 0.0,
    nesterov: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> SGD:
    """torch.optim.SGD with torch's rules: momentum ≥ 0, weight_decay ≥ 0, Nesterov needs momentum > 0 and
    dampening 0 (checked on the constructor's values, as torch does even when a scheduler cycles momentum)."""
    mu = hyper("momentum", momentum, F64)
    _at_least_zero("momentum", mu, "Invalid momentum value: {}")
    wd = _weight_decay(weight_decay)
    damp = hyper("dampening", dampening, F64)
    if nesterov and ((mu <= 0).any() or (damp != 0).any()):
        raise ParameterError(
            "momentum" if (mu <= 0).any() else "dampening",
            'torch raises ValueError("Nesterov momentum requires a momentum and zero dampening"): with nesterov '
            "true, give momentum > 0 and dampening 0 (or set nesterov to false).",
        )
    return SGD(mu.astype(dtype), (1 - damp).astype(dtype), _decay_or_none(wd, dtype), nesterov)


# --------------------------------------------------------------------------------------------------------------------
# Adagrad


class AdagradState(NamedTuple):
    step: Array  # (1,) float32
    sum: Array  # (R, D)


@dataclass(frozen=True)
class Adagrad:
    """torch.optim.Adagrad: `sum += g²`, `p ← p − clr·g/(√sum + eps)` with `clr = lr/(1 + (t−1)·lr_decay)`;
    eps outside the square root; `sum` starts at `initial_accumulator_value` (default 0)."""

    lr_decay: Array  # float64
    weight_decay: Array | None
    initial_accumulator_value: Array  # run dtype
    eps: Array  # run dtype
    cycles_momentum = False

    def init(self, w: Array) -> AdagradState:
        start = np.broadcast_to(self.initial_accumulator_value, w.shape)
        return AdagradState(np.zeros(1, F32), np.array(start, dtype=w.dtype))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdagradState, out: Array, momentum: Array | None = None
    ) -> AdagradState:
        t = _next_step(state.step)
        g = _l2(g, w, self.weight_decay)
        clr = _double(lr) / (1 + (t - 1) * self.lr_decay)
        _write(state.sum, (g.astype(F64) * g + state.sum).astype(w.dtype, copy=False))  # addcmul_(g, g, value=1)
        std = np.sqrt(state.sum) + self.eps
        _write(out, _addcdiv(w, g, std, -clr.astype(w.dtype)))
        return state

    def slots(self, state: AdagradState) -> dict[str, Array]:
        return {"sum": state.sum}


@register("torch.Adagrad")
def adagrad(
    lr_decay: Numbers = 0.0,
    weight_decay: Numbers = 0.0,
    initial_accumulator_value: Numbers = 0.0,
    eps: Numbers = 1e-10,
    *,
    dtype: np.dtype[np.floating],
) -> Adagrad:
    """torch.optim.Adagrad; lr_decay, weight_decay, initial_accumulator_value and eps must be ≥ 0 (torch)."""
    decay = hyper("lr_decay", lr_decay, F64)
    _at_least_zero("lr_decay", decay, "Invalid lr_decay value: {}")
    wd = _weight_decay(weight_decay)
    start = hyper("initial_accumulator_value", initial_accumulator_value, F64)
    _at_least_zero("initial_accumulator_value", start, "Invalid initial_accumulator_value value: {}")
    return Adagrad(decay, _decay_or_none(wd, dtype), start.astype(dtype), _eps(eps).astype(dtype))


# --------------------------------------------------------------------------------------------------------------------
# RMSprop


class RMSpropState(NamedTuple):
    step: Array  # (1,) float32
    square_avg: Array  # (R, D)
    momentum_buffer: Array  # (R, D), used when momentum > 0
    grad_avg: Array  # (R, D), used when centered


@dataclass(frozen=True)
class RMSprop:
    """torch.optim.RMSprop: `sq = α·sq + (1−α)·g²`; `avg = √sq + eps` (centered: `√(sq − ga²) + eps` with
    `ga` the lerped mean gradient); momentum > 0: `buf = μ·buf + g/avg`, `p ← p − lr·buf`; else
    `p ← p − lr·g/avg`. eps outside the square root."""

    alpha: Array  # run dtype
    rest: Array  # 1 − alpha, run dtype
    eps: Array
    weight_decay: Array | None
    momentum: Array
    centered: bool
    cycles_momentum = True

    def init(self, w: Array) -> RMSpropState:
        return RMSpropState(np.zeros(1, F32), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: RMSpropState, out: Array, momentum: Array | None = None
    ) -> RMSpropState:
        _next_step(state.step)
        g = _l2(g, w, self.weight_decay)
        sq = state.square_avg
        _write(sq, _addcmul(sq * self.alpha, g, g, self.rest))
        if self.centered:
            _write(state.grad_avg, _lerp(state.grad_avg, g, self.rest))
            avg = np.sqrt(_addcmul(sq, -state.grad_avg, state.grad_avg, np.ones(1, w.dtype)))
        else:
            avg = np.sqrt(sq)
        avg += self.eps
        mu = self.momentum if momentum is None else momentum
        uses_buffer = mu > 0
        if not uses_buffer.any():
            _write(out, _addcdiv(w, g, avg, -lr))
            return state
        buf = state.momentum_buffer
        following = buf * mu + g / avg  # buf.mul_(μ).addcdiv_(g, avg)
        if uses_buffer.all():
            _write(buf, following)
            _write(out, _add(w, buf, -lr))
            return state
        _write(buf, np.where(uses_buffer, following, buf))
        _write(out, np.where(uses_buffer, _add(w, buf, -lr), _addcdiv(w, g, avg, -lr)))
        return state

    def slots(self, state: RMSpropState) -> dict[str, Array]:
        """torch creates `momentum_buffer` when momentum > 0 and `grad_avg` when centered."""
        recorded = {"square_avg": state.square_avg}
        if (self.momentum > 0).any():
            recorded["momentum_buffer"] = state.momentum_buffer
        if self.centered:
            recorded["grad_avg"] = state.grad_avg
        return recorded


@register("torch.RMSprop")
def rmsprop(
    alpha: Numbers = 0.99,
    eps: Numbers = 1e-8,
    weight_decay: Numbers = 0.0,
    momentum: Numbers = 0.0,
    centered: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> RMSprop:
    """torch.optim.RMSprop; eps, momentum, weight_decay and alpha must be ≥ 0 (torch's checks, in its order)."""
    eps_ = _eps(eps)
    mu = hyper("momentum", momentum, F64)
    _at_least_zero("momentum", mu, "Invalid momentum value: {}")
    wd = _weight_decay(weight_decay)
    alpha_ = hyper("alpha", alpha, F64)
    _at_least_zero("alpha", alpha_, "Invalid alpha value: {}")
    return RMSprop(
        alpha_.astype(dtype),
        (1 - alpha_).astype(dtype),
        eps_.astype(dtype),
        _decay_or_none(wd, dtype),
        mu.astype(dtype),
        centered,
    )


# --------------------------------------------------------------------------------------------------------------------
# Adam, AdamW


class Scratch(NamedTuple):
    """Buffers an update reuses at every step instead of allocating temporaries (not optimizer state)."""

    narrow: Array  # (R, D), run dtype
    wide: Array  # (R, D), float64: the fused kernels' one rounding


class AdamState(NamedTuple):
    step: Array  # (1,) float32
    exp_avg: Array  # (R, D)
    exp_avg_sq: Array  # (R, D)
    max_exp_avg_sq: Array  # (R, D), used with amsgrad
    scratch: Scratch | None = None


@dataclass(frozen=True)
class Moments:
    """What the Adam family shares: β1 and β2 as Python doubles (for `β^t` and a cycled `1 − β1`) and the
    constant factors in the run's dtype."""

    beta1: Array  # float64
    beta2: Array  # float64
    weight1: Array  # 1 − β1, run dtype (the lerp weight)
    decay2: Array  # β2, run dtype
    weight2: Array  # 1 − β2, run dtype
    eps: Array  # run dtype
    weight1_wide: Array = field(init=False, repr=False)  # 1 − β1 in the run's dtype, as float64
    lerps_near: bool = field(init=False, repr=False)  # |1 − β1| < 0.5 everywhere: lerp's y + w·(x − y) branch

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight1_wide", self.weight1.astype(F64))
        object.__setattr__(self, "lerps_near", bool((np.abs(self.weight1) < 0.5).all()))

    @staticmethod
    def of(betas: Sequence[Numbers], eps: Numbers, dtype: np.dtype[np.floating]) -> "Moments":
        eps_ = _eps(eps)  # torch checks eps before betas
        beta1, beta2 = _betas(betas)
        return Moments(
            beta1, beta2, (1 - beta1).astype(dtype), beta2.astype(dtype), (1 - beta2).astype(dtype), eps_.astype(dtype)
        )

    def first(self, exp_avg: Array, g: Array, beta1: Array | None) -> None:
        """`exp_avg.lerp_(g, 1 − β1)`, with a cycled β1 when a scheduler writes one."""
        weight = self.weight1 if beta1 is None else (1 - _double(beta1)).astype(g.dtype)
        _write(exp_avg, _lerp(exp_avg, g, weight))

    def second(self, exp_avg_sq: Array, g: Array) -> None:
        """`exp_avg_sq.mul_(β2).addcmul_(g, g, value=1 − β2)`."""
        _write(exp_avg_sq, _addcmul(exp_avg_sq * self.decay2, g, g, self.weight2))

    def first_into(self, exp_avg: Array, g: Array, scratch: Scratch) -> None:
        """`first` with the constant weight when `lerps_near`, in place: the same roundings, no temporaries."""
        np.subtract(g, exp_avg, out=scratch.narrow)
        np.multiply(scratch.narrow, self.weight1_wide, out=scratch.wide)
        np.add(scratch.wide, exp_avg, out=exp_avg, casting="same_kind")  # in float64, rounded once

    def second_into(self, exp_avg_sq: Array, g: Array, scratch: Scratch) -> None:
        """`second` in place: the same roundings, no temporaries."""
        np.multiply(exp_avg_sq, self.decay2, out=exp_avg_sq)
        np.multiply(self.weight2, g, out=scratch.narrow)
        np.multiply(scratch.narrow, g, out=scratch.wide, dtype=F64)
        np.add(scratch.wide, exp_avg_sq, out=exp_avg_sq, casting="same_kind")  # in float64, rounded once


@dataclass(frozen=True)
class Adam:
    """torch.optim.Adam/AdamW: `m` lerps towards g by `1−β1`, `v = β2·v + (1−β2)·g²`,
    `p ← p − (lr/(1−β1^t))·m/(√v/√(1−β2^t) + eps)` (eps added to √v̂); amsgrad uses `max(v)`; L2 weight decay
    `g += wd·p`, or decoupled `p ← p·(1 − lr·wd)` first (AdamW)."""

    moments: Moments
    weight_decay: Array  # float64
    amsgrad: bool
    decoupled_weight_decay: bool
    l2: Array | None  # the L2 decay in the run's dtype, unless decoupled
    cycles_momentum = True

    def init(self, w: Array) -> AdamState:
        scratch = Scratch(np.empty_like(w), np.empty(w.shape, F64))
        return AdamState(np.zeros(1, F32), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), scratch)

    def update(
        self, w: Array, g: Array, lr: Array, state: AdamState, out: Array, momentum: Array | None = None
    ) -> AdamState:
        t = _next_step(state.step)
        p = _decoupled(w, lr, self.weight_decay) if self.decoupled_weight_decay else w
        g = _l2(g, w, self.l2)
        moments, scratch = self.moments, state.scratch
        if scratch is not None and momentum is None and moments.lerps_near:
            moments.first_into(state.exp_avg, g, scratch)
        else:
            moments.first(state.exp_avg, g, momentum)
        if scratch is not None:
            moments.second_into(state.exp_avg_sq, g, scratch)
        else:
            moments.second(state.exp_avg_sq, g)
        beta1 = moments.beta1 if momentum is None else _double(momentum)
        step_size = _double(lr) / (1 - beta1**t)
        bias_correction2_sqrt = (1 - moments.beta2**t) ** 0.5
        sq = state.exp_avg_sq
        if self.amsgrad:
            np.maximum(state.max_exp_avg_sq, sq, out=state.max_exp_avg_sq)
            sq = state.max_exp_avg_sq
        if scratch is None:
            denom = np.sqrt(sq) / bias_correction2_sqrt.astype(w.dtype) + moments.eps
            _write(out, _addcdiv(p, state.exp_avg, denom, -step_size.astype(w.dtype)))
            return state
        denom = np.sqrt(sq, out=scratch.narrow)  # the same operations as above, into reused buffers
        np.divide(denom, bias_correction2_sqrt.astype(w.dtype), out=denom)
        np.add(denom, moments.eps, out=denom)
        value = np.negative(step_size, out=np.empty(step_size.shape, w.dtype), casting="same_kind")  # -(x rounded)
        np.multiply(value, state.exp_avg, out=out)
        np.divide(out, denom, out=out)
        np.add(p, out, out=out)
        return state

    def slots(self, state: AdamState) -> dict[str, Array]:
        recorded = {"exp_avg": state.exp_avg, "exp_avg_sq": state.exp_avg_sq}
        if self.amsgrad:
            recorded["max_exp_avg_sq"] = state.max_exp_avg_sq
        return recorded


def _decoupled(w: Array, lr: Array, weight_decay: Array) -> Array:
    """torch's decoupled weight decay, `p.mul_(1 − lr·weight_decay)` (the factor a Python double)."""
    if not weight_decay.any():
        return w
    return w * (1 - _double(lr) * weight_decay).astype(w.dtype)


@register("torch.Adam")
def adam(
    betas: Sequence[Numbers] = (0.9, 0.999),
    eps: Numbers = 1e-8,
    weight_decay: Numbers = 0.0,
    amsgrad: bool = False,
    decoupled_weight_decay: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """torch.optim.Adam; eps ≥ 0, 0 ≤ betas[i] < 1, weight_decay ≥ 0 (torch's checks, in its order)."""
    moments = Moments.of(betas, eps, dtype)
    wd = _weight_decay(weight_decay)
    l2 = None if decoupled_weight_decay else _decay_or_none(wd, dtype)
    return Adam(moments, wd, amsgrad, decoupled_weight_decay, l2)


@register("torch.AdamW")
def adamw(
    betas: Sequence[Numbers] = (0.9, 0.999),
    eps: Numbers = 1e-8,
    weight_decay: Numbers = 1e-2,
    amsgrad: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> Adam:
    """torch.optim.AdamW: Adam with decoupled weight decay (default 1e-2), the same checks."""
    return Adam(Moments.of(betas, eps, dtype), _weight_decay(weight_decay), amsgrad, True, None)


# --------------------------------------------------------------------------------------------------------------------
# Adamax


class AdamaxState(NamedTuple):
    step: Array  # (1,) float32
    exp_avg: Array  # (R, D)
    exp_inf: Array  # (R, D)


@dataclass(frozen=True)
class Adamax:
    """torch.optim.Adamax: `m` lerps towards g, `u = max(β2·u, |g| + eps)` (eps inside the max),
    `p ← p − (lr/(1−β1^t))·m/u`."""

    moments: Moments
    weight_decay: Array | None
    cycles_momentum = True

    def init(self, w: Array) -> AdamaxState:
        return AdamaxState(np.zeros(1, F32), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdamaxState, out: Array, momentum: Array | None = None
    ) -> AdamaxState:
        t = _next_step(state.step)
        g = _l2(g, w, self.weight_decay)
        moments = self.moments
        moments.first(state.exp_avg, g, momentum)
        np.maximum(state.exp_inf * moments.decay2, np.abs(g) + moments.eps, out=state.exp_inf)
        beta1 = moments.beta1 if momentum is None else _double(momentum)
        clr = _double(lr) / (1 - beta1**t)
        _write(out, _addcdiv(w, state.exp_avg, state.exp_inf, -clr.astype(w.dtype)))
        return state

    def slots(self, state: AdamaxState) -> dict[str, Array]:
        return {"exp_avg": state.exp_avg, "exp_inf": state.exp_inf}


@register("torch.Adamax")
def adamax(
    betas: Sequence[Numbers] = (0.9, 0.999),
    eps: Numbers = 1e-8,
    weight_decay: Numbers = 0.0,
    *,
    dtype: np.dtype[np.floating],
) -> Adamax:
    """torch.optim.Adamax; eps ≥ 0, 0 ≤ betas[i] < 1, weight_decay ≥ 0 (torch's checks, in its order)."""
    moments = Moments.of(betas, eps, dtype)
    return Adamax(moments, _decay_or_none(_weight_decay(weight_decay), dtype))


# --------------------------------------------------------------------------------------------------------------------
# NAdam


class NAdamState(NamedTuple):
    step: Array  # (1,) float32
    mu_product: Array  # (R, 1) float32, starts at 1
    exp_avg: Array  # (R, D)
    exp_avg_sq: Array  # (R, D)


@dataclass(frozen=True)
class NAdam:
    """torch.optim.NAdam: `μ_t = β1·(1 − 0.5·0.96^(t·momentum_decay))`, `mu_product *= μ_t` (a float32 tensor);
    `p ← p − lr·(1−μ_t)/(1−Πμ)·g/den − lr·μ_{t+1}/(1−Πμ·μ_{t+1})·m/den` with `den = √(v/(1−β2^t)) + eps`."""

    moments: Moments
    weight_decay: Array  # float64
    momentum_decay: Array  # float64
    decoupled_weight_decay: bool
    l2: Array | None
    cycles_momentum = True

    def init(self, w: Array) -> NAdamState:
        return NAdamState(np.zeros(1, F32), np.ones((w.shape[0], 1), F32), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: NAdamState, out: Array, momentum: Array | None = None
    ) -> NAdamState:
        t = _next_step(state.step)
        moments = self.moments
        bias_correction2 = 1 - moments.beta2**t
        p = _decoupled(w, lr, self.weight_decay) if self.decoupled_weight_decay else w
        g = _l2(g, w, self.l2)
        beta1 = moments.beta1 if momentum is None else _double(momentum)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        product = state.mu_product
        np.multiply(product, mu.astype(F32), out=product)
        moments.first(state.exp_avg, g, momentum)
        moments.second(state.exp_avg_sq, g)
        denom = np.sqrt(state.exp_avg_sq / bias_correction2.astype(w.dtype)) + moments.eps
        rate = _double(lr)
        held = product.astype(F64)
        p = _addcdiv(p, g, denom, (-rate * (1.0 - mu) / (1.0 - held)).astype(w.dtype))
        _write(out, _addcdiv(p, state.exp_avg, denom, ((-rate * mu_next) / (1.0 - held * mu_next)).astype(w.dtype)))
        return state

    def slots(self, state: NAdamState) -> dict[str, Array]:
        """The moments, and `mu_product` (one number per run) broadcast to w's shape, as the fixtures record it."""
        product = np.broadcast_to(state.mu_product, state.exp_avg.shape)
        return {"exp_avg": state.exp_avg, "exp_avg_sq": state.exp_avg_sq, "mu_product": product}


@register("torch.NAdam")
def nadam(
    betas: Sequence[Numbers] = (0.9, 0.999),
    eps: Numbers = 1e-8,
    weight_decay: Numbers = 0.0,
    momentum_decay: Numbers = 4e-3,
    decoupled_weight_decay: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> NAdam:
    """torch.optim.NAdam; eps ≥ 0, 0 ≤ betas[i] < 1, weight_decay ≥ 0, momentum_decay ≥ 0 (torch's order)."""
    moments = Moments.of(betas, eps, dtype)
    wd = _weight_decay(weight_decay)
    decay = hyper("momentum_decay", momentum_decay, F64)
    _at_least_zero("momentum_decay", decay, "Invalid momentum_decay value: {}")
    l2 = None if decoupled_weight_decay else _decay_or_none(wd, dtype)
    return NAdam(moments, wd, decay, decoupled_weight_decay, l2)


# --------------------------------------------------------------------------------------------------------------------
# Adadelta


class AdadeltaState(NamedTuple):
    step: Array  # (1,) float32
    square_avg: Array  # (R, D)
    acc_delta: Array  # (R, D)


@dataclass(frozen=True)
class Adadelta:
    """torch.optim.Adadelta: `sq = ρ·sq + (1−ρ)·g²`, `δ = √(acc + eps)/√(sq + eps)·g`,
    `acc = ρ·acc + (1−ρ)·δ²`, `p ← p − lr·δ` (torch's default lr is 1.0, not TF's 0.001)."""

    rho: Array  # run dtype
    rest: Array  # 1 − rho, run dtype
    eps: Array
    weight_decay: Array | None
    cycles_momentum = False

    def init(self, w: Array) -> AdadeltaState:
        return AdadeltaState(np.zeros(1, F32), np.zeros_like(w), np.zeros_like(w))

    def update(
        self, w: Array, g: Array, lr: Array, state: AdadeltaState, out: Array, momentum: Array | None = None
    ) -> AdadeltaState:
        _next_step(state.step)
        g = _l2(g, w, self.weight_decay)
        sq, acc = state.square_avg, state.acc_delta
        _write(sq, _addcmul(sq * self.rho, g, g, self.rest))
        delta = np.sqrt(acc + self.eps) / np.sqrt(sq + self.eps) * g
        _write(acc, _addcmul(acc * self.rho, delta, delta, self.rest))
        _write(out, _add(w, delta, -lr))
        return state

    def slots(self, state: AdadeltaState) -> dict[str, Array]:
        return {"square_avg": state.square_avg, "acc_delta": state.acc_delta}


@register("torch.Adadelta")
def adadelta(
    rho: Numbers = 0.9,
    eps: Numbers = 1e-6,
    weight_decay: Numbers = 0.0,
    *,
    dtype: np.dtype[np.floating],
) -> Adadelta:
    """torch.optim.Adadelta; 0 ≤ rho ≤ 1, eps ≥ 0, weight_decay ≥ 0 (torch's checks, in its order)."""
    rho_ = hyper("rho", rho, F64)
    ok = (rho_ >= 0) & (rho_ <= 1)
    if not ok.all():
        raise ParameterError(
            "rho", f'torch raises ValueError("Invalid rho value: {_first_bad(rho_, ok)}"): rho must be from 0 to 1.'
        )
    eps_ = _eps(eps)
    wd = _weight_decay(weight_decay)
    return Adadelta(rho_.astype(dtype), (1 - rho_).astype(dtype), eps_.astype(dtype), _decay_or_none(wd, dtype))
