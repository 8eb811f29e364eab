"""PyTorch `torch.optim.lr_scheduler` schedulers, in Python doubles (float64) as torch computes them.

torch keeps the rate as a Python float and rounds it to the parameters' dtype only when an update uses it, so every
table here is float64 whatever the run's dtype (the loop casts it). Update k uses the rate after k `step()` calls,
`last_epoch = k` (NUMERICS.md §0). torch runs most schedulers recursively (each step multiplies the current rate);
the closed forms below agree with those recursions to ~1e-15 relative, and the corners where the recursion does
something else are reproduced: ConstantLR and LinearLR with total_iters=0 stay at the start factor, PolynomialLR
with total_iters=0 stays at the base rate, a SequentialLR child started at a milestone begins from its closed form.

A scheduler that scales the optimizer's rate takes that base rate as `lr` (torch's `initial_lr`); the children of
SequentialLR and ChainedScheduler get the parent's `lr`, as torch children share the optimizer's `initial_lr`.

Step horizons: where torch raises once stepped far enough (OneCycleLR past total_steps, a division by zero at a
later step), the schedule's `max_steps` is the largest `steps` a run may have (rows 0..steps need the rate at
`last_epoch = steps`); None means no limit. The API is to refuse a longer run with the reason in `horizon[1]`.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from service.engine.arrays import Array, IntArray, Numbers
from service.engine.errors import ParameterError
from service.engine.schedules.base import F64, Schedule, build, column, param, register, require

Horizon = tuple[int | None, str]
"""The largest legal `steps` (None: unlimited) and torch's reason for the limit."""

UNLIMITED: Horizon = (None, "")


def _base_rate(lr: Numbers | None) -> Array:
    """The optimizer's initial rate that the scheduler scales (torch's `initial_lr`)."""
    if lr is None:
        raise ParameterError("lr", "lr is required: the optimizer's initial learning rate, which the scheduler scales.")
    return param("lr", lr, F64)


def _earliest(*horizons: Horizon) -> Horizon:
    """The tightest of several horizons."""
    limited = [horizon for horizon in horizons if horizon[0] is not None]
    return min(limited, key=lambda horizon: horizon[0] or 0) if limited else UNLIMITED


def _steps(steps: IntArray) -> Array:
    """Steps as a float64 column (n, 1): torch's `last_epoch`, a Python int mixed into double arithmetic."""
    return column(steps, F64)


@dataclass(frozen=True)
class TorchSchedule:
    """What every torch scheduler here has besides its rates: the step horizon. `max_steps` is the largest `steps`
    a run may have (None: no limit), and `horizon[1]` says why, in torch's words: torch raises when stepped past
    it, so the API refuses a longer run rather than invent numbers torch never produces."""

    horizon: Horizon = field(default=UNLIMITED, kw_only=True)

    @property
    def max_steps(self) -> int | None:
        """The largest `steps` a run may have, or None; torch raises beyond it (the reason is `horizon[1]`)."""
        return self.horizon[0]


# ---------------------------------------------------------------------------------------------------------------
# Multiplicative ("chainable") schedulers


@dataclass(frozen=True)
class StepLR(TorchSchedule):
    """`lr · gamma^(k // step_size)`."""

    lr: Array
    step_size: int
    gamma: Array

    def __call__(self, steps: IntArray) -> Array:
        periods = (steps // self.step_size).astype(F64)[:, None]
        return self.lr * np.power(self.gamma, periods)


@register("torch.StepLR")
def step_lr(step_size: int, gamma: Numbers = 0.1, *, lr: Numbers | None = None, dtype: np.dtype[np.floating]) -> StepLR:
    """`torch.optim.lr_scheduler.StepLR`; step_size must be positive (torch divides by it)."""
    require(
        step_size > 0,
        "step_size",
        f"step_size must be at least 1: torch computes last_epoch % step_size, so step_size {step_size} raises "
        "ZeroDivisionError at the first step.",
    )
    return StepLR(lr=_base_rate(lr), step_size=step_size, gamma=param("gamma", gamma, F64))


@dataclass(frozen=True)
class MultiStepLR(TorchSchedule):
    """`lr · gamma^(number of milestones <= k)`; a repeated milestone counts twice (torch keeps a Counter)."""

    lr: Array
    milestones: IntArray  # sorted
    gamma: Array

    def __call__(self, steps: IntArray) -> Array:
        passed = np.searchsorted(self.milestones, steps, side="right").astype(F64)[:, None]
        return self.lr * np.power(self.gamma, passed)


@register("torch.MultiStepLR")
def multi_step_lr(
    milestones: Sequence[int], gamma: Numbers = 0.1, *, lr: Numbers | None = None, dtype: np.dtype[np.floating]
) -> MultiStepLR:
    """`torch.optim.lr_scheduler.MultiStepLR`; milestones in any order (torch counts them, order does not matter)."""
    reached = sorted(milestone for milestone in milestones if milestone >= 0)  # torch never reaches a negative one
    return MultiStepLR(
        lr=_base_rate(lr), milestones=np.array(reached, dtype=np.int64), gamma=param("gamma", gamma, F64)
    )


@dataclass(frozen=True)
class ConstantLR(TorchSchedule):
    """`lr · factor` before total_iters, then `lr · factor · (1/factor)` (torch's recursion; ≈ lr). With
    total_iters = 0 torch never undoes the factor (the check `last_epoch == 0` comes first): lr · factor forever."""

    lr: Array
    factor: Array
    total_iters: int

    def __call__(self, steps: IntArray) -> Array:
        reduced = self.lr * self.factor
        if self.total_iters == 0:
            return np.broadcast_to(reduced, (steps.size, reduced.size))
        with np.errstate(divide="ignore", invalid="ignore"):
            restored = reduced * (1.0 / self.factor)
        return np.where(steps[:, None] < self.total_iters, reduced, restored)


@register("torch.ConstantLR")
def constant_lr(
    factor: Numbers = 1.0 / 3,
    total_iters: int = 5,
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> ConstantLR:
    """`torch.optim.lr_scheduler.ConstantLR`; factor in [0, 1]. factor 0 makes torch divide by zero at total_iters."""
    factors = param("factor", factor, F64)
    require(
        ((factors >= 0) & (factors <= 1)).all(),
        "factor",
        "Constant multiplicative factor expected to be between 0 and 1. (torch's rule)",
    )
    horizon = UNLIMITED
    if total_iters > 0 and (factors == 0).any():
        horizon = (
            total_iters - 1,
            f"torch.ConstantLR with factor 0 restores the rate at step total_iters={total_iters} by multiplying "
            "by 1/factor, which raises ZeroDivisionError",
        )
    return ConstantLR(lr=_base_rate(lr), factor=factors, total_iters=total_iters, horizon=horizon)


@dataclass(frozen=True)
class LinearLR(TorchSchedule):
    """`lr · (start + (end - start) · min(k, T) / T)`; with total_iters T = 0, torch stays at `lr · start`."""

    lr: Array
    start_factor: Array
    end_factor: Array
    total_iters: int

    def __call__(self, steps: IntArray) -> Array:
        if self.total_iters == 0:
            start = self.lr * self.start_factor
            return np.broadcast_to(start, (steps.size, start.size))
        progress = np.minimum(_steps(steps), self.total_iters)
        factor = self.start_factor + (self.end_factor - self.start_factor) * progress / self.total_iters
        return self.lr * factor


@register("torch.LinearLR")
def linear_lr(
    start_factor: Numbers = 1.0 / 3,
    end_factor: Numbers = 1.0,
    total_iters: int = 5,
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> LinearLR:
    """`torch.optim.lr_scheduler.LinearLR`; start_factor in (0, 1], end_factor in [0, 1] (torch's rules)."""
    start = param("start_factor", start_factor, F64)
    end = param("end_factor", end_factor, F64)
    require(
        ((start > 0) & (start <= 1)).all(),
        "start_factor",
        "Starting multiplicative factor expected to be greater than 0 and less or equal to 1. (torch's rule)",
    )
    require(
        ((end >= 0) & (end <= 1)).all(),
        "end_factor",
        "Ending multiplicative factor expected to be between 0 and 1. (torch's rule)",
    )
    return LinearLR(lr=_base_rate(lr), start_factor=start, end_factor=end, total_iters=total_iters)


@dataclass(frozen=True)
class ExponentialLR(TorchSchedule):
    """`lr · gamma^k`."""

    lr: Array
    gamma: Array

    def __call__(self, steps: IntArray) -> Array:
        return self.lr * np.power(self.gamma, _steps(steps))


@register("torch.ExponentialLR")
def exponential_lr(gamma: Numbers, *, lr: Numbers | None = None, dtype: np.dtype[np.floating]) -> ExponentialLR:
    """`torch.optim.lr_scheduler.ExponentialLR`."""
    return ExponentialLR(lr=_base_rate(lr), gamma=param("gamma", gamma, F64))


@dataclass(frozen=True)
class PolynomialLR(TorchSchedule):
    """`lr · (1 - min(k, T) / T)^power`: decays to 0 (no end rate). With total_iters T = 0 torch keeps `lr`."""

    lr: Array
    total_iters: int
    power: Array

    def __call__(self, steps: IntArray) -> Array:
        if self.total_iters == 0:
            return np.broadcast_to(self.lr, (steps.size, self.lr.size))
        remaining = 1.0 - np.minimum(_steps(steps), self.total_iters) / self.total_iters
        with np.errstate(divide="ignore"):
            return self.lr * np.power(remaining, self.power)


@register("torch.PolynomialLR")
def polynomial_lr(
    total_iters: int = 5, power: Numbers = 1.0, *, lr: Numbers | None = None, dtype: np.dtype[np.floating]
) -> PolynomialLR:
    """`torch.optim.lr_scheduler.PolynomialLR`; a negative power makes torch raise at total_iters (0 ** negative)."""
    powers = param("power", power, F64)
    horizon = UNLIMITED
    if total_iters > 0 and (powers < 0).any():
        horizon = (
            total_iters - 1,
            f"torch.PolynomialLR with a negative power raises ZeroDivisionError (0.0 cannot be raised to a negative "
            f"power) at step total_iters={total_iters}",
        )
    return PolynomialLR(lr=_base_rate(lr), total_iters=total_iters, power=powers, horizon=horizon)


# ---------------------------------------------------------------------------------------------------------------
# Cosine schedulers


def _cosine(lr: Array, eta_min: Array, angle: Array) -> Array:
    """`eta_min + (lr - eta_min) · (1 + cos(angle)) / 2`, in torch's operation order."""
    rates: Array = eta_min + (lr - eta_min) * (1 + np.cos(angle)) / 2
    return rates


@dataclass(frozen=True)
class CosineAnnealingLR(TorchSchedule):
    """`eta_min + (lr - eta_min)(1 + cos(pi k / T_max)) / 2`: periodic, not clamped (back at lr at 2·T_max).

    torch does not evaluate that closed form: each step multiplies the current rate by
    `(1 + cos(pi k / T)) / (1 + cos(pi (k - 1) / T))` about eta_min, and at `(k - 1 - T) % (2 T) == 0` (where that
    ratio would divide by zero) adds `(lr - eta_min)(1 - cos(pi / T)) / 2` instead. The recursion drifts from the
    closed form by ~3e-16 relative per step (more than 1e-12 past ~3,500 steps), so it is reproduced here, in
    torch's order of operations, from `first` (the rate at step 0: `lr`, or the closed form at 0 for a SequentialLR
    child started at a milestone), for steps below RECURSION_ROWS. The rates are a table grown on demand (doubling),
    so a run's chunks extend it instead of recomputing it."""

    lr: Array
    T_max: int
    eta_min: Array
    first: Array | None = None
    _table: list[Array] = field(default_factory=list, init=False, repr=False, compare=False)

    def __call__(self, steps: IntArray) -> Array:
        recursive = steps < RECURSION_ROWS
        if recursive.all():
            return self._rates(int(steps.max(initial=0)) + 1)[steps]
        rates = _cosine(self.lr, self.eta_min, np.pi * _steps(steps) / self.T_max)
        if recursive.any():
            rates[recursive] = self._rates(int(steps[recursive].max()) + 1)[steps[recursive]]
        return rates

    def _rates(self, rows: int) -> Array:
        """The recursion's rates for steps 0..rows-1 (at least), shape (n, P); grown by doubling (up to
        RECURSION_ROWS), recomputed from step 0 (the same numbers: the recursion is deterministic)."""
        if self._table and len(self._table[0]) >= rows:
            return self._table[0]
        grown = min(max(rows, 2 * len(self._table[0]) if self._table else 0, 1024), RECURSION_ROWS)
        table = cosine_recursion(
            self.lr if self.first is None else self.first, self.lr, self.eta_min, self.T_max, grown
        )
        self._table[:] = [table]
        return table


RECURSION_ROWS = 1 << 22
"""Steps 0..4,194,303 follow torch's recursion (a table of at most this many rows per run, ~0.15 s to build);
later steps, past any default run, take the closed form, which has drifted ~1e-9 relative from torch by then."""


def cosine_recursion(first: Array, lr: Array, eta_min: Array, t_max: int, rows: int) -> Array:
    """torch's CosineAnnealingLR rates at steps 0..rows-1, (rows, P), from the rate `first` at step 0.

    Step k multiplies about eta_min by `ratio[k] = (1 + cos(pi k / T)) / (1 + cos(pi (k - 1) / T))` (NumPy's
    float64 cos is the libm cos that torch's `math.cos` calls, checked by the golden cases), except at the branch
    steps `k = T + 1 + 2Tm`, which add `(lr - eta_min)(1 - cos(pi / T)) / 2` to the previous rate. The step before
    each branch has ratio exactly 0 (cos rounds to -1 there), so it lands exactly on eta_min and every period of
    2T steps from a branch on starts from the same `eta_min + increment`: the periods are independent, and run side
    by side as rows of a (periods, 2T) array. With eta_min = 0 each period is a running product
    (`np.multiply.accumulate`, strictly left to right, rounding each step as torch does); otherwise a loop over the
    position in the period, vectorised over periods. The head (steps 1..T) runs sequentially from `first`."""
    width = np.broadcast_shapes(first.shape, lr.shape, eta_min.shape)
    first, lr, eta_min = (np.broadcast_to(x, width).astype(F64) for x in (first, lr, eta_min))
    k = np.arange(rows, dtype=F64)
    with np.errstate(divide="ignore", invalid="ignore"):  # zero divisors fall on branch steps, which take no ratio
        ratio = (1 + np.cos(np.pi * k / t_max)) / (1 + np.cos(np.pi * (k - 1) / t_max))
    increment = (lr - eta_min) * (1 - np.cos(np.pi / t_max)) / 2
    table = np.empty((rows, *width))
    table[0] = first
    head = min(t_max + 1, rows)  # steps 0..T: no branch yet
    table[1:head] = _recur(first, ratio[1:head], eta_min)
    branches = np.arange(t_max + 1, rows, 2 * t_max)
    if branches.size == 0:
        return table
    if (ratio[branches - 1] != 0).any():  # not reached below ~10^7 steps: cos rounds to -1 at every trough
        for start in branches.tolist():
            table[start] = table[start - 1] + increment
            stop = min(start + 2 * t_max, rows)
            table[start + 1 : stop] = _recur(table[start], ratio[start + 1 : stop], eta_min)
        return table
    period = 2 * t_max
    body = rows - head
    padded = np.ones(branches.size * period)
    padded[:body] = ratio[head:]
    periods = np.empty((branches.size, period, *width))
    periods[:, 0] = eta_min + increment  # the trough is exactly eta_min; torch adds the increment to it
    factors = padded.reshape(branches.size, period)
    if not eta_min.any():
        periods[:, 1:] = factors[:, 1:, None]
        np.multiply.accumulate(periods, axis=1, out=periods)
        periods += eta_min  # r·x + 0.0 is r·x, but -0.0 becomes +0.0 as in torch
    else:
        for j in range(1, period):
            periods[:, j] = factors[:, j, None] * (periods[:, j - 1] - eta_min) + eta_min
    table[head:] = periods.reshape(-1, *width)[:body]
    return table


def _recur(start: Array, ratios: Array, eta_min: Array) -> Array:
    """`rate[i] = ratios[i]·(rate[i-1] - eta_min) + eta_min` from `start`, sequentially, (len(ratios), P)."""
    rows = np.empty((ratios.size, start.size))
    if ratios.size == 0:
        return rows
    if not eta_min.any():
        factors = np.empty((ratios.size + 1, start.size))
        factors[0] = start
        factors[1:] = ratios[:, None]
        np.multiply.accumulate(factors, axis=0, out=factors)
        return np.asarray(factors[1:] + eta_min)
    if start.size == 1:  # one run: Python floats, as torch computes it
        value, eta = float(start[0]), float(eta_min[0])
        column = rows[:, 0]
        for i, r in enumerate(ratios.tolist()):
            value = r * (value - eta) + eta
            column[i] = value
        return rows
    previous = start
    for i in range(ratios.size):
        rows[i] = previous = ratios[i] * (previous - eta_min) + eta_min
    return rows


@register("torch.CosineAnnealingLR")
def cosine_annealing_lr(
    T_max: int,  # noqa: N803 (torch's name)
    eta_min: Numbers = 0.0,
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> CosineAnnealingLR:
    """`torch.optim.lr_scheduler.CosineAnnealingLR`; T_max must be positive (torch divides by it)."""
    require(
        T_max > 0,
        "T_max",
        f"T_max must be at least 1: torch computes (last_epoch - 1 - T_max) % (2 * T_max), so T_max {T_max} "
        "raises ZeroDivisionError at the first step.",
    )
    return CosineAnnealingLR(lr=_base_rate(lr), T_max=T_max, eta_min=param("eta_min", eta_min, F64))


@dataclass(frozen=True)
class CosineAnnealingWarmRestarts(TorchSchedule):
    """Cosine from lr towards eta_min over T_i steps, then restart at lr; T_i = T_0 · T_mult^cycle."""

    lr: Array
    T_0: int
    T_mult: int
    eta_min: Array

    def __call__(self, steps: IntArray) -> Array:
        if self.T_mult == 1:
            position, period = steps % self.T_0, np.full(steps.shape, self.T_0, dtype=np.int64)
        else:
            restarts = self._restarts(int(steps.max(initial=0)))
            cycle = np.searchsorted(restarts, steps, side="right") - 1
            position = steps - restarts[cycle]
            period = np.diff(restarts)[cycle]
        angle = np.pi * position.astype(F64) / period.astype(F64)
        return _cosine(self.lr, self.eta_min, angle[:, None])

    def _restarts(self, last: int) -> IntArray:
        """The steps where cycles start, 0 first, up to the first one after `last` (Python ints: exact)."""
        starts, period = [0], self.T_0
        while starts[-1] <= last:
            starts.append(starts[-1] + period)
            period *= self.T_mult
        return np.array(starts, dtype=np.int64)


@register("torch.CosineAnnealingWarmRestarts")
def cosine_annealing_warm_restarts(
    T_0: int,  # noqa: N803 (torch's name)
    T_mult: int = 1,  # noqa: N803 (torch's name)
    eta_min: Numbers = 0.0,
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> CosineAnnealingWarmRestarts:
    """`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`; T_0 an integer > 0, T_mult an integer >= 1."""
    require(T_0 > 0, "T_0", f"Expected positive integer T_0, but got {T_0} (torch's rule).")
    require(T_mult >= 1, "T_mult", f"Expected integer T_mult >= 1, but got {T_mult} (torch's rule).")
    return CosineAnnealingWarmRestarts(
        lr=_base_rate(lr), T_0=T_0, T_mult=T_mult, eta_min=param("eta_min", eta_min, F64)
    )


# ---------------------------------------------------------------------------------------------------------------
# Cycling schedulers (they set the rate themselves, and by default the momentum too)


@dataclass(frozen=True)
class CyclicLR(TorchSchedule):
    """Triangular cycles between base_lr and max_lr (torch's CLR policy), `cycle_momentum=False`."""

    base_lr: Array
    max_lr: Array
    step_size_up: float
    step_size_down: float
    mode: str
    gamma: Array
    base_momentum: Array
    max_momentum: Array

    def __call__(self, steps: IntArray) -> Array:
        height, scale = self._shape(steps)
        return self.base_lr + (self.max_lr - self.base_lr) * height * scale

    def _shape(self, steps: IntArray) -> tuple[Array, Array]:
        """The position in the cycle (0 at base, 1 at the peak) and the amplitude's scale, per step (n, 1|P)."""
        total = self.step_size_up + self.step_size_down
        ratio = self.step_size_up / total
        k = _steps(steps)
        cycle = np.floor(1 + k / total)
        x = 1.0 + k / total - cycle
        with np.errstate(divide="ignore", invalid="ignore"):
            height = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if self.mode == "triangular":
            scale = np.ones_like(k)
        elif self.mode == "triangular2":
            scale = 1 / (2.0 ** (cycle - 1))
        else:  # exp_range: scaled per iteration
            scale = np.power(self.gamma, k)
        return height, scale


@dataclass(frozen=True)
class CyclicLRMomentum(CyclicLR):
    """CyclicLR with `cycle_momentum=True`: it also writes the momentum (or Adam's beta1), inversely to the rate."""

    def momentum(self, steps: IntArray) -> Array:
        height, scale = self._shape(steps)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * height * scale


@register("torch.CyclicLR")
def cyclic_lr(
    base_lr: Numbers,
    max_lr: Numbers,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
    gamma: Numbers = 1.0,
    scale_mode: Literal["cycle", "iterations"] = "cycle",
    cycle_momentum: bool = True,
    base_momentum: Numbers = 0.8,
    max_momentum: Numbers = 0.9,
    *,
    dtype: np.dtype[np.floating],
) -> CyclicLR:
    """`torch.optim.lr_scheduler.CyclicLR` without `scale_fn`. With the built-in modes torch sets scale_mode itself
    ('cycle' for triangular and triangular2, 'iterations' for exp_range), so the given scale_mode has no effect."""
    require(mode in ("triangular", "triangular2", "exp_range"), "mode", "mode is invalid and scale_fn is None")
    require(scale_mode in ("cycle", "iterations"), "scale_mode", "scale_mode must be 'cycle' or 'iterations'.")
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    require(
        up > 0,
        "step_size_up",
        f"step_size_up must be at least 1: torch divides by step_size_up / (step_size_up + step_size_down), so "
        f"{step_size_up} raises ZeroDivisionError when the scheduler is created.",
    )
    gammas = param("gamma", gamma, F64)
    horizon = UNLIMITED
    if mode == "triangular2":
        horizon = _triangular2_horizon(step_size_up, step_size_down)
    elif mode == "exp_range":
        horizon = _exp_range_horizon(gammas)
    cls = CyclicLRMomentum if cycle_momentum else CyclicLR
    return cls(
        horizon=horizon,
        base_lr=param("base_lr", base_lr, F64),
        max_lr=param("max_lr", max_lr, F64),
        step_size_up=up,
        step_size_down=down,
        mode=mode,
        gamma=gammas,
        base_momentum=param("base_momentum", base_momentum, F64),
        max_momentum=param("max_momentum", max_momentum, F64),
    )


def _triangular2_horizon(step_size_up: int, step_size_down: int | None) -> Horizon:
    """torch's triangular2 scale is `1 / (2.0 ** (cycle - 1))` with the Python int `cycle = floor(1 + last_epoch /
    total_size)`, `total_size = float(up) + float(down)`: `2.0 ** 1024` raises OverflowError (2.0 ** 1023 is
    finite), so torch raises from cycle 1025 on, first at last_epoch = 1024 · total_size. There `last_epoch /
    total_size` is exactly 1024; one step earlier it is 1024 - 1 / total_size, which stays below 1024 after rounding
    (1 / total_size >= 2^-32 is far above half an ulp of 1024, 2^-43, since the step sizes are int32), so the
    cycle is 1024. E.g. up = down = 1: torch raises at step 2048; up 10, down 20: 30 720; up = down = 2000 (the
    defaults): 4 096 000; up 7, down 5: 12 288. A run may have steps up to one less."""
    down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + down
    if total <= 0:
        return UNLIMITED
    first = 1024 * total
    return (
        first - 1,
        f"torch.CyclicLR with mode='triangular2' raises OverflowError: (34, 'Numerical result out of range') from "
        f"step {first} on (cycle 1025, where its scale 1 / (2.0 ** (cycle - 1)) overflows)",
    )


def _exp_range_horizon(gammas: Array) -> Horizon:
    """torch's exp_range scale is `gamma ** last_epoch`, a Python float to an int power, which raises OverflowError
    once the result is beyond the largest double (|gamma| > 1; smaller ones underflow to 0 silently). The first such
    step is found with Python's own `**` (the C library's pow, as in torch), the earliest over the runs."""
    earliest: int | None = None
    worst = 0.0
    for gamma in {float(value) for value in gammas if abs(value) > 1}:
        good, bad = 0, 1
        while not _overflows(gamma, bad):
            good, bad = bad, bad * 2
        while bad - good > 1:
            middle = (good + bad) // 2
            good, bad = (good, middle) if _overflows(gamma, middle) else (middle, bad)
        if earliest is None or bad < earliest:
            earliest, worst = bad, gamma
    if earliest is None:
        return UNLIMITED
    return (
        earliest - 1,
        f"torch.CyclicLR with mode='exp_range' and gamma {worst} raises OverflowError: (34, 'Numerical result out of "
        f"range') from step {earliest} on, where its scale gamma ** step overflows",
    )


def _overflows(gamma: float, step: int) -> bool:
    try:
        gamma**step
    except OverflowError:
        return True
    return False


Anneal = Callable[[Array, Array, Array], Array]


def _anneal_cos(start: Array, end: Array, pct: Array) -> Array:
    """torch's `_annealing_cos`: cosine from start to end as pct goes 0 → 1."""
    cosine: Array = end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
    return cosine


def _anneal_linear(start: Array, end: Array, pct: Array) -> Array:
    """torch's `_annealing_linear`."""
    linear: Array = (end - start) * pct + start
    return linear


@dataclass(frozen=True)
class OneCycleLR(TorchSchedule):
    """One cycle: from max_lr/div_factor up to max_lr over pct_start of the run, then down to
    max_lr/div_factor/final_div_factor (three_phase: back to the initial rate first); `cycle_momentum=False`.

    `max_steps` is total_steps: torch evaluates the rate up to `last_epoch = total_steps` (extrapolating past the
    minimum) and raises "Tried to step total_steps+1 times" on the next step; a run of `steps` updates needs the
    rate at `last_epoch = steps`. A zero-length phase (e.g. pct_start 1.0) lowers it to the step before the one
    that divides by zero."""

    ends: tuple[Array, ...]  # each phase's last step, (P,) float64; the last one is total_steps - 1
    rates: tuple[tuple[Array, Array], ...]  # (start, end) rate of each phase
    momenta: tuple[tuple[Array, Array], ...]  # (start, end) momentum of each phase
    anneal: Anneal

    def __call__(self, steps: IntArray) -> Array:
        return self._phases(steps, self.rates)

    def _phases(self, steps: IntArray, values: tuple[tuple[Array, Array], ...]) -> Array:
        """torch's `get_lr`: the first phase whose end is at or after k (else the last), interpolated from the
        previous phase's end."""
        k = _steps(steps)
        width = np.broadcast_shapes(*(end.shape for end in self.ends), *(v.shape for pair in values for v in pair))
        out = np.zeros((steps.size, *width))
        done = np.zeros(out.shape, dtype=bool)
        start: Array | float = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            for i, (end, (first, last)) in enumerate(zip(self.ends, values, strict=True)):
                here = ~done & ((k <= end) | (i == len(self.ends) - 1))
                out = np.where(here, self.anneal(first, last, (k - start) / (end - start)), out)
                done |= here
                start = end
        return out


@dataclass(frozen=True)
class OneCycleLRMomentum(OneCycleLR):
    """OneCycleLR with `cycle_momentum=True` (the default): momentum (or Adam's beta1) cycles inversely, from
    max_momentum down to base_momentum at the peak rate and back."""

    def momentum(self, steps: IntArray) -> Array:
        return self._phases(steps, self.momenta)


def _first_zero_division(ends: Sequence[Array], total_steps: int) -> int | None:
    """The first step 0..total_steps that lands in a phase of zero length (torch divides 0 by 0 there), or None."""
    first: int | None = None
    width = np.broadcast_shapes(*(end.shape for end in ends))
    for column_ends in zip(*(np.broadcast_to(end, width) for end in ends), strict=True):
        start, lowest = 0.0, 0  # lowest step not claimed by an earlier phase
        for i, end in enumerate(float(e) for e in column_ends):
            last = i == len(column_ends) - 1
            highest = total_steps if last else min(total_steps, int(np.floor(end)))
            if end - start == 0 and lowest <= highest:
                first = lowest if first is None else min(first, lowest)
            if end >= 0:
                lowest = max(lowest, int(np.floor(end)) + 1)
            start = end
    return first


@register("torch.OneCycleLR")
def one_cycle_lr(
    max_lr: Numbers,
    total_steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    pct_start: Numbers = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    cycle_momentum: bool = True,
    base_momentum: Numbers = 0.85,
    max_momentum: Numbers = 0.95,
    div_factor: Numbers = 25.0,
    final_div_factor: Numbers = 1e4,
    three_phase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> OneCycleLR:
    """`torch.optim.lr_scheduler.OneCycleLR`, with torch's checks and messages. torch allows the rate up to
    `last_epoch = total_steps` (extrapolated past the minimum) and raises on the next step, so `max_steps` is
    total_steps (less if a zero-length phase divides by zero earlier)."""
    total = _total_steps(total_steps, epochs, steps_per_epoch)
    pct = param("pct_start", pct_start, F64)
    require(
        ((pct >= 0) & (pct <= 1)).all(),
        "pct_start",
        f"Expected float between 0 and 1 pct_start, but got {pct_start} (torch's rule).",
    )
    require(anneal_strategy in ("cos", "linear"), "anneal_strategy", "anneal_strategy must be one of 'cos' or 'linear'")
    peak = param("max_lr", max_lr, F64)
    divisor, final_divisor = param("div_factor", div_factor, F64), param("final_div_factor", final_div_factor, F64)
    for name, value in (("div_factor", divisor), ("final_div_factor", final_divisor)):
        require(
            (value != 0).all(),
            name,
            f"{name} must not be 0: torch divides by it (initial_lr = max_lr / div_factor, min_lr = initial_lr / "
            "final_div_factor) and raises ZeroDivisionError.",
        )
    initial = peak / divisor
    lowest = initial / final_divisor
    high, low = param("max_momentum", max_momentum, F64), param("base_momentum", base_momentum, F64)
    first_end = pct * total - 1
    rates: tuple[tuple[Array, Array], ...]
    momenta: tuple[tuple[Array, Array], ...]
    if three_phase:
        ends: tuple[Array, ...] = (first_end, 2 * pct * total - 2, np.array([total - 1.0]))
        rates = ((initial, peak), (peak, initial), (initial, lowest))
        momenta = ((high, low), (low, high), (high, high))
    else:
        ends = (first_end, np.array([total - 1.0]))
        rates = ((initial, peak), (peak, lowest))
        momenta = ((high, low), (low, high))
    horizon: Horizon = (
        total,
        f"torch.OneCycleLR raises 'Tried to step {total + 1} times. The specified number of total steps is {total}' "
        "one step after total_steps",
    )
    broken = _first_zero_division(ends, total)
    require(
        broken != 0,
        "pct_start",
        f"pct_start {pct_start} with {total} total steps makes the first phase 0 steps long: torch divides 0 by 0 "
        "(ZeroDivisionError: float division by zero) when the scheduler is created. Change pct_start.",
    )
    if broken is not None and broken - 1 < total:
        horizon = (
            broken - 1,
            f"torch.OneCycleLR with pct_start {pct_start} has a phase of zero length that step {broken} lands in: "
            "torch raises ZeroDivisionError (float division by zero)",
        )
    cls = OneCycleLRMomentum if cycle_momentum else OneCycleLR
    anneal = _anneal_cos if anneal_strategy == "cos" else _anneal_linear
    return cls(ends=ends, rates=rates, momenta=momenta, anneal=anneal, horizon=horizon)


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    """total_steps, or epochs · steps_per_epoch, checked as torch checks them."""
    if total_steps is not None:
        require(total_steps > 0, "total_steps", f"Expected positive integer total_steps, but got {total_steps}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ParameterError("total_steps", "You must define either total_steps OR (epochs AND steps_per_epoch)")
    require(epochs > 0, "epochs", f"Expected positive integer epochs, but got {epochs}")
    require(
        steps_per_epoch > 0, "steps_per_epoch", f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
    )
    return epochs * steps_per_epoch


# ---------------------------------------------------------------------------------------------------------------
# ReduceLROnPlateau: decided by the loss, step by step


@dataclass
class PlateauState:
    """torch's ReduceLROnPlateau state, one entry per run (R,)."""

    lr: Array
    best: Array
    num_bad_epochs: IntArray
    cooldown_counter: IntArray


@dataclass(frozen=True)
class ReduceLROnPlateau(TorchSchedule):
    """Cuts the rate by `factor` after more than `patience` steps without a better loss (torch's `step(metric)`,
    called with the loss of row t after update t). A NaN loss is never better, as in torch."""

    lr: Array
    mode: str
    factor: Array
    patience: int
    threshold: Array
    threshold_mode: str
    cooldown: int
    min_lr: Array
    eps: Array

    def __call__(self, steps: IntArray) -> Array:
        raise TypeError("ReduceLROnPlateau reads the loss: drive it with start/rate/observe, not by step.")

    def start(self, runs: int) -> PlateauState:
        worse = np.inf if self.mode == "min" else -np.inf
        return PlateauState(
            lr=np.broadcast_to(self.lr, (runs,)).astype(F64),
            best=np.full(runs, worse),
            num_bad_epochs=np.zeros(runs, dtype=np.int64),
            cooldown_counter=np.zeros(runs, dtype=np.int64),
        )

    def rate(self, state: PlateauState) -> Array:
        return state.lr

    def observe(self, state: PlateauState, loss: Array) -> None:
        current = loss.astype(F64)
        better = self._is_better(current, state.best)
        state.best[better] = current[better]
        state.num_bad_epochs += 1
        state.num_bad_epochs[better] = 0
        cooling = state.cooldown_counter > 0
        state.cooldown_counter[cooling] -= 1
        state.num_bad_epochs[cooling] = 0
        reduce = state.num_bad_epochs > self.patience
        reduced = np.maximum(state.lr * self.factor, self.min_lr)
        cut = reduce & (state.lr - reduced > self.eps)
        state.lr[cut] = np.broadcast_to(reduced, state.lr.shape)[cut]
        state.cooldown_counter[reduce] = self.cooldown
        state.num_bad_epochs[reduce] = 0

    def _is_better(self, current: Array, best: Array) -> Array:
        """torch's `_is_better`, including its inf/NaN arithmetic (best starts at ±inf)."""
        with np.errstate(invalid="ignore"):
            if self.mode == "min" and self.threshold_mode == "rel":
                return np.asarray(current < best * (1.0 - self.threshold))
            if self.mode == "min":
                return np.asarray(current < best - self.threshold)
            if self.threshold_mode == "rel":
                return np.asarray(current > best * (self.threshold + 1.0))
            return np.asarray(current > best + self.threshold)


@register("torch.ReduceLROnPlateau")
def reduce_lr_on_plateau(
    mode: Literal["min", "max"] = "min",
    factor: Numbers = 0.1,
    patience: int = 10,
    threshold: Numbers = 1e-4,
    threshold_mode: Literal["rel", "abs"] = "rel",
    cooldown: int = 0,
    min_lr: Numbers = 0.0,
    eps: Numbers = 1e-8,
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> ReduceLROnPlateau:
    """`torch.optim.lr_scheduler.ReduceLROnPlateau`; factor < 1, mode and threshold_mode as torch checks them."""
    factors = param("factor", factor, F64)
    require((factors < 1.0).all(), "factor", "Factor should be < 1.0. (torch's rule)")
    require(mode in ("min", "max"), "mode", f"mode {mode} is unknown!")
    require(threshold_mode in ("rel", "abs"), "threshold_mode", f"threshold mode {threshold_mode} is unknown!")
    return ReduceLROnPlateau(
        lr=_base_rate(lr),
        mode=mode,
        factor=factors,
        patience=patience,
        threshold=param("threshold", threshold, F64),
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=param("min_lr", min_lr, F64),
        eps=param("eps", eps, F64),
    )


# ---------------------------------------------------------------------------------------------------------------
# Compositions

SEQUENTIAL_CHILDREN = (
    "torch.StepLR",
    "torch.MultiStepLR",
    "torch.ConstantLR",
    "torch.LinearLR",
    "torch.ExponentialLR",
    "torch.PolynomialLR",
    "torch.CosineAnnealingLR",
    "torch.CosineAnnealingWarmRestarts",
)
"""What a SequentialLR may sequence here: the schedulers that scale the optimizer's rate. torch refuses
ReduceLROnPlateau; CyclicLR and OneCycleLR (which set the rate and the momentum themselves) and nested
compositions are not served."""

CHAINED_CHILDREN = (
    "torch.StepLR",
    "torch.MultiStepLR",
    "torch.ConstantLR",
    "torch.LinearLR",
    "torch.ExponentialLR",
    "torch.PolynomialLR",
)
"""What a ChainedScheduler may chain here: the multiplicative schedulers, whose product does not depend on order."""

EMPTY = {
    "SequentialLR": "SequentialLR expects at least one scheduler, but got no scheduler. (torch's rule)",
    "ChainedScheduler": (
        "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler. (torch's rule)"
    ),
}


def _children(
    schedulers: Sequence[Mapping[str, Any]], allowed: Sequence[str], lr: Array | float, owner: str
) -> list[Schedule]:
    """Build the children with the parent's rate; a child's error is located inside `schedulers`."""
    require(len(schedulers) >= 1, "schedulers", EMPTY[owner])
    children = []
    for index, spec in enumerate(schedulers):
        kind = spec.get("kind")
        if kind not in allowed:
            raise ParameterError(
                ("schedulers", index, "kind"), f"{kind} cannot go in a {owner}; it takes {', '.join(allowed)}."
            )
        if "lr" in spec:
            raise ParameterError(
                ("schedulers", index, "lr"), f"a {owner} child has no lr of its own: it scales the {owner}'s lr."
            )
        try:
            children.append(build(spec, F64, lr=lr))
        except ParameterError as error:
            raise error.within("schedulers", index) from error
    return children


def _horizon(schedule: Schedule) -> Horizon:
    return schedule.horizon if isinstance(schedule, TorchSchedule) else UNLIMITED


@dataclass(frozen=True)
class Segment:
    """A SequentialLR child and the steps [start, stop) it runs, restarted at its own step 0."""

    schedule: Schedule
    start: int
    stop: int | None


@dataclass(frozen=True)
class SequentialLR(TorchSchedule):
    """Child i runs from milestone i-1 to milestone i, each restarted at its own step 0 from the base lr."""

    segments: tuple[Segment, ...]

    def __call__(self, steps: IntArray) -> Array:
        pieces = []
        for segment in self.segments:
            mask = (steps >= segment.start) & (steps < (segment.stop if segment.stop is not None else np.inf))
            if mask.any():
                pieces.append((mask, segment.schedule(steps[mask] - segment.start)))
        width = max((values.shape[1] for _, values in pieces), default=1)
        out = np.empty((steps.size, width))
        for mask, values in pieces:
            out[mask] = values
        return out


@dataclass(frozen=True)
class StuckAt(TorchSchedule):
    """A constant rate (a SequentialLR child whose torch recursion never moves after its start)."""

    rate: Array

    def __call__(self, steps: IntArray) -> Array:
        return np.broadcast_to(self.rate, (steps.size, self.rate.size))


@register("torch.SequentialLR")
def sequential_lr(
    schedulers: Sequence[Mapping[str, Any]],
    milestones: Sequence[int],
    *,
    lr: Numbers | None = None,
    dtype: np.dtype[np.floating],
) -> SequentialLR:
    """`torch.optim.lr_scheduler.SequentialLR`: `len(milestones) == len(schedulers) - 1`, in increasing order."""
    base = _base_rate(lr)
    children = _children(schedulers, SEQUENTIAL_CHILDREN, base, "SequentialLR")
    require(
        len(milestones) == len(schedulers) - 1,
        "milestones",
        "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone "
        f"points, but got number of schedulers {len(schedulers)} and the number of milestones to be equal to "
        f"{len(milestones)}",
    )
    require(
        list(milestones) == sorted(milestones),
        "milestones",
        "milestones must be in increasing order: torch bisects them to pick the active scheduler.",
    )
    starts = [0, *milestones]
    stops: list[int | None] = [*milestones, None]
    segments, horizons = [], []
    for index, (child, start, stop) in enumerate(zip(children, starts, stops, strict=True)):
        if stop is not None and stop <= start:
            continue  # never active: torch jumps over it
        child, horizon = _started_at(child, start, schedulers[index]["kind"], base)
        horizons.append(horizon)
        limit = _horizon(child)[0]
        if limit is not None and (stop is None or start + limit + 1 < stop):
            horizons.append((start + limit, _horizon(child)[1] + f" (its step 0 is step {start} of the run)"))
        segments.append(Segment(child, start, stop))
    return SequentialLR(segments=tuple(segments), horizon=_earliest(*horizons))


def _started_at(child: Schedule, start: int, kind: str, base: Array) -> tuple[Schedule, Horizon]:
    """A child that SequentialLR starts at a milestone > 0 begins from torch's closed form at epoch 0
    (`_update_lr(0)`), not from its initial step; that differs for total_iters = 0, and a recursive
    CosineAnnealingLR goes on from that value (an ulp away from lr for some eta_min)."""
    if start == 0:
        return child, UNLIMITED
    if isinstance(child, CosineAnnealingLR):  # its recursion goes on from eta_min + (lr - eta_min)·(1 + cos 0) / 2
        first = child.eta_min + (child.lr - child.eta_min) * (1 + np.cos(0.0)) / 2
        return CosineAnnealingLR(lr=child.lr, T_max=child.T_max, eta_min=child.eta_min, first=first), UNLIMITED
    if isinstance(child, ConstantLR) and child.total_iters == 0:
        return StuckAt(rate=base * (child.factor + 1 * (1 - child.factor))), UNLIMITED
    if isinstance(child, LinearLR | PolynomialLR) and child.total_iters == 0:
        reason = (
            f"torch.SequentialLR starts its {kind} at milestone {start} with the closed form, which divides by "
            "total_iters=0 (ZeroDivisionError)"
        )
        return child, (start - 1, reason)
    return child, UNLIMITED


@dataclass(frozen=True)
class ChainedScheduler(TorchSchedule):
    """`lr · Π factor_i(k)`: every multiplicative child steps the shared rate at every step."""

    lr: Array
    factors: tuple[Schedule, ...]  # each child built with lr = 1

    def __call__(self, steps: IntArray) -> Array:
        product = np.broadcast_to(self.lr, (steps.size, self.lr.size))
        for child in self.factors:
            product = product * child(steps)
        return product


@register("torch.ChainedScheduler")
def chained_scheduler(
    schedulers: Sequence[Mapping[str, Any]], *, lr: Numbers | None = None, dtype: np.dtype[np.floating]
) -> ChainedScheduler:
    """`torch.optim.lr_scheduler.ChainedScheduler` over multiplicative children (see CHAINED_CHILDREN)."""
    base = _base_rate(lr)
    factors = tuple(_children(schedulers, CHAINED_CHILDREN, 1.0, "ChainedScheduler"))
    return ChainedScheduler(lr=base, factors=factors, horizon=_earliest(*(_horizon(child) for child in factors)))
