"""Optax schedules (`optax.*_schedule`, `optax.exponential_decay`, `optax.join_schedules`), as JAX computes them.

Optax evaluates a schedule on the optimizer's int32 step count with eager jax.numpy operations, so the precision
is JAX's type promotion (NUMERICS.md §1(d)): a Python number is "weak" and takes the type of the array it meets.
Without `jax_enable_x64` (our float32 runs) everything is float32. With x64 (our float64 runs) a weak float is
float64, but an int32 divided by an int is float32, so:

- polynomial, linear and exponential schedules stay float32 even in float64 runs;
- piecewise_interpolate's fraction within a segment, and the cosine of its cosine segments, are float32;
- `join_schedules` promotes its children like `jnp.where`: a float32 child rounds its float64 siblings to float32
  (warmup_cosine_decay_schedule's cosine part is float32 behind its linear warmup).

JAX's float32 `cos` and `pow` are glibc's `cosf` and `powf` (not correctly rounded; XLA calls them; `libm` replays
them bit for bit), and XLA flushes subnormal results to zero. Eager JAX divides truly: a scalar count's float32
division is correctly rounded (XLA's vectorised division of whole arrays is not, so optax evaluated on an array of
steps can differ by an ulp from what the optimizer sees). Arithmetic on the schedule's own Python numbers
(`peak_value / div_factor`, `end_value / peak_value`, `1 - alpha`) is Python's, in double precision.
"""

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, IntArray, Numbers
from service.engine.errors import ParameterError
from service.engine.schedules import libm
from service.engine.schedules.base import F32, F64, SCHEDULES, build, param, register, require

Count = npt.NDArray[np.int32]
Exponent = int | Numbers
"""An exponent: a Python int is applied by repeated multiplication (`lax.integer_pow`), a float by `pow`."""

INT32_MAX = 2**31 - 1

# --------------------------------------------------------------------------------------------------------------
# JAX's arithmetic: XLA's float32 cos and pow call glibc's cosf and powf (libm.py replays them), XLA flushes
# subnormal results to zero, and `x ** n` with a Python int n is binary exponentiation.


def powf(x: Array, y: Array) -> Array:
    """XLA's float32 pow: glibc's powf, subnormal results flushed to zero."""
    return flush(libm.powf(x, y))


def flush(values: Array) -> Array:
    """XLA's flush-to-zero: a subnormal result becomes zero."""
    return np.where(np.abs(values) < np.finfo(values.dtype).tiny, values.dtype.type(0), values)


def integer_pow(x: Array, exponent: int) -> Array:
    """`lax.integer_pow`: binary exponentiation, every product rounded in x's dtype, a reciprocal if negative."""
    if exponent == 0:
        return np.ones_like(x)
    base, remaining, power = x, abs(exponent), None
    while remaining > 0:
        if remaining & 1:
            power = base if power is None else power * base
        remaining >>= 1
        if remaining > 0:
            base = base * base
    assert power is not None
    with np.errstate(divide="ignore"):
        return power.dtype.type(1) / power if exponent < 0 else power


def _power(x: Array, exponent: int | Array) -> Array:
    """`x ** exponent` as jnp computes it: a Python int → integer_pow; a float → pow (glibc powf in float32)."""
    if isinstance(exponent, int):
        return integer_pow(x, exponent)
    if x.dtype == F32:
        return powf(x, exponent.astype(F32))
    return np.power(x, exponent.astype(F64))  # XLA's float64 pow may differ from NumPy's by an ulp of a double


def _cos(x: Array) -> Array:
    """jnp.cos: glibc's cosf in float32; in float64 XLA's cos agrees with NumPy's."""
    if x.dtype == F32:
        return libm.cosf(x)
    return np.cos(x)


def _divide(counts: Count, by: int | npt.NDArray[np.int64]) -> Array:
    """`int32 / int` in JAX: both converted to float32 (even under x64), then a true float32 division."""
    return np.divide(counts.astype(F32), np.asarray(by).astype(F32), dtype=F32)


# --------------------------------------------------------------------------------------------------------------
# Values as JAX types them, and the schedules.


@dataclass(frozen=True)
class Traced:
    """A schedule's values as JAX holds them: float32 or float64, and whether the type is weak (a Python number
    that takes the type of whatever it meets). Runs of one batch can differ in both (optax.exponential_decay is a
    weak Python number for a run whose decay_rate is 0, float32 otherwise): then `weak` is per column (P,), and
    `single` marks the columns JAX holds in float32 within float64 `values`."""

    values: Array  # (n, P)
    weak: bool | npt.NDArray[np.bool_]  # or (P,)
    single: npt.NDArray[np.bool_] | None = None  # (P,), only with float64 values

    def float32_columns(self, runs: int) -> npt.NDArray[np.bool_]:
        if self.values.dtype == F32:
            return np.ones(runs, dtype=bool)
        if self.single is None:
            return np.zeros(runs, dtype=bool)
        return np.broadcast_to(self.single, (runs,))

    def weak_columns(self, runs: int) -> npt.NDArray[np.bool_]:
        return np.broadcast_to(np.asarray(self.weak, dtype=bool), (runs,))


def typed(values: Array, float32: npt.NDArray[np.bool_], weak: npt.NDArray[np.bool_]) -> Traced:
    """Values (n, P) whose column p JAX holds in float32 where `float32[p]` (rounded to it here), weak where
    `weak[p]`; one dtype and one weakness when every run agrees, as for a single run."""
    weakness: bool | npt.NDArray[np.bool_] = bool(weak[0]) if (weak == weak[0]).all() else weak
    if float32.all():
        return Traced(values.astype(F32), weakness)
    if not float32.any():
        return Traced(values, weakness)
    rounded = np.where(float32, values.astype(F32).astype(F64), values.astype(F64))
    return Traced(rounded, weakness, float32)


def where(condition: npt.NDArray[np.bool_], taken: Traced, other: Traced) -> Traced:
    """`jnp.where(condition, taken, other)`: both promoted to a common type first, by JAX's weak-type rule (run by
    run when the runs' types differ)."""
    uniform = all(isinstance(t.weak, bool) and t.single is None for t in (taken, other))
    if uniform:
        if taken.weak != other.weak:
            dtype = other.values.dtype if taken.weak else taken.values.dtype
        else:
            dtype = np.promote_types(taken.values.dtype, other.values.dtype)
        values = np.where(condition, taken.values.astype(dtype), other.values.astype(dtype))
        return Traced(values, bool(taken.weak and other.weak))
    runs = max(taken.values.shape[1], other.values.shape[1])
    taken_weak, other_weak = taken.weak_columns(runs), other.weak_columns(runs)
    taken_f32, other_f32 = taken.float32_columns(runs), other.float32_columns(runs)
    float32 = np.where(taken_weak != other_weak, np.where(taken_weak, other_f32, taken_f32), taken_f32 & other_f32)
    dtype = np.promote_types(taken.values.dtype, other.values.dtype)
    values = np.where(condition, taken.values.astype(dtype), other.values.astype(dtype))
    return typed(values, float32, taken_weak & other_weak)


class OptaxSchedule(ABC):
    """An optax schedule: a function of the int32 count, typed like JAX."""

    @abstractmethod
    def trace(self, count: Count) -> Traced:
        """The values at counts shaped (n, 1) (int32), shaped (n, P)."""

    def __call__(self, steps: IntArray) -> Array:
        count = np.minimum(steps, INT32_MAX).astype(np.int32)[:, None]
        with np.errstate(all="ignore"):  # JAX makes inf and nan silently (0 ** -1, inf · 0); so do we
            traced = self.trace(count)
            values = flush(traced.values)
            if traced.single is not None:  # the float32 columns of a float64 batch: flushed as float32
                values = np.where(traced.single & (np.abs(values) < np.finfo(F32).tiny), values.dtype.type(0), values)
            return values


@dataclass(frozen=True)
class Constant(OptaxSchedule):
    """A Python number returned as is (weak: the optimizer casts it to the parameters' dtype)."""

    value: Array  # (P,) float64: Python numbers
    dtype: np.dtype[np.floating]

    def trace(self, count: Count) -> Traced:
        return Traced(np.broadcast_to(self.value.astype(self.dtype), (count.shape[0], self.value.size)), True)


@dataclass(frozen=True)
class Polynomial(OptaxSchedule):
    """`(init - end) · (1 - clip(t - begin, 0, T) / T) ** power + end`, float32 (an int32 / int division)."""

    init_value: Array  # (P,) float64
    end_value: Array  # (P,) float64
    power: int | Array  # int, or (P,) float64
    transition_steps: int  # positive
    transition_begin: int  # non-negative

    def trace(self, count: Count) -> Traced:
        done = np.clip(count - self.transition_begin, 0, self.transition_steps)
        remaining = np.subtract(np.float32(1), _divide(done, self.transition_steps), dtype=F32)
        span = (self.init_value - self.end_value).astype(F32)
        values = span * _power(remaining, self.power) + self.end_value.astype(F32)
        return Traced(values, False)


@dataclass(frozen=True)
class ExponentialDecay(OptaxSchedule):
    """`init · decay_rate ** ((t - begin) / T)` (floored if staircase), init until begin, clipped by end_value;
    float32 (an int32 / int division)."""

    init_value: Array  # (P,) float64
    transition_steps: int  # positive
    decay_rate: Array  # (P,) float64
    transition_begin: int  # non-negative
    staircase: bool
    end_value: Array | None  # (P,) float64
    dtype: np.dtype[np.floating]

    def trace(self, count: Count) -> Traced:
        decreased = count - self.transition_begin
        progress = _divide(decreased, self.transition_steps)
        if self.staircase:
            progress = np.floor(progress)
        init = self.init_value.astype(F32)
        decayed = flush(init * powf(self.decay_rate.astype(F32), progress))
        values = np.where(decreased <= 0, init, decayed)
        if self.end_value is not None:
            end = self.end_value.astype(F32)
            values = np.where(self.decay_rate < 1.0, np.maximum(values, end), np.minimum(values, end))
        zero = self.decay_rate == 0
        if not zero.any():
            return Traced(values, False)
        # A run with a zero rate is optax's constant init_value (only in sweeps here): a weak Python number, float64
        # in a float64 run, where the others are float32.
        constant = self.init_value.astype(self.dtype)
        values = np.where(zero, constant, values.astype(np.promote_types(F32, self.dtype)))
        return typed(values, ~zero if self.dtype == F64 else np.ones(zero.size, dtype=bool), zero)


@dataclass(frozen=True)
class PiecewiseConstant(OptaxSchedule):
    """`init · Π scale_b for b <= t` (inclusive), multiplied in as optax does: `v·1{t<b} + (1-1{t<b})·s·v`."""

    init_value: Array  # (P,) float64
    boundaries: tuple[int, ...]  # sorted
    scales: tuple[Array, ...]  # (P,) float64 each
    dtype: np.dtype[np.floating]

    def trace(self, count: Count) -> Traced:
        value = np.broadcast_to(self.init_value.astype(self.dtype), (count.shape[0], self.init_value.size))
        for boundary, scale in zip(self.boundaries, self.scales, strict=True):
            before = np.maximum(0, np.sign(boundary - count)).astype(self.dtype)
            value = value * before + ((1 - before) * scale.astype(self.dtype)) * value
        return Traced(value, True)


@dataclass(frozen=True)
class PiecewiseInterpolate(OptaxSchedule):
    """Linear or cosine interpolation between knots `[0, b1, ..., bn]` valued `init, init·s1, init·s1·s2, ...`
    (the cumulative product in the run's dtype), the last value from bn on."""

    cosine: bool
    init_value: Array  # (P,) float64
    boundaries: tuple[int, ...]  # sorted
    scales: tuple[Array, ...]  # (P,) float64 each
    dtype: np.dtype[np.floating]

    def trace(self, count: Count) -> Traced:
        dtype = self.dtype
        bounds = (0, *self.boundaries)
        factors = np.broadcast_arrays(*(value.astype(dtype) for value in (self.init_value, *self.scales)))
        knots = np.cumprod(np.stack(factors), axis=0, dtype=dtype)  # (S + 1, P), sequential like XLA's
        total = np.zeros((count.shape[0], knots.shape[1]), dtype)
        for i, (lower, upper) in enumerate(itertools.pairwise(bounds)):
            inside = ((lower <= count) & (count < upper)).astype(dtype)
            fraction = _divide(count - lower, max(upper - lower, 1))
            total = total + inside * self._interpolate(knots[i], knots[i + 1], fraction)  # XLA's indicator · values
        total = total + (bounds[-1] <= count).astype(dtype) * knots[-1]
        return Traced(total, False)

    def _interpolate(self, start: Array, end: Array, fraction: Array) -> Array:
        if self.cosine:
            wave = np.add(libm.cosf(np.multiply(np.float32(np.pi), fraction, dtype=F32)), np.float32(1), dtype=F32)
            cosine: Array = end + (start - end) / self.dtype.type(2) * wave.astype(self.dtype)
            return cosine
        linear: Array = (end - start) * fraction.astype(self.dtype) + start
        return linear


@dataclass(frozen=True)
class CosineDecay(OptaxSchedule):
    """`init · ((1 - alpha) · (0.5 · (1 + cos(pi · min(t, D) / D))) ** exponent + alpha)`, in the run's dtype
    (weak: `min(count, float(D))` is a Python float)."""

    init_value: Array  # (P,) float64
    decay_steps: int  # positive
    alpha: Array  # (P,) float64
    exponent: int | Array
    dtype: np.dtype[np.floating]

    def trace(self, count: Count) -> Traced:
        dtype = self.dtype.type
        clamped = np.minimum(count.astype(self.dtype), dtype(self.decay_steps))
        angle = dtype(np.pi) * clamped / dtype(self.decay_steps)
        wave = dtype(0.5) * (dtype(1) + _cos(angle))
        decayed = (1 - self.alpha).astype(self.dtype) * _power(wave, self.exponent) + self.alpha.astype(self.dtype)
        return Traced(self.init_value.astype(self.dtype) * decayed, True)


@dataclass(frozen=True)
class Join(OptaxSchedule):
    """`schedules[0](t)` before `boundaries[0]`, then `schedules[i](t - boundaries[i-1])`: later schedules see a
    local step restarting at 0. Promoted like `jnp.where`."""

    schedules: tuple[OptaxSchedule, ...]
    boundaries: tuple[int, ...]

    def trace(self, count: Count) -> Traced:
        values = self.schedules[0].trace(count)
        for boundary, schedule in zip(self.boundaries, self.schedules[1:], strict=False):
            values = where(count < boundary, values, schedule.trace(count - boundary))
        return values


# --------------------------------------------------------------------------------------------------------------
# Factories: optax's own keyword arguments and defaults; optax's errors refused, its silent fallbacks reproduced.


Factory = TypeVar("Factory", bound=Callable[..., OptaxSchedule])


def optax_kind(name: str) -> Callable[[Factory], Factory]:
    """Register a factory under `optax.<name>`, keeping its type (the factories call one another)."""

    def add(factory: Factory) -> Factory:
        register(f"optax.{name}")(factory)
        return factory

    return add


def _number(name: str, value: Numbers) -> Array:
    """A Python number (or one per run) as float64: what optax's own arithmetic on it sees."""
    return param(name, value, F64)


def _exponent(name: str, value: Exponent) -> int | Array:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _number(name, value)


def _int32(name: str | tuple[str | int, ...], value: int, what: str) -> int:
    if not -(2**31) <= value <= INT32_MAX:
        message = (
            f"{what} is {value}, beyond int32 (optax compares it with the int32 step count and JAX refuses "
            "'Python int too large to convert to int32'); use a smaller value."
        )
        raise ParameterError(name, message)
    return value


_STEP_KEY = re.compile(r"0|[1-9][0-9]*")


def _boundaries_and_scales(
    function: str, mapping: Mapping[str, Numbers] | None
) -> tuple[tuple[int, ...], tuple[Array, ...]]:
    """JSON's string keys as int steps, sorted as optax sorts them; scales must be non-negative (optax's rule)."""
    items: list[tuple[int, Array]] = []
    for key, scale in (mapping or {}).items():
        where_ = ("boundaries_and_scales", key)
        if not _STEP_KEY.fullmatch(key) or int(key) > INT32_MAX:
            raise ParameterError(
                where_, f"boundary {key!r} is not a step: use a whole number from 0 to {INT32_MAX} written in digits."
            )
        values = _number(key, scale)
        if not (values >= 0).all():
            raise ParameterError(
                where_, f"optax: '`{function}` expects non-negative scale factors'; the scale at step {key} is {scale}."
            )
        items.append((int(key), values))
    items.sort(key=lambda item: item[0])
    return tuple(step for step, _ in items), tuple(scale for _, scale in items)


@optax_kind("constant_schedule")
def constant_schedule(value: Numbers, *, dtype: np.dtype[np.floating]) -> Constant:
    """`optax.constant_schedule(value)`."""
    return Constant(_number("value", value), dtype)


@optax_kind("polynomial_schedule")
def polynomial_schedule(
    init_value: Numbers,
    end_value: Numbers,
    power: Exponent,
    transition_steps: int,
    transition_begin: int = 0,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.polynomial_schedule`; like optax, `transition_steps <= 0` gives the constant init_value and a
    negative `transition_begin` counts as 0 (optax only logs these)."""
    init = _number("init_value", init_value)
    if transition_steps <= 0:
        return Constant(init, dtype)
    return Polynomial(
        init_value=init,
        end_value=_number("end_value", end_value),
        power=_exponent("power", power),
        transition_steps=transition_steps,
        transition_begin=max(transition_begin, 0),
    )


@optax_kind("linear_schedule")
def linear_schedule(
    init_value: Numbers,
    end_value: Numbers,
    transition_steps: int,
    transition_begin: int = 0,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.linear_schedule`: the polynomial schedule with power 1."""
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin, dtype=dtype)


@optax_kind("exponential_decay")
def exponential_decay(
    init_value: Numbers,
    transition_steps: int,
    decay_rate: Numbers,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.exponential_decay`; like optax, `transition_steps <= 0` or `decay_rate == 0` gives the constant
    init_value, and a negative `transition_begin` counts as 0 (optax only logs these)."""
    init = _number("init_value", init_value)
    rate = _number("decay_rate", decay_rate)
    if transition_steps <= 0 or (rate == 0).all():
        return Constant(init, dtype)
    return ExponentialDecay(
        init_value=init,
        transition_steps=transition_steps,
        decay_rate=rate,
        transition_begin=max(transition_begin, 0),
        staircase=staircase,
        end_value=None if end_value is None else _number("end_value", end_value),
        dtype=dtype,
    )


@optax_kind("piecewise_constant_schedule")
def piecewise_constant_schedule(
    init_value: Numbers,
    boundaries_and_scales: Mapping[str, Numbers] | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.piecewise_constant_schedule`; `boundaries_and_scales` has JSON's string keys (`{"10": 0.5}`)."""
    boundaries, scales = _boundaries_and_scales("piecewise_constant_schedule", boundaries_and_scales)
    init = _number("init_value", init_value)
    if not boundaries:
        return Constant(init, dtype)
    return PiecewiseConstant(init, boundaries, scales, dtype)


def _interpolate_type(interpolate_type: str) -> bool:
    """True for cosine; optax refuses anything but 'linear' and 'cosine'."""
    require(
        interpolate_type in ("linear", "cosine"),
        "interpolate_type",
        "optax: \"`interpolate_type` must be either 'cosine' or 'linear'\".",
    )
    return interpolate_type == "cosine"


@optax_kind("piecewise_interpolate_schedule")
def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: Numbers,
    boundaries_and_scales: Mapping[str, Numbers] | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> PiecewiseInterpolate:
    """`optax.piecewise_interpolate_schedule`; `boundaries_and_scales` has JSON's string keys."""
    cosine = _interpolate_type(interpolate_type)
    boundaries, scales = _boundaries_and_scales("piecewise_interpolate_schedule", boundaries_and_scales)
    return PiecewiseInterpolate(cosine, _number("init_value", init_value), boundaries, scales, dtype)


def _divide_python(name: str, numerator: Array, denominator: Array) -> Array:
    """Python's `/` on the schedule's own numbers: a zero denominator is Python's ZeroDivisionError."""
    require((denominator != 0).all(), name, f"{name} is 0, and optax divides by it ('float division by zero').")
    return numerator / denominator


@dataclass(frozen=True)
class Columns(OptaxSchedule):
    """Runs whose schedules differ in their structure (optax's onecycle knots, which are `int(pct · T)` of a
    per-run pct), as a few schedules each over its own runs: `parts` pairs the runs' columns with the schedule that
    gives them, all of one dtype and weakness."""

    parts: tuple[tuple[npt.NDArray[np.intp], OptaxSchedule], ...]
    runs: int

    def trace(self, count: Count) -> Traced:
        traced = [(columns, schedule.trace(count)) for columns, schedule in self.parts]
        (dtype,) = {part.values.dtype for _, part in traced}
        (weak,) = {part.weak for _, part in traced}
        values = np.empty((count.shape[0], self.runs), dtype)
        for columns, part in traced:
            values[:, columns] = np.broadcast_to(part.values, (count.shape[0], columns.size))
        return Traced(values, weak)


def _onecycle(
    cosine: bool,
    transition_steps: int,
    init: Array,
    knots: Sequence[tuple[Array | int, Array]],
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """optax's one-cycle: a dict literal of knots `{int(position): scale}` (a later equal key replaces an earlier
    one), interpolated. A position given per run (a pct per run) makes per-run integer knots, and so possibly a
    different number of segments: the runs are grouped by their knots, one interpolation per group."""
    require(
        transition_steps > 0,
        "transition_steps",
        "optax: 'A linear onecycle schedule was set with a non-positive `transition_steps`'; give 1 or more.",
    )
    positions = [np.atleast_1d(np.asarray(position, dtype=F64)) for position, _ in knots]
    runs = max(array.size for array in [init, *positions, *(scale for _, scale in knots)])
    groups: dict[tuple[int, ...], list[int]] = {}
    for run in range(runs):
        steps = tuple(
            _int32("transition_steps", int(position[run if position.size > 1 else 0]), "a knot of the cycle (pct · T)")
            for position in positions
        )
        groups.setdefault(steps, []).append(run)
    if len(groups) == 1:
        return _interpolate_knots(cosine, init, next(iter(groups)), [scale for _, scale in knots], dtype)
    parts = []
    for steps, members in groups.items():
        columns = np.asarray(members, dtype=np.intp)

        def of(array: Array, columns: npt.NDArray[np.intp] = columns) -> Array:
            return array if array.size == 1 else array[columns]

        scales = [of(scale) for _, scale in knots]
        parts.append((columns, _interpolate_knots(cosine, of(init), steps, scales, dtype)))
    return Columns(tuple(parts), runs)


def _interpolate_knots(
    cosine: bool, init: Array, steps: Sequence[int], scales: Sequence[Array], dtype: np.dtype[np.floating]
) -> PiecewiseInterpolate:
    """The interpolation through knots `{step: scale}` built in order (a later equal step replaces an earlier
    scale, keeping its place), sorted as optax sorts them."""
    by_step: dict[int, Array] = {}
    for step, scale in zip(steps, scales, strict=True):
        by_step[step] = scale
    for step, scale in by_step.items():
        require(
            bool((scale >= 0).all()),
            "div_factor",
            "optax: '`piecewise_interpolate_schedule` expects non-negative scale factors': div_factor and "
            f"final_div_factor must be positive (the scale at step {step} is {scale.tolist()}).",
        )
    ordered = tuple(sorted(by_step))
    return PiecewiseInterpolate(cosine, init, ordered, tuple(by_step[step] for step in ordered), dtype)


@optax_kind("linear_onecycle_schedule")
def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: Numbers,
    pct_start: Numbers = 0.3,
    pct_final: Numbers = 0.85,
    div_factor: Numbers = 25.0,
    final_div_factor: Numbers = 1e4,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.linear_onecycle_schedule`: linear from peak/div up to peak at int(pct_start·T), down to peak/div at
    int(pct_final·T), then to peak/div/final_div at T."""
    div = _number("div_factor", div_factor)
    final = _number("final_div_factor", final_div_factor)
    init = _divide_python("div_factor", _number("peak_value", peak_value), div)
    one = np.ones(1)
    knots: list[tuple[Array | int, Array]] = [
        (_number("pct_start", pct_start) * transition_steps, div),
        (_number("pct_final", pct_final) * transition_steps, one / div),
        (transition_steps, _divide_python("final_div_factor", one, final)),
    ]
    return _onecycle(False, transition_steps, init, knots, dtype)


@optax_kind("cosine_onecycle_schedule")
def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: Numbers,
    pct_start: Numbers = 0.3,
    div_factor: Numbers = 25.0,
    final_div_factor: Numbers = 1e4,
    *,
    dtype: np.dtype[np.floating],
) -> OptaxSchedule:
    """`optax.cosine_onecycle_schedule`: cosine from peak/div up to peak at int(pct_start·T), then down to
    peak/(div·final_div) at T."""
    div = _number("div_factor", div_factor)
    final = _number("final_div_factor", final_div_factor)
    init = _divide_python("div_factor", _number("peak_value", peak_value), div)
    knots: list[tuple[Array | int, Array]] = [
        (_number("pct_start", pct_start) * transition_steps, div),
        (transition_steps, _divide_python("final_div_factor", np.ones(1), div * final)),
    ]
    return _onecycle(True, transition_steps, init, knots, dtype)


def _cosine_decay(
    name: str, init: Array, decay_steps: int, alpha: Array, exponent: int | Array, dtype: np.dtype[np.floating]
) -> CosineDecay:
    require(
        decay_steps > 0,
        name,
        f"optax: 'The cosine_decay_schedule requires positive decay_steps, got decay_steps={decay_steps}.'",
    )
    return CosineDecay(init, decay_steps, alpha, exponent, dtype)


@optax_kind("cosine_decay_schedule")
def cosine_decay_schedule(
    init_value: Numbers,
    decay_steps: int,
    alpha: Numbers = 0.0,
    exponent: Exponent = 1.0,
    *,
    dtype: np.dtype[np.floating],
) -> CosineDecay:
    """`optax.cosine_decay_schedule`; `decay_steps` must be positive (optax's ValueError)."""
    return _cosine_decay(
        "decay_steps",
        _number("init_value", init_value),
        decay_steps,
        _number("alpha", alpha),
        _exponent("exponent", exponent),
        dtype,
    )


@optax_kind("warmup_cosine_decay_schedule")
def warmup_cosine_decay_schedule(
    init_value: Numbers,
    peak_value: Numbers,
    warmup_steps: int,
    decay_steps: int,
    end_value: Numbers = 0.0,
    exponent: Exponent = 1.0,
    *,
    dtype: np.dtype[np.floating],
) -> Join:
    """`optax.warmup_cosine_decay_schedule`: linear init→peak over warmup_steps, then a cosine decay over
    `decay_steps - warmup_steps` (decay_steps is the TOTAL length) with alpha = end/peak (0 if peak is 0)."""
    peak = _number("peak_value", peak_value)
    end = _number("end_value", end_value)
    alpha = np.divide(end, peak, out=np.zeros(np.broadcast(end, peak).shape), where=peak != 0)
    try:
        cosine = _cosine_decay(
            "decay_steps", peak, decay_steps - warmup_steps, alpha, _exponent("exponent", exponent), dtype
        )
    except ParameterError as error:
        raise ParameterError(
            "decay_steps",
            f"{error.message} decay_steps is the total length including the warmup, so it must exceed "
            f"warmup_steps ({warmup_steps}).",
        ) from error
    warmup = linear_schedule(init_value, peak_value, warmup_steps, dtype=dtype)
    return Join((warmup, cosine), (_int32("warmup_steps", warmup_steps, "warmup_steps"),))


@optax_kind("warmup_exponential_decay_schedule")
def warmup_exponential_decay_schedule(
    init_value: Numbers,
    peak_value: Numbers,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: Numbers,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Numbers | None = None,
    *,
    dtype: np.dtype[np.floating],
) -> Join:
    """`optax.warmup_exponential_decay_schedule`: linear init→peak over warmup_steps, then exponential_decay from
    peak on the local step `t - warmup_steps`."""
    warmup = linear_schedule(init_value, peak_value, warmup_steps, dtype=dtype)
    decay = exponential_decay(
        peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value, dtype=dtype
    )
    return Join((warmup, decay), (warmup_steps,))


@optax_kind("warmup_constant_schedule")
def warmup_constant_schedule(
    init_value: Numbers, peak_value: Numbers, warmup_steps: int, *, dtype: np.dtype[np.floating]
) -> OptaxSchedule:
    """`optax.warmup_constant_schedule`: linear init→peak over warmup_steps, then peak."""
    return linear_schedule(init_value, peak_value, warmup_steps, dtype=dtype)


@optax_kind("sgdr_schedule")
def sgdr_schedule(cosine_kwargs: Sequence[Mapping[str, Any]], *, dtype: np.dtype[np.floating]) -> Join:
    """`optax.sgdr_schedule`: warmup_cosine_decay_schedule segments joined end to end, segment i starting at the
    sum of the earlier segments' decay_steps."""
    require(len(cosine_kwargs) > 0, "cosine_kwargs", "Give at least one segment (optax needs a first schedule).")
    segments: list[OptaxSchedule] = []
    boundaries: list[int] = []
    start = 0
    for i, kwargs in enumerate(cosine_kwargs):
        try:
            segments.append(warmup_cosine_decay_schedule(**kwargs, dtype=dtype))
        except ParameterError as error:
            raise error.within("cosine_kwargs", i) from error
        start += int(kwargs["decay_steps"])
        boundaries.append(_int32(("cosine_kwargs", i, "decay_steps"), start, "the segment's end (sum of decay_steps)"))
    return Join(tuple(segments), tuple(boundaries[:-1]))


@optax_kind("join_schedules")
def join_schedules(
    schedules: Sequence[Mapping[str, Any]], boundaries: Sequence[int], *, dtype: np.dtype[np.floating]
) -> Join:
    """`optax.join_schedules`: children are optax schedule specs; schedule i > 0 sees the local step
    `t - boundaries[i-1]`."""
    require(len(schedules) > 0, "schedules", "Give at least one schedule (optax calls schedules[0]).")
    require(
        len(boundaries) == len(schedules) - 1,
        "boundaries",
        f"optax expects one boundary fewer than schedules ('boundaries: A list of integers (of length one less than "
        f"schedules)'); got {len(boundaries)} for {len(schedules)} schedules (optax would silently ignore the extra).",
    )
    children: list[OptaxSchedule] = []
    for i, child in enumerate(schedules):
        kind = child.get("kind")
        if not (isinstance(kind, str) and kind.startswith("optax.") and kind in SCHEDULES):
            raise ParameterError(("schedules", i, "kind"), f"{kind!r} is not an optax schedule kind.")
        try:
            built = build(child, dtype)
        except ParameterError as error:
            raise error.within("schedules", i) from error
        assert isinstance(built, OptaxSchedule)
        children.append(built)
    checked = tuple(_int32(("boundaries", i), b, f"boundary {b}") for i, b in enumerate(boundaries))
    return Join(tuple(children), checked)
