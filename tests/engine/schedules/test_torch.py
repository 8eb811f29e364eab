"""torch schedulers: corner values from NUMERICS.md §1(c), torch's recursion corners, step horizons, every
validation rule, ReduceLROnPlateau's rules, bounds and compositions. The invariants every kind keeps (chunks,
batched parameters, precision) are in tests/engine/test_invariants.py."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.engine.arrays import Array, IntArray
from service.engine.errors import ParameterError
from service.engine.schedules import CyclesMomentum, ReadsLoss, Schedule, build
from service.engine.schedules.torch import ReduceLROnPlateau, TorchSchedule

F64 = np.dtype(np.float64)
Spec = dict[str, Any]


def make(kind: str, **parameters: Any) -> Schedule:
    return build({"kind": f"torch.{kind}", **parameters}, np.dtype(np.float32))


def rates(schedule: Schedule, last: int) -> Array:
    """The rates of steps 0..last (first column)."""
    values: Array = schedule(np.arange(last + 1, dtype=np.int64))[:, 0]
    return values


def steps(*values: int) -> IntArray:
    return np.array(values, dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------------
# Values at the corners


def test_step_lr_drops_at_multiples_of_step_size() -> None:
    np.testing.assert_allclose(rates(make("StepLR", lr=0.1, step_size=2, gamma=0.5), 4), [0.1, 0.1, 0.05, 0.05, 0.025])


def test_multi_step_lr_drops_at_the_milestone_and_twice_for_a_repeated_one() -> None:
    schedule = make("MultiStepLR", lr=1.0, milestones=[50, 20, 20], gamma=0.5)
    np.testing.assert_array_equal(schedule(steps(0, 19, 20, 49, 50, 99))[:, 0], [1, 1, 0.25, 0.25, 0.125, 0.125])


def test_multi_step_lr_milestone_zero_applies_at_step_zero() -> None:
    np.testing.assert_allclose(make("MultiStepLR", lr=0.1, milestones=[0])(steps(0, 5))[:, 0], [0.01, 0.01])


def test_constant_lr_default_is_a_third_for_five_steps() -> None:
    values = rates(make("ConstantLR", lr=0.3), 6)
    np.testing.assert_allclose(values, [0.1] * 5 + [0.3] * 2, rtol=1e-15)


def test_constant_lr_restores_with_torchs_recursion() -> None:
    """torch multiplies by 1/factor at total_iters: (lr·factor)·(1/factor), which is not always lr exactly."""
    value = make("ConstantLR", lr=0.1, factor=1 / 3, total_iters=2)(steps(2))[0, 0]
    assert value == (0.1 * (1 / 3)) * (1.0 / (1 / 3))


@pytest.mark.parametrize(
    ("kind", "parameters", "expected"),
    [
        ("ConstantLR", {"factor": 0.25, "total_iters": 0}, 0.025),  # never restored
        ("LinearLR", {"start_factor": 0.5, "total_iters": 0}, 0.05),  # stays at start_factor
        ("PolynomialLR", {"total_iters": 0, "power": 2.0}, 0.1),  # never moves
    ],
)
def test_total_iters_zero_is_what_torchs_recursion_does(kind: str, parameters: Spec, expected: float) -> None:
    np.testing.assert_array_equal(rates(make(kind, lr=0.1, **parameters), 10), expected)


def test_linear_lr_warms_up_linearly_then_stays_flat() -> None:
    values = rates(make("LinearLR", lr=0.1, start_factor=0.1, end_factor=1.0, total_iters=5), 8)
    np.testing.assert_allclose(values, [0.1 * (0.1 + 0.9 * min(k, 5) / 5) for k in range(9)], rtol=1e-15)


def test_exponential_lr_is_gamma_to_the_step() -> None:
    np.testing.assert_allclose(rates(make("ExponentialLR", lr=0.1, gamma=0.9), 30), 0.1 * 0.9 ** np.arange(31))


def test_polynomial_lr_decays_to_zero_and_stays() -> None:
    values = rates(make("PolynomialLR", lr=0.1, total_iters=4, power=2.0), 6)
    np.testing.assert_allclose(values, [0.1, 0.1 * 0.75**2, 0.1 * 0.25, 0.1 * 0.25**2, 0, 0, 0], atol=1e-18)


def test_cosine_annealing_lr_is_periodic_not_clamped() -> None:
    values = make("CosineAnnealingLR", lr=0.1, T_max=10)(steps(0, 5, 10, 15, 20))[:, 0]
    np.testing.assert_allclose(values, [0.1, 0.05, 0.0, 0.05, 0.1], atol=1e-17)


def test_cosine_annealing_lr_t_max_one_alternates() -> None:
    np.testing.assert_allclose(rates(make("CosineAnnealingLR", lr=0.1, T_max=1, eta_min=0.01), 3), [0.1, 0.01] * 2)


@pytest.mark.parametrize(("t_mult", "restarts"), [(1, [10, 20, 30]), (2, [10, 30, 70]), (3, [10, 40, 130])])
def test_warm_restarts_restart_at_the_base_rate(t_mult: int, restarts: list[int]) -> None:
    schedule = make("CosineAnnealingWarmRestarts", lr=0.1, T_0=10, T_mult=t_mult, eta_min=0.001)
    np.testing.assert_array_equal(schedule(steps(0, *restarts))[:, 0], 0.1)
    before = schedule(steps(*(k - 1 for k in restarts)))[:, 0]
    assert (before < 0.01).all(), "the cycle ends near eta_min"
    assert (before > 0.001).all(), "eta_min is approached, never reached"


def test_warm_restarts_half_way_through_a_cycle() -> None:
    schedule = make("CosineAnnealingWarmRestarts", lr=1.0, T_0=4, T_mult=2)
    np.testing.assert_allclose(schedule(steps(2, 4 + 4, 12 + 8))[:, 0], 0.5, rtol=1e-15)


def test_cyclic_lr_triangle_and_inverse_momentum() -> None:
    schedule = make("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=10)
    assert isinstance(schedule, CyclesMomentum)
    k = steps(0, 5, 10, 15, 20)
    np.testing.assert_allclose(schedule(k)[:, 0], [0.01, 0.055, 0.1, 0.055, 0.01], rtol=1e-15)
    np.testing.assert_allclose(schedule.momentum(k)[:, 0], [0.9, 0.85, 0.8, 0.85, 0.9], rtol=1e-15)


def test_cyclic_lr_triangular2_halves_the_amplitude_each_cycle() -> None:
    schedule = make("CyclicLR", base_lr=0.0, max_lr=1.0, step_size_up=2, step_size_down=3, mode="triangular2")
    np.testing.assert_allclose(schedule(steps(2, 7, 12))[:, 0], [1.0, 0.5, 0.25])


@pytest.mark.parametrize(
    ("up", "down", "first"),
    [(1, 1, 2048), (10, 20, 30_720), (2000, None, 4_096_000), (7, 5, 12_288), (3, 0, 3072)],
)
def test_cyclic_lr_triangular2_ends_before_torch_overflows(up: int, down: int | None, first: int) -> None:
    """torch's `1 / (2.0 ** (cycle - 1))` raises OverflowError from cycle 1025, first at step 1024 · (up + down):
    the horizon ends one step before, where the rate is still finite and computed without a floating-point error."""
    schedule = make("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=up, step_size_down=down, mode="triangular2")
    assert isinstance(schedule, TorchSchedule)
    assert schedule.max_steps == first - 1
    assert "OverflowError" in schedule.horizon[1]
    assert f"step {first} " in schedule.horizon[1]
    total = float(up) + float(up if down is None else down)
    assert math.floor(1 + (first - 1) / total) == 1024
    assert math.floor(1 + first / total) == 1025
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is silent in Python floats too
        rates = schedule(steps(first - 2, first - 1))
        assert isinstance(schedule, CyclesMomentum)
        schedule.momentum(steps(first - 2, first - 1))
    assert np.isfinite(rates).all()
    for mode in ("triangular", "exp_range"):
        other = make("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=up, step_size_down=down, mode=mode)
        assert isinstance(other, TorchSchedule)
        assert other.max_steps is None


def test_cyclic_lr_exp_range_ends_before_torch_overflows() -> None:
    """torch's `gamma ** last_epoch` raises OverflowError once beyond the largest double (|gamma| > 1): the horizon
    ends one step before, the earliest over the runs; |gamma| <= 1 has none."""
    for gammas, first in (([1.01], 71_333), ([-2.0], 1024), ([0.9, 1.5, 1.01], 1751)):
        schedule = make("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=gammas)
        assert isinstance(schedule, TorchSchedule)
        assert schedule.max_steps == first - 1
        assert f"OverflowError: (34, 'Numerical result out of range') from step {first} on" in schedule.horizon[1]
        worst = max(gammas, key=abs) if len(gammas) == 1 else 1.5
        with pytest.raises(OverflowError):
            worst**first
        assert math.isfinite(worst ** (first - 1))
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            assert np.isfinite(schedule(steps(first - 2, first - 1))).all()
    for gamma in (1.0, -1.0, 0.5, 0.0):
        schedule = make("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=gamma)
        assert isinstance(schedule, TorchSchedule)
        assert schedule.max_steps is None


def test_cyclic_lr_exp_range_scales_by_gamma_per_step() -> None:
    schedule = make("CyclicLR", base_lr=0.0, max_lr=1.0, step_size_up=4, mode="exp_range", gamma=0.5)
    np.testing.assert_allclose(schedule(steps(4, 12))[:, 0], [0.5**4, 0.5**12])


def test_cyclic_lr_ignores_scale_mode_for_the_builtin_modes() -> None:
    """torch's `_init_scale_fn` resets scale_mode for triangular, triangular2 and exp_range."""
    first = make("CyclicLR", base_lr=0.0, max_lr=1.0, step_size_up=3, mode="exp_range", gamma=0.9)
    second = make("CyclicLR", base_lr=0.0, max_lr=1.0, step_size_up=3, mode="exp_range", gamma=0.9, scale_mode="cycle")
    np.testing.assert_array_equal(rates(first, 20), rates(second, 20))


def test_one_cycle_lr_starts_low_peaks_and_ends_far_below() -> None:
    schedule = make("OneCycleLR", max_lr=0.1, total_steps=100)
    assert isinstance(schedule, CyclesMomentum)
    k = steps(0, 29, 99)
    np.testing.assert_allclose(schedule(k)[:, 0], [0.1 / 25, 0.1, 0.1 / 25 / 1e4], rtol=1e-15)
    assert schedule(steps(0))[0, 0] == 0.0040000000000000036  # torch's initial_lr
    np.testing.assert_allclose(schedule.momentum(k)[:, 0], [0.95, 0.85, 0.95], rtol=1e-15)
    assert schedule(steps(100))[0, 0] > schedule(steps(99))[0, 0], "the allowed extra step extrapolates upwards"


def test_one_cycle_lr_three_phase_returns_to_the_initial_rate() -> None:
    schedule = make("OneCycleLR", max_lr=1.0, total_steps=100, three_phase=True, anneal_strategy="linear")
    # (end - start)·pct + start, as torch computes it, cancels at pct = 1: the floor is 4e-06 within 1e-12
    np.testing.assert_allclose(schedule(steps(0, 29, 58, 99))[:, 0], [0.04, 1.0, 0.04, 0.04 / 1e4], rtol=1e-12)


def test_one_cycle_lr_from_epochs_and_steps_per_epoch() -> None:
    by_epochs = make("OneCycleLR", max_lr=0.1, epochs=10, steps_per_epoch=12)
    by_total = make("OneCycleLR", max_lr=0.1, total_steps=120)
    np.testing.assert_array_equal(rates(by_epochs, 120), rates(by_total, 120))


@pytest.mark.parametrize("kind", ["CyclicLR", "OneCycleLR"])
def test_without_cycle_momentum_the_schedule_does_not_cycle_momentum(kind: str) -> None:
    parameters: Spec = {"base_lr": 0.01, "max_lr": 0.1} if kind == "CyclicLR" else {"max_lr": 0.1, "total_steps": 10}
    assert isinstance(make(kind, **parameters), CyclesMomentum)
    assert not isinstance(make(kind, **parameters, cycle_momentum=False), CyclesMomentum)


def test_sequential_lr_restarts_each_child_at_its_step_zero() -> None:
    """NUMERICS.md §1(c): LinearLR(0.1, 1, 5) then ExponentialLR(0.9) at [5]."""
    schedule = make(
        "SequentialLR",
        lr=0.1,
        schedulers=[
            {"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 5},
            {"kind": "torch.ExponentialLR", "gamma": 0.9},
        ],
        milestones=[5],
    )
    expected = [0.1 * (0.1 + 0.9 * k / 5) for k in range(5)] + [0.1 * 0.9 ** (k - 5) for k in range(5, 20)]
    np.testing.assert_allclose(rates(schedule, 19), expected, rtol=1e-15)


def test_sequential_lr_skips_an_empty_segment_and_starts_at_milestone_zero() -> None:
    step = {"kind": "torch.StepLR", "step_size": 2, "gamma": 0.5}
    schedule = make(
        "SequentialLR",
        lr=1.0,
        schedulers=[{"kind": "torch.ExponentialLR", "gamma": 0.1}, step, step],
        milestones=[0, 0],
    )
    np.testing.assert_allclose(rates(schedule, 4), [1, 1, 0.5, 0.5, 0.25])


def test_sequential_lr_child_started_at_a_milestone_uses_the_closed_form() -> None:
    """torch starts a later child with `_update_lr(0)`: for ConstantLR with total_iters 0 that is the base rate,
    while the first child (initial step) stays at lr · factor."""
    constant = {"kind": "torch.ConstantLR", "factor": 0.25, "total_iters": 0}
    exponential = {"kind": "torch.ExponentialLR", "gamma": 0.5}
    later = make("SequentialLR", lr=0.1, schedulers=[exponential, constant], milestones=[2])
    first = make("SequentialLR", lr=0.1, schedulers=[constant, exponential], milestones=[2])
    np.testing.assert_allclose(rates(later, 4), [0.1, 0.05, 0.1, 0.1, 0.1], rtol=1e-15)
    np.testing.assert_allclose(rates(first, 4), [0.025, 0.025, 0.1, 0.05, 0.025], rtol=1e-15)


def test_chained_scheduler_multiplies_the_factors() -> None:
    """NUMERICS.md §1(c): ConstantLR(0.1, 3) + ExponentialLR(0.9) → lr·0.9^k·(0.1 if k < 3 else 1)."""
    schedule = make(
        "ChainedScheduler",
        lr=0.1,
        schedulers=[
            {"kind": "torch.ConstantLR", "factor": 0.1, "total_iters": 3},
            {"kind": "torch.ExponentialLR", "gamma": 0.9},
        ],
    )
    expected = [0.1 * 0.9**k * (0.1 if k < 3 else 1) for k in range(10)]
    np.testing.assert_allclose(rates(schedule, 9), expected, rtol=1e-15)


# ----------------------------------------------------------------------------------------------------------------
# Step horizons: where torch raises once stepped far enough


@pytest.mark.parametrize(
    ("kind", "parameters", "max_steps", "reason"),
    [
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10}, 10, "Tried to step 11 times"),
        ("OneCycleLR", {"max_lr": 0.1, "epochs": 3, "steps_per_epoch": 4}, 12, "Tried to step 13 times"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "pct_start": 1.0}, 9, "zero length"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 9, "pct_start": 5 / 9, "three_phase": True}, 8, "zero length"),
        ("ConstantLR", {"lr": 0.1, "factor": 0.0, "total_iters": 4}, 3, "1/factor"),
        ("ConstantLR", {"lr": 0.1, "factor": 0.0, "total_iters": 0}, None, ""),
        ("PolynomialLR", {"lr": 0.1, "total_iters": 4, "power": -1.0}, 3, "negative power"),
        ("ExponentialLR", {"lr": 0.1, "gamma": 0.9}, None, ""),
        (
            "SequentialLR",
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                    {"kind": "torch.LinearLR", "total_iters": 0},
                ],
                "milestones": [3],
            },
            2,
            "milestone 3",
        ),
        (
            "SequentialLR",
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                    {"kind": "torch.ConstantLR", "factor": 0.0, "total_iters": 2},
                ],
                "milestones": [3],
            },
            4,
            "step 3 of the run",
        ),
        (
            "SequentialLR",
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ConstantLR", "factor": 0.0, "total_iters": 5},
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                ],
                "milestones": [3],
            },
            None,
            "",
        ),
        (
            "ChainedScheduler",
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                    {"kind": "torch.ConstantLR", "factor": 0.0, "total_iters": 5},
                ],
            },
            4,
            "1/factor",
        ),
    ],
)
def test_step_horizon(kind: str, parameters: Spec, max_steps: int | None, reason: str) -> None:
    schedule = make(kind, **parameters)
    assert isinstance(schedule, TorchSchedule)
    assert schedule.max_steps == max_steps
    assert reason in schedule.horizon[1]
    if max_steps is not None:
        assert np.isfinite(rates(schedule, max_steps)).all()


# ----------------------------------------------------------------------------------------------------------------
# Validation: torch's rules, refused when the schedule is built

SEQUENCE = {"kind": "torch.StepLR", "step_size": 3}


@pytest.mark.parametrize(
    ("kind", "parameters", "loc", "message"),
    [
        ("StepLR", {"step_size": 3}, ("lr",), "lr is required"),
        ("StepLR", {"lr": 0.1, "step_size": 0}, ("step_size",), "ZeroDivisionError"),
        ("ConstantLR", {"lr": 0.1, "factor": 1.5}, ("factor",), "expected to be between 0 and 1"),
        ("ConstantLR", {"lr": 0.1, "factor": -0.1}, ("factor",), "expected to be between 0 and 1"),
        ("LinearLR", {"lr": 0.1, "start_factor": 0.0}, ("start_factor",), "greater than 0 and less or equal to 1"),
        ("LinearLR", {"lr": 0.1, "start_factor": 1.1}, ("start_factor",), "greater than 0 and less or equal to 1"),
        ("LinearLR", {"lr": 0.1, "end_factor": 1.1}, ("end_factor",), "Ending multiplicative factor"),
        ("CosineAnnealingLR", {"lr": 0.1, "T_max": 0}, ("T_max",), "ZeroDivisionError"),
        ("CosineAnnealingWarmRestarts", {"lr": 0.1, "T_0": 0}, ("T_0",), "Expected positive integer T_0, but got 0"),
        (
            "CosineAnnealingWarmRestarts",
            {"lr": 0.1, "T_0": 5, "T_mult": 0},
            ("T_mult",),
            "Expected integer T_mult >= 1, but got 0",
        ),
        ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 0}, ("step_size_up",), "ZeroDivisionError"),
        (
            "CyclicLR",
            {"base_lr": 0.01, "max_lr": 0.1, "mode": "sine"},
            ("mode",),
            "mode is invalid and scale_fn is None",
        ),
        ("OneCycleLR", {"max_lr": 0.1}, ("total_steps",), "You must define either total_steps OR (epochs AND"),
        ("OneCycleLR", {"max_lr": 0.1, "epochs": 3}, ("total_steps",), "You must define either total_steps"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 0}, ("total_steps",), "Expected positive integer total_steps"),
        ("OneCycleLR", {"max_lr": 0.1, "epochs": 0, "steps_per_epoch": 5}, ("epochs",), "positive integer epochs"),
        (
            "OneCycleLR",
            {"max_lr": 0.1, "epochs": 2, "steps_per_epoch": 0},
            ("steps_per_epoch",),
            "Expected positive integer steps_per_epoch, but got 0",
        ),
        (
            "OneCycleLR",
            {"max_lr": 0.1, "total_steps": 9, "pct_start": 1.5},
            ("pct_start",),
            "between 0 and 1 pct_start",
        ),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "pct_start": 0.1}, ("pct_start",), "float division by zero"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 9, "anneal_strategy": "sin"}, ("anneal_strategy",), "'cos'"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 9, "div_factor": 0.0}, ("div_factor",), "ZeroDivisionError"),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 9, "final_div_factor": 0.0}, ("final_div_factor",), "by it"),
        ("ReduceLROnPlateau", {"lr": 0.1, "factor": 1.0}, ("factor",), "Factor should be < 1.0."),
        ("ReduceLROnPlateau", {"lr": 0.1, "mode": "median"}, ("mode",), "mode median is unknown!"),
        ("ReduceLROnPlateau", {"lr": 0.1, "threshold_mode": "x"}, ("threshold_mode",), "threshold mode x is unknown!"),
        ("SequentialLR", {"lr": 0.1, "schedulers": [], "milestones": []}, ("schedulers",), "expects at least one"),
        (
            "SequentialLR",
            {"lr": 0.1, "schedulers": [SEQUENCE, SEQUENCE], "milestones": []},
            ("milestones",),
            "number of schedulers 2 and the number of milestones to be equal to 0",
        ),
        (
            "SequentialLR",
            {"lr": 0.1, "schedulers": [SEQUENCE, SEQUENCE, SEQUENCE], "milestones": [9, 3]},
            ("milestones",),
            "increasing order",
        ),
        (
            "SequentialLR",
            {"lr": 0.1, "schedulers": [SEQUENCE, {"kind": "torch.ReduceLROnPlateau"}], "milestones": [3]},
            ("schedulers", 1, "kind"),
            "torch.ReduceLROnPlateau cannot go in a SequentialLR; it takes torch.StepLR",
        ),
        (
            "SequentialLR",
            {
                "lr": 0.1,
                "schedulers": [{"kind": "torch.OneCycleLR", "max_lr": 1.0, "total_steps": 9}],
                "milestones": [],
            },
            ("schedulers", 0, "kind"),
            "torch.OneCycleLR cannot go in a SequentialLR",
        ),
        (
            "SequentialLR",
            {"lr": 0.1, "schedulers": [{**SEQUENCE, "lr": 0.5}], "milestones": []},
            ("schedulers", 0, "lr"),
            "no lr of its own",
        ),
        (
            "SequentialLR",
            {"lr": 0.1, "schedulers": [SEQUENCE, {"kind": "torch.LinearLR", "end_factor": 2.0}], "milestones": [4]},
            ("schedulers", 1, "end_factor"),
            "Ending multiplicative factor",
        ),
        ("ChainedScheduler", {"lr": 0.1, "schedulers": []}, ("schedulers",), "at least one scheduler to be chained"),
        (
            "ChainedScheduler",
            {"lr": 0.1, "schedulers": [SEQUENCE, {"kind": "torch.CosineAnnealingLR", "T_max": 5}]},
            ("schedulers", 1, "kind"),
            "torch.CosineAnnealingLR cannot go in a ChainedScheduler",
        ),
        (
            "ChainedScheduler",
            {"lr": 0.1, "schedulers": [{"kind": "torch.StepLR", "step_size": 0}]},
            ("schedulers", 0, "step_size"),
            "ZeroDivisionError",
        ),
    ],
)
def test_refused_with_torchs_rule(kind: str, parameters: Spec, loc: tuple[str | int, ...], message: str) -> None:
    with pytest.raises(ParameterError) as refused:
        make(kind, **parameters)
    assert refused.value.loc == loc
    assert message in refused.value.message


# ----------------------------------------------------------------------------------------------------------------
# ReduceLROnPlateau


def plateau(losses: list[float], runs: int = 1, **parameters: Any) -> list[float]:
    """The rate before each loss is observed, and after the last (run 0)."""
    schedule = make("ReduceLROnPlateau", lr=1.0, **parameters)
    assert isinstance(schedule, ReadsLoss)
    assert isinstance(schedule, ReduceLROnPlateau)
    state = schedule.start(runs)
    seen = [float(schedule.rate(state)[0])]
    for loss in losses:
        schedule.observe(state, np.full(runs, loss, dtype=np.float32))
        seen.append(float(schedule.rate(state)[0]))
    return seen


def test_plateau_cuts_on_the_patience_plus_first_bad_step() -> None:
    assert plateau([1.0] * 5, patience=2, factor=0.5) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_plateau_cooldown_ignores_bad_steps() -> None:
    assert plateau([1.0] * 8, patience=0, factor=0.5, cooldown=2) == [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_plateau_threshold_decides_what_counts_as_better() -> None:
    slowly = [1.0, 0.99, 0.98, 0.97]
    assert plateau(slowly, patience=0, factor=0.5, threshold=0.1) == [1, 1, 0.5, 0.25, 0.125]
    assert plateau(slowly, patience=0, factor=0.5, threshold=0.001) == [1.0] * 5
    assert plateau(slowly, patience=0, factor=0.5, threshold=0.005, threshold_mode="abs") == [1.0] * 5


def test_plateau_mode_max_wants_the_loss_to_grow() -> None:
    assert plateau([1.0, 0.5, 0.25], mode="max", patience=0, factor=0.5) == [1, 1, 0.5, 0.25]


def test_plateau_min_lr_and_eps_bound_the_cuts() -> None:
    assert plateau([1.0] * 4, patience=0, factor=0.1, min_lr=0.05) == [1, 1, 0.1, 0.05, 0.05]
    assert plateau([1.0] * 4, patience=0, factor=0.5, eps=0.3) == [1, 1, 0.5, 0.5, 0.5]


def test_plateau_nan_loss_is_never_better() -> None:
    assert plateau([math.nan] * 3, patience=1, factor=0.5) == [1, 1, 0.5, 0.5]


def test_plateau_threshold_one_never_improves_on_infinity() -> None:
    """best starts at inf and torch compares with inf·(1 - 1) = nan: never better, as in torch."""
    assert plateau([3.0, 2.0, 1.0], patience=1, factor=0.5, threshold=1.0) == [1, 1, 0.5, 0.5]


def test_plateau_cannot_be_evaluated_ahead() -> None:
    with pytest.raises(TypeError, match="reads the loss"):
        make("ReduceLROnPlateau", lr=0.1)(steps(0))


# ----------------------------------------------------------------------------------------------------------------
# Bounds and compositions

unit = st.floats(0.05, 1.0)
rate = st.floats(1e-3, 10.0)
count = st.integers(0, 40)


@st.composite
def closed_forms(draw: st.DrawFn) -> Spec:
    """Any closed-form torch scheduler spec that torch accepts (children without lr)."""
    kind = draw(
        st.sampled_from(
            [
                "StepLR",
                "MultiStepLR",
                "ConstantLR",
                "LinearLR",
                "ExponentialLR",
                "PolynomialLR",
                "CosineAnnealingLR",
                "CosineAnnealingWarmRestarts",
            ]
        )
    )
    spec: Spec = {"kind": f"torch.{kind}"}
    if kind == "StepLR":
        spec |= {"step_size": draw(st.integers(1, 20)), "gamma": draw(unit)}
    elif kind == "MultiStepLR":
        spec |= {"milestones": draw(st.lists(count, max_size=4)), "gamma": draw(unit)}
    elif kind == "ConstantLR":
        spec |= {"factor": draw(unit), "total_iters": draw(count)}
    elif kind == "LinearLR":
        spec |= {"start_factor": draw(unit), "end_factor": draw(unit), "total_iters": draw(count)}
    elif kind == "ExponentialLR":
        spec |= {"gamma": draw(st.floats(0.5, 1.05))}
    elif kind == "PolynomialLR":
        spec |= {"total_iters": draw(count), "power": draw(st.floats(0.0, 3.0))}
    elif kind == "CosineAnnealingLR":
        spec |= {"T_max": draw(st.integers(1, 30)), "eta_min": draw(st.floats(0.0, 1e-3))}
    else:
        spec |= {
            "T_0": draw(st.integers(1, 10)),
            "T_mult": draw(st.integers(1, 3)),
            "eta_min": draw(st.floats(0, 1e-3)),
        }
    return spec


def built(spec: Spec) -> Schedule:
    try:
        return build(spec, F64)
    except ParameterError:
        assume(False)
        raise


@settings(max_examples=100)
@given(closed_forms(), rate)
def test_closed_forms_scale_with_lr(spec: Spec, lr: float) -> None:
    """Every scheduler that scales the optimizer's rate is lr times a factor that does not depend on lr (eta_min,
    an absolute rate, aside)."""
    spec = {**spec, "eta_min": 0.0} if "eta_min" in spec else spec
    k = np.arange(120, dtype=np.int64)
    np.testing.assert_allclose(
        built({**spec, "lr": lr})(k), lr * built({**spec, "lr": 1.0})(k), rtol=1e-13, atol=1e-300
    )


@settings(max_examples=100)
@given(st.lists(closed_forms(), min_size=1, max_size=3), rate)
def test_chained_scheduler_is_the_product_of_its_children(children: list[Spec], lr: float) -> None:
    children = [child for child in children if "Cosine" not in child["kind"]]
    assume(children)
    k = np.arange(120, dtype=np.int64)
    product = np.prod([built({**child, "lr": 1.0})(k) for child in children], axis=0)
    np.testing.assert_allclose(  # atol: a product of subnormals rounds differently in another order
        built({"kind": "torch.ChainedScheduler", "lr": lr, "schedulers": children})(k),
        lr * product,
        rtol=1e-14,
        atol=1e-300,
    )


@settings(max_examples=100)
@given(st.lists(closed_forms(), min_size=1, max_size=3), st.data())
def test_sequential_lr_runs_each_child_from_its_milestone(children: list[Spec], data: st.DataObject) -> None:
    assume(all(child.get("total_iters", 1) > 0 for child in children[1:]))  # those corners have their own tests
    milestones = sorted(
        data.draw(st.lists(st.integers(1, 100), min_size=len(children) - 1, max_size=len(children) - 1))
    )
    schedule = built({"kind": "torch.SequentialLR", "lr": 0.5, "schedulers": children, "milestones": milestones})
    k = np.arange(150, dtype=np.int64)
    ours = schedule(k)[:, 0]
    starts, stops = [0, *milestones], [*milestones, 150]
    for child, start, stop in zip(children, starts, stops, strict=True):
        if stop > start:
            expected = built({**child, "lr": 0.5})(np.arange(stop - start, dtype=np.int64))[:, 0]
            np.testing.assert_array_equal(ours[start:stop], expected)


def bounded(low: float, high: float) -> Callable[[Array], None]:
    def check(values: Array) -> None:
        slack = 1e-12 * max(abs(low), abs(high))
        assert (values >= low - slack).all()
        assert (values <= high + slack).all()

    return check


@settings(max_examples=100)
@given(rate, rate, st.integers(1, 30), st.none() | st.integers(0, 30), st.sampled_from(["triangular", "triangular2"]))
def test_cyclic_lr_stays_between_its_rates(low: float, high: float, up: int, down: int | None, mode: str) -> None:
    schedule = built(
        {
            "kind": "torch.CyclicLR",
            "base_lr": low,
            "max_lr": high,
            "step_size_up": up,
            "step_size_down": down,
            "mode": mode,
        }
    )
    assert isinstance(schedule, CyclesMomentum)
    bounded(min(low, high), max(low, high))(rates(schedule, 300))
    bounded(0.8, 0.9)(schedule.momentum(np.arange(301, dtype=np.int64)))


@settings(max_examples=100)
@given(rate, st.integers(10, 300), st.floats(0.05, 0.95), st.booleans(), st.sampled_from(["cos", "linear"]))
def test_one_cycle_lr_stays_between_its_floor_and_peak(
    peak: float, total: int, pct: float, three_phase: bool, anneal: str
) -> None:
    spec = {"kind": "torch.OneCycleLR", "max_lr": peak, "total_steps": total, "pct_start": pct}
    schedule = built({**spec, "three_phase": three_phase, "anneal_strategy": anneal})
    assert isinstance(schedule, CyclesMomentum)
    k = np.arange(total, dtype=np.int64)
    bounded(peak / 25 / 1e4, peak)(schedule(k))
    bounded(0.85, 0.95)(schedule.momentum(k))


@settings(max_examples=100)
@given(rate, st.integers(1, 30), st.floats(0.0, 1e-3))
def test_cosine_annealing_lr_stays_between_eta_min_and_lr(lr: float, t_max: int, eta_min: float) -> None:
    bounded(eta_min, lr)(
        rates(built({"kind": "torch.CosineAnnealingLR", "lr": lr, "T_max": t_max, "eta_min": eta_min}), 200)
    )


def torch_cosine_step(rate: float, base: float, k: int, t_max: int, eta_min: float) -> float:
    """One `CosineAnnealingLR.step()` as torch's `get_lr` writes it (Python floats, torch's order)."""
    if (k - 1 - t_max) % (2 * t_max) == 0:
        return rate + (base - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
    ratio = (1 + math.cos(math.pi * k / t_max)) / (1 + math.cos(math.pi * (k - 1) / t_max))
    return ratio * (rate - eta_min) + eta_min


@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(-1.0, 2.0).filter(lambda x: x != 0),
    t_max=st.integers(1, 300),
    eta_min=st.sampled_from([0.0, 1e-3, 0.0123, -0.05]),
    chunk=st.integers(1, 900),
    runs=st.integers(1, 3),
)
def test_cosine_annealing_is_torch_recursion_bit_for_bit(
    lr: float, t_max: int, eta_min: float, chunk: int, runs: int
) -> None:
    """The vectorised recursion (periods side by side, running products) gives torch's step-by-step numbers bit
    for bit, called in chunks as the loop does, for one run or a batch of rates."""
    last = 2_500
    expected = [lr]
    for k in range(1, last + 1):
        expected.append(torch_cosine_step(expected[-1], lr, k, t_max, eta_min))
    schedule = build({"kind": "torch.CosineAnnealingLR", "lr": [lr] * runs, "T_max": t_max, "eta_min": eta_min}, F64)
    steps = np.arange(last + 1, dtype=np.int64)
    ours = np.concatenate([schedule(steps[i : i + chunk]) for i in range(0, last + 1, chunk)])
    for run in range(runs):
        np.testing.assert_array_equal(ours[:, run].view(np.int64), np.asarray(expected).view(np.int64))


def test_cosine_annealing_drifts_from_its_closed_form_as_torch_does() -> None:
    """Past a few thousand steps torch's recursion is more than 1e-12 away from the closed form (NUMERICS.md,
    "Corrections"); the schedule follows the recursion (held to torch's own numbers by the golden cases)."""
    steps = np.arange(8_001, dtype=np.int64)
    ours = rates(build({"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 37}, F64), 8_000)
    closed = 0.1 * (1 + np.cos(np.pi * steps / 37)) / 2
    assert np.max(np.abs(ours - closed)) / 0.1 > 1e-12
