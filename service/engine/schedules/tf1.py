"""TensorFlow 1 `tf.compat.v1.train.*_decay` schedules, in float32 as a TF1 Session computes them.

Each function builds the legacy tf.keras schedule (tensorflow/python/keras/optimizer_v2/learning_rate_schedule.py)
on the global step; the Python-float arguments become float32 constants, so a schedule is float32 whatever the
run's dtype. Before running the graph, TensorFlow's graph optimizer (grappler) rewrites it, and that changes the
float32 rounding. The rewrites below were read from the optimized graphs TF 2.21 actually runs
(`RunMetadata.partition_graphs`) and checked step by step against a Session:

- constant folding evaluates constant subexpressions once, in float32 (`1/decay_steps`, `1 - alpha`, ...);
- a division by a constant becomes a multiplication by its float32 reciprocal (`gs/41` -> `gs*f32(1/41)`, which
  is why a staircase can fire one step late); a division by a computed tensor stays a true division;
- constants are pushed down and folded together: `pi*(gs*r)` -> `gs*f32(pi*r)`, `lr*(x*c)` -> `x*f32(c*lr)` once
  the `+ alpha` / `+ beta` between them is dropped for a zero alpha or beta, `alpha + (1 - tc)` -> `f32(alpha+1) -
  tc`; a constant power becomes a cheaper op (`x^2` -> `x*x`, `x^0.5` -> `sqrt`, `x^3` -> `square(x)*x`, ...).

pow, exp, log and cos are glibc's float32 functions (`libm`), which TensorFlow's CPU kernels call on a scalar.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, IntArray, Numbers
from service.engine.errors import ParameterError
from service.engine.schedules import libm
from service.engine.schedules.base import F32, register, require
from service.engine.schedules.keras import (
    HALF,
    ONE,
    PI,
    f32,
    mul,
    one_minus,
    piecewise_lists,
    positive,
    restart_factors,
    step_column,
)


def decay_steps_of(value: Numbers, name: str = "decay_steps") -> Array:
    """decay_steps as float32; it must be positive (TF1 would divide by zero and produce NaN)."""
    return positive(name, value, f"{name} must be greater than 0.")


def reciprocal(decay_steps: Array) -> Array:
    """Grappler's folded `f32(1 / decay_steps)`, by which a division by decay_steps becomes a multiplication."""
    return ONE / decay_steps


def rsqrt(x: Array) -> Array:
    """TensorFlow's float32 Rsqrt on a scalar: 1 / sqrt(x), each correctly rounded."""
    return ONE / np.sqrt(x)


def graph_pow(x: Array, power: Array) -> Array:
    """`pow(x, power)` for a constant power after grappler's ConvertPow: 2 -> x*x, 1 -> x, 0.5 -> sqrt(x), 0 -> 1,
    -0.5 -> rsqrt(x), -1 -> 1/x; any other power is glibc's powf. (3 becomes `square(x) * x`, which the caller
    reassociates with its next factor.)"""
    result = libm.powf(x, power)
    for special, rewritten in (
        (2.0, np.square),
        (1.0, np.positive),
        (0.5, np.sqrt),
        (0.0, np.ones_like),
        (-0.5, rsqrt),
        (-1.0, np.reciprocal),
    ):
        hit = power == np.float32(special)
        if hit.any():
            result = np.where(hit, rewritten(x), result)
    return libm.flush(result)


# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExponentialDecay:
    """`learning_rate · decay_rate^(global_step / decay_steps)`, the exponent floored with staircase."""

    learning_rate: Array  # (P,) float32
    decay_steps: Array  # (P,) float32, positive
    decay_rate: Array  # (P,) float32
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            progress = step_column(steps) * reciprocal(self.decay_steps)
            if self.staircase:
                progress = np.floor(progress)
            return libm.flush(libm.powf(self.decay_rate, progress) * self.learning_rate)


@register("tf1.exponential_decay")
def exponential_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> ExponentialDecay:
    """`tf.compat.v1.train.exponential_decay`; `decay_steps` must be positive."""
    return ExponentialDecay(
        learning_rate=f32("learning_rate", learning_rate),
        decay_steps=decay_steps_of(decay_steps),
        decay_rate=f32("decay_rate", decay_rate),
        staircase=staircase,
    )


@register("tf1.natural_exp_decay")
def natural_exp_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> ExponentialDecay:
    """`tf.compat.v1.train.natural_exp_decay`: an exponential decay with rate `f32 exp(-decay_rate)` (TF folds
    that constant with its float32 exp), so `learning_rate · exp(-decay_rate · p)` evaluated as a pow."""
    return ExponentialDecay(
        learning_rate=f32("learning_rate", learning_rate),
        decay_steps=decay_steps_of(decay_steps),
        decay_rate=libm.expf(-f32("decay_rate", decay_rate)),
        staircase=staircase,
    )


@dataclass(frozen=True)
class InverseTimeDecay:
    """`learning_rate / (1 + decay_rate · global_step / decay_steps)`, the quotient floored with staircase."""

    learning_rate: Array
    decay_steps: Array
    decay_rate: Array
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        step = step_column(steps)
        with np.errstate(all="ignore"):
            if self.staircase:
                denominator = ONE + self.decay_rate * np.floor(step * reciprocal(self.decay_steps))
            else:  # decay_rate · (gs · r) with the constants folded: gs · f32(decay_rate · r)
                denominator = ONE + step * (self.decay_rate * reciprocal(self.decay_steps))
            return libm.flush(self.learning_rate / denominator)


@register("tf1.inverse_time_decay")
def inverse_time_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> InverseTimeDecay:
    """`tf.compat.v1.train.inverse_time_decay`."""
    return InverseTimeDecay(
        learning_rate=f32("learning_rate", learning_rate),
        decay_steps=decay_steps_of(decay_steps),
        decay_rate=f32("decay_rate", decay_rate),
        staircase=staircase,
    )


@dataclass(frozen=True)
class PolynomialDecay:
    """`(learning_rate - end) · (1 - global_step / decay_steps)^power + end`, clamped at decay_steps, or with
    cycle over a horizon grown to the next multiple of decay_steps (a true division there: it is not constant)."""

    learning_rate: Array
    decay_steps: Array
    end_learning_rate: Array
    power: Array
    cycle: bool

    def __call__(self, steps: IntArray) -> Array:
        step = step_column(steps)
        r = reciprocal(self.decay_steps)
        remaining: Array
        with np.errstate(all="ignore"):
            if self.cycle:
                horizon = self.decay_steps * np.where(step == 0, ONE, np.ceil(r * step))
                remaining = ONE - step / horizon
            else:
                remaining = ONE - r * np.minimum(step, self.decay_steps)
            span = self.learning_rate - self.end_learning_rate
            cube = self.power == np.float32(3)
            term = mul(graph_pow(remaining, self.power), span)
            if cube.any():
                term = np.where(cube, mul(mul(remaining, remaining), mul(span, remaining)), term)
            return libm.flush(self.end_learning_rate + term)


@register("tf1.polynomial_decay")
def polynomial_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    end_learning_rate: Numbers = 0.0001,
    power: Numbers = 1.0,
    cycle: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> PolynomialDecay:
    """`tf.compat.v1.train.polynomial_decay`."""
    return PolynomialDecay(
        learning_rate=f32("learning_rate", learning_rate),
        decay_steps=decay_steps_of(decay_steps),
        end_learning_rate=f32("end_learning_rate", end_learning_rate),
        power=f32("power", power),
        cycle=cycle,
    )


@dataclass(frozen=True)
class PiecewiseConstant:
    """`values[i]` on `(boundaries[i-1], boundaries[i]]` (a boundary step belongs to the segment below it), the
    one branch of TF's exclusive `tf.case` whose condition holds."""

    boundaries: tuple[int, ...]
    values: Array  # (len(boundaries) + 1, P) float32

    def __call__(self, steps: IntArray) -> Array:
        segment = np.searchsorted(np.asarray(self.boundaries, dtype=np.int64), steps, side="left")
        return self.values[segment]


@register("tf1.piecewise_constant")
def piecewise_constant(
    boundaries: Sequence[int], values: Sequence[Numbers], *, dtype: np.dtype[np.floating]
) -> PiecewiseConstant:
    """`tf.compat.v1.train.piecewise_constant(global_step, boundaries, values)`; the boundaries may not decrease
    (TF's exclusive tf.case fails at run time once the step reaches two overlapping segments)."""
    bounds, levels = piecewise_lists(
        boundaries, values, "The length of boundaries should be 1 less than the length of values"
    )
    for index, (low, high) in enumerate(itertools.pairwise(bounds)):
        if high < low:
            raise ParameterError(
                ("boundaries", index + 1),
                f"boundaries must be increasing ({high} follows {low}): TensorFlow's tf.case(exclusive=True) fails "
                "with 'more than 1 conditions evaluated as True' once the step reaches overlapping segments.",
            )
    return PiecewiseConstant(boundaries=bounds, values=levels)


@dataclass(frozen=True)
class CosineDecay:
    """Half a cosine from the rate down to `alpha ·` the rate over decay_steps, then flat."""

    learning_rate: Array
    decay_steps: Array
    alpha: Array
    one_minus_alpha: Array

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            clamped = np.minimum(step_column(steps), self.decay_steps)
            cosine = libm.cosf(clamped * (PI * reciprocal(self.decay_steps)))
            scale = self.one_minus_alpha * HALF  # (1 - alpha) · 0.5, folded
            return libm.flush((self.alpha + (cosine + ONE) * scale) * self.learning_rate)


@register("tf1.cosine_decay")
def cosine_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    alpha: Numbers = 0.0,
    *,
    dtype: np.dtype[np.floating],
) -> CosineDecay:
    """`tf.compat.v1.train.cosine_decay` (no warmup: that is Keras 3's CosineDecay)."""
    return CosineDecay(
        learning_rate=f32("learning_rate", learning_rate),
        decay_steps=decay_steps_of(decay_steps),
        alpha=f32("alpha", alpha),
        one_minus_alpha=one_minus("alpha", alpha),
    )


@dataclass(frozen=True)
class CosineDecayRestarts:
    """SGDR: cosine periods of first_decay_steps · t_mul^i steps, each restarting at `m_mul^i ·` the rate."""

    learning_rate: Array
    first_decay_steps: Array
    t_mul: Array
    m_mul: Array
    alpha: Array

    def __call__(self, steps: IntArray) -> Array:
        t_mul, m_mul, alpha, rate = self.t_mul, self.m_mul, self.alpha, self.learning_rate
        with np.errstate(all="ignore"):
            fraction = reciprocal(self.first_decay_steps) * step_column(steps)
            # geometric periods (t_mul != 1): the divisions by log(t_mul) and 1 - t_mul are by constants
            restart = np.floor((ONE / libm.logf(t_mul)) * libm.logf(ONE - (ONE - t_mul) * fraction))
            stretch = libm.powf(t_mul, restart)
            done = (ONE / (ONE - t_mul)) * (ONE - stretch)
            geometric = (fraction - done) / stretch
            # equal periods (t_mul == 1)
            whole = np.floor(fraction)
            same = t_mul == ONE
            restart = np.where(same, whole, restart)
            fraction = np.where(same, fraction - whole, geometric)
            cosine = libm.cosf(PI * fraction) + ONE
            m_fac = libm.powf(m_mul, restart)
            with_alpha = (alpha + mul(cosine, mul(np.multiply(HALF, ONE - alpha), m_fac))) * rate
            without_alpha = cosine * mul(m_fac, mul(HALF, rate))  # alpha 0: the rate is folded into 0.5 · m^i
            return libm.flush(np.where(alpha == 0, without_alpha, with_alpha))


@register("tf1.cosine_decay_restarts")
def cosine_decay_restarts(
    learning_rate: Numbers,
    first_decay_steps: Numbers,
    t_mul: Numbers = 2.0,
    m_mul: Numbers = 1.0,
    alpha: Numbers = 0.0,
    *,
    dtype: np.dtype[np.floating],
) -> CosineDecayRestarts:
    """`tf.compat.v1.train.cosine_decay_restarts`."""
    t, m, a = restart_factors(t_mul, m_mul, alpha)
    return CosineDecayRestarts(
        learning_rate=f32("learning_rate", learning_rate),
        first_decay_steps=decay_steps_of(first_decay_steps, "first_decay_steps"),
        t_mul=t,
        m_mul=m,
        alpha=a,
    )


@dataclass(frozen=True)
class LinearCosineDecay:
    """`learning_rate · ((alpha + linear) · cosine + beta)`: linear = (decay_steps - t) / decay_steps, cosine =
    0.5 · (1 + cos(2π · num_periods · t / decay_steps)), t = min(global_step, decay_steps)."""

    learning_rate: Array
    decay_steps: Array
    num_periods: Array
    alpha: Array
    beta: Array

    def parts(self, steps: IntArray) -> tuple[Array, Array, Array, Array]:
        """(clamped step, decay_steps - clamped step, linear part, cos(...) + 1), as the graph computes them."""
        r = reciprocal(self.decay_steps)
        clamped = np.minimum(step_column(steps), self.decay_steps)
        remaining = self.decay_steps - clamped
        angle = PI * ((np.float32(2) * self.num_periods) * r)  # pi · (2 · num_periods · (t · r)), folded
        return clamped, remaining, r * remaining, libm.cosf(clamped * angle) + ONE

    def __call__(self, steps: IntArray) -> Array:
        alpha, beta, rate = self.alpha, self.beta, self.learning_rate
        with np.errstate(all="ignore"):
            clamped, remaining, linear, cosine = self.parts(steps)
            decayed = alpha + linear
            # decay_steps 1: alpha + (1 - t) is reassociated to f32(alpha + 1) - t
            decayed = np.where((self.decay_steps == ONE) & (alpha != 0), (alpha + ONE) - clamped, decayed)
            general = (beta + decayed * (cosine * HALF)) * rate
            no_beta = decayed * mul(cosine, mul(HALF, rate))
            neither = (cosine * HALF) * mul(remaining, mul(reciprocal(self.decay_steps), rate))
            return libm.flush(np.where(beta != 0, general, np.where(alpha != 0, no_beta, neither)))


def linear_cosine_arguments(
    learning_rate: Numbers, decay_steps: Numbers, num_periods: Numbers, alpha: Numbers, beta: Numbers
) -> dict[str, Array]:
    return {
        "learning_rate": f32("learning_rate", learning_rate),
        "decay_steps": decay_steps_of(decay_steps),
        "num_periods": f32("num_periods", num_periods),
        "alpha": f32("alpha", alpha),
        "beta": f32("beta", beta),
    }


@register("tf1.linear_cosine_decay")
def linear_cosine_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    num_periods: Numbers = 0.5,
    alpha: Numbers = 0.0,
    beta: Numbers = 0.001,
    *,
    dtype: np.dtype[np.floating],
) -> LinearCosineDecay:
    """`tf.compat.v1.train.linear_cosine_decay`."""
    return LinearCosineDecay(**linear_cosine_arguments(learning_rate, decay_steps, num_periods, alpha, beta))


def standard_normal(seeds: npt.NDArray[np.uint64], steps: IntArray) -> Array:
    """N(0, 1) draws shaped (n, len(seeds)), a pure function of (seed, step): draw k of a seed comes from Philox
    block k + 1 of the key `seed` (Box-Muller on its first two 64-bit words). Steps are drawn in contiguous runs,
    so a chunk of consecutive steps costs one generator per seed."""
    out = np.empty((steps.size, seeds.size))
    if steps.size == 0:
        return out
    order = np.argsort(steps, kind="stable")
    ordered = steps[order]
    breaks = np.flatnonzero(np.diff(ordered) > 4096) + 1
    for piece in np.split(np.arange(steps.size), breaks):
        first, last = int(ordered[piece[0]]), int(ordered[piece[-1]])
        for column, seed in enumerate(seeds):
            words = np.random.Philox(key=int(seed), counter=first).random_raw(4 * (last - first + 1)).reshape(-1, 4)
            block = words[ordered[piece] - first]
            u1 = ((block[:, 0] >> np.uint64(11)).astype(np.float64) + 1) * 2.0**-53  # (0, 1]
            u2 = (block[:, 1] >> np.uint64(11)).astype(np.float64) * 2.0**-53  # [0, 1)
            out[order[piece], column] = np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)
    return out


@dataclass(frozen=True)
class NoisyLinearCosineDecay:
    """LinearCosineDecay with N(0, initial_variance / (1 + t)^variance_decay) noise added to its linear part.

    TensorFlow draws new noise at every evaluation, so its rates cannot be reproduced; ours are seeded
    (`seed`), the same for a given (seed, step) however the steps are chunked."""

    linear: LinearCosineDecay
    initial_variance: Array
    variance_decay: Array
    seeds: npt.NDArray[np.uint64] = field(repr=False)

    def __call__(self, steps: IntArray) -> Array:
        alpha, beta, rate = self.linear.alpha, self.linear.beta, self.linear.learning_rate
        with np.errstate(all="ignore"):
            clamped, _, linear, cosine = self.linear.parts(steps)
            std = np.sqrt(self.initial_variance / graph_pow(clamped + ONE, self.variance_decay))
            noise = standard_normal(self.seeds, steps).astype(F32) * std
            noisy = np.where(alpha != 0, (alpha + noise) + linear, noise + linear)
            general = (beta + noisy * (cosine * HALF)) * rate
            no_beta = noisy * mul(cosine, mul(HALF, rate))
            return libm.flush(np.where(beta != 0, general, no_beta))


@register("tf1.noisy_linear_cosine_decay")
def noisy_linear_cosine_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    initial_variance: Numbers = 1.0,
    variance_decay: Numbers = 0.55,
    num_periods: Numbers = 0.5,
    alpha: Numbers = 0.0,
    beta: Numbers = 0.001,
    seed: int | Sequence[int] = 0,
    *,
    dtype: np.dtype[np.floating],
) -> NoisyLinearCosineDecay:
    """`tf.compat.v1.train.noisy_linear_cosine_decay`, with seeded noise (`seed`, one per run of a sweep)."""
    seeds = np.atleast_1d(np.asarray(seed, dtype=np.int64))
    require(bool((seeds >= 0).all()), "seed", "seed must be 0 or more.")
    linear = LinearCosineDecay(**linear_cosine_arguments(learning_rate, decay_steps, num_periods, alpha, beta))
    variance = f32("initial_variance", initial_variance)
    decay = f32("variance_decay", variance_decay)
    sizes = {array.size for array in (*vars(linear).values(), variance, decay, seeds)} - {1}
    require(len(sizes) <= 1, "seed", "Give one seed, or one per run of the sweep (as many as the swept values).")
    return NoisyLinearCosineDecay(
        linear=linear, initial_variance=variance, variance_decay=decay, seeds=seeds.astype(np.uint64)
    )
