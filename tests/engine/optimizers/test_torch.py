"""torch.optim optimizers: first steps against the update rules of NUMERICS.md §3, state by torch's names, the
float32 rounding of torch's fused CPU ops, momentum cycling by CyclicLR/OneCycleLR, and torch's ValueError rules. The
invariants every kind keeps (batched runs equal separate runs bit for bit; every optimizer converges; state shaped
like w) are in tests/engine/test_invariants.py."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.arrays import Array
from service.engine.errors import ParameterError
from service.engine.optimizers import Optimizer, build

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
f32 = np.float32


def descend(
    optimizer: Optimizer, w0: Any, rates: Any, momenta: Any = None, a: float = 1.0, b: float = 1.0
) -> tuple[Array, dict[str, Array]]:
    """Rows of weights and slots (row t: after t updates) on `sum a·(w + b)²`, one update per rate; `momenta`
    (one per update) stands for a torch scheduler cycling the momentum."""
    w = np.atleast_2d(np.asarray(w0))
    dtype = w.dtype
    state = optimizer.init(w)
    rows, slots = [w.copy()], {name: [np.array(value)] for name, value in optimizer.slots(state).items()}
    cycled = None if momenta is None else np.asarray(momenta, dtype).reshape(-1)
    for t, rate in enumerate(np.asarray(rates, dtype).reshape(-1)):
        gradient = (dtype.type(2 * a) * (w + dtype.type(b))).astype(dtype)
        out = np.empty_like(w)
        before = w.copy()
        momentum = None if cycled is None else np.full((w.shape[0], 1), cycled[t], dtype)
        rate_column = np.full((w.shape[0], 1), rate, dtype)
        state = optimizer.update(w, gradient, rate_column, state, out, momentum=momentum)
        assert (w == before).all() or np.isnan(before).any(), "the recorded row was written"
        w = out
        rows.append(w.copy())
        for name, value in optimizer.slots(state).items():
            slots[name].append(np.array(value))
    return np.stack(rows), {name: np.stack(values) for name, values in slots.items()}


def torch(kind: str, dtype: np.dtype[np.floating] = F64, **parameters: Any) -> Optimizer:
    return build({"kind": f"torch.{kind}", **parameters}, dtype)


W0 = np.array([[5.0, 3.0]])
G0 = 2 * (W0 + 1)  # the first gradient on (w + 1)²: [12, 8]
LR = 0.1


@pytest.mark.parametrize(
    ("kind", "parameters", "slots", "cycles"),
    [
        ("SGD", {}, ["momentum_buffer"], True),
        ("SGD", {"momentum": 0.9}, ["momentum_buffer"], True),
        ("Adagrad", {}, ["sum"], False),
        ("RMSprop", {}, ["square_avg"], True),
        ("RMSprop", {"momentum": 0.5, "centered": True}, ["square_avg", "momentum_buffer", "grad_avg"], True),
        ("Adam", {}, ["exp_avg", "exp_avg_sq"], True),
        ("Adam", {"amsgrad": True}, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], True),
        ("AdamW", {"amsgrad": True}, ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], True),
        ("Adamax", {}, ["exp_avg", "exp_inf"], True),
        ("NAdam", {}, ["exp_avg", "exp_avg_sq", "mu_product"], True),
        ("Adadelta", {}, ["square_avg", "acc_delta"], False),
    ],
)
def test_state_is_named_as_torch_names_it(
    kind: str, parameters: dict[str, Any], slots: list[str], cycles: bool
) -> None:
    """torch's state names; torch's schedulers cycle momentum only where torch's defaults have `momentum` or `betas`
    (not Adagrad, Adadelta)."""
    optimizer = torch(kind, **parameters)
    recorded = optimizer.slots(optimizer.init(np.zeros((3, 2))))
    assert sorted(recorded) == sorted(slots)
    assert optimizer.cycles_momentum is cycles


def test_state_starts_where_torch_initialises_it() -> None:
    """Adagrad's sum starts at initial_accumulator_value; NAdam's mu_product at 1; the rest at 0."""
    _, adagrad = descend(torch("Adagrad", initial_accumulator_value=0.25), W0, [])
    np.testing.assert_array_equal(adagrad["sum"][0], 0.25)
    _, nadam = descend(torch("NAdam"), W0, [])
    np.testing.assert_array_equal(nadam["mu_product"][0], 1.0)
    np.testing.assert_array_equal(nadam["exp_avg"][0], 0.0)


def nadam_first_step(g: Array) -> Array:
    """μ_1 and μ_2 in double; mu_product = μ_1 held in float32, as torch keeps it."""
    mu1, mu2 = (0.9 * (1 - 0.5 * float(0.96 ** (t * 4e-3))) for t in (1, 2))
    product = float(f32(mu1))
    den: Array = np.abs(g) + 1e-8
    first: Array = W0 - LR * (1 - mu1) / (1 - product) * g / den
    return first - LR * mu2 / (1 - product * mu2) * (0.1 * g) / den


@pytest.mark.parametrize(
    ("kind", "parameters", "first"),
    [
        ("SGD", {}, W0 - LR * G0),
        ("SGD", {"momentum": 0.9, "dampening": 0.5}, W0 - LR * G0),  # the first buffer is g, undampened
        ("SGD", {"momentum": 0.9, "nesterov": True}, W0 - LR * 1.9 * G0),
        ("SGD", {"weight_decay": 0.1}, W0 - LR * (G0 + 0.1 * W0)),
        ("Adagrad", {}, W0 - LR * G0 / (np.abs(G0) + 1e-10)),  # eps outside the root
        ("Adagrad", {"initial_accumulator_value": 1.0}, W0 - LR * G0 / (np.sqrt(1 + G0**2) + 1e-10)),
        ("RMSprop", {}, W0 - LR * G0 / (0.1 * np.abs(G0) + 1e-8)),  # √((1−0.99)·g²)
        ("RMSprop", {"centered": True}, W0 - LR * G0 / (np.sqrt(0.01 * G0**2 - (0.01 * G0) ** 2) + 1e-8)),
        ("Adam", {}, W0 - LR * G0 / (np.abs(G0) + 1e-8)),  # m̂ = g, v̂ = g²
        ("AdamW", {}, W0 * (1 - LR * 1e-2) - LR * G0 / (np.abs(G0) + 1e-8)),  # decoupled decay first
        ("Adamax", {"eps": 0.5}, W0 - LR * G0 / (np.abs(G0) + 0.5)),  # u = max(0, |g| + eps)
        ("NAdam", {}, nadam_first_step(G0)),
        ("Adadelta", {}, W0 - LR * np.sqrt(1e-6) / np.sqrt(0.1 * G0**2 + 1e-6) * G0),
    ],
)
def test_first_step_is_the_torch_rule(kind: str, parameters: dict[str, Any], first: Array) -> None:
    w, _ = descend(torch(kind, **parameters), W0, [LR])
    np.testing.assert_allclose(w[1], first, rtol=1e-14)


def test_sgd_dampening_applies_from_the_second_step() -> None:
    """`buf = g` on the first step, then `buf = μ·buf + (1 − dampening)·g`."""
    w, slots = descend(torch("SGD", momentum=0.9, dampening=0.5), W0, [LR, LR])
    g1 = 2 * (w[1] + 1)
    np.testing.assert_allclose(slots["momentum_buffer"][1], G0, rtol=1e-15)
    np.testing.assert_allclose(slots["momentum_buffer"][2], 0.9 * G0 + 0.5 * g1, rtol=1e-15)
    np.testing.assert_allclose(w[2], w[1] - LR * (0.9 * G0 + 0.5 * g1), rtol=1e-15)


def test_momentum_buffer_keeps_raw_gradients_so_the_current_rate_scales_it() -> None:
    """torch multiplies the whole buffer by the rate of the current step (Keras folds each step's rate in)."""
    w, _ = descend(torch("SGD", momentum=0.9), W0, [LR, 0.5 * LR])
    g1 = 2 * (w[1] + 1)
    np.testing.assert_allclose(w[2], w[1] - 0.5 * LR * (0.9 * G0 + g1), rtol=1e-15)


def test_adagrad_lr_decay_divides_the_rate_by_one_plus_t_minus_one_decays() -> None:
    w, slots = descend(torch("Adagrad", lr_decay=0.5), W0, [LR, LR])
    g1 = 2 * (w[1] + 1)
    expected = w[1] - LR / (1 + 0.5) * g1 / (np.sqrt(slots["sum"][2]) + 1e-10)
    np.testing.assert_allclose(w[2], expected, rtol=1e-14)


def test_adam_amsgrad_divides_by_the_largest_second_moment() -> None:
    """A shrinking gradient: v falls, max_exp_avg_sq keeps its peak and is what the step divides by."""
    w, slots = descend(torch("Adam", amsgrad=True, betas=[0.0, 0.5]), W0, [0.5] * 4)
    peak = slots["max_exp_avg_sq"][-1]
    assert (peak > slots["exp_avg_sq"][-1]).all()
    np.testing.assert_array_equal(peak, slots["exp_avg_sq"].max(axis=0))
    g3 = 2 * (w[3] + 1)  # β1 = 0: m = g, no first-moment correction
    np.testing.assert_allclose(w[4], w[3] - 0.5 * g3 / (np.sqrt(peak) / np.sqrt(1 - 0.5**4) + 1e-8), rtol=1e-14)


def test_decoupled_weight_decay_shrinks_the_weights_by_one_minus_lr_times_decay() -> None:
    """On a flat loss (g = 0) Adam's moments stay 0: only the decoupled decay p·(1 − lr·wd) moves p."""
    for optimizer in (torch("AdamW", weight_decay=0.5), torch("NAdam", weight_decay=0.5, decoupled_weight_decay=True)):
        w, _ = descend(optimizer, W0, [LR, LR], a=0.0)
        np.testing.assert_allclose(w[2], W0 * (1 - LR * 0.5) ** 2, rtol=1e-15)


def test_nadam_mu_product_is_a_float32_tensor_even_in_float64_runs() -> None:
    _, slots = descend(torch("NAdam", F64), W0, [LR] * 3)
    product = f32(1)
    for t in (1, 2, 3):
        product = f32(product * f32(0.9 * (1 - 0.5 * 0.96 ** (t * 4e-3))))
        assert slots["mu_product"][t][0, 0] == product


# --------------------------------------------------------------------------------------------------------------------
# float32: torch's fused ops round once


def fused(y: Any, x: Any, alpha: Any) -> np.float32:
    """`y.add_(x, alpha=a)` on CPU float32: one rounding of `y + a·x`."""
    return f32(float(y) + float(f32(alpha)) * float(x))


@settings(max_examples=200)
@given(
    st.floats(-10, 10, width=32),
    st.floats(0.0009765625, 1, width=32),
    st.floats(0.05, 0.95),
    st.floats(0, 0.9),
)
def test_float32_sgd_momentum_rounds_like_torch_fused_kernels(w: float, rate: float, mu: float, damp: float) -> None:
    """`buf.mul_(μ).add_(g, alpha=1−d)` = fma(g, f32(1−d), f32(buf·μ)); `p.add_(buf, alpha=−lr)` rounds once."""
    start = np.array([[w]], np.float32)
    rows, slots = descend(torch("SGD", F32, momentum=mu, dampening=damp), start, [rate, rate])
    g0, g1 = (f32(2) * (rows[t] + f32(1)) for t in (0, 1))
    assert rows[1][0, 0] == fused(start[0, 0], g0[0, 0], -f32(rate))
    buf = fused(f32(g0[0, 0] * f32(mu)), g1[0, 0], 1 - damp)
    assert slots["momentum_buffer"][2][0, 0] == buf
    assert rows[2][0, 0] == fused(rows[1][0, 0], buf, -f32(rate))


def lerp(y: np.float32, x: np.float32, weight: float) -> np.float32:
    """torch's `lerp_` on float32: `y + w·(x−y)` for |w| < 0.5, else `x − (x−y)·(1−w)`, each rounded once."""
    w = f32(weight)
    diff = f32(x - y)
    if abs(w) < 0.5:
        return f32(float(w) * float(diff) + float(y))
    return f32(float(x) - float(f32(1 - w)) * float(diff))


@settings(max_examples=200)
@given(st.floats(-10, 10, width=32), st.floats(0.0, 0.95))
def test_float32_adam_first_moment_is_torch_lerp(w: float, beta1: float) -> None:
    """`exp_avg.lerp_(g, 1 − β1)`: both of torch's lerp formulas (weight below and above 0.5)."""
    start = np.array([[w]], np.float32)
    rows, slots = descend(torch("Adam", F32, betas=[beta1, 0.999]), start, [0.01, 0.01])
    g0, g1 = (f32(2) * (rows[t][0, 0] + f32(1)) for t in (0, 1))
    first = lerp(f32(0), g0, 1 - beta1)
    assert slots["exp_avg"][1][0, 0] == first
    assert slots["exp_avg"][2][0, 0] == lerp(first, g1, 1 - beta1)


# --------------------------------------------------------------------------------------------------------------------
# Momentum cycling (CyclicLR / OneCycleLR write momentum or beta1 into the optimizer)


def test_cycled_momentum_switches_sgd_momentum_on() -> None:
    """Plain SGD(momentum=0) under a cycling scheduler: the buffer starts as g, then `μ_t·buf + g`."""
    w, slots = descend(torch("SGD"), W0, [LR, LR], momenta=[0.95, 0.8])
    g1 = 2 * (w[1] + 1)
    np.testing.assert_allclose(w[1], W0 - LR * G0, rtol=1e-15)
    np.testing.assert_allclose(slots["momentum_buffer"][2], 0.8 * G0 + g1, rtol=1e-15)
    np.testing.assert_allclose(w[2], w[1] - LR * (0.8 * G0 + g1), rtol=1e-15)


@pytest.mark.parametrize(
    ("kind", "cycled", "fixed"),
    [
        ("SGD", {"momentum": 0.5, "nesterov": True}, {"momentum": 0.7, "nesterov": True}),
        ("RMSprop", {"momentum": 0.2}, {"momentum": 0.7}),
        ("Adam", {}, {"betas": [0.7, 0.999]}),
        ("AdamW", {}, {"betas": [0.7, 0.999]}),
        ("Adamax", {}, {"betas": [0.7, 0.999]}),
        ("NAdam", {}, {"betas": [0.7, 0.999]}),
    ],
)
def test_a_constant_cycled_momentum_is_the_same_as_constructing_with_it(
    kind: str, cycled: dict[str, Any], fixed: dict[str, Any]
) -> None:
    """The cycled value replaces momentum (SGD, RMSprop) or beta1 (the Adam family) in every formula."""
    rates = [LR] * 5
    ours, _ = descend(torch(kind, **cycled), W0, rates, momenta=[0.7] * 5)
    theirs, _ = descend(torch(kind, **fixed), W0, rates)
    np.testing.assert_array_equal(ours, theirs)


# --------------------------------------------------------------------------------------------------------------------
# torch's ValueError rules


@pytest.mark.parametrize(
    ("kind", "parameters", "loc", "text"),
    [
        ("SGD", {"momentum": -0.1}, "momentum", "Invalid momentum value: -0.1"),
        ("SGD", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        ("SGD", {"nesterov": True}, "momentum", "Nesterov momentum requires a momentum and zero dampening"),
        ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening", "zero dampening"),
        ("Adagrad", {"lr_decay": -1.0}, "lr_decay", "Invalid lr_decay value: -1.0"),
        ("Adagrad", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        (
            "Adagrad",
            {"initial_accumulator_value": -0.5},
            "initial_accumulator_value",
            "Invalid initial_accumulator_value value: -0.5",
        ),
        ("Adagrad", {"eps": -1e-10}, "eps", "Invalid epsilon value: -1e-10"),
        ("RMSprop", {"eps": -1.0}, "eps", "Invalid epsilon value: -1.0"),
        ("RMSprop", {"momentum": -1.0}, "momentum", "Invalid momentum value: -1.0"),
        ("RMSprop", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        ("RMSprop", {"alpha": -0.5}, "alpha", "Invalid alpha value: -0.5"),
        ("Adam", {"eps": -1.0}, "eps", "Invalid epsilon value: -1.0"),
        ("Adam", {"betas": [1.0, 0.999]}, ("betas", 0), "Invalid beta parameter at index 0: 1.0"),
        ("Adam", {"betas": [0.9, -0.1]}, ("betas", 1), "Invalid beta parameter at index 1: -0.1"),
        ("Adam", {"betas": [0.9]}, "betas", "two numbers"),
        ("Adam", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        ("AdamW", {"betas": [0.9, 1.0]}, ("betas", 1), "Invalid beta parameter at index 1: 1.0"),
        ("AdamW", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        ("Adamax", {"eps": -1.0}, "eps", "Invalid epsilon value: -1.0"),
        ("Adamax", {"betas": [-0.5, 0.9]}, ("betas", 0), "Invalid beta parameter at index 0: -0.5"),
        ("Adamax", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
        ("NAdam", {"betas": [0.9, 2.0]}, ("betas", 1), "Invalid beta parameter at index 1: 2.0"),
        ("NAdam", {"momentum_decay": -1.0}, "momentum_decay", "Invalid momentum_decay value: -1.0"),
        ("NAdam", {"eps": -1.0}, "eps", "Invalid epsilon value: -1.0"),
        ("Adadelta", {"rho": 1.5}, "rho", "Invalid rho value: 1.5"),
        ("Adadelta", {"rho": -0.1}, "rho", "Invalid rho value: -0.1"),
        ("Adadelta", {"eps": -1.0}, "eps", "Invalid epsilon value: -1.0"),
        ("Adadelta", {"weight_decay": -1.0}, "weight_decay", "Invalid weight_decay value: -1.0"),
    ],
)
def test_torch_rules_are_refused_with_torch_message(
    kind: str, parameters: dict[str, Any], loc: str | tuple[str, int], text: str
) -> None:
    with pytest.raises(ParameterError) as refused:
        torch(kind, **parameters)
    assert refused.value.name == loc
    assert text in refused.value.message


@pytest.mark.parametrize(
    ("kind", "parameters"),
    [
        ("SGD", {"momentum": 0.0, "dampening": 5.0}),  # torch does not check dampening
        ("RMSprop", {"alpha": 1.5}),  # nor alpha above 1
        ("Adam", {"betas": [0.0, 0.0], "eps": 0.0}),
        ("Adadelta", {"rho": 1.0}),
        ("SGD", {"nesterov": True, "momentum": 0.9}),
    ],
)
def test_what_torch_accepts_is_accepted(kind: str, parameters: dict[str, Any]) -> None:
    torch(kind, **parameters)
