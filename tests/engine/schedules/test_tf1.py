"""TF1 schedules: values at the corners NUMERICS.md §1(b)/§2 states, TF1 graph mode's float32 rewrites (the
reciprocal division, folded constants), every validation rule, the seeded noise, and bounds. The libraries' own
numbers are checked by tests/golden; the invariants every kind keeps (chunks, batched parameters, precision) by
tests/engine/test_invariants.py."""

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.arrays import Array, IntArray
from service.engine.errors import ParameterError
from service.engine.schedules import Schedule, build
from service.engine.schedules.base import constant
from service.engine.schedules.tf1 import exponential_decay, standard_normal

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
GRAPH_LATE = [41, 47, 55, 61, 82, 83, 94, 97, 107, 109, 110, 115, 121, 122, 123, 141, 159, 164, 165, 166, 188, 189, 194]
"""decay_steps in 1..200 whose staircase drops one step late in graph mode (NUMERICS.md §2 trap 1)."""


def make(kind: str, **parameters: Any) -> Schedule:
    return build({"kind": f"tf1.{kind}", **parameters}, F32)


def steps(*values: int) -> IntArray:
    return np.array(values, dtype=np.int64)


def rates(schedule: Schedule, last: int) -> Array:
    values: Array = schedule(np.arange(last + 1, dtype=np.int64))[:, 0]
    return values


def f32(x: float) -> np.float32:
    return np.float32(x)


# ----------------------------------------------------------------------------------------------------------------
# exponential_decay (the course's schedule)


def test_constant_is_the_same_at_every_step() -> None:
    np.testing.assert_array_equal(constant(0.2, F32)(steps(0, 1, 10**6))[:, 0], np.float32(0.2))


def test_exponential_decay_is_float32_even_in_a_float64_run() -> None:
    """TF1 builds the schedule from Python floats: float32 tensors whatever the variables' dtype."""
    values = exponential_decay(0.1, 3, 0.5, False, dtype=F64)(steps(0, 3, 4))
    assert values.dtype == np.float32
    np.testing.assert_allclose(values[:, 0], [0.1, 0.05, 0.1 * 0.5 ** (4 / 3)], rtol=1e-7)


def test_staircase_changes_at_multiples_of_decay_steps() -> None:
    values = exponential_decay(1.0, 10, 0.5, True, dtype=F64)(steps(0, 9, 10, 19, 20))[:, 0]
    np.testing.assert_array_equal(values, [1, 1, 0.5, 0.5, 0.25])


def test_graph_mode_staircase_fires_one_step_late_where_tensorflow_does() -> None:
    """NUMERICS.md §2 trap 1: TF1 Session gives 0.1 at global_step 41 for decay_steps 41 (x/41 → x·f32(1/41))."""
    values = exponential_decay(0.1, 41, 0.5, True, dtype=F32)(steps(40, 41, 42))[:, 0]
    np.testing.assert_array_equal(values, np.array([0.1, 0.1, 0.05], np.float32))


def test_the_late_staircases_are_exactly_the_ones_graph_mode_has() -> None:
    late = [
        d
        for d in range(1, 201)
        if exponential_decay(1.0, d, 0.5, True, dtype=F32)(steps(d))[0, 0] == 1.0
        and exponential_decay(1.0, d, 0.5, True, dtype=F32)(steps(d + 1))[0, 0] == 0.5
    ]
    assert late == GRAPH_LATE


def test_course_schedule_values_are_float32_pow_rounded_once() -> None:
    values = exponential_decay(0.1, 1, 0.99, True, dtype=F32)(steps(*range(41)))[:, 0]
    expected = [np.float32(np.float32(0.1) * np.float32(float(np.float32(0.99)) ** k)) for k in range(41)]
    np.testing.assert_array_equal(values, expected)
    assert "%f" % values[1] == "0.099000"
    assert "%f" % values[40] == "0.066897"


def test_a_decay_rate_above_one_grows() -> None:
    values = rates(make("exponential_decay", learning_rate=0.01, decay_steps=10, decay_rate=1.5), 30)
    assert (np.diff(values) > 0).all()


def test_a_rate_that_underflows_is_flushed_to_zero() -> None:
    """TensorFlow's CPU kernels run in flush-to-zero mode: a subnormal rate is 0."""
    values = make("exponential_decay", learning_rate=1.0, decay_steps=1, decay_rate=0.5)(steps(126, 127, 200))
    np.testing.assert_array_equal(values[:, 0], [2.0**-126, 0.0, 0.0])


# ----------------------------------------------------------------------------------------------------------------
# natural_exp_decay, inverse_time_decay


def test_natural_exp_decay_is_a_power_of_float32_exp() -> None:
    values = rates(make("natural_exp_decay", learning_rate=0.1, decay_steps=5, decay_rate=0.1, staircase=True), 15)
    np.testing.assert_allclose(values, 0.1 * np.exp(-0.1 * np.floor(np.arange(16) / 5)), rtol=3e-7)
    assert values[0] == f32(0.1)
    assert values[4] == f32(0.1)
    assert values[5] < values[4]


def test_natural_exp_decay_of_zero_is_constant() -> None:
    np.testing.assert_array_equal(
        rates(make("natural_exp_decay", learning_rate=0.1, decay_steps=5, decay_rate=0.0), 20), f32(0.1)
    )


@pytest.mark.parametrize(
    ("staircase", "step", "expected"),
    [(False, 0, 0.1), (False, 10, 0.1 / 1.5), (False, 5, 0.1 / 1.25), (True, 9, 0.1), (True, 10, 0.1 / 1.5)],
)
def test_inverse_time_decay(staircase: bool, step: int, expected: float) -> None:
    schedule = make("inverse_time_decay", learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=staircase)
    np.testing.assert_allclose(schedule(steps(step))[0, 0], expected, rtol=2e-7)


def test_inverse_time_staircase_is_late_too_in_graph_mode() -> None:
    schedule = make("inverse_time_decay", learning_rate=0.1, decay_steps=55, decay_rate=1.0, staircase=True)
    np.testing.assert_array_equal(schedule(steps(55, 56))[:, 0], [f32(0.1), f32(0.1) / f32(2)])


# ----------------------------------------------------------------------------------------------------------------
# polynomial_decay


def test_polynomial_default_end_is_1e4_and_flat_after_decay_steps() -> None:
    values = rates(make("polynomial_decay", learning_rate=0.1, decay_steps=50), 80)
    assert values[0] == f32(0.1)
    np.testing.assert_array_equal(values[50:], f32(0.0001))
    np.testing.assert_allclose(values[25], (0.1 - 0.0001) * 0.5 + 0.0001, rtol=1e-6)


def test_polynomial_end_above_the_rate_increases() -> None:
    values = rates(make("polynomial_decay", learning_rate=0.01, decay_steps=40, end_learning_rate=0.1), 40)
    assert (np.diff(values) > 0).all()


def test_polynomial_cycle_reaches_end_at_multiples_and_restarts_partway() -> None:
    schedule = make("polynomial_decay", learning_rate=1.0, decay_steps=10, end_learning_rate=0.0, cycle=True)
    values = schedule(steps(0, 10, 11, 20, 21))[:, 0]
    assert values[0] == 1.0
    assert values[1] == 0.0
    assert values[3] == 0.0
    np.testing.assert_allclose(values[[2, 4]], [1 - 11 / 20, 1 - 21 / 30], rtol=1e-6)


@pytest.mark.parametrize("power", [2.0, 3.0, 0.5, -0.5, -1.0, 0.0, 1.0, 1.7])
def test_polynomial_special_powers_follow_the_formula(power: float) -> None:
    """Graph mode turns a constant power into square/sqrt/reciprocal...; the values stay the formula's."""
    schedule = make("polynomial_decay", learning_rate=0.5, decay_steps=8, end_learning_rate=0.01, power=power)
    values = rates(schedule, 7)
    expected = (0.5 - 0.01) * (1 - np.arange(8) / 8) ** power + 0.01
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_polynomial_square_is_float32_square_not_pow() -> None:
    """power 2 becomes SquaredDifference(1, p): the correctly rounded square of f32(1 - p)."""
    schedule = make("polynomial_decay", learning_rate=1.0, decay_steps=30, end_learning_rate=0.0, power=2.0)
    values = rates(schedule, 30)
    remaining = f32(1) - f32(1) / f32(30) * np.arange(31, dtype=np.float32)
    np.testing.assert_array_equal(values, remaining * remaining)


# ----------------------------------------------------------------------------------------------------------------
# piecewise_constant


def test_piecewise_boundary_belongs_to_the_lower_segment() -> None:
    schedule = make("piecewise_constant", boundaries=[10, 30], values=[0.1, 0.05, 0.01])
    np.testing.assert_array_equal(
        schedule(steps(0, 10, 11, 30, 31, 10**6))[:, 0], np.array([0.1, 0.1, 0.05, 0.05, 0.01, 0.01], np.float32)
    )


def test_piecewise_equal_boundaries_skip_the_middle_value() -> None:
    schedule = make("piecewise_constant", boundaries=[5, 5], values=[1.0, 2.0, 3.0])
    np.testing.assert_array_equal(schedule(steps(5, 6))[:, 0], [1.0, 3.0])


# ----------------------------------------------------------------------------------------------------------------
# cosine_decay, cosine_decay_restarts


def test_cosine_decay_ends_at_alpha_and_stays() -> None:
    values = rates(make("cosine_decay", learning_rate=0.1, decay_steps=61, alpha=0.1), 130)
    assert values[0] == f32(0.1)
    np.testing.assert_allclose(values[61:], 0.01, rtol=1e-6)
    assert len(set(values[61:].tolist())) == 1
    np.testing.assert_allclose(values[30], 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * 30 / 61)) + 0.1), rtol=1e-6)


@pytest.mark.parametrize(("restart", "index"), [(10, 1), (30, 2), (70, 3), (150, 4)])
def test_cosine_restarts_at_geometric_boundaries(restart: int, index: int) -> None:
    """t_mul 2, T0 10: restarts at 10, 30, 70, 150 with lr·((1-alpha)·m_mul^i + alpha); alpha is not scaled."""
    schedule = make("cosine_decay_restarts", learning_rate=0.1, first_decay_steps=10, m_mul=0.5, alpha=0.05)
    before, at = schedule(steps(restart - 1, restart))[:, 0]
    np.testing.assert_allclose(at, 0.1 * (0.95 * 0.5**index + 0.05), rtol=1e-6)
    assert before < at


def test_cosine_restarts_with_t_mul_one_restart_every_period() -> None:
    schedule = make("cosine_decay_restarts", learning_rate=0.1, first_decay_steps=20, t_mul=1.0, m_mul=0.5)
    np.testing.assert_allclose(schedule(steps(0, 20, 40, 60))[:, 0], [0.1, 0.05, 0.025, 0.0125], rtol=1e-6)


def test_cosine_restarts_never_reach_the_floor() -> None:
    values = rates(make("cosine_decay_restarts", learning_rate=1.0, first_decay_steps=5, t_mul=1.5), 100)
    assert (values > 0).all()


# ----------------------------------------------------------------------------------------------------------------
# linear_cosine_decay, noisy_linear_cosine_decay


def test_linear_cosine_starts_above_the_rate_and_ends_at_beta() -> None:
    values = rates(make("linear_cosine_decay", learning_rate=0.1, decay_steps=50), 80)
    np.testing.assert_allclose(values[0], 0.1001, rtol=1e-6)
    np.testing.assert_allclose(values[50:], 0.1 * 0.001, rtol=1e-6)


def test_linear_cosine_with_alpha_and_periods() -> None:
    schedule = make("linear_cosine_decay", learning_rate=0.1, decay_steps=60, num_periods=2.0, alpha=0.1, beta=0.01)
    t = np.arange(61)
    expected = 0.1 * ((0.1 + (60 - t) / 60) * 0.5 * (1 + np.cos(2 * np.pi * 2 * t / 60)) + 0.01)
    np.testing.assert_allclose(rates(schedule, 60), expected, rtol=2e-6, atol=3e-8)  # f32 angle near the troughs


def test_noisy_without_variance_is_linear_cosine() -> None:
    noisy = make("noisy_linear_cosine_decay", learning_rate=0.1, decay_steps=50, initial_variance=0.0, seed=3)
    linear = make("linear_cosine_decay", learning_rate=0.1, decay_steps=50)
    np.testing.assert_array_equal(rates(noisy, 80), rates(linear, 80))


def test_noisy_draws_are_seeded_and_independent_of_chunking() -> None:
    schedule = make("noisy_linear_cosine_decay", learning_rate=0.1, decay_steps=100, seed=7)
    whole = schedule(np.arange(300, dtype=np.int64))
    pieces = np.concatenate([schedule(np.arange(a, b, dtype=np.int64)) for a, b in ((0, 1), (1, 130), (130, 300))])
    np.testing.assert_array_equal(whole, pieces)
    np.testing.assert_array_equal(schedule(steps(250, 3, 250))[:, 0], whole[[250, 3, 250], 0])
    other = make("noisy_linear_cosine_decay", learning_rate=0.1, decay_steps=100, seed=8)
    assert (other(np.arange(100, dtype=np.int64)) != whole[:100]).all()  # after decay_steps the cosine factor is 0


def test_noise_is_standard_normal_per_step() -> None:
    draws = standard_normal(np.arange(4000, dtype=np.uint64), steps(0, 1, 10**9))
    assert draws.shape == (3, 4000)
    np.testing.assert_allclose(draws.mean(axis=1), 0, atol=0.06)
    np.testing.assert_allclose(draws.std(axis=1), 1, atol=0.04)
    assert abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 0.06


def test_noisy_mean_and_spread_follow_the_variance() -> None:
    """At step t the rate is lr·((lin + N(0, v/(1+t)^0.55))·cos + beta): its std is lr·cos·sqrt(v/(1+t)^0.55)."""
    t = 10
    draws = np.array(
        [
            make("noisy_linear_cosine_decay", learning_rate=0.1, decay_steps=100, seed=s)(steps(t))[0, 0]
            for s in range(2000)
        ]
    )
    cosine = 0.5 * (1 + math.cos(math.pi * t / 100))
    np.testing.assert_allclose(draws.mean(), 0.1 * (0.9 * cosine + 0.001), rtol=0.03)
    np.testing.assert_allclose(draws.std(), 0.1 * cosine * math.sqrt(1 / (1 + t) ** 0.55), rtol=0.05)


def test_noisy_takes_one_seed_per_run_of_a_sweep() -> None:
    schedule = make("noisy_linear_cosine_decay", learning_rate=[0.1, 0.1], decay_steps=100, seed=[1, 2])
    values = schedule(steps(5, 6))
    assert values.shape == (2, 2)
    assert (values[:, 0] != values[:, 1]).all()
    single = make("noisy_linear_cosine_decay", learning_rate=0.1, decay_steps=100, seed=2)
    np.testing.assert_array_equal(values[:, 1], single(steps(5, 6))[:, 0])


# ----------------------------------------------------------------------------------------------------------------
# Validation


REFUSALS = [
    ("exponential_decay", {"learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9}, "decay_steps", "greater than 0"),
    (
        "natural_exp_decay",
        {"learning_rate": 0.1, "decay_steps": -1, "decay_rate": 0.9},
        "decay_steps",
        "greater than 0",
    ),
    (
        "inverse_time_decay",
        {"learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9},
        "decay_steps",
        "greater than 0",
    ),
    ("polynomial_decay", {"learning_rate": 0.1, "decay_steps": 0}, "decay_steps", "greater than 0"),
    ("cosine_decay", {"learning_rate": 0.1, "decay_steps": [10, 0]}, "decay_steps", "greater than 0"),
    ("cosine_decay_restarts", {"learning_rate": 0.1, "first_decay_steps": 0}, "first_decay_steps", "greater than 0"),
    ("cosine_decay_restarts", {"learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 0.0}, "t_mul", "log\\(t_mul\\)"),
    ("linear_cosine_decay", {"learning_rate": 0.1, "decay_steps": 0}, "decay_steps", "greater than 0"),
    ("noisy_linear_cosine_decay", {"learning_rate": 0.1, "decay_steps": 0}, "decay_steps", "greater than 0"),
    ("noisy_linear_cosine_decay", {"learning_rate": 0.1, "decay_steps": 10, "seed": -1}, "seed", "0 or more"),
    (
        "noisy_linear_cosine_decay",
        {"learning_rate": [0.1, 0.2], "decay_steps": 10, "seed": [1, 2, 3]},
        "seed",
        "one per run",
    ),
    ("piecewise_constant", {"boundaries": [10], "values": [0.1]}, "values", "1 less than the length of values"),
    ("piecewise_constant", {"boundaries": [], "values": [0.1]}, "boundaries", "at least one boundary"),
    ("piecewise_constant", {"boundaries": [10, 5], "values": [1.0, 0.5, 0.1]}, ("boundaries", 1), "increasing"),
]


@pytest.mark.parametrize(("kind", "parameters", "name", "message"), REFUSALS)
def test_refuses_what_tensorflow_cannot_run(kind: str, parameters: dict[str, Any], name: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=message) as refusal:
        make(kind, **parameters)
    assert refusal.value.name == name


# ----------------------------------------------------------------------------------------------------------------
# Bounds (the invariants every kind keeps, such as chunks and batches, are in tests/engine/test_invariants.py)


@settings(max_examples=60)
@given(
    rate=st.floats(1e-6, 10),
    decay_steps=st.integers(1, 500),
    alpha=st.floats(0, 1),
    step=st.integers(0, 10**6),
)
def test_cosine_stays_between_its_floor_and_the_rate(rate: float, decay_steps: int, alpha: float, step: int) -> None:
    value = make("cosine_decay", learning_rate=rate, decay_steps=decay_steps, alpha=alpha)(steps(step))[0, 0]
    low, high = sorted((f32(rate) * f32(alpha), f32(rate)))
    assert low * (1 - 1e-6) - 1e-37 <= value <= high * (1 + 1e-6)  # subnormals flush to 0


@settings(max_examples=60)
@given(rate=st.floats(1e-6, 10), decay_steps=st.integers(1, 500), decay_rate=st.floats(0.01, 0.99))
def test_decays_never_increase(rate: float, decay_steps: int, decay_rate: float) -> None:
    every = np.arange(0, 3 * decay_steps + 2, dtype=np.int64)
    for kind in ("exponential_decay", "natural_exp_decay", "inverse_time_decay"):
        values = make(kind, learning_rate=rate, decay_steps=decay_steps, decay_rate=decay_rate)(every)[:, 0]
        assert (np.diff(values) <= 0).all(), kind
