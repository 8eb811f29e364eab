"""Expression losses: the whitelist refuses with the token and its column; gradients are exact (checked against
finite differences on random formulas); batches equal single runs; the run's dtype is kept."""

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from service.engine.analysis import Verdict, loss_facts
from service.engine.errors import ParameterError
from service.engine.execute import run_one
from service.engine.expressions import FUNCTIONS, MAX_LENGTH, expression
from service.engine.loop import Problem
from service.engine.losses import quadratic
from service.engine.optimizers import GradientDescent
from service.engine.schedules import constant

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
Floats = npt.NDArray[np.float64]
Reference = Callable[[Floats], Floats]
"""w shaped (..., D) -> the formula's value shaped (...), computed directly with NumPy in float64."""


def gradient_of(formula: str, w: Floats, dtype: np.dtype[np.floating] = F64) -> Floats:
    loss = expression(formula, w.shape[-1], dtype)
    out = np.empty(w.shape, dtype)
    loss.gradient(w.astype(dtype), out)
    return out


def value_of(formula: str, w: Floats, dtype: np.dtype[np.floating] = F64) -> Floats:
    return np.asarray(expression(formula, w.shape[-1], dtype).value(w.astype(dtype)[None])[0], np.float64)


# Random formulas ------------------------------------------------------------------------------------------------

REFERENCES: dict[str, Callable[[Floats], Floats]] = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "abs": np.abs,
    "square": lambda x: x * x,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "atan": np.arctan,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "softplus": lambda x: np.log(1 + np.exp(x)),
}
"""Each function computed independently of the engine's way (sigmoid by its definition, not through tanh)."""


def variables(dims: int) -> st.SearchStrategy[tuple[str, Reference]]:
    names = {1: ["w", "x", "w[0]"], 2: ["x", "y", "w[0]", "w[1]"]}.get(dims, [f"w[{i}]" for i in range(dims)])

    def leaf(name: str) -> tuple[str, Reference]:
        index = 0 if name in ("w", "x") else 1 if name == "y" else int(name[2:-1])
        return name, lambda w: w[..., index]

    return st.sampled_from(names).map(leaf)


CONSTANTS = {"0.5": 0.5, "1": 1.0, "2": 2.0, "3": 3.0, "1.5": 1.5, "0.25": 0.25, "pi": math.pi, "e": math.e}


def number(text: str) -> tuple[str, Reference]:
    return text, lambda w: np.full(w.shape[:-1], CONSTANTS[text])


numbers = st.sampled_from(sorted(CONSTANTS)).map(number)


def extend(children: st.SearchStrategy[tuple[str, Reference]]) -> st.SearchStrategy[tuple[str, Reference]]:
    def binary(op: str, a: tuple[str, Reference], b: tuple[str, Reference]) -> tuple[str, Reference]:
        fa, fb = a[1], b[1]
        apply = {
            "+": lambda w: fa(w) + fb(w),
            "-": lambda w: fa(w) - fb(w),
            "*": lambda w: fa(w) * fb(w),
            "/": lambda w: fa(w) / fb(w),
            "**": lambda w: fa(w) ** fb(w),
        }[op]
        return f"({a[0]}) {op} ({b[0]})", apply

    def function(name: str, a: tuple[str, Reference]) -> tuple[str, Reference]:
        return f"{name}({a[0]})", lambda w: REFERENCES[name](a[1](w))

    def power(a: tuple[str, Reference], k: str) -> tuple[str, Reference]:
        return f"({a[0]})**{k}", lambda w: a[1](w) ** float(k)

    return st.one_of(
        st.builds(binary, st.sampled_from(["+", "-", "*", "/", "**"]), children, children),
        st.builds(function, st.sampled_from(sorted(REFERENCES)), children),
        st.builds(power, children, st.sampled_from(["2", "3", "0.5", "-1", "1.5", "4"])),
        children.map(lambda a: (f"-({a[0]})", lambda w: -a[1](w))),
    )


@st.composite
def formulas(draw: st.DrawFn) -> tuple[str, Reference, Floats]:
    dims = draw(st.integers(1, 3))
    leaves = st.one_of(variables(dims), numbers)
    text, reference = draw(st.recursive(leaves, extend, max_leaves=12))
    magnitudes = draw(st.lists(st.floats(0.01, 2.5), min_size=dims, max_size=dims))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=dims, max_size=dims))
    return text, reference, np.array(magnitudes) * np.array(signs)


def differences(reference: Reference, w: Floats, step: float) -> tuple[Floats, Floats, Floats]:
    """Central, forward and backward differences per coordinate."""
    eye = np.eye(w.size) * step * np.maximum(1, np.abs(w))[:, None]
    h = np.diag(eye)
    with np.errstate(all="ignore"):
        here, up, down = reference(w), reference(w + eye), reference(w - eye)
        return (up - down) / (2 * h), (up - here) / h, (here - down) / h


@settings(max_examples=500)
@given(formulas())
def test_gradient_of_random_formulas_matches_finite_differences(case: tuple[str, Reference, Floats]) -> None:
    text, reference, w = case
    try:
        loss = expression(text, w.size, F64)
    except ParameterError as refused:  # a constant part that is not finite, such as log(0.5 - 0.5)
        assume("finite" not in refused.message)
        raise
    with np.errstate(all="ignore"):
        expected = float(reference(w))
        value = float(loss.value(w[None, None])[0, 0])
        gradient = np.empty((1, w.size))
        loss.gradient(w[None], gradient)
    assume(math.isfinite(expected) and abs(expected) < 1e6 and np.isfinite(gradient).all())
    # Where the gradient jumps between neighbouring points, it is the difference of huge intermediate terms that
    # cancel (y / (y / x) with y tiny): exact in real numbers, rounding noise in floats, for any AD. No verdict.
    nearby = np.empty_like(gradient)
    with np.errstate(all="ignore"):
        loss.gradient(w[None] * (1 + 1e-9), nearby)
    assume(np.all(np.abs(nearby - gradient) <= 1e-5 * (1 + np.abs(gradient))))
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    coarse, forward, backward = differences(reference, w, 1e-5)
    fine, _, _ = differences(reference, w, 2.5e-6)
    # Where two step sizes disagree the function is not smooth enough there (a pole), and where the one-sided
    # differences disagree it has a kink (abs at 0): no verdict at such points.
    assume(np.isfinite(coarse).all() and np.isfinite(forward).all() and np.isfinite(backward).all())
    assume(np.all(np.abs(coarse - fine) <= 1e-6 * (1 + np.abs(fine))))
    assume(np.all(np.abs(forward - backward) <= 1e-2 * (1 + np.abs(fine))))
    np.testing.assert_allclose(gradient[0], fine, rtol=1e-5, atol=1e-5, err_msg=text)


@settings(max_examples=200)
@given(formulas(), st.integers(2, 9), st.sampled_from([F32, F64]))
def test_a_batch_of_runs_gives_what_each_run_gives_alone(
    case: tuple[str, Reference, Floats], runs: int, dtype: np.dtype[np.floating]
) -> None:
    text, _, w = case
    try:
        loss = expression(text, w.size, dtype)
    except ParameterError:
        assume(False)
    batch = (w + np.linspace(-1, 1, runs)[:, None]).astype(dtype)
    with np.errstate(all="ignore"):
        together = np.empty_like(batch)
        loss.gradient(batch, together)
        alone = np.concatenate([_gradient(loss.gradient, batch[r : r + 1]) for r in range(runs)])
        rows = np.stack([batch, batch[::-1]])  # (n = 2, R, D)
        values = loss.value(rows)
        single = np.array([[loss.value(rows[i : i + 1, r : r + 1])[0, 0] for r in range(runs)] for i in range(2)])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(values, single)
    assert values.dtype == dtype
    assert values.shape == (2, runs)


def _gradient(gradient: Callable[[npt.NDArray[np.floating], npt.NDArray[np.floating]], None], w: Floats) -> Floats:
    out = np.empty_like(w)
    gradient(w, out)
    return out


# Every function, operator and variable form ----------------------------------------------------------------------

DERIVATIVES: dict[str, tuple[float, float]] = {
    # name: (point, derivative there), closed forms by hand
    "exp": (0.7, math.exp(0.7)),
    "log": (0.7, 1 / 0.7),
    "sqrt": (0.7, 0.5 / math.sqrt(0.7)),
    "sin": (0.7, math.cos(0.7)),
    "cos": (0.7, -math.sin(0.7)),
    "tan": (0.7, 1 / math.cos(0.7) ** 2),
    "tanh": (0.7, 1 - math.tanh(0.7) ** 2),
    "sinh": (0.7, math.cosh(0.7)),
    "cosh": (0.7, math.sinh(0.7)),
    "abs": (-0.7, -1.0),
    "square": (0.7, 1.4),
    "log1p": (0.7, 1 / 1.7),
    "expm1": (0.7, math.exp(0.7)),
    "atan": (0.7, 1 / (1 + 0.49)),
    "sigmoid": (0.7, math.exp(-0.7) / (1 + math.exp(-0.7)) ** 2),
    "softplus": (0.7, 1 / (1 + math.exp(-0.7))),
}


def test_every_function_has_a_checked_derivative() -> None:
    assert set(DERIVATIVES) == set(FUNCTIONS) == set(REFERENCES)


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_function_derivatives(name: str) -> None:
    point, derivative = DERIVATIVES[name]
    w = np.array([[point]])
    assert gradient_of(f"{name}(w)", w)[0, 0] == pytest.approx(derivative, rel=1e-14)
    assert value_of(f"{name}(w)", w)[0] == pytest.approx(REFERENCES[name](np.array(point)), rel=1e-14)


@pytest.mark.parametrize(
    ("formula", "w", "expected"),
    [
        ("w**w", [1.5], [1.5**1.5 * (math.log(1.5) + 1)]),
        ("2**w", [1.5], [2**1.5 * math.log(2)]),
        ("3/w", [1.5], [-3 / 1.5**2]),
        ("w/3", [1.5], [1 / 3]),
        ("w**-1", [2.0], [-0.25]),
        ("w**0.5", [4.0], [0.25]),
        ("-w + +w - -w", [4.0], [1.0]),
        ("w*w*w", [2.0], [12.0]),
        ("(w + 1)**0", [2.0], [0.0]),
        ("x*y**2", [2.0, 3.0], [9.0, 12.0]),
        ("w[0] - 2*w[2]", [1.0, 5.0, 1.0], [1.0, 0.0, -2.0]),
        ("x + w[0]", [1.0], [2.0]),
        ("7", [1.0, 2.0], [0.0, 0.0]),
        ("exp(x)*exp(x)", [0.5, 0.0], [2 * math.exp(1.0), 0.0]),
        ("sin(x) + sin(x)", [0.5, 0.0], [2 * math.cos(0.5), 0.0]),
    ],
)
def test_gradients_by_hand(formula: str, w: list[float], expected: list[float]) -> None:
    np.testing.assert_allclose(gradient_of(formula, np.array([w]))[0], expected, rtol=1e-14)


def test_course_formula_reproduces_the_built_in_quadratic_bit_for_bit_in_float32() -> None:
    formula, built_in = expression("(w + 1)**2", 1, F32), quadratic(1, 1, 0, 1, F32)
    w = np.array([[5.0]], np.float32)
    for _ in range(40):
        mine, theirs = np.empty_like(w), np.empty_like(w)
        formula.gradient(w, mine)
        built_in.gradient(w, theirs)
        assert mine.tobytes() == theirs.tobytes()
        assert formula.value(w[None]).tobytes() == built_in.value(w[None]).tobytes()
        w = (w - np.float32(0.2) * mine).astype(np.float32)


@pytest.mark.parametrize(
    ("formula", "reference"),
    [
        ("exp(w) * w - 0.1", lambda w: np.exp(w) * w - np.float32(0.1)),
        ("sqrt(w) / (w + 3)", lambda w: np.sqrt(w) / (w + np.float32(3))),
        ("tanh(w)**3", lambda w: np.power(np.tanh(w), np.float32(3))),
    ],
)
def test_float32_runs_compute_in_float32(formula: str, reference: Callable[[npt.NDArray[np.float32]], object]) -> None:
    w = np.array([[[0.3], [1.7]]], np.float32)
    value = expression(formula, 1, F32).value(w)
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, np.asarray(reference(w[..., 0])))


def test_value_is_a_new_array_even_for_a_bare_variable() -> None:
    w = np.array([[[3.0]]])
    value = expression("w", 1, F64).value(w)
    value[0, 0] = 7
    assert w[0, 0, 0] == 3


def test_a_constant_formula_has_a_value_per_row_and_zero_gradient() -> None:
    loss = expression("2 * pi", 2, F64)
    assert loss.value(np.zeros((3, 4, 2))).tolist() == [[2 * math.pi] * 4] * 3
    assert gradient_of("2 * pi", np.ones((4, 2))).tolist() == [[0.0, 0.0]] * 4


# Refusals: the token and its column -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "dims", "token", "column"),
    [
        ("import os", 1, "import", 1),
        ("lambda w: w", 1, "lambda", 1),
        ("w if w > 0 else 0", 1, "if", 3),
        ("w > 0", 1, ">", 3),
        ("w and 1", 1, "and", 3),
        ("not w", 1, "not", 1),
        ("~w", 1, "~", 1),
        ("w % 2", 1, "%", 3),
        ("(w) // (2)", 1, "//", 5),
        ("w @ w", 1, "@", 3),
        ("w.real", 1, "w.real", 1),
        ("np.exp(w)", 1, "np.exp", 1),
        ("__import__('os')", 1, "__import__", 1),
        ("open", 1, "open", 1),
        ("max(w, 1)", 1, "max", 1),
        ("exp(w, base=2)", 1, "base=2", 8),
        ("exp(*w)", 1, "*w", 5),
        ("exp(w, w)", 1, "exp(w, w)", 1),
        ("exp", 1, "exp", 1),
        ("foo + w", 1, "foo", 1),
        ("w + 'a'", 1, "'a'", 5),
        ("w + f'{w}'", 1, "f'{w}'", 5),
        ("1j * w", 1, "1j", 1),
        ("True * w", 1, "True", 1),
        ("(w, 1)", 1, "(w, 1)", 1),
        ("[w]", 1, "[w]", 1),
        ("w + (z := 1)", 1, "z := 1", 6),
        ("w[1]", 1, "w[1]", 1),
        ("x + w[-1]", 2, "w[-1]", 5),
        ("w[0.5]", 1, "w[0.5]", 1),
        ("w[0:1]", 1, "w[0:1]", 1),
        ("x[0]", 2, "x[0]", 1),
        ("w + y", 1, "y", 5),
        ("w**2", 2, "w", 1),
        ("w +", 1, "+", 3),
        ("(w + 1", 1, "(", 1),
        ("w)", 1, ")", 2),
        ("w w", 1, "w", 3),
        ("w; w", 1, ";", 2),
        ("w²", 1, "²", 2),
        ("w\n+ 1", 1, "\\n", 2),
        ("1e39 * w", 1, "1e39", 1),
        ("w + 10**39", 1, "10**39", 5),
        ("w + log(0)", 1, "log(0)", 5),
        ("w * 1e999", 1, "1e999", 5),
        ("exp(" * 51 + "w" + ")" * 51, 1, "exp", 197),
        ("w" + "+w" * 130, 1, "w", 241),  # term 251: the 130 additions, then the 121st w
    ],
)
def test_refusals_quote_the_token_and_its_column(formula: str, dims: int, token: str, column: int) -> None:
    with pytest.raises(ParameterError) as refused:
        expression(formula, dims, F32)
    assert refused.value.name == "formula"
    assert refused.value.message.startswith(f"`{token}` at column {column} "), refused.value.message


def test_refusals_say_what_is_allowed() -> None:
    with pytest.raises(ParameterError) as refused:
        expression("import os", 1, F64)
    assert refused.value.message.startswith("`import` at column 1 is not allowed; use numbers, w")
    for name in FUNCTIONS:
        assert name in refused.value.message


def test_length_limit() -> None:
    longest = "w" + " " * (MAX_LENGTH - 1)
    assert expression(longest, 1, F64).dims == 1
    with pytest.raises(ParameterError, match=f"at column {MAX_LENGTH + 1} is past the limit"):
        expression(longest + " ", 1, F64)


def test_a_long_flat_sum_is_not_deep() -> None:
    formula = "+".join(f"w[{i % 5}]" for i in range(80))  # 80 terms, 79 additions: one level
    assert expression(formula, 5, F64).value(np.ones((1, 1, 5)))[0, 0] == 80


def test_empty_formula() -> None:
    with pytest.raises(ParameterError, match="empty"):
        expression("   ", 1, F64)


def test_a_suggestion_for_a_near_miss() -> None:
    with pytest.raises(ParameterError, match="did you mean sqrt"):
        expression("sqr(w)", 1, F64)


# What the analysis learns from a formula -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "dims", "bounded"),
    [
        ("(w + 1)**2", 1, True),
        ("w**4 - 3*w", 1, True),
        ("w**3", 1, False),
        ("-(w**2)", 1, False),
        ("w", 1, False),
        ("7", 1, True),
        ("x**2 + 10*y**2", 2, True),
        ("x**2 - y**2", 2, False),
        ("x*y", 2, False),
        ("(x + y)**2 + x + y", 2, True),  # flat along x = -y, and b is in the range
        ("(x + y)**2 + x - y", 2, False),  # flat along x = -y, and falling along it
        ("x**3 + y**2", 2, False),
        ("x**4 + y**4", 2, True),  # an even multivariate quartic: not decided, so True
        ("exp(w)", 1, True),
        ("log(w)", 1, True),  # unbounded, but not a polynomial: not decided, so True
    ],
)
def test_bounded_below(formula: str, dims: int, bounded: bool) -> None:
    assert expression(formula, dims, F64).bounded_below().tolist() == [bounded]


def test_polynomial_formulas_are_expanded() -> None:
    assert expression("(w + 1)**2", 1, F64).terms == {((0, 2),): 1.0, ((0, 1),): 2.0, (): 1.0}
    assert expression("x*y - y*x + 2", 2, F64).terms == {(): 2.0}
    assert expression("sin(w)", 1, F64).terms is None
    assert expression("w**40", 1, F64).terms is None  # beyond the degree the expansion follows


def test_a_formula_that_is_a_polynomial_gets_the_polynomial_facts() -> None:
    assert loss_facts(expression("(w + 1)**2", 1, F32)) == {
        "kind": "expression",
        "bounded_below": True,
        "minimum": {"w": [-1.0], "loss": 0.0},
        "curvature": [2.0],
        "max_stable_lr": 1.0,
        "one_step_lr": 0.5,
    }


def test_a_formula_that_is_a_quadratic_form_gets_its_facts() -> None:
    facts = loss_facts(expression("(x - 1)**2 + 10*(y + 2)**2", 2, F64))
    assert facts is not None
    assert facts["minimum"] == {"w": pytest.approx([1.0, -2.0]), "loss": pytest.approx(0.0, abs=1e-12)}
    assert facts["curvature"] == pytest.approx([2.0, 20.0])
    assert facts["max_stable_lr"] == pytest.approx(0.1)
    free = loss_facts(expression("w[1]**2", 3, F64))  # w[0] and w[2] are free
    assert free is not None
    assert free["minimum"] == {"w": [0.0, 0.0, 0.0], "loss": 0.0}
    assert free["curvature"] == [0.0, 0.0, 2.0]


def test_other_formulas_only_say_whether_they_are_bounded() -> None:
    assert loss_facts(expression("exp(w) - w", 1, F64)) == {
        "kind": "expression",
        "bounded_below": True,
        "minimum": None,
        "curvature": None,
        "max_stable_lr": None,
        "one_step_lr": None,
    }


@pytest.mark.parametrize(
    ("formula", "w0", "rate", "verdict"),
    [
        ("(w + 1)**2", [5.0], 1.0, Verdict.OSCILLATING),  # the course's rate 1
        ("w**3", [1.0], 0.01, Verdict.UNBOUNDED),
        ("exp(w) - w", [2.0], 0.5, Verdict.CONVERGED),
        ("(1 - x)**2 + 100*(y - x**2)**2", [-1.0, 1.0], 0.01, Verdict.DIVERGED),
    ],
)
def test_runs_on_formulas(formula: str, w0: list[float], rate: float, verdict: Verdict) -> None:
    problem = Problem(
        expression(formula, len(w0), F32), constant(rate, F32), GradientDescent(), np.array([w0], np.float32), 300
    )
    assert run_one(problem).summary.verdict[0] is verdict


TOKENS = ["w", "x", "y", "w[0]", "w[1]", "w[9]", "(", ")", "+", "-", "*", "/", "**", "%", ",", ".", "1", "0", "2.5"]
TOKENS += ["1e308", "1e-320", "exp", "log", "sqrt", "abs", "pi", "lambda", "if", "else", "[", "]", "=", ":", " ", "'"]


@settings(max_examples=1000)
@given(st.one_of(st.text(max_size=80), st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)))
def test_any_text_compiles_or_is_refused_with_a_parameter_error(text: str) -> None:
    problem: ParameterError | None = None
    try:
        loss = expression(text, 2, F32)
    except ParameterError as refused:
        problem = refused
    if problem is not None:
        assert problem.name == "formula"
        assert problem.message
        return
    with np.errstate(all="ignore"):
        value = loss.value(np.ones((3, 4, 2), np.float32))
        gradient = _gradient(loss.gradient, np.ones((4, 2), np.float32))
    assert value.shape == (3, 4)
    assert value.dtype == np.float32
    assert gradient.dtype == np.float32
