"""Keras 3 `keras.optimizers.schedules`, in float32, op for op as Keras computes them eagerly (TensorFlow backend).

Keras converts a Python-float initial rate to a float32 tensor and casts the other arguments and the step to its
dtype, so a schedule is float32 whatever the run's dtype (the loop casts the table). Eager TensorFlow runs one op
at a time: every division is a true float32 division, and pow, log and cos are glibc's float32 functions (`libm`),
which TensorFlow's CPU kernels call on a scalar. Each `__call__` follows keras/src/optimizers/schedules/
learning_rate_schedule.py op for op, so float32 results are bit exact. The helpers at the top are shared with the
TF1 schedules (`tf1.py`), which are the same formulas rewritten by TensorFlow's graph optimizer.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from service.engine.arrays import Array, IntArray, Numbers
from service.engine.errors import ParameterError
from service.engine.schedules import libm
from service.engine.schedules.base import F32, F64, column, param, register, require

ONE = np.float32(1)
HALF = np.float32(0.5)
PI = np.float32(math.pi)
"""`math.pi` as the float32 constant both libraries build (`constant_op.constant(math.pi)` / `ops.array`)."""


def f32(name: str, value: Numbers) -> Array:
    """A numeric argument as TensorFlow holds it: a float32 array (P,) (a Python float becomes a float32 tensor)."""
    return param(name, value, F32)


def step_column(steps: IntArray) -> Array:
    """The int64 step cast to float32 (exact up to 2^24), as a column (n, 1)."""
    return column(steps, F32)


def one_minus(name: str, value: Numbers) -> Array:
    """`1 - x` for a Python float x, computed in double by Python and then converted to float32 (`(1 - alpha) *
    tensor`), which is not always the float32 `1 - f32(x)`."""
    return (1 - param(name, value, F64)).astype(F32)


def positive(name: str, value: Numbers, message: str) -> Array:
    """A step count that must be positive, as float32."""
    array = f32(name, value)
    require(bool((array > 0).all()), name, message)
    return array


def keras_positive(name: str, value: Numbers) -> Array:
    """Keras' check on `decay_steps` / `first_decay_steps`."""
    return positive(name, value, f"Argument `{name}` must be > 0. Received: {name}={value}")


def piecewise_lists(
    boundaries: Sequence[int], values: Sequence[Numbers], length_message: str
) -> tuple[tuple[int, ...], Array]:
    """Boundaries as ints and values as float32 shaped (len(values), P), with the libraries' rule that there is
    one more value than boundaries; both libraries index `boundaries[0]`, so at least one boundary is needed. A
    value may be given per run (a sweep puts an array (P,) in the list): each is converted to float32 on its own,
    as TensorFlow converts each Python float, and the others are repeated across the runs."""
    require(len(boundaries) == len(values) - 1, "values", length_message)
    require(
        len(boundaries) >= 1,
        "boundaries",
        "Give at least one boundary: the library reads boundaries[0] (use a constant rate for a single value).",
    )
    with np.errstate(over="ignore"):
        levels = [np.atleast_1d(np.asarray(value, dtype=F32)) for value in values]
    for index, level in enumerate(levels):
        if level.ndim != 1 or level.size == 0:
            raise ParameterError(("values", index), "Give a number (or one number per run).")
    try:
        columns = np.broadcast_arrays(*levels)
    except ValueError as error:
        raise ParameterError("values", "Give every value per run the same number of runs.") from error
    return tuple(int(b) for b in boundaries), np.stack(columns)


def mul(a: Array | np.float32, b: Array | np.float32) -> Array:
    """A float32 product as TensorFlow's CPU kernels give it, in flush-to-zero mode (a subnormal product is 0).
    Used where a tiny product could be scaled back into the normal range by a later factor."""
    return libm.flush(np.multiply(a, b))


def cos_decay(fraction: Array, one_minus_alpha: Array, alpha: Array) -> Array:
    """Keras' `(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha`, op for op."""
    cosine_decayed = HALF * (ONE + libm.cosf(PI * fraction))
    return mul(one_minus_alpha, cosine_decayed) + alpha


# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExponentialDecay:
    """`initial_learning_rate · decay_rate^(step / decay_steps)`, the exponent floored with staircase."""

    initial_learning_rate: Array
    decay_steps: Array
    decay_rate: Array
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            p = step_column(steps) / self.decay_steps
            if self.staircase:
                p = np.floor(p)
            return libm.flush(self.initial_learning_rate * libm.powf(self.decay_rate, p))


@register("keras.ExponentialDecay")
def exponential_decay(
    initial_learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> ExponentialDecay:
    """`keras.optimizers.schedules.ExponentialDecay`."""
    return ExponentialDecay(
        initial_learning_rate=f32("initial_learning_rate", initial_learning_rate),
        decay_steps=keras_positive("decay_steps", decay_steps),
        decay_rate=f32("decay_rate", decay_rate),
        staircase=staircase,
    )


@dataclass(frozen=True)
class PiecewiseConstantDecay:
    """`values[i]` on `(boundaries[i-1], boundaries[i]]`: a boundary step belongs to the segment below it.

    Keras 3 adds up indicator · value over the segments (float32), so boundaries that are not increasing make
    overlapping segments whose values are added together, as Keras does."""

    boundaries: tuple[int, ...]
    values: Array  # (len(boundaries) + 1, P) float32

    def __call__(self, steps: IntArray) -> Array:
        b, v = self.boundaries, self.values
        if v.shape[1] == 1:  # one run: the same sums on (n,) with scalar values, a third faster than on (n, 1)
            v, step, shape = v[:, 0], steps, steps.shape
        else:
            step, shape = steps[:, None], (steps.size, v.shape[1])
        result = np.zeros(shape, dtype=F32)
        result += (step <= b[0]).astype(F32) * v[0]
        result += (step > b[-1]).astype(F32) * v[-1]
        for low, high, value in zip(b[:-1], b[1:], v[1:-1], strict=True):
            result += ((step > low) & (step <= high)).astype(F32) * value
        return libm.flush(result.reshape(steps.size, -1))


@register("keras.PiecewiseConstantDecay")
def piecewise_constant_decay(
    boundaries: Sequence[int], values: Sequence[Numbers], *, dtype: np.dtype[np.floating]
) -> PiecewiseConstantDecay:
    """`keras.optimizers.schedules.PiecewiseConstantDecay`."""
    message = (
        "The length of boundaries should be 1 less than the length of values. Received: "
        f"boundaries={list(boundaries)} of length {len(boundaries)}, and values={list(values)} of length {len(values)}."
    )
    bounds, levels = piecewise_lists(boundaries, values, message)
    return PiecewiseConstantDecay(boundaries=bounds, values=levels)


@dataclass(frozen=True)
class PolynomialDecay:
    """`(initial - end) · (1 - step / decay_steps)^power + end`; the step is clamped at decay_steps, or with cycle
    the horizon grows to the next multiple of decay_steps."""

    initial_learning_rate: Array
    decay_steps: Array
    end_learning_rate: Array
    power: Array
    cycle: bool

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            step = step_column(steps)
            horizon = np.broadcast_to(self.decay_steps, (1, self.decay_steps.size))
            if self.cycle:
                multiplier = np.where(step == 0, ONE, np.ceil(step / self.decay_steps))
                horizon = self.decay_steps * multiplier
            else:
                step = np.minimum(step, self.decay_steps)
            p = step / horizon
            span = self.initial_learning_rate - self.end_learning_rate
            return libm.flush(span * libm.powf(ONE - p, self.power) + self.end_learning_rate)


@register("keras.PolynomialDecay")
def polynomial_decay(
    initial_learning_rate: Numbers,
    decay_steps: Numbers,
    end_learning_rate: Numbers = 0.0001,
    power: Numbers = 1.0,
    cycle: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> PolynomialDecay:
    """`keras.optimizers.schedules.PolynomialDecay`."""
    return PolynomialDecay(
        initial_learning_rate=f32("initial_learning_rate", initial_learning_rate),
        decay_steps=keras_positive("decay_steps", decay_steps),
        end_learning_rate=f32("end_learning_rate", end_learning_rate),
        power=f32("power", power),
        cycle=cycle,
    )


@dataclass(frozen=True)
class InverseTimeDecay:
    """`initial_learning_rate / (1 + decay_rate · step / decay_steps)`, the quotient floored with staircase."""

    initial_learning_rate: Array
    decay_steps: Array
    decay_rate: Array
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            p = step_column(steps) / self.decay_steps
            if self.staircase:
                p = np.floor(p)
            return libm.flush(self.initial_learning_rate / (ONE + self.decay_rate * p))


@register("keras.InverseTimeDecay")
def inverse_time_decay(
    initial_learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> InverseTimeDecay:
    """`keras.optimizers.schedules.InverseTimeDecay`."""
    return InverseTimeDecay(
        initial_learning_rate=f32("initial_learning_rate", initial_learning_rate),
        decay_steps=keras_positive("decay_steps", decay_steps),
        decay_rate=f32("decay_rate", decay_rate),
        staircase=staircase,
    )


@dataclass(frozen=True)
class CosineDecay:
    """Half a cosine from the rate down to `alpha ·` the rate over decay_steps, then flat; with warmup_target, a
    linear warmup from initial_learning_rate to warmup_target over warmup_steps comes first."""

    initial_learning_rate: Array
    decay_steps: Array
    alpha: Array
    one_minus_alpha: Array
    warmup_target: Array | None
    warmup_steps: Array

    def __call__(self, steps: IntArray) -> Array:
        with np.errstate(all="ignore"):
            step = step_column(steps)
            if self.warmup_target is None:
                step = np.minimum(step, self.decay_steps)
                return libm.flush(self.initial_learning_rate * self._decayed(step))
            step = np.minimum(step, self.decay_steps + self.warmup_steps)
            warmup = (self.warmup_target - self.initial_learning_rate) * (
                step / self.warmup_steps
            ) + self.initial_learning_rate
            decay = self.warmup_target * self._decayed(step - self.warmup_steps)
            return libm.flush(np.where(step < self.warmup_steps, warmup, decay))

    def _decayed(self, step: Array) -> Array:
        return cos_decay(step / self.decay_steps, self.one_minus_alpha, self.alpha)


@register("keras.CosineDecay")
def cosine_decay(
    initial_learning_rate: Numbers,
    decay_steps: Numbers,
    alpha: Numbers = 0.0,
    warmup_target: Numbers | None = None,
    warmup_steps: Numbers = 0,
    *,
    dtype: np.dtype[np.floating],
) -> CosineDecay:
    """`keras.optimizers.schedules.CosineDecay`."""
    return CosineDecay(
        initial_learning_rate=f32("initial_learning_rate", initial_learning_rate),
        decay_steps=keras_positive("decay_steps", decay_steps),
        alpha=f32("alpha", alpha),
        one_minus_alpha=one_minus("alpha", alpha),
        warmup_target=None if warmup_target is None else f32("warmup_target", warmup_target),
        warmup_steps=f32("warmup_steps", warmup_steps),
    )


@dataclass(frozen=True)
class CosineDecayRestarts:
    """SGDR: cosine periods of first_decay_steps · t_mul^i steps, each restarting at `m_mul^i ·` the rate."""

    initial_learning_rate: Array
    first_decay_steps: Array
    t_mul: Array
    m_mul: Array
    alpha: Array

    def __call__(self, steps: IntArray) -> Array:
        t_mul, m_mul, alpha = self.t_mul, self.m_mul, self.alpha
        with np.errstate(all="ignore"):
            fraction = step_column(steps) / self.first_decay_steps
            # geometric periods (t_mul != 1)
            restart = np.floor(libm.logf(ONE - fraction * (ONE - t_mul)) / libm.logf(t_mul))
            stretch = libm.powf(t_mul, restart)
            done = (ONE - stretch) / (ONE - t_mul)
            geometric = (fraction - done) / stretch
            # equal periods (t_mul == 1)
            whole = np.floor(fraction)
            same = t_mul == ONE
            restart = np.where(same, whole, restart)
            fraction = np.where(same, fraction - whole, geometric)
            m_fac = libm.powf(m_mul, restart)
            cosine_decayed = mul(mul(HALF, m_fac), ONE + libm.cosf(PI * fraction))
            decayed = mul(ONE - alpha, cosine_decayed) + alpha
            return libm.flush(self.initial_learning_rate * decayed)


def restart_factors(t_mul: Numbers, m_mul: Numbers, alpha: Numbers) -> tuple[Array, Array, Array]:
    """t_mul, m_mul and alpha as float32; t_mul must be positive (both libraries take its log)."""
    t = f32("t_mul", t_mul)
    if not (t > 0).all():
        raise ParameterError(
            "t_mul",
            "t_mul must be greater than 0: the schedule divides by log(t_mul), which is NaN or -inf for t_mul <= 0.",
        )
    return t, f32("m_mul", m_mul), f32("alpha", alpha)


@register("keras.CosineDecayRestarts")
def cosine_decay_restarts(
    initial_learning_rate: Numbers,
    first_decay_steps: Numbers,
    t_mul: Numbers = 2.0,
    m_mul: Numbers = 1.0,
    alpha: Numbers = 0.0,
    *,
    dtype: np.dtype[np.floating],
) -> CosineDecayRestarts:
    """`keras.optimizers.schedules.CosineDecayRestarts`."""
    t, m, a = restart_factors(t_mul, m_mul, alpha)
    return CosineDecayRestarts(
        initial_learning_rate=f32("initial_learning_rate", initial_learning_rate),
        first_decay_steps=keras_positive("first_decay_steps", first_decay_steps),
        t_mul=t,
        m_mul=m,
        alpha=a,
    )
