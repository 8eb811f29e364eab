"""Optax schedules: corner values from NUMERICS.md §1(d) and optax's source, JAX's precision (float32 even in
float64 runs where an int32 count is divided; glibc's cosf/powf; join's promotion), every validation rule, the
silent fallbacks optax only logs, bounds and compositions. The invariants every kind keeps (chunks, batched
parameters, precision) are in tests/engine/test_invariants.py."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.engine.arrays import Array, IntArray
from service.engine.errors import ParameterError
from service.engine.schedules import build
from service.engine.schedules.libm import cosf
from service.engine.schedules.optax import Constant, OptaxSchedule, integer_pow, powf
from service.errors import InvalidSpec
from service.specs.build import build_problem
from service.specs.run import RunSpec

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
Spec = dict[str, Any]


def make(kind: str, dtype: np.dtype[np.floating] = F32, **parameters: Any) -> OptaxSchedule:
    schedule = build({"kind": f"optax.{kind}", **parameters}, dtype)
    assert isinstance(schedule, OptaxSchedule)
    return schedule


def rates(schedule: OptaxSchedule, last: int) -> Array:
    """The rates of steps 0..last (first column)."""
    values: Array = schedule(np.arange(last + 1, dtype=np.int64))[:, 0]
    return values


def steps(*values: int) -> IntArray:
    return np.array(values, dtype=np.int64)


def f32(*values: float | np.floating[Any]) -> Array:
    return np.array(values, dtype=np.float32)


# ----------------------------------------------------------------------------------------------------------------
# Values at the corners


def test_constant_schedule_is_the_value_in_the_runs_dtype() -> None:
    np.testing.assert_array_equal(rates(make("constant_schedule", value=0.1), 3), f32(0.1, 0.1, 0.1, 0.1))
    np.testing.assert_array_equal(rates(make("constant_schedule", F64, value=0.1), 1), [0.1, 0.1])


def test_linear_schedule_holds_before_begin_and_clamps_after_the_transition() -> None:
    schedule = make("linear_schedule", init_value=0.0, end_value=1.0, transition_steps=4, transition_begin=2)
    np.testing.assert_array_equal(schedule(steps(0, 2, 3, 4, 6, 100))[:, 0], f32(0, 0, 0.25, 0.5, 1, 1))


@pytest.mark.parametrize("kind", ["linear_schedule", "polynomial_schedule"])
def test_non_positive_transition_steps_hold_init_value_as_optax_only_logs(kind: str) -> None:
    extra = {"power": 2} if kind == "polynomial_schedule" else {}
    for transition_steps in (0, -3):
        schedule = make(kind, F64, init_value=0.1, end_value=0.0, transition_steps=transition_steps, **extra)
        assert isinstance(schedule, Constant)
        np.testing.assert_array_equal(rates(schedule, 2), [0.1, 0.1, 0.1])  # a Python float: float64 in x64


def test_negative_transition_begin_counts_as_zero() -> None:
    negative = make("linear_schedule", init_value=1.0, end_value=0.0, transition_steps=10, transition_begin=-5)
    zero = make("linear_schedule", init_value=1.0, end_value=0.0, transition_steps=10)
    np.testing.assert_array_equal(rates(negative, 12), rates(zero, 12))


def test_polynomial_schedule_matches_optaxs_docstring_example() -> None:
    schedule = make(
        "polynomial_schedule", init_value=1.0, end_value=0.01, transition_steps=100, transition_begin=5, power=2
    )
    values = schedule(steps(0, 5, 6, 104, 105, 110))[:, 0]
    assert [f"{v:.4f}" for v in values] == ["1.0000", "1.0000", "0.9803", "0.0101", "0.0100", "0.0100"]


def test_linear_and_polynomial_schedules_stay_float32_in_float64_runs() -> None:
    """`count / transition_steps` is int32 / int: float32 even under jax_enable_x64."""
    values = rates(make("linear_schedule", F64, init_value=0.1, end_value=0.001, transition_steps=41), 41)
    np.testing.assert_array_equal(values, values.astype(np.float32).astype(np.float64))
    assert values[1] == np.float32(
        np.float32(0.1 - 0.001) * (np.float32(1) - np.float32(1) / np.float32(41)) + np.float32(0.001)
    )


def test_whole_number_power_multiplies_like_integer_pow() -> None:
    schedule = make("polynomial_schedule", F64, init_value=1.0, end_value=0.0, power=3, transition_steps=60)
    frac = np.float32(1) - np.float32(7) / np.float32(60)
    assert schedule(steps(7))[0, 0] == (frac * frac) * frac


@pytest.mark.parametrize(
    ("base", "exponent", "expected"),
    [(1.5, 0, 1.0), (1.5, 1, 1.5), (1.5, 2, 2.25), (2.0, 5, 32.0), (2.0, -2, 0.25), (0.0, -1, np.inf)],
)
def test_integer_pow_is_binary_exponentiation(base: float, exponent: int, expected: float) -> None:
    assert integer_pow(f32(base), exponent)[0] == np.float32(expected)


def test_exponential_decay_staircase_fires_on_time_in_eager_optax() -> None:
    """Eager JAX divides truly (41/41 = 1), unlike TF1 graph mode's reciprocal (NUMERICS.md §2 trap 1)."""
    schedule = make("exponential_decay", init_value=0.1, transition_steps=41, decay_rate=0.5, staircase=True)
    np.testing.assert_array_equal(schedule(steps(40, 41, 81, 82))[:, 0], f32(0.1, 0.05, 0.05, 0.025))


def test_exponential_decay_holds_init_until_transition_begin() -> None:
    schedule = make("exponential_decay", init_value=1.0, transition_steps=1, decay_rate=0.5, transition_begin=3)
    np.testing.assert_array_equal(schedule(steps(0, 3, 4, 5))[:, 0], f32(1, 1, 0.5, 0.25))


@pytest.mark.parametrize(("rate", "expected"), [(0.5, [1.0, 0.5, 0.3, 0.3]), (2.0, [1.0, 2.0, 3.0, 3.0])])
def test_exponential_decay_end_value_is_a_floor_below_one_and_a_ceiling_above(
    rate: float, expected: list[float]
) -> None:
    schedule = make(
        "exponential_decay", init_value=1.0, transition_steps=1, decay_rate=rate, end_value=[0.3, 3.0][rate > 1]
    )
    np.testing.assert_array_equal(rates(schedule, 3), f32(*expected))


@pytest.mark.parametrize(("transition_steps", "rate"), [(0, 0.5), (-2, 0.5), (10, 0.0)])
def test_exponential_decay_is_constant_where_optax_only_logs(transition_steps: int, rate: float) -> None:
    schedule = make("exponential_decay", init_value=0.1, transition_steps=transition_steps, decay_rate=rate)
    assert isinstance(schedule, Constant)
    np.testing.assert_array_equal(rates(schedule, 30), np.full(31, np.float32(0.1)))


def test_exponential_decay_uses_glibcs_powf_even_in_float64_runs() -> None:
    """0.5 ** f32(7/18): glibc's powf (what XLA calls) gives 0.7637175917625427; correctly rounded is one ulp
    lower. The schedule is float32 in float64 runs too."""
    assert powf(f32(0.5), f32(7) / f32(18))[0] == np.float32(0.7637175917625427)
    assert np.float32(0.5**0.3888888955116272) == np.float32(0.763717532157898)
    for dtype in (F32, F64):
        schedule = make("exponential_decay", dtype, init_value=1.0, transition_steps=18, decay_rate=0.5)
        assert schedule(steps(7))[0, 0] == np.float32(0.7637175917625427)


def test_cosine_decay_uses_glibcs_cosf_in_float32() -> None:
    """cos(f32(pi·6/19)): glibc's cosf gives 0.5469481348991394 where correct rounding gives one ulp more."""
    angle = np.float32(np.float32(np.pi) * np.float32(6)) / np.float32(19)
    assert cosf(f32(angle))[0] == np.float32(0.5469481348991394)
    schedule = make("cosine_decay_schedule", init_value=1.0, decay_steps=19)
    assert schedule(steps(6))[0, 0] == np.float32(0.5) * (np.float32(1) + np.float32(0.5469481348991394))


@pytest.mark.parametrize(("x", "expected"), [(0.0, 1.0), (1e-5, 1.0), (np.pi, -1.0), (np.pi / 2, -4.371139e-08)])
def test_cosf_corners(x: float, expected: float) -> None:
    assert cosf(f32(x))[0] == np.float32(expected)


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [(0.0, 2.0, 0.0), (0.0, -1.0, np.inf), (2.0, 0.0, 1.0), (1.0, 1e9, 1.0), (-2.0, 3.0, -8.0), (4.0, 0.5, 2.0)],
)
def test_powf_corners(x: float, y: float, expected: float) -> None:
    assert powf(f32(x), f32(y))[0] == np.float32(expected)


def test_powf_flushes_subnormal_results_to_zero_like_xla() -> None:
    assert powf(f32(0.5), f32(140.0))[0] == 0
    assert np.isnan(powf(f32(-2.0), f32(0.5))[0])


def test_cosine_decay_is_clamped_at_init_times_alpha() -> None:
    schedule = make("cosine_decay_schedule", F64, init_value=1.0, decay_steps=10, alpha=0.1)
    np.testing.assert_allclose(schedule(steps(0, 5, 10, 11, 1000))[:, 0], [1.0, 0.55, 0.1, 0.1, 0.1], rtol=1e-15)


def test_cosine_decay_is_float64_in_float64_runs() -> None:
    """`min(count, float(decay_steps))` is a weak float: float64 under x64."""
    value = make("cosine_decay_schedule", F64, init_value=1.0, decay_steps=41, alpha=0.01)(steps(7))[0, 0]
    assert value == 1.0 * (0.99 * (0.5 * (1 + np.cos(np.pi * 7.0 / 41.0))) ** 1.0 + 0.01)
    assert value != np.float32(value)


def test_piecewise_constant_scales_at_the_boundary_inclusive_and_cumulatively() -> None:
    schedule = make("piecewise_constant_schedule", init_value=0.1, boundaries_and_scales={"30": 0.2, "10": 0.5})
    expected = f32(0.1, 0.1, 0.05, 0.05, 0.01)
    expected[-1] = np.float32(0.2) * np.float32(np.float32(0.5) * np.float32(0.1))
    np.testing.assert_array_equal(schedule(steps(0, 9, 10, 29, 30))[:, 0], expected)


@pytest.mark.parametrize("mapping", [None, {}])
def test_piecewise_constant_without_boundaries_is_constant(mapping: dict[str, float] | None) -> None:
    assert isinstance(make("piecewise_constant_schedule", init_value=0.1, boundaries_and_scales=mapping), Constant)


def test_piecewise_constant_boundary_zero_applies_at_step_zero() -> None:
    schedule = make("piecewise_constant_schedule", F64, init_value=1.0, boundaries_and_scales={"0": 0.5})
    np.testing.assert_array_equal(rates(schedule, 2), [0.5, 0.5, 0.5])


def test_piecewise_interpolate_matches_optaxs_docstring_example() -> None:
    schedule = make(
        "piecewise_interpolate_schedule",
        interpolate_type="linear",
        init_value=1.0,
        boundaries_and_scales={"4": 0.1, "8": 0.01},
    )
    values = schedule(steps(0, 2, 4, 6, 8, 10))[:, 0]
    assert [f"{v:.6f}" for v in values] == ["1.000000", "0.550000", "0.100000", "0.050500", "0.001000", "0.001000"]


def test_piecewise_interpolate_cosine_hits_the_knots_and_the_midpoint() -> None:
    schedule = make(
        "piecewise_interpolate_schedule",
        F64,
        interpolate_type="cosine",
        init_value=1.0,
        boundaries_and_scales={"10": 0.5},
    )
    np.testing.assert_allclose(schedule(steps(0, 5, 10, 20))[:, 0], [1.0, 0.75, 0.5, 0.5], rtol=1e-7)


def test_piecewise_interpolate_without_boundaries_is_init() -> None:
    schedule = make("piecewise_interpolate_schedule", interpolate_type="cosine", init_value=0.3)
    np.testing.assert_array_equal(rates(schedule, 3), np.full(4, np.float32(0.3)))


def test_warmup_cosine_decay_counts_decay_steps_including_the_warmup() -> None:
    schedule = make(
        "warmup_cosine_decay_schedule",
        F64,
        init_value=0.0,
        peak_value=1.0,
        warmup_steps=10,
        decay_steps=100,
        end_value=0.01,
    )
    values = schedule(steps(0, 5, 10, 55, 100, 150))[:, 0]
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0, 0.505, 0.01, 0.01], rtol=1e-6)


def test_warmup_cosine_decay_promotes_like_jnp_where() -> None:
    """In float64 runs the float32 linear warmup rounds the float64 cosine part to float32; without a warmup
    (a Python-float constant) the cosine stays float64."""
    warm = make("warmup_cosine_decay_schedule", F64, init_value=0.0, peak_value=0.5, warmup_steps=20, decay_steps=80)
    value = warm(steps(37))[0, 0]
    assert value == np.float32(value)
    cold = make("warmup_cosine_decay_schedule", F64, init_value=0.0, peak_value=0.5, warmup_steps=0, decay_steps=80)
    assert cold(steps(37))[0, 0] != np.float32(cold(steps(37))[0, 0])


def test_warmup_cosine_decay_with_zero_peak_uses_alpha_zero() -> None:
    schedule = make(
        "warmup_cosine_decay_schedule", init_value=0.1, peak_value=0.0, warmup_steps=2, decay_steps=6, end_value=1.0
    )
    np.testing.assert_array_equal(schedule(steps(2, 4, 6))[:, 0], f32(0, 0, 0))


def test_warmup_exponential_decay_decays_on_the_step_after_the_warmup() -> None:
    schedule = make(
        "warmup_exponential_decay_schedule",
        init_value=0.0,
        peak_value=1.0,
        warmup_steps=4,
        transition_steps=1,
        decay_rate=0.5,
    )
    np.testing.assert_array_equal(schedule(steps(0, 2, 4, 5, 6))[:, 0], f32(0, 0.5, 1, 0.5, 0.25))


def test_warmup_constant_is_linear_then_peak() -> None:
    schedule = make("warmup_constant_schedule", init_value=0.0, peak_value=0.1, warmup_steps=10)
    np.testing.assert_array_equal(schedule(steps(0, 10, 1000))[:, 0], f32(0, 0.1, 0.1))


def test_linear_onecycle_knots() -> None:
    schedule = make("linear_onecycle_schedule", F64, transition_steps=100, peak_value=1.0)
    values = schedule(steps(0, 30, 85, 100, 120))[:, 0]
    np.testing.assert_allclose(values, [1 / 25, 1.0, 1 / 25, 1 / 25 / 1e4, 1 / 25 / 1e4], rtol=1e-6)


def test_cosine_onecycle_peaks_at_truncated_pct_start_and_ends_at_peak_over_div_times_final_div() -> None:
    schedule = make(
        "cosine_onecycle_schedule", F64, transition_steps=77, peak_value=1.0, pct_start=0.35, div_factor=10.0
    )
    values = schedule(steps(0, 26, 27, 77, 90))[:, 0]
    assert values[1] == pytest.approx(1.0)  # int(0.35 · 77) = 26
    assert values[2] < values[1]
    np.testing.assert_allclose(values[[0, 3, 4]], [0.1, 1 / (10 * 1e4), 1 / (10 * 1e4)], rtol=1e-6)


def test_onecycle_knots_that_truncate_to_the_same_step_keep_the_later_one_like_optaxs_dict() -> None:
    """T = 1: {int(0.3): 25, int(0.85): 1/25, 1: 1e-4} is {0: 1/25, 1: 1e-4}, so the cycle never rises."""
    schedule = make("linear_onecycle_schedule", F64, transition_steps=1, peak_value=1.0)
    np.testing.assert_allclose(schedule(steps(0, 1, 2))[:, 0], [1 / 25 / 25, 1 / 25 / 25 / 1e4, 1 / 25 / 25 / 1e4])


def test_sgdr_restarts_at_the_sum_of_decay_steps() -> None:
    segment = {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 2, "decay_steps": 10}
    schedule = make("sgdr_schedule", F64, cosine_kwargs=[segment, {**segment, "peak_value": 0.5}])
    values = schedule(steps(0, 2, 9, 10, 12, 20, 30))[:, 0]
    np.testing.assert_allclose(values[[0, 1, 3, 4, 5, 6]], [0, 1, 0, 0.5, 0, 0], atol=1e-7)
    assert 0 < values[2] < 0.1


def test_join_schedules_gives_later_schedules_a_local_step() -> None:
    schedule = make(
        "join_schedules",
        schedules=[
            {"kind": "optax.constant_schedule", "value": 0.1},
            {"kind": "optax.linear_schedule", "init_value": 0.1, "end_value": 0.0, "transition_steps": 40},
        ],
        boundaries=[20],
    )
    np.testing.assert_array_equal(schedule(steps(19, 20, 40, 60, 70))[:, 0], f32(0.1, 0.1, 0.05, 0, 0))


def test_join_schedules_nests_and_evaluates_boundaries_in_optaxs_order() -> None:
    """Boundaries are applied one after another with `where(t < b, previous, next)`, so unsorted ones let a later
    schedule take over from a smaller boundary on."""
    inner = {
        "kind": "optax.join_schedules",
        "schedules": [
            {"kind": "optax.constant_schedule", "value": 1.0},
            {"kind": "optax.constant_schedule", "value": 2.0},
        ],
        "boundaries": [5],
    }
    three = {"kind": "optax.constant_schedule", "value": 3.0}
    nested = make("join_schedules", schedules=[inner, three], boundaries=[8])
    np.testing.assert_array_equal(nested(steps(0, 5, 8))[:, 0], f32(1, 2, 3))
    unsorted = make("join_schedules", schedules=[three, inner, three], boundaries=[10, 4])
    np.testing.assert_array_equal(unsorted(steps(0, 4, 12))[:, 0], f32(3, 3, 3))


# ----------------------------------------------------------------------------------------------------------------
# Validation: optax's errors, with optax's messages


def refused(kind: str, **parameters: Any) -> ParameterError:
    with pytest.raises(ParameterError) as caught:
        make(kind, **parameters)
    return caught.value


@pytest.mark.parametrize("decay_steps", [0, -4])
def test_cosine_decay_refuses_non_positive_decay_steps(decay_steps: int) -> None:
    error = refused("cosine_decay_schedule", init_value=0.1, decay_steps=decay_steps)
    assert error.loc == ("decay_steps",)
    assert f"The cosine_decay_schedule requires positive decay_steps, got decay_steps={decay_steps}." in error.message


def test_warmup_cosine_decay_refuses_decay_steps_not_beyond_the_warmup() -> None:
    error = refused("warmup_cosine_decay_schedule", init_value=0.0, peak_value=1.0, warmup_steps=10, decay_steps=10)
    assert error.loc == ("decay_steps",)
    assert "got decay_steps=0" in error.message
    assert "including the warmup" in error.message


def test_sgdr_locates_a_segments_error() -> None:
    good = {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 2, "decay_steps": 10}
    error = refused("sgdr_schedule", cosine_kwargs=[good, {**good, "decay_steps": 1}])
    assert error.loc == ("cosine_kwargs", 1, "decay_steps")


def test_sgdr_refuses_no_segments_and_ends_beyond_int32() -> None:
    assert refused("sgdr_schedule", cosine_kwargs=[]).loc == ("cosine_kwargs",)
    big = {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0, "decay_steps": 2**31 - 1}
    error = refused("sgdr_schedule", cosine_kwargs=[big, big])
    assert error.loc == ("cosine_kwargs", 1, "decay_steps")
    assert "int32" in error.message


@pytest.mark.parametrize("kind", ["piecewise_constant_schedule", "piecewise_interpolate_schedule"])
def test_piecewise_schedules_refuse_negative_scales_with_optaxs_message(kind: str) -> None:
    extra = {"interpolate_type": "linear"} if kind == "piecewise_interpolate_schedule" else {}
    error = refused(kind, init_value=1.0, boundaries_and_scales={"5": 0.5, "10": -0.1}, **extra)
    assert error.loc == ("boundaries_and_scales", "10")
    assert f"`{kind}` expects non-negative scale factors" in error.message


@pytest.mark.parametrize("key", ["-1", "01", "x", "1.5", " 3", "2147483648", "١"])
def test_piecewise_schedules_refuse_keys_that_are_not_steps(key: str) -> None:
    error = refused("piecewise_constant_schedule", init_value=1.0, boundaries_and_scales={key: 0.5})
    assert error.loc == ("boundaries_and_scales", key)
    assert "whole number" in error.message


def test_piecewise_interpolate_refuses_unknown_types_with_optaxs_message() -> None:
    error = refused("piecewise_interpolate_schedule", interpolate_type="quadratic", init_value=1.0)
    assert error.loc == ("interpolate_type",)
    assert "`interpolate_type` must be either 'cosine' or 'linear'" in error.message


@pytest.mark.parametrize("kind", ["linear_onecycle_schedule", "cosine_onecycle_schedule"])
def test_onecycle_refuses_non_positive_transition_steps_with_optaxs_message(kind: str) -> None:
    error = refused(kind, transition_steps=0, peak_value=0.1)
    assert error.loc == ("transition_steps",)
    assert "A linear onecycle schedule was set with a non-positive `transition_steps`" in error.message


@pytest.mark.parametrize(
    ("kind", "parameters", "name"),
    [
        ("linear_onecycle_schedule", {"div_factor": 0.0}, "div_factor"),
        ("linear_onecycle_schedule", {"final_div_factor": 0.0}, "final_div_factor"),
        ("cosine_onecycle_schedule", {"final_div_factor": 0.0}, "final_div_factor"),
        ("linear_onecycle_schedule", {"div_factor": -5.0}, "div_factor"),
        ("cosine_onecycle_schedule", {"final_div_factor": -5.0}, "div_factor"),
    ],
)
def test_onecycle_refuses_what_python_or_optax_refuses(kind: str, parameters: Spec, name: str) -> None:
    error = refused(kind, transition_steps=100, peak_value=0.1, **parameters)
    assert error.loc == (name,)
    assert ("division by zero" in error.message) or ("non-negative scale factors" in error.message)


def test_onecycle_refuses_knots_beyond_int32() -> None:
    error = refused("linear_onecycle_schedule", transition_steps=100, peak_value=0.1, pct_start=1e9)
    assert error.loc == ("transition_steps",)
    assert "int32" in error.message


def test_join_refuses_a_boundary_count_that_is_not_one_fewer() -> None:
    child = {"kind": "optax.constant_schedule", "value": 0.1}
    error = refused("join_schedules", schedules=[child, child], boundaries=[5, 10])
    assert error.loc == ("boundaries",)
    assert "one less than" in error.message
    assert refused("join_schedules", schedules=[], boundaries=[]).loc == ("schedules",)


def test_join_refuses_other_libraries_children_and_locates_a_childs_error() -> None:
    torch_child = {"kind": "torch.StepLR", "lr": 0.1, "step_size": 2}
    assert refused("join_schedules", schedules=[torch_child], boundaries=[]).loc == ("schedules", 0, "kind")
    bad = {"kind": "optax.cosine_decay_schedule", "init_value": 0.1, "decay_steps": 0}
    good = {"kind": "optax.constant_schedule", "value": 0.1}
    assert refused("join_schedules", schedules=[good, bad], boundaries=[3]).loc == ("schedules", 1, "decay_steps")


# ----------------------------------------------------------------------------------------------------------------
# Bounds and compositions


def spec_strategy() -> st.SearchStrategy[Spec]:
    value = st.sampled_from([0.0, 0.001, 0.1, 1.0, 2.5])
    steps_ = st.integers(-3, 60)
    positive = st.integers(1, 60)
    exponent = st.sampled_from([1, 2, 3, 0.5, 1.0, 2.0])
    keys = st.dictionaries(st.integers(0, 80).map(str), st.sampled_from([0.0, 0.1, 0.5, 2.0]), max_size=4)
    segment = st.fixed_dictionaries(
        {
            "init_value": value,
            "peak_value": value,
            "warmup_steps": st.integers(0, 10),
            "decay_steps": st.integers(11, 40),
        }
    )
    leaves = st.one_of(
        st.fixed_dictionaries({"kind": st.just("optax.constant_schedule"), "value": value}),
        st.fixed_dictionaries(
            {
                "kind": st.just("optax.polynomial_schedule"),
                "init_value": value,
                "end_value": value,
                "power": exponent,
                "transition_steps": steps_,
                "transition_begin": steps_,
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("optax.exponential_decay"),
                "init_value": value,
                "transition_steps": steps_,
                "decay_rate": st.sampled_from([0.0, 0.5, 0.9, 1.5]),
                "staircase": st.booleans(),
                "end_value": st.none() | value,
            }
        ),
        st.fixed_dictionaries(
            {"kind": st.just("optax.piecewise_constant_schedule"), "init_value": value, "boundaries_and_scales": keys}
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("optax.piecewise_interpolate_schedule"),
                "interpolate_type": st.sampled_from(["linear", "cosine"]),
                "init_value": value,
                "boundaries_and_scales": keys,
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("optax.cosine_decay_schedule"),
                "init_value": value,
                "decay_steps": positive,
                "alpha": value,
                "exponent": exponent,
            }
        ),
        st.fixed_dictionaries(
            {
                "kind": st.just("optax.cosine_onecycle_schedule"),
                "transition_steps": positive,
                "peak_value": value,
            }
        ),
        st.fixed_dictionaries(
            {"kind": st.just("optax.sgdr_schedule"), "cosine_kwargs": st.lists(segment, min_size=1, max_size=3)}
        ),
    )
    return st.one_of(
        leaves,
        st.lists(leaves, min_size=1, max_size=3).flatmap(
            lambda children: st.fixed_dictionaries(
                {
                    "kind": st.just("optax.join_schedules"),
                    "schedules": st.just(children),
                    "boundaries": st.lists(st.integers(-5, 60), min_size=len(children) - 1, max_size=len(children) - 1),
                }
            )
        ),
    )


@settings(max_examples=80)
@given(
    init=st.floats(0.0, 10.0),
    alpha=st.floats(0.0, 1.0),
    decay_steps=st.integers(1, 500),
    exponent=st.sampled_from([1.0, 2.0, 0.5, 3]),
    dtype=st.sampled_from([F32, F64]),
)
def test_cosine_decay_stays_between_init_times_alpha_and_init(
    init: float, alpha: float, decay_steps: int, exponent: float, dtype: np.dtype[np.floating]
) -> None:
    schedule = make(
        "cosine_decay_schedule", dtype, init_value=init, decay_steps=decay_steps, alpha=alpha, exponent=exponent
    )
    values = rates(schedule, decay_steps + 5).astype(np.float64)
    slack = 1e-6 * max(init, 1e-30)
    assert (values >= init * alpha - slack).all()
    assert (values <= init + slack).all()
    assert (np.diff(values) <= slack).all()


@settings(max_examples=80)
@given(
    init=st.floats(-5.0, 5.0).filter(lambda v: v == 0 or abs(v) > 1e-30),
    end=st.floats(-5.0, 5.0).filter(lambda v: v == 0 or abs(v) > 1e-30),
    transition_steps=st.integers(1, 200),
    begin=st.integers(0, 50),
)
def test_linear_schedule_stays_between_init_and_end(init: float, end: float, transition_steps: int, begin: int) -> None:
    schedule = make(
        "linear_schedule", init_value=init, end_value=end, transition_steps=transition_steps, transition_begin=begin
    )
    values = rates(schedule, begin + transition_steps + 5).astype(np.float64)
    low, high = min(init, end), max(init, end)
    slack = 1e-6 * max(abs(init), abs(end), 1e-30)
    assert (values >= low - slack).all()
    assert (values <= high + slack).all()
    assert values[-1] == np.float32(end)


@settings(max_examples=40)
@given(spec=spec_strategy(), dtype=st.sampled_from([F32, F64]))
def test_join_with_one_child_is_the_child(spec: Spec, dtype: np.dtype[np.floating]) -> None:
    counts = np.arange(80, dtype=np.int64)
    joined = build({"kind": "optax.join_schedules", "schedules": [spec], "boundaries": []}, dtype)(counts)
    np.testing.assert_array_equal(joined, build(spec, dtype)(counts))


def test_warmup_constant_is_linear_schedule() -> None:
    counts = np.arange(40, dtype=np.int64)
    warmup = make("warmup_constant_schedule", F64, init_value=0.01, peak_value=0.1, warmup_steps=30)
    linear = make("linear_schedule", F64, init_value=0.01, end_value=0.1, transition_steps=30)
    np.testing.assert_array_equal(warmup(counts), linear(counts))


# ----------------------------------------------------------------------------------------------------------------
# What the API schema must hand the engine


def run_spec(schedule: Spec) -> RunSpec:
    body = {"loss": {"kind": "quadratic"}, "w0": 1.0, "steps": 3, "schedule": schedule, "optimizer": {"kind": "sgd"}}
    return RunSpec.model_validate(body)


def validated(schedule: Spec) -> Spec:
    """The schedule as the API hands it to the engine."""
    model = run_spec(schedule).schedule
    assert not isinstance(model, float)
    return model.model_dump()


def test_schema_keeps_whole_number_exponents_as_ints_for_integer_pow() -> None:
    spec = validated(
        {"kind": "optax.polynomial_schedule", "init_value": 1, "end_value": 0, "power": 3, "transition_steps": 9}
    )
    assert type(spec["power"]) is int
    spec = validated({"kind": "optax.cosine_decay_schedule", "init_value": 1.0, "decay_steps": 9, "exponent": 3.0})
    assert type(spec["exponent"]) is float


def test_schema_nests_join_schedules_once() -> None:
    leaf = {"kind": "optax.constant_schedule", "value": 0.1}
    inner = {"kind": "optax.join_schedules", "schedules": [leaf], "boundaries": []}
    dumped = validated({"kind": "optax.join_schedules", "schedules": [inner, leaf], "boundaries": [5]})
    assert dumped["schedules"][0] == inner
    deeper = {"kind": "optax.join_schedules", "schedules": [inner], "boundaries": []}
    with pytest.raises(ValidationError, match="one level of nesting"):
        run_spec({"kind": "optax.join_schedules", "schedules": [deeper], "boundaries": []})


def test_a_bad_boundary_key_is_a_422_on_that_key() -> None:
    spec = run_spec(
        {"kind": "optax.piecewise_constant_schedule", "init_value": 0.1, "boundaries_and_scales": {"x": 0.5}}
    )
    with pytest.raises(InvalidSpec) as caught:
        build_problem(spec.normalised())
    assert [list(loc) for loc, _, _ in caught.value.errors] == [["schedule", "boundaries_and_scales", "x"]]
