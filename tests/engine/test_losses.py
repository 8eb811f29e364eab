"""Losses: values and gradients against closed forms, shapes and refusals."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.engine.errors import ParameterError
from service.engine.losses import polynomial, quadratic

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
