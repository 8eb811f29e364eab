"""Keras 3 schedules: values at the corners NUMERICS.md §1(a) states, eager float32 arithmetic (true division,
unlike TF1 graph mode), every validation rule with Keras' message, and bounds. The library's own numbers are checked
by tests/golden; the invariants every kind keeps (chunks, batched parameters, precision) by
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

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def make(kind: str, **parameters: Any) -> Schedule:
    return build({"kind": f"keras.{kind}", **parameters}, F32)


def steps(*values: int) -> IntArray:
    return np.array(values, dtype=np.int64)


def rates(schedule: Schedule, last: int) -> Array:
    values: Array = schedule(np.arange(last + 1, dtype=np.int64))[:, 0]
    return values


def f32(x: float) -> np.float32:
    return np.float32(x)


# ----------------------------------------------------------------------------------------------------------------
# ExponentialDecay, InverseTimeDecay


def test_eager_staircase_drops_exactly_at_every_multiple() -> None:
    """Eager Keras divides exactly, so no decay_steps fires late (TF1 graph mode does for 41, 47, ...)."""
    for decay_steps in range(1, 201):
        schedule = make(
            "ExponentialDecay", initial_learning_rate=1.0, decay_steps=decay_steps, decay_rate=0.5, staircase=True
        )
        np.testing.assert_array_equal(schedule(steps(decay_steps - 1, decay_steps))[:, 0], [1.0, 0.5])


def test_keras_and_tf1_differ_at_step_41() -> None:
    parameters = {"decay_steps": 41, "decay_rate": 0.5, "staircase": True}
    keras = make("ExponentialDecay", initial_learning_rate=0.1, **parameters)(steps(41))[0, 0]
    tf1 = build({"kind": "tf1.exponential_decay", "learning_rate": 0.1, **parameters}, F32)(steps(41))[0, 0]
    assert (keras, tf1) == (f32(0.05), f32(0.1))


def test_exponential_decay_is_float32_even_in_a_float64_run() -> None:
    spec = {"kind": "keras.ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.96}
    values = build(spec, F64)(steps(0, 5))
    assert values.dtype == np.float32
    np.testing.assert_allclose(values[:, 0], [0.1, 0.1 * 0.96**0.5], rtol=1e-7)


def test_a_decay_rate_above_one_grows_without_bound() -> None:
    values = rates(make("ExponentialDecay", initial_learning_rate=0.01, decay_steps=20, decay_rate=1.05), 100)
    assert (np.diff(values) > 0).all()


@pytest.mark.parametrize(
    ("staircase", "step", "expected"),
    [(False, 0, 0.1), (False, 10, 0.1 / 1.5), (False, 5, 0.1 / 1.25), (True, 9, 0.1), (True, 10, 0.1 / 1.5)],
)
def test_inverse_time_decay(staircase: bool, step: int, expected: float) -> None:
    schedule = make("InverseTimeDecay", initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=staircase)
    np.testing.assert_allclose(schedule(steps(step))[0, 0], expected, rtol=2e-7)


# ----------------------------------------------------------------------------------------------------------------
# PiecewiseConstantDecay


def test_piecewise_boundary_belongs_to_the_lower_segment() -> None:
    schedule = make("PiecewiseConstantDecay", boundaries=[0, 50, 51], values=[1.0, 0.5, 0.25, 0.125])
    np.testing.assert_array_equal(schedule(steps(0, 1, 50, 51, 52))[:, 0], [1.0, 0.5, 0.5, 0.25, 0.125])


def test_piecewise_overlapping_segments_add_their_values() -> None:
    """Keras 3 sums indicator · value, so boundaries that decrease count a step in two segments."""
    schedule = make("PiecewiseConstantDecay", boundaries=[10, 5], values=[1.0, 2.0, 4.0])
    np.testing.assert_array_equal(schedule(steps(3, 7, 11))[:, 0], [1.0, 5.0, 4.0])


# ----------------------------------------------------------------------------------------------------------------
# PolynomialDecay


def test_polynomial_default_end_is_1e4_and_flat_after_decay_steps() -> None:
    values = rates(make("PolynomialDecay", initial_learning_rate=0.1, decay_steps=50), 80)
    assert values[0] == f32(0.1)
    np.testing.assert_array_equal(values[50:], f32(0.0001))


def test_polynomial_end_above_the_rate_increases() -> None:
    schedule = make("PolynomialDecay", initial_learning_rate=0.01, decay_steps=30, end_learning_rate=0.1)
    assert (np.diff(rates(schedule, 30)) > 0).all()


def test_polynomial_cycle_reaches_end_at_multiples_and_restarts_partway() -> None:
    schedule = make("PolynomialDecay", initial_learning_rate=1.0, decay_steps=10, end_learning_rate=0.0, cycle=True)
    values = schedule(steps(0, 10, 11, 20, 21))[:, 0]
    assert values[0] == 1.0
    assert values[1] == 0.0
    assert values[3] == 0.0
    np.testing.assert_allclose(values[[2, 4]], [1 - 11 / 20, 1 - 21 / 30], rtol=1e-6)


@pytest.mark.parametrize("power", [2.0, 0.5, 3.0, -1.0, 1.7])
def test_polynomial_powers(power: float) -> None:
    schedule = make("PolynomialDecay", initial_learning_rate=0.5, decay_steps=8, end_learning_rate=0.01, power=power)
    expected = (0.5 - 0.01) * (1 - np.arange(8) / 8) ** power + 0.01
    np.testing.assert_allclose(rates(schedule, 7), expected, rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# CosineDecay


def test_cosine_decay_is_clamped_at_alpha() -> None:
    values = rates(make("CosineDecay", initial_learning_rate=0.1, decay_steps=60, alpha=0.1), 100)
    assert values[0] == f32(0.1)
    np.testing.assert_allclose(values[60:], 0.01, rtol=1e-6)
    assert len(set(values[60:].tolist())) == 1


def test_warmup_is_linear_from_the_initial_rate_and_decay_steps_come_after() -> None:
    schedule = make(
        "CosineDecay", initial_learning_rate=0.01, decay_steps=40, alpha=0.1, warmup_target=0.1, warmup_steps=15
    )
    values = rates(schedule, 70)
    np.testing.assert_allclose(values[:16], 0.01 + (0.1 - 0.01) * np.arange(16) / 15, rtol=1e-6)
    assert values[15] == f32(0.1)
    np.testing.assert_allclose(values[35], 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * 20 / 40)) + 0.1), rtol=1e-6)
    np.testing.assert_allclose(values[55:], 0.01, rtol=1e-6)


def test_warmup_steps_are_ignored_without_a_target() -> None:
    with_steps = make("CosineDecay", initial_learning_rate=0.1, decay_steps=40, warmup_steps=10)
    without = make("CosineDecay", initial_learning_rate=0.1, decay_steps=40)
    np.testing.assert_array_equal(rates(with_steps, 60), rates(without, 60))


def test_warmup_target_below_the_initial_rate_warms_down() -> None:
    schedule = make("CosineDecay", initial_learning_rate=0.2, decay_steps=30, warmup_target=0.1, warmup_steps=10)
    values = rates(schedule, 10)
    assert (np.diff(values) < 0).all()
    assert values[10] == f32(0.1)


def test_zero_warmup_steps_decay_from_the_target() -> None:
    schedule = make("CosineDecay", initial_learning_rate=0.0, decay_steps=30, warmup_target=0.1, warmup_steps=0)
    values = rates(schedule, 40)
    assert values[0] == f32(0.1)
    np.testing.assert_array_equal(values[30:], 0.0)


# ----------------------------------------------------------------------------------------------------------------
# CosineDecayRestarts


@pytest.mark.parametrize(("restart", "index"), [(10, 1), (30, 2), (70, 3), (150, 4)])
def test_cosine_restarts_at_geometric_boundaries(restart: int, index: int) -> None:
    schedule = make("CosineDecayRestarts", initial_learning_rate=0.1, first_decay_steps=10, m_mul=0.5, alpha=0.05)
    before, at = schedule(steps(restart - 1, restart))[:, 0]
    np.testing.assert_allclose(at, 0.1 * (0.95 * 0.5**index + 0.05), rtol=1e-6)
    assert before < at


@pytest.mark.parametrize(("t_mul", "restarts"), [(1.5, [8, 20, 38]), (3.0, [8, 32, 104])])
def test_cosine_restarts_are_exact_at_the_boundaries(t_mul: float, restarts: list[int]) -> None:
    """NUMERICS.md §1(a): exact at the restarts 8·(t_mul^i - 1)/(t_mul - 1) (the float32 log lands right)."""
    schedule = make("CosineDecayRestarts", initial_learning_rate=1.0, first_decay_steps=8, t_mul=t_mul)
    np.testing.assert_array_equal(schedule(steps(0, *restarts))[:, 0], 1.0)
    assert (schedule(steps(*(r - 1 for r in restarts)))[:, 0] < 0.05).all()


def test_cosine_restarts_with_t_mul_one_restart_every_period() -> None:
    schedule = make("CosineDecayRestarts", initial_learning_rate=0.1, first_decay_steps=20, t_mul=1.0, m_mul=0.8)
    np.testing.assert_allclose(schedule(steps(0, 20, 40))[:, 0], [0.1, 0.08, 0.064], rtol=1e-6)


# ----------------------------------------------------------------------------------------------------------------
# Validation


REFUSALS = [
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9},
        "decay_steps",
        "Argument `decay_steps` must be > 0. Received: decay_steps=0",
    ),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": -2, "decay_rate": 0.9}, "decay_steps", "> 0"),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 0}, "decay_steps", "> 0"),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 0}, "decay_steps", "> 0"),
    (
        "CosineDecayRestarts",
        {"initial_learning_rate": 0.1, "first_decay_steps": 0},
        "first_decay_steps",
        "Argument `first_decay_steps` must be > 0",
    ),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5, "t_mul": -1.0}, "t_mul", "log"),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [10, 20], "values": [0.1, 0.01]},
        "values",
        "The length of boundaries should be 1 less than the length of values. Received: boundaries=\\[10, 20\\] of "
        "length 2, and values=\\[0.1, 0.01\\] of length 2.",
    ),
    ("PiecewiseConstantDecay", {"boundaries": [], "values": [0.1]}, "boundaries", "at least one boundary"),
]


@pytest.mark.parametrize(("kind", "parameters", "name", "message"), REFUSALS)
def test_refuses_what_keras_refuses(kind: str, parameters: dict[str, Any], name: str, message: str) -> None:
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
    m_mul=st.floats(0, 1),
    t_mul=st.floats(1, 3),
    step=st.integers(0, 10**5),
)
def test_restarts_stay_between_the_floor_and_the_rate(
    rate: float, decay_steps: int, alpha: float, m_mul: float, t_mul: float, step: int
) -> None:
    schedule = make(
        "CosineDecayRestarts",
        initial_learning_rate=rate,
        first_decay_steps=decay_steps,
        t_mul=t_mul,
        m_mul=m_mul,
        alpha=alpha,
    )
    value = schedule(steps(step))[0, 0]
    assert f32(rate) * f32(alpha) * (1 - 1e-5) - 1e-37 <= value <= f32(rate) * (1 + 1e-5)  # subnormals flush to 0
