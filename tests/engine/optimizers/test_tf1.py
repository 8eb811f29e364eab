"""TF1 optimizers: the kernels' first steps, their slots, float32 hyperparameters in float64 runs, and TF1's one
validation rule. The invariants every kind keeps (batched runs equal separate runs bit for bit; every optimizer
converges) are in tests/engine/test_invariants.py."""

from typing import Any

import numpy as np
import pytest

from service.engine.arrays import Array
from service.engine.errors import ParameterError
from service.engine.optimizers import Optimizer, build

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def descend(
    optimizer: Optimizer, w0: Any, rates: Any, a: float = 1.0, b: float = 1.0
) -> tuple[Array, dict[str, Array]]:
    """Rows of weights and slots (row t: after t updates) on `sum a·(w + b)²`, one update per rate in `rates`."""
    w = np.atleast_2d(np.asarray(w0))
    dtype = w.dtype
    state = optimizer.init(w)
    rows, slots = [w.copy()], {name: [value.copy()] for name, value in optimizer.slots(state).items()}
    for rate in np.asarray(rates, dtype).reshape(-1):
        gradient = (dtype.type(2 * a) * (w + dtype.type(b))).astype(dtype)
        out = np.empty_like(w)
        before = w.copy()
        state = optimizer.update(w, gradient, np.full((w.shape[0], 1), rate, dtype), state, out)
        assert (w == before).all() or np.isnan(before).any(), "the recorded row was written"
        w = out
        rows.append(w.copy())
        for name, value in optimizer.slots(state).items():
            slots[name].append(np.broadcast_to(value, w.shape).copy())
    return np.stack(rows), {name: np.stack(values) for name, values in slots.items()}


def tf1(kind: str, dtype: np.dtype[np.floating] = F32, **parameters: Any) -> Optimizer:
    return build({"kind": f"tf1.{kind}", **parameters}, dtype)


f32 = np.float32


@pytest.mark.parametrize(
    ("kind", "parameters", "slots"),
    [
        ("GradientDescentOptimizer", {}, []),
        ("MomentumOptimizer", {"momentum": 0.9}, ["momentum"]),
        ("AdagradOptimizer", {}, ["accumulator"]),
        ("RMSPropOptimizer", {}, ["rms", "momentum"]),
        ("RMSPropOptimizer", {"centered": True}, ["rms", "momentum", "mg"]),
        ("AdamOptimizer", {}, ["m", "v"]),
        ("AdadeltaOptimizer", {}, ["accum", "accum_update"]),
    ],
)
def test_slots_are_named_as_tf1_get_slot_names(kind: str, parameters: dict[str, Any], slots: list[str]) -> None:
    optimizer = tf1(kind, **parameters)
    assert sorted(optimizer.slots(optimizer.init(np.zeros((1, 2), np.float32)))) == sorted(slots)
    assert optimizer.cycles_momentum is False


@pytest.mark.parametrize(
    ("kind", "parameters", "initial"),
    [
        ("AdagradOptimizer", {}, {"accumulator": 0.1}),
        ("AdagradOptimizer", {"initial_accumulator_value": 0.01}, {"accumulator": 0.01}),
        ("RMSPropOptimizer", {"centered": True}, {"rms": 1.0, "momentum": 0.0, "mg": 0.0}),
        ("AdamOptimizer", {}, {"m": 0.0, "v": 0.0}),
        ("AdadeltaOptimizer", {}, {"accum": 0.0, "accum_update": 0.0}),
    ],
)
def test_slots_start_where_tf1_initialises_them(
    kind: str, parameters: dict[str, Any], initial: dict[str, float]
) -> None:
    """All slots start at 0, except Adagrad's accumulator (0.1) and RMSProp's rms (ones_initializer)."""
    _, slots = descend(tf1(kind, **parameters), np.array([[5.0, 3.0]], np.float32), [])
    for name, value in initial.items():
        np.testing.assert_array_equal(slots[name][0], np.float32(value))


def test_momentum_first_step_is_gradient_descent_then_accumulates_raw_gradients() -> None:
    w, slots = descend(tf1("MomentumOptimizer", momentum=0.9), np.array([[5.0]], np.float32), [0.1, 0.1])
    assert w[1, 0, 0] == f32(5) - f32(12) * f32(0.1)  # 3.8
    g1 = f32(2) * (w[1, 0, 0] + f32(1))
    accum = f32(12) * f32(0.9) + g1
    assert slots["momentum"][2, 0, 0] == accum
    assert w[2, 0, 0] == w[1, 0, 0] - accum * f32(0.1)


def test_nesterov_step_is_lr_g_plus_lr_momentum_accum() -> None:
    w, _ = descend(tf1("MomentumOptimizer", momentum=0.9, use_nesterov=True), np.array([[5.0]], np.float32), [0.1])
    g, lr, mu = f32(12), f32(0.1), f32(0.9)
    assert w[1, 0, 0] == f32(5) - (g * lr + g * mu * lr)


def test_momentum_scales_the_buffer_by_the_current_rate() -> None:
    """NUMERICS.md §3: 30 steps at lr = 0.1·0.9^k, momentum 0.9, from w = 5 on (w + 1)²: TF1 (and torch) −0.29550;
    Keras, which folds the rate into its velocity, ends at +1.19341."""
    rates = f32(0.1) * f32(0.9) ** np.arange(30, dtype=np.float32)
    w, _ = descend(tf1("MomentumOptimizer", momentum=0.9), np.array([[5.0]], np.float32), rates)
    assert w[-1, 0, 0] == pytest.approx(-0.29550, abs=5e-6)
    keras, _ = descend(build({"kind": "keras.SGD", "momentum": 0.9}, F32), np.array([[5.0]], np.float32), rates)
    assert keras[-1, 0, 0] == pytest.approx(1.19341, abs=5e-6)


def test_adagrad_divides_by_the_root_of_an_accumulator_starting_at_0_1() -> None:
    w, slots = descend(tf1("AdagradOptimizer"), np.array([[5.0]], np.float32), [0.5])
    accum = f32(0.1) + f32(144)
    assert slots["accumulator"][1, 0, 0] == accum
    assert w[1, 0, 0] == f32(5) - f32(12) * f32(0.5) * (f32(1) / np.sqrt(accum))  # kernel: g·lr·rsqrt(accum)


def test_rmsprop_starts_its_mean_square_at_one_and_puts_the_rate_in_the_momentum_buffer() -> None:
    w, slots = descend(tf1("RMSPropOptimizer"), np.array([[5.0]], np.float32), [0.02])
    ms = f32(1) + (f32(144) - f32(1)) * (f32(1) - f32(0.9))
    assert slots["rms"][1, 0, 0] == ms
    step = f32(12) * f32(0.02) / np.sqrt(ms + f32(1e-10))
    assert slots["momentum"][1, 0, 0] == step
    assert w[1, 0, 0] == f32(5) - step


def test_centered_rmsprop_subtracts_the_squared_mean_gradient() -> None:
    w, slots = descend(tf1("RMSPropOptimizer", centered=True), np.array([[5.0]], np.float32), [0.02])
    ms = f32(1) + (f32(144) - f32(1)) * (f32(1) - f32(0.9))
    mg = f32(12) * (f32(1) - f32(0.9))
    assert slots["mg"][1, 0, 0] == mg
    assert w[1, 0, 0] == f32(5) - f32(12) * f32(0.02) / np.sqrt(ms - mg * mg + f32(1e-10))


def test_adam_first_step_is_the_rate_and_the_powers_are_float32_products() -> None:
    """alpha = lr·sqrt(1 − β2)/(1 − β1) on the first step makes |Δw| ≈ lr whatever the gradient."""
    optimizer = tf1("AdamOptimizer", F64)
    w, _ = descend(optimizer, np.array([[5.0, -40.0]]), [0.1])
    np.testing.assert_allclose(np.abs(w[1] - w[0]), 0.1, rtol=1e-6)
    state = optimizer.init(np.zeros((1, 1)))
    for _ in range(3):
        state = optimizer.update(np.zeros((1, 1)), np.ones((1, 1)), np.full((1, 1), 0.1), state, np.empty((1, 1)))
    assert state.beta1_power.dtype == np.float32
    assert state.beta1_power[0, 0] == f32(0.9) * f32(0.9) * f32(0.9) * f32(0.9)


def test_adadelta_rate_scales_only_the_step() -> None:
    """With the default epsilon 1e-8, the first step is lr·sqrt(eps)/sqrt(0.05·g² + eps)·g: tiny."""
    w, slots = descend(tf1("AdadeltaOptimizer", F64), np.array([[5.0]]), [1.0])
    eps, rho = float(f32(1e-8)), float(f32(0.95))
    update = np.sqrt(eps) / np.sqrt(144 * (1 - rho) + eps) * 12
    assert w[1, 0, 0] == pytest.approx(5 - update, rel=1e-15)
    assert slots["accum_update"][1, 0, 0] == pytest.approx((1 - rho) * update**2, rel=1e-14)


def test_float64_runs_see_hyperparameters_rounded_to_float32() -> None:
    """TF1 converts Python floats to float32 tensors, then casts them to the variable's dtype."""
    momentum = tf1("MomentumOptimizer", F64, momentum=0.9)
    assert momentum.momentum[0, 0] == 0.8999999761581421  # type: ignore[attr-defined]
    rmsprop = tf1("RMSPropOptimizer", F64)
    assert rmsprop.one_minus_decay[0, 0] == 1 - 0.8999999761581421  # type: ignore[attr-defined]


def test_float64_adagrad_accumulator_starts_at_the_exact_value() -> None:
    """`constant_initializer(0.1, dtype=float64)` is exact, unlike the hyperparameters."""
    _, slots = descend(tf1("AdagradOptimizer", F64), np.array([[5.0]]), [])
    assert slots["accumulator"][0, 0, 0] == 0.1


@pytest.mark.parametrize("value", [0.0, -0.1])
def test_adagrad_refuses_a_non_positive_initial_accumulator(value: float) -> None:
    with pytest.raises(ParameterError, match="initial_accumulator_value must be positive") as error:
        tf1("AdagradOptimizer", initial_accumulator_value=value)
    assert error.value.name == "initial_accumulator_value"


def test_momentum_is_required_as_in_tf1() -> None:
    with pytest.raises(TypeError, match="momentum"):
        tf1("MomentumOptimizer")
