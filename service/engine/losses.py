"""Losses: value over a chunk of rows and gradient at one row, both batched over runs.

Parameters have shape (P, D) with P = 1 (shared by every run) or P = R (one per run), so a sweep over
a coefficient is one batch.
"""

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, Numbers, as_dtype_array, broadcast_dims
from service.engine.errors import ParameterError

BoolArray = npt.NDArray[np.bool_]


class Loss(Protocol):
    """What the loop and the analysis need from a loss."""

    @property
    def dims(self) -> int: ...

    def value(self, w: Array) -> Array:
        """Loss of rows `w` shaped (n, R, D), as (n, R)."""
        ...

    def gradient(self, w: Array, out: Array) -> None:
        """Gradient at `w` shaped (R, D), written into `out`."""
        ...

    def bounded_below(self) -> BoolArray:
        """Per parameter set (P,): whether the loss has a finite infimum."""
        ...


@dataclass(frozen=True)
class Quadratic:
    """`a·(w + b)² + c`, summed over dimensions, evaluated in TensorFlow's order (add, square, scale, add)."""

    a: Array
    b: Array
    c: Array
    twice_a: Array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "twice_a", np.multiply(self.a, 2, dtype=self.a.dtype))

    @property
    def dims(self) -> int:
        return int(self.a.shape[-1])

    def value(self, w: Array) -> Array:
        shifted = np.add(w, self.b)
        np.square(shifted, out=shifted)
        np.multiply(shifted, self.a, out=shifted)
        np.add(shifted, self.c, out=shifted)
        return np.asarray(shifted.sum(axis=-1, dtype=w.dtype))

    def gradient(self, w: Array, out: Array) -> None:
        # a·2·(w + b): doubling is exact, so (2a)·(w + b) is bit-identical and saves one ufunc call.
        np.add(w, self.b, out=out)
        np.multiply(out, self.twice_a, out=out)

    def bounded_below(self) -> BoolArray:
        return np.asarray((self.a >= 0).all(axis=-1))


@dataclass(frozen=True)
class Polynomial:
    """`c0 + c1·w + … + cn·wⁿ` in one dimension (increasing degree, the `numpy.polynomial` order), by Horner."""

    coefficients: Array  # (P, n + 1)
    derivative: Array = field(init=False, repr=False)

    def __post_init__(self) -> None:
        c = self.coefficients
        powers = np.arange(1, c.shape[-1], dtype=c.dtype)
        derivative = c[:, 1:] * powers if c.shape[-1] > 1 else np.zeros_like(c)
        object.__setattr__(self, "derivative", derivative)

    @property
    def dims(self) -> int:
        return 1

    def value(self, w: Array) -> Array:
        return _horner(self.coefficients, w[..., 0])

    def gradient(self, w: Array, out: Array) -> None:
        out[...] = _horner(self.derivative, w[..., 0])[..., None]

    def bounded_below(self) -> BoolArray:
        c = self.coefficients
        degree = c.shape[-1] - 1
        if degree == 0:
            return np.ones(c.shape[0], dtype=bool)
        return np.asarray((c[:, -1] > 0) & (degree % 2 == 0))


def _horner(coefficients: Array, x: Array) -> Array:
    """Σ c_k·x^k for x shaped (..., R) and coefficients (P, n + 1), highest degree first."""
    result = np.broadcast_to(coefficients[:, -1], x.shape).copy()
    for k in range(coefficients.shape[-1] - 2, -1, -1):
        np.multiply(result, x, out=result)
        np.add(result, coefficients[:, k], out=result)
    return result


def quadratic(a: Numbers, b: Numbers, c: Numbers, dims: int, dtype: np.dtype[np.floating]) -> Quadratic:
    """A quadratic with scalar or per-dimension coefficients, checked and cast to `dtype`."""
    arrays = {
        name: broadcast_dims(name, as_dtype_array(name, value, dtype), dims)[None, :]
        for name, value in (("a", a), ("b", b), ("c", c))
    }
    return Quadratic(**arrays)


def polynomial(coefficients: Numbers, dims: int, dtype: np.dtype[np.floating]) -> Polynomial:
    """A polynomial of one variable; refuses a multi-dimensional `w0`."""
    array = as_dtype_array("coefficients", coefficients, dtype)
    if dims != 1:
        raise ParameterError(
            "coefficients",
            f"a polynomial loss has one variable but w0 has {dims} dimensions; give w0 as a single number.",
        )
    return Polynomial(array[None, :])
