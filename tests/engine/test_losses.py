"""Losses: values and gradients against closed forms, shapes and refusals; the named test functions and the
quadratic form: minima, Hessians, batches equal to single runs in either dtype."""

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.engine import testfunctions
from service.engine.analysis import Verdict, loss_facts
from service.engine.errors import ParameterError
from service.engine.execute import run_one
from service.engine.loop import Problem
from service.engine.losses import Loss, QuadraticForm, polynomial, quadratic, quadratic_form
from service.engine.optimizers import GradientDescent
from service.engine.schedules import constant
from service.engine.testfunctions import NamedFunction

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(a=finite, b=finite, c=finite, w=finite)
def test_quadratic_matches_tensorflow_order_in_float32(a: float, b: float, c: float, w: float) -> None:
    loss = quadratic(a, b, c, 1, F32)
    x = np.array([[w]], np.float32)
    shifted = np.float32(x[0, 0] + np.float32(b))
    expected = np.float32(np.float32(np.float32(shifted * shifted) * np.float32(a)) + np.float32(c))
    assert loss.value(x[None])[0, 0] == expected
    gradient = np.empty_like(x)
    loss.gradient(x, out=gradient)
    assert gradient[0, 0] == np.float32(np.float32(a) * np.float32(2) * shifted)


def test_quadratic_sums_over_dimensions() -> None:
    loss = quadratic([1, 2], [0, 1], [3, 4], 2, F64)
    w = np.array([[1.0, 1.0]])
    assert loss.value(w[None])[0, 0] == pytest.approx(1 * 1 + 3 + 2 * 4 + 4)
    gradient = np.empty_like(w)
    loss.gradient(w, out=gradient)
    np.testing.assert_array_equal(gradient, [[2.0, 8.0]])  # a·2·(w + b) per dimension


@given(coefficients=st.lists(finite, min_size=1, max_size=6), w=st.floats(-3, 3))
def test_polynomial_agrees_with_numpy_polynomial(coefficients: list[float], w: float) -> None:
    loss = polynomial(coefficients, 1, F64)
    x = np.array([[w]])
    reference = np.polynomial.Polynomial(coefficients)
    scale = 1 + np.abs(coefficients).sum() * 3 ** len(coefficients)
    assert loss.value(x[None])[0, 0] == pytest.approx(reference(w), abs=1e-12 * scale)
    gradient = np.empty_like(x)
    loss.gradient(x, out=gradient)
    assert gradient[0, 0] == pytest.approx(reference.deriv()(w), abs=1e-12 * scale)


@pytest.mark.parametrize(
    ("coefficients", "bounded"),
    [([3.0], True), ([0, 1], False), ([1, 0, 2], True), ([1, 0, -2], False), ([0, 0, 0, 1], False)],
)
def test_polynomial_knows_whether_it_is_bounded_below(coefficients: list[float], bounded: bool) -> None:
    assert polynomial(coefficients, 1, F64).bounded_below()[0] == bounded


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: quadratic([1, 2], 0, 0, 3, F32), "a"),
        (lambda: quadratic(1, 1e39, 0, 1, F32), "b"),
        (lambda: polynomial([1, 2], 2, F64), "coefficients"),
    ],
)
def test_factories_name_the_parameter_they_refuse(build: object, name: str) -> None:
    with pytest.raises(ParameterError) as refused:
        build()  # type: ignore[operator]
    assert refused.value.name == name


# Named test functions and the quadratic form -------------------------------------------------------------------

NAMED: list[tuple[str, Callable[[np.dtype[np.floating]], Loss], int]] = [
    ("rosenbrock", lambda dtype: testfunctions.rosenbrock(1, 100, 2, dtype), 2),
    ("rosenbrock-5d", lambda dtype: testfunctions.rosenbrock(1, 100, 5, dtype), 5),
    ("rosenbrock-a2", lambda dtype: testfunctions.rosenbrock(2, 10, 2, dtype), 2),
    ("himmelblau", lambda dtype: testfunctions.two_dimensional("himmelblau", 2), 2),
    ("beale", lambda dtype: testfunctions.two_dimensional("beale", 2), 2),
    ("booth", lambda dtype: testfunctions.two_dimensional("booth", 2), 2),
    ("quadratic_form", lambda dtype: quadratic_form([[3, 1], [-1, 2]], [1, -2], 0.5, 2, dtype), 2),
    ("quadratic_form-3d", lambda dtype: quadratic_form([[2, 1, 0], [1, 3, 1], [0, 1, 4]], 1, 0, 3, dtype), 3),
]
REFERENCE: dict[str, Callable[[npt.NDArray[np.float64]], float]] = {
    "rosenbrock": lambda w: sum(100 * (w[i + 1] - w[i] ** 2) ** 2 + (1 - w[i]) ** 2 for i in range(len(w) - 1)),
    "rosenbrock-5d": lambda w: sum(100 * (w[i + 1] - w[i] ** 2) ** 2 + (1 - w[i]) ** 2 for i in range(len(w) - 1)),
    "rosenbrock-a2": lambda w: 10 * (w[1] - w[0] ** 2) ** 2 + (2 - w[0]) ** 2,
    "himmelblau": lambda w: (w[0] ** 2 + w[1] - 11) ** 2 + (w[0] + w[1] ** 2 - 7) ** 2,
    "beale": lambda w: sum((c - w[0] + w[0] * w[1] ** i) ** 2 for i, c in ((1, 1.5), (2, 2.25), (3, 2.625))),
    "booth": lambda w: (w[0] + 2 * w[1] - 7) ** 2 + (2 * w[0] + w[1] - 5) ** 2,
    "quadratic_form": lambda w: 0.5 * w @ np.array([[3, 1], [-1, 2]]) @ w + np.array([1, -2]) @ w + 0.5,
    "quadratic_form-3d": lambda w: 0.5 * w @ np.array([[2, 1, 0], [1, 3, 1], [0, 1, 4]]) @ w + w.sum(),
}
NAMED_IDS = [name for name, _, _ in NAMED]
points = st.lists(st.floats(-3, 3), min_size=5, max_size=5).map(np.array)


def _gradient(loss: Loss, w: npt.NDArray[np.floating]) -> npt.NDArray[np.floating]:
    out = np.empty_like(w)
    loss.gradient(w, out)
    return out


@pytest.mark.parametrize(("name", "build", "dims"), NAMED, ids=NAMED_IDS)
@given(point=points)
def test_named_values_and_gradients(
    name: str, build: Callable[[np.dtype[np.floating]], Loss], dims: int, point: npt.NDArray[np.float64]
) -> None:
    loss, w = build(F64), point[:dims]
    value = loss.value(w[None, None])[0, 0]
    assert value == pytest.approx(REFERENCE[name](w), rel=1e-12, abs=1e-9)
    h = 1e-6
    numeric = [(REFERENCE[name](w + h * e) - REFERENCE[name](w - h * e)) / (2 * h) for e in np.eye(dims)]
    np.testing.assert_allclose(_gradient(loss, w[None])[0], numeric, rtol=1e-6, atol=1e-5 * (1 + abs(value)))


@pytest.mark.parametrize(("name", "build", "dims"), NAMED, ids=NAMED_IDS)
@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_named_batches_equal_single_runs_in_the_run_dtype(
    name: str, build: Callable[[np.dtype[np.floating]], Loss], dims: int, dtype: np.dtype[np.floating]
) -> None:
    loss = build(dtype)
    w = np.random.default_rng(7).uniform(-3, 3, (33, dims)).astype(dtype)
    together = _gradient(loss, w)
    alone = np.concatenate([_gradient(loss, w[r : r + 1]) for r in range(len(w))])
    np.testing.assert_array_equal(together, alone)
    rows = np.stack([w, w[::-1], w * 2])
    values = loss.value(rows)
    assert values.dtype == dtype
    assert together.dtype == dtype
    np.testing.assert_array_equal(
        values, [[loss.value(rows[i : i + 1, r : r + 1])[0, 0] for r in range(33)] for i in range(3)]
    )
    wide = build(F64)
    np.testing.assert_allclose(values, wide.value(rows.astype(np.float64)), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    ("build", "minima"),
    [
        (lambda: testfunctions.rosenbrock(1, 100, 2, F64), [[1, 1]]),
        (lambda: testfunctions.rosenbrock(1, 100, 6, F64), [[1] * 6]),
        (lambda: testfunctions.rosenbrock(0, 100, 4, F64), [[0] * 4]),
        (lambda: testfunctions.rosenbrock(-1.5, 3, 2, F64), [[-1.5, 2.25]]),
        (lambda: testfunctions.two_dimensional("himmelblau", 2), testfunctions.Himmelblau.MINIMA),
        (lambda: testfunctions.two_dimensional("beale", 2), [[3, 0.5]]),
        (lambda: testfunctions.two_dimensional("booth", 2), [[1, 3]]),
    ],
)
def test_named_minima_have_zero_gradient_and_loss(
    build: Callable[[], NamedFunction], minima: list[list[float]]
) -> None:
    loss = build()
    assert [m.tolist() for m in loss.minima()] == [list(map(float, m)) for m in minima]
    for minimum in loss.minima():
        assert loss.value(minimum[None, None])[0, 0] == pytest.approx(0, abs=1e-28)
        np.testing.assert_allclose(_gradient(loss, minimum[None])[0], 0, atol=2e-14)


def test_rosenbrock_minimum_is_unknown_where_no_point_zeroes_every_term() -> None:
    assert testfunctions.rosenbrock(2, 100, 3, F64).minima() == []
    assert testfunctions.rosenbrock(1, -1, 2, F64).minima() == []
    assert testfunctions.rosenbrock(1, -1, 2, F64).bounded_below().tolist() == [False]


@pytest.mark.parametrize(("name", "build", "dims"), NAMED[:6], ids=NAMED_IDS[:6])
@given(point=points)
def test_named_hessians_match_the_gradients_differences(
    name: str, build: Callable[[np.dtype[np.floating]], Loss], dims: int, point: npt.NDArray[np.float64]
) -> None:
    loss = build(F64)
    assert isinstance(loss, NamedFunction)
    w, h = point[:dims], 1e-6
    numeric = np.array(
        [(_gradient(loss, (w + h * e)[None]) - _gradient(loss, (w - h * e)[None]))[0] / (2 * h) for e in np.eye(dims)]
    )
    hessian = loss.hessian(w)
    np.testing.assert_allclose(hessian, hessian.T)
    np.testing.assert_allclose(hessian, numeric, rtol=1e-6, atol=1e-4 * (1 + np.abs(hessian).max()))


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda: testfunctions.rosenbrock(1, 100, 1, F64), "kind"),
        (lambda: testfunctions.two_dimensional("himmelblau", 3), "kind"),
        (lambda: testfunctions.two_dimensional("booth", 1), "kind"),
        (lambda: testfunctions.rosenbrock(1e39, 100, 2, F32), "a"),
        (lambda: quadratic_form([[1, 2], [3]], 0, 0, 2, F64), ("A", 1)),
        (lambda: quadratic_form([[1, 2, 3]], 0, 0, 1, F64), ("A", 0)),
        (lambda: quadratic_form([[1, 0], [0, 1]], 0, 0, 3, F64), "A"),
        (lambda: quadratic_form([[1, 0], [0, 1]], [1, 2, 3], 0, 2, F64), "b"),
        (lambda: quadratic_form([[1e39]], 0, 0, 1, F32), "A"),
    ],
)
def test_named_and_quadratic_form_factories_name_the_parameter_they_refuse(
    build: Callable[[], Loss], name: str | tuple[str, int]
) -> None:
    with pytest.raises(ParameterError) as refused:
        build()
    assert refused.value.name == name


def test_quadratic_form_gradient_is_the_symmetric_part() -> None:
    a = np.array([[3.0, 5.0], [-1.0, 2.0]])
    loss = quadratic_form(a.tolist(), [1, -2], 0, 2, F64)
    w = np.array([[0.5, -1.5]])
    np.testing.assert_allclose(_gradient(loss, w)[0], 0.5 * (a + a.T) @ w[0] + [1, -2])


def test_quadratic_form_batched_parameters_match_single_runs() -> None:
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(6, 4, 4)), rng.normal(size=(6, 4)), rng.normal(size=6)
    batched = QuadraticForm(a, b, c)
    w = rng.normal(size=(6, 4))
    together, values = _gradient(batched, w), batched.value(w[None])[0]
    for r in range(6):
        single = QuadraticForm(a[r : r + 1], b[r : r + 1], c[r : r + 1])
        np.testing.assert_array_equal(together[r], _gradient(single, w[r : r + 1])[0])
        assert values[r] == single.value(w[None, r : r + 1])[0, 0]


@pytest.mark.parametrize(
    ("a", "b", "bounded"),
    [
        ([[2, 0], [0, 1]], [1, 1], True),  # positive definite
        ([[1, 1], [1, 1]], [1, 1], True),  # semi-definite, b in the range
        ([[1, 1], [1, 1]], [1, -1], False),  # semi-definite, falling along the flat direction
        ([[1, 0], [0, -1]], [0, 0], False),  # indefinite
        ([[0, 2], [-2, 0]], [0, 0], True),  # antisymmetric A: S = 0, a constant
        ([[0, 2], [-2, 0]], [0, 1], False),  # S = 0 and a slope
    ],
)
def test_quadratic_form_bounded_below(a: list[list[float]], b: list[float], bounded: bool) -> None:
    assert quadratic_form(a, b, 0, 2, F64).bounded_below().tolist() == [bounded]


# What the analysis knows about them -------------------------------------------------------------------------------


def test_booth_facts() -> None:
    assert loss_facts(testfunctions.two_dimensional("booth", 2)) == {
        "kind": "booth",
        "bounded_below": True,
        "minimum": {"w": [1.0, 3.0], "loss": 0.0},
        "curvature": pytest.approx([2.0, 18.0]),
        "max_stable_lr": pytest.approx(1 / 9),
        "one_step_lr": None,
    }


def test_rosenbrock_facts_are_local_to_the_minimum() -> None:
    facts = loss_facts(testfunctions.rosenbrock(1, 100, 2, F32))
    assert facts is not None
    assert facts["minimum"] == {"w": [1.0, 1.0], "loss": 0.0}
    expected = np.linalg.eigvalsh([[802.0, -400.0], [-400.0, 200.0]])
    assert facts["curvature"] == pytest.approx(expected.tolist())
    assert facts["max_stable_lr"] == pytest.approx(2 / expected.max())
    unknown = loss_facts(testfunctions.rosenbrock(2, 100, 3, F64))
    assert unknown is not None
    assert unknown["minimum"] is None
    assert unknown["bounded_below"] is True


def test_himmelblau_reports_its_first_minimum() -> None:
    facts = loss_facts(testfunctions.two_dimensional("himmelblau", 2))
    assert facts is not None
    assert facts["minimum"] == {"w": [3.0, 2.0], "loss": 0.0}
    assert min(facts["curvature"]) > 0


def test_quadratic_form_facts() -> None:
    a, b, c = np.array([[3.0, 1.0], [-1.0, 2.0]]), np.array([1.0, -2.0]), 0.5
    facts = loss_facts(quadratic_form(a.tolist(), b.tolist(), c, 2, F64))
    assert facts is not None
    s = 0.5 * (a + a.T)
    minimum = -np.linalg.solve(s, b)
    assert facts["kind"] == "quadratic_form"
    assert facts["bounded_below"] is True
    np.testing.assert_allclose(facts["minimum"]["w"], minimum)
    assert facts["minimum"]["loss"] == pytest.approx(0.5 * minimum @ a @ minimum + b @ minimum + c)
    assert facts["curvature"] == pytest.approx([2.0, 3.0])
    assert facts["max_stable_lr"] == pytest.approx(2 / 3)
    assert facts["one_step_lr"] is None


def test_quadratic_form_facts_when_semi_definite_or_unbounded() -> None:
    flat = loss_facts(quadratic_form([[1, 1], [1, 1]], [1, 1], 0, 2, F64))
    assert flat is not None
    assert flat["minimum"] == {"w": pytest.approx([-0.5, -0.5]), "loss": pytest.approx(-0.5)}  # the shortest w
    assert flat["max_stable_lr"] == pytest.approx(1.0)
    assert flat["one_step_lr"] == pytest.approx(0.5)  # one non-zero curvature
    falling = loss_facts(quadratic_form([[1, 0], [0, -1]], 0, 0, 2, F64))
    assert falling is not None
    assert falling["bounded_below"] is False
    assert falling["minimum"] is None
    assert falling["curvature"] == [-1.0, 1.0]


def test_rosenbrock_runs_down_the_valley() -> None:
    problem = Problem(
        testfunctions.rosenbrock(1, 100, 2, F64),
        constant(0.001, F64),
        GradientDescent(),
        np.array([[-1.0, 1.0]]),
        20000,
    )
    result = run_one(problem)
    assert result.summary.verdict[0] is Verdict.CONVERGED
    np.testing.assert_allclose(result.trace.w[-1], [1, 1], atol=1e-3)
