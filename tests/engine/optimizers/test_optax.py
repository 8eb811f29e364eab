"""Optax aliases: first steps against their chains of transformations (NUMERICS.md §3), state by optax's field
names, where the rate enters a momentum trace, and XLA's division in bias corrections. The invariants every kind
keeps (batched runs equal separate runs bit for bit; every optimizer converges; state shaped like w) are in
tests/engine/test_invariants.py."""

from typing import Any

import numpy as np
import pytest

from service.engine.arrays import Array
from service.engine.optimizers import Optimizer, build
from service.engine.optimizers.optax import Decay
from tests.engine.optimizers.test_torch import descend

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
f32 = np.float32


def optax(kind: str, dtype: np.dtype[np.floating] = F64, **parameters: Any) -> Optimizer:
    return build({"kind": f"optax.{kind}", **parameters}, dtype)


W0 = np.array([[5.0, 3.0]])
G0 = 2 * (W0 + 1)  # the first gradient on (w + 1)²: [12, 8]
LR = 0.1
DECAYED = G0 + 0.1 * W0  # the gradient with weight decay 0.1 added


@pytest.mark.parametrize(
    ("kind", "parameters", "slots"),
    [
        ("sgd", {}, []),
        ("sgd", {"momentum": 0.0}, ["trace"]),
        ("adam", {}, ["mu", "nu"]),
        ("adamw", {}, ["mu", "nu"]),
        ("nadam", {}, ["mu", "nu"]),
        ("rmsprop", {}, ["nu"]),
        ("rmsprop", {"centered": True, "momentum": 0.5}, ["mu", "nu", "trace"]),
        ("adagrad", {}, ["sum_of_squares"]),
        ("adamax", {}, ["mu", "nu"]),
        ("adadelta", {}, ["e_g", "e_x"]),
    ],
)
def test_state_is_named_as_optax_fields(kind: str, parameters: dict[str, Any], slots: list[str]) -> None:
    """A momentum of None (the default) means no trace at all; 0.0 keeps an (inert) trace, as in optax."""
    optimizer = optax(kind, **parameters)
    recorded = optimizer.slots(optimizer.init(np.zeros((3, 2))))
    assert sorted(recorded) == sorted(slots)
    assert optimizer.cycles_momentum is False


def test_state_starts_where_optax_initialises_it() -> None:
    _, adagrad = descend(optax("adagrad"), W0, [])
    np.testing.assert_array_equal(adagrad["sum_of_squares"][0], 0.1)
    _, rmsprop = descend(optax("rmsprop", initial_scale=1.0), W0, [])
    np.testing.assert_array_equal(rmsprop["nu"][0], 1.0)


def adam_first_step(g: Array, eps: float = 1e-8, eps_root: float = 0.0) -> Array:
    root: Array = np.sqrt(g**2 + eps_root)
    return W0 - LR * g / (root + eps)  # m̂ = g, v̂ = g²


def nadam_first_step(g: Array) -> Array:
    m_hat = 0.9 * (0.1 * g) / (1 - 0.9**2) + 0.1 * g / (1 - 0.9)
    return W0 - LR * m_hat / (np.abs(g) + 1e-8)


@pytest.mark.parametrize(
    ("kind", "parameters", "first"),
    [
        ("sgd", {}, W0 - LR * G0),
        ("sgd", {"momentum": 0.9}, W0 - LR * G0),  # the first trace is g
        ("sgd", {"momentum": 0.9, "nesterov": True}, W0 - LR * 1.9 * G0),
        ("sgd", {"nesterov": True}, W0 - LR * G0),  # no momentum: nesterov is ignored
        ("adam", {}, adam_first_step(G0)),
        ("adam", {"eps_root": 1.0, "eps": 0.5}, adam_first_step(G0, 0.5, 1.0)),
        ("adamw", {"weight_decay": 0.5}, adam_first_step(G0) - LR * 0.5 * W0),
        ("nadam", {}, nadam_first_step(G0)),
        ("nadam", {"nesterov": False}, adam_first_step(G0)),
        ("rmsprop", {}, W0 - LR * G0 / np.sqrt(0.1 * G0**2 + 1e-8)),  # eps inside the root
        ("rmsprop", {"eps_in_sqrt": False, "eps": 0.5}, W0 - LR * G0 / (np.sqrt(0.1 * G0**2) + 0.5)),
        ("rmsprop", {"bias_correction": True, "eps": 0.0}, W0 - LR * np.sign(G0)),
        ("rmsprop", {"initial_scale": 1.0}, W0 - LR * G0 / np.sqrt(0.9 + 0.1 * G0**2 + 1e-8)),
        ("rmsprop", {"centered": True}, W0 - LR * G0 / np.sqrt(0.1 * G0**2 - (0.1 * G0) ** 2 + 1e-8)),
        ("adagrad", {}, W0 - LR * G0 / np.sqrt(0.1 + G0**2 + 1e-7)),
        ("adamax", {"eps": 0.5}, W0 - LR * G0 / (np.abs(G0) + 0.5)),
        ("adadelta", {}, W0 - LR * np.sqrt(1e-6) / np.sqrt(0.1 * G0**2 + 1e-6) * G0),
        ("adadelta", {"weight_decay": 0.1}, W0 - LR * np.sqrt(1e-6) / np.sqrt(0.1 * DECAYED**2 + 1e-6) * DECAYED),
    ],
)
def test_first_step_is_the_optax_chain(kind: str, parameters: dict[str, Any], first: Array) -> None:
    w, _ = descend(optax(kind, **parameters), W0, [LR])
    np.testing.assert_allclose(w[1], first, rtol=1e-14)


def test_sgd_keeps_the_rate_out_of_the_trace() -> None:
    """optax.sgd is torch's form: the trace holds raw gradients, the current rate scales it."""
    w, slots = descend(optax("sgd", momentum=0.9), W0, [LR, 0.5 * LR])
    g1 = 2 * (w[1] + 1)
    np.testing.assert_allclose(slots["trace"][2], 0.9 * G0 + g1, rtol=1e-15)
    np.testing.assert_allclose(w[2], w[1] - 0.5 * LR * (0.9 * G0 + g1), rtol=1e-15)


def test_rmsprop_puts_the_rate_inside_the_trace() -> None:
    """optax.rmsprop chains scale_by_rms, the rate, then trace: the trace accumulates −lr·u, as TF1 does."""
    w, slots = descend(optax("rmsprop", momentum=0.5), W0, [LR, 0.5 * LR])
    step0 = -LR * G0 / np.sqrt(slots["nu"][1] + 1e-8)
    g1 = 2 * (w[1] + 1)
    step1 = -0.5 * LR * g1 / np.sqrt(slots["nu"][2] + 1e-8)
    np.testing.assert_allclose(slots["trace"][1], step0, rtol=1e-15)
    np.testing.assert_allclose(slots["trace"][2], step1 + 0.5 * step0, rtol=1e-15)
    np.testing.assert_allclose(w[2], w[1] + step1 + 0.5 * step0, rtol=1e-15)


def test_centered_bias_corrected_rmsprop_first_divides_by_root_eps() -> None:
    """With bias correction the first variance estimate nu − mu² is 0: the first step is lr·g/√eps (huge)."""
    w, _ = descend(optax("rmsprop", centered=True, bias_correction=True, eps=1e-8), W0, [LR])
    np.testing.assert_allclose(w[1], W0 - LR * G0 / np.sqrt(1e-8), rtol=1e-6)


def test_adagrad_leaves_a_zero_sum_alone() -> None:
    """`where(sum > 0, rsqrt(sum + eps), 0)`: a zero gradient on a zero accumulator gives no step, not NaN."""
    w, _ = descend(optax("adagrad", initial_accumulator_value=0.0, eps=0.0), W0, [LR, LR], a=0.0)
    np.testing.assert_array_equal(w[-1], W0)


def test_adamax_keeps_eps_inside_the_max() -> None:
    """nu = max(|g| + eps, b2·nu): on a flat loss it decays with b2 down to eps, never below."""
    _, slots = descend(optax("adamax", eps=0.25, b2=0.5), W0, [LR] * 6)
    _, flat = descend(optax("adamax", eps=0.25, b2=0.5), W0, [LR] * 3, a=0.0)
    np.testing.assert_array_equal(flat["nu"][1:], 0.25)
    assert (slots["nu"][1:] >= 0.25).all()


@pytest.mark.parametrize("dims", [1, 2, 5])
def test_bias_correction_divides_as_xla_does_under_jit(dims: int) -> None:
    """`moment / (1 − decay**count)` is jitted: XLA multiplies by the reciprocal of the scalar, except for a
    one-element parameter, where the broadcast is a reshape and the division stays a division."""
    moment = np.linspace(0.5, 9.5, 4000, dtype=np.float32).reshape(-1, dims)
    correction = f32(1) - f32(float(f32(0.9)) ** 3)
    expected = moment / correction if dims == 1 else moment * (f32(1) / correction)
    np.testing.assert_array_equal(Decay.of("b1", 0.9, F32).correct(moment, 3), expected)
    assert (moment / correction != moment * (f32(1) / correction)).any(), "the two roundings differ somewhere"
