"""Keras 3 optimizers: first steps in Keras' op order, variables by Keras' names, decoupled weight decay, the two
ways a Python float reaches a float64 run, and Keras' validation rules. The invariants every kind keeps (batched
runs equal separate runs bit for bit; every optimizer converges; state shaped like w) are in
tests/engine/test_invariants.py."""

from typing import Any

import numpy as np
import pytest

from service.engine.errors import ParameterError
from service.engine.optimizers import Optimizer, build
from tests.engine.optimizers.test_tf1 import descend

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
f32 = np.float32


def keras(kind: str, dtype: np.dtype[np.floating] = F32, **parameters: Any) -> Optimizer:
    return build({"kind": f"keras.{kind}", **parameters}, dtype)


@pytest.mark.parametrize(
    ("kind", "parameters", "variables"),
    [
        ("SGD", {}, []),
        ("SGD", {"momentum": 0.9}, ["momentum"]),
        ("Adagrad", {}, ["accumulator"]),
        ("RMSprop", {}, ["velocity"]),
        ("RMSprop", {"momentum": 0.5, "centered": True}, ["velocity", "momentum", "average_gradient"]),
        ("Adam", {}, ["momentum", "velocity"]),
        ("Adam", {"amsgrad": True}, ["momentum", "velocity", "velocity_hat"]),
        ("AdamW", {"amsgrad": True}, ["momentum", "velocity", "velocity_hat"]),
        ("Adamax", {}, ["momentum", "norm"]),
        ("Nadam", {}, ["momentum", "velocity", "u_product"]),
        ("Adadelta", {}, ["accumulated_grad", "accumulated_delta_var"]),
    ],
)
def test_variables_are_named_and_created_as_keras_does(
    kind: str, parameters: dict[str, Any], variables: list[str]
) -> None:
    """Keras creates `momentum` only for momentum ≠ 0 (SGD) or > 0 (RMSprop); `u_product` is Nadam's scalar."""
    optimizer = keras(kind, **parameters)
    slots = optimizer.slots(optimizer.init(np.zeros((3, 2), np.float32)))
    assert sorted(slots) == sorted(variables)
    assert optimizer.cycles_momentum is False


def test_sgd_folds_the_rate_into_the_velocity() -> None:
    w, slots = descend(keras("SGD", momentum=0.9), np.array([[5.0]], np.float32), [0.1, 0.05])
    m1 = f32(0) * f32(0.9) - f32(12) * f32(0.1)
    assert slots["momentum"][1, 0, 0] == m1
    assert w[1, 0, 0] == f32(5) + m1
    m2 = m1 * f32(0.9) - f32(2) * (w[1, 0, 0] + f32(1)) * f32(0.05)
    assert w[2, 0, 0] == w[1, 0, 0] + m2


def test_nesterov_adds_momentum_times_velocity_minus_lr_g() -> None:
    w, _ = descend(keras("SGD", momentum=0.9, nesterov=True), np.array([[5.0]], np.float32), [0.1])
    m = -(f32(12) * f32(0.1))
    assert w[1, 0, 0] == f32(5) + (m * f32(0.9) - f32(12) * f32(0.1))


@pytest.mark.parametrize("kind", ["SGD", "Adagrad", "RMSprop", "Adam", "Adamax", "Nadam", "Adadelta"])
def test_weight_decay_shrinks_the_weights_before_the_update(kind: str) -> None:
    """`var −= var·wd·lr` first: at the minimum (zero gradient) only the decay moves the weights."""
    w, _ = descend(keras(kind, weight_decay=0.1), np.array([[-1.0, 2.0]], np.float32), [0.5], b=1.0)
    assert w[1, 0, 0] == f32(-1) - f32(-1) * f32(0.1) * f32(0.5)


def test_adamw_decays_by_0_004_by_default_and_requires_a_weight_decay() -> None:
    w, _ = descend(keras("AdamW"), np.array([[-1.0]], np.float32), [0.5])
    assert w[1, 0, 0] == f32(-1) - f32(-1) * f32(0.004) * f32(0.5)
    with pytest.raises(ParameterError, match=r"Argument `weight_decay` must be a float\. Received: weight_decay=None"):
        keras("AdamW", weight_decay=None)


@pytest.mark.parametrize("momentum", [-0.1, 1.5, [0.5, 2.0]])
def test_sgd_refuses_a_momentum_outside_0_1(momentum: Any) -> None:
    with pytest.raises(ParameterError, match=r"`momentum` must be a float between \[0, 1\]") as error:
        keras("SGD", momentum=momentum)
    assert error.value.name == "momentum"


def test_adagrad_puts_epsilon_inside_the_square_root() -> None:
    w, slots = descend(keras("Adagrad", epsilon=1e-3), np.array([[5.0]], np.float32), [0.5])
    accumulator = f32(0.1) + f32(144)
    assert slots["accumulator"][1, 0, 0] == accumulator
    assert w[1, 0, 0] == f32(5) - f32(0.5) * f32(12) / np.sqrt(accumulator + f32(1e-3))


def test_rmsprop_velocity_starts_at_zero_and_the_rate_sits_in_the_increment() -> None:
    w, slots = descend(keras("RMSprop"), np.array([[5.0]], np.float32), [0.02])
    velocity = f32(0.9) * f32(0) + f32(1 - 0.9) * f32(144)  # Python's 1 − 0.9, rounded once
    assert slots["velocity"][1, 0, 0] == velocity
    assert w[1, 0, 0] == f32(5) - f32(0.02) * f32(12) / np.sqrt(velocity + f32(1e-7))


def test_adam_first_step_is_the_rate() -> None:
    w, _ = descend(keras("Adam", F64), np.array([[5.0, -40.0]]), [0.1])
    np.testing.assert_allclose(np.abs(w[1] - w[0]), 0.1, rtol=1e-5)


def test_amsgrad_keeps_the_running_maximum_of_the_velocity() -> None:
    _, slots = descend(keras("Adam", amsgrad=True), np.array([[5.0, 3.0]], np.float32), [0.1] * 30)
    hat, velocity = slots["velocity_hat"], slots["velocity"]
    np.testing.assert_array_equal(hat, np.maximum.accumulate(velocity, axis=0))


def test_adamax_uses_the_infinity_norm() -> None:
    w, slots = descend(keras("Adamax", F64), np.array([[5.0]]), [0.1])
    assert slots["norm"][1, 0, 0] == 12
    beta_1, rate = float(f32(0.9)), float(f32(0.1))  # the rate is a float32 tensor too
    assert w[1, 0, 0] == pytest.approx(5 - rate * (0.1 * 12) / ((1 - beta_1) * (12 + 1e-7)), rel=1e-15)


def test_nadam_momentum_schedule_has_no_0_004_factor() -> None:
    """u_t = β1·(1 − 0.5·0.96^t): `u_product` after t updates is the product of the first t of them."""
    _, slots = descend(keras("Nadam", F64), np.array([[5.0]]), [0.1] * 5)
    u = [0.9 * (1 - 0.5 * 0.96**t) for t in range(1, 6)]
    np.testing.assert_allclose(slots["u_product"][1:, 0, 0], np.cumprod(u), rtol=1e-14)
    assert slots["u_product"][0, 0, 0] == 1.0


def test_adadelta_steps_are_tiny_at_the_library_default_rate() -> None:
    w, _ = descend(keras("Adadelta", F64), np.array([[5.0]]), [0.001])
    first = 0.001 * np.sqrt(1e-7) * 12 / np.sqrt(0.05 * 144 + 1e-7)
    assert w[0, 0, 0] - w[1, 0, 0] == pytest.approx(first, rel=1e-7)


def test_float64_casts_go_through_float32_but_python_arithmetic_does_not() -> None:
    """`ops.cast(0.9, "float64")` is 0.8999999761581421; `1 - self.beta_1` meets the tensor as the exact double."""
    adam = keras("Adam", F64)
    assert adam.beta_1[0, 0] == 0.8999999761581421  # type: ignore[attr-defined]
    assert adam.one_minus_beta_1[0, 0] == 1 - 0.9  # type: ignore[attr-defined]
    assert adam.epsilon[0, 0] == 1e-7  # type: ignore[attr-defined]
    sgd = keras("SGD", F64, momentum=0.9, weight_decay=0.1)
    assert sgd.momentum[0, 0] == 0.8999999761581421  # type: ignore[attr-defined]
    assert sgd.decay.weight_decay[0, 0] == float(f32(0.1))  # type: ignore[attr-defined]


def test_keras_and_tf1_adam_differ_only_by_how_one_minus_beta_is_rounded() -> None:
    """Same equations (epsilon-hat on the uncorrected sqrt(v)), but in float64 TF1 computes 1 − f32(β2) while Keras
    takes Python's 1 − β2: 1.3e-5 apart relatively for β2 = 0.999, which moves the weights by ~2e-5."""
    start = np.array([[5.0, 3.0]])
    ours, _ = descend(keras("Adam", F64, epsilon=1e-8), start, [0.1] * 50)
    tf1, _ = descend(build({"kind": "tf1.AdamOptimizer"}, F64), start, [0.1] * 50)
    np.testing.assert_allclose(ours, tf1, rtol=0, atol=1e-4)
    assert np.abs(ours - tf1).max() > 1e-6
