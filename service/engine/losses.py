"""Losses: value over a chunk of rows and gradient at one row, both batched over runs.

Parameters have shape (P, D) with P = 1 (shared by every run) or P = R (one per run), so a sweep over
a coefficient is one batch. The named test functions are in `testfunctions`, formulas in `expressions`.
"""

from collections.abc import Sequence
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
    _per_run: dict[tuple[int, ...], tuple[Array, Array]] = field(init=False, repr=False, default_factory=dict)

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
        if shifted.shape[-1] <= 2:  # one or two terms: the same sum as NumPy's, without its reduction over a short axis
            total = shifted[..., 0] if shifted.shape[-1] == 1 else np.add(shifted[..., 0], shifted[..., 1])
            return np.ascontiguousarray(total)
        return np.asarray(shifted.sum(axis=-1, dtype=w.dtype))

    def gradient(self, w: Array, out: Array) -> None:
        # a·2·(w + b): doubling is exact, so (2a)·(w + b) is bit-identical and saves one ufunc call. The parameters
        # are broadcast to w's shape once: broadcasting (1, D) against (R, D) at every step is NumPy's slow path.
        b, twice_a = self._per_run.get(w.shape) or self._broadcast(w.shape)
        np.add(w, b, out=out)
        np.multiply(out, twice_a, out=out)

    def _broadcast(self, shape: tuple[int, ...]) -> tuple[Array, Array]:
        pair = (
            np.ascontiguousarray(np.broadcast_to(self.b, shape)),
            np.ascontiguousarray(np.broadcast_to(self.twice_a, shape)),
        )
        self._per_run[shape] = pair
        return pair

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


@dataclass(frozen=True)
class QuadraticForm:
    """`½·wᵀAw + bᵀw + c`, computed through the symmetric part S = ½(A + Aᵀ) (the same function): the gradient
    is S·w + b. Each coordinate of S·w is summed in the same order whatever the batch size (einsum, not BLAS,
    whose blocking depends on it), so a run in a batch gives the numbers it gives alone."""

    a: Array  # (P, D, D), as given
    b: Array  # (P, D)
    c: Array  # (P,)
    s: Array = field(init=False, repr=False)  # (P, D, D), symmetric
    half_s: Array = field(init=False, repr=False)
    bounded: BoolArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        half = np.asarray(0.5, self.a.dtype)
        s = self.a * half + np.swapaxes(self.a, -1, -2) * half  # halves first: no overflow near the dtype's max
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "half_s", s * np.asarray(0.5, s.dtype))
        wide = s.astype(np.float64)
        bounded = [quadratic_form_bounded(wide[p], self.b[p].astype(np.float64)) for p in range(s.shape[0])]
        object.__setattr__(self, "bounded", np.array(bounded))

    @property
    def dims(self) -> int:
        return int(self.b.shape[-1])

    def value(self, w: Array) -> Array:
        half_sw = self._times(self.half_s, w)
        np.add(half_sw, self.b, out=half_sw)
        np.multiply(half_sw, w, out=half_sw)
        return np.asarray(half_sw.sum(axis=-1, dtype=w.dtype) + self.c, dtype=w.dtype)

    def gradient(self, w: Array, out: Array) -> None:
        if self.s.shape[0] == 1:
            np.einsum("rj,ij->ri", w, self.s[0], out=out)
        else:
            np.einsum("rj,rij->ri", w, self.s, out=out)
        np.add(out, self.b, out=out)

    def bounded_below(self) -> BoolArray:
        return self.bounded

    @staticmethod
    def _times(matrix: Array, w: Array) -> Array:
        """matrix·w for rows w shaped (..., R, D)."""
        if matrix.shape[0] == 1:
            return np.asarray(np.einsum("...j,ij->...i", w, matrix[0]))
        return np.asarray(np.einsum("...rj,rij->...ri", w, matrix))


def quadratic_form_bounded(s: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> bool:
    """Whether ½·vᵀSv + bᵀv + c (S symmetric) has a finite infimum: S positive semi-definite and b in its range."""
    if s.size == 0:
        return True
    eigenvalues, vectors = np.linalg.eigh(s)
    tol = flat_tolerance(eigenvalues)
    if eigenvalues[0] < -tol:
        return False
    flat = vectors[:, np.abs(eigenvalues) <= tol]
    return bool(np.linalg.norm(flat.T @ b) <= 1e-9 * max(float(np.linalg.norm(b)), 1e-300))


def flat_tolerance(eigenvalues: npt.NDArray[np.float64]) -> float:
    """Eigenvalues of a symmetric matrix within this of zero count as zero (the rounding of `eigh`)."""
    return float(64 * np.finfo(np.float64).eps * eigenvalues.size * max(float(np.abs(eigenvalues).max()), 1e-300))


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


def quadratic_form(
    a: Sequence[Sequence[float]], b: Numbers, c: float, dims: int, dtype: np.dtype[np.floating]
) -> QuadraticForm:
    """`½·wᵀAw + bᵀw + c`; refuses a matrix that is not square or not D×D for a D-dimensional w0."""
    for row, values in enumerate(a):
        if len(values) != len(a):
            raise ParameterError(
                ("A", row),
                f"row {row} of A has {len(values)} numbers but A has {len(a)} rows; A must be square, "
                "one row per dimension with one number per dimension.",
            )
    if len(a) != dims:
        raise ParameterError(
            "A",
            f"A is {len(a)}×{len(a)} but w0 has {dims} dimension{'s' if dims != 1 else ''}; "
            f"give a {dims}×{dims} matrix, or a starting point with {len(a)} numbers.",
        )
    matrix = as_dtype_array("A", [x for values in a for x in values], dtype).reshape(1, dims, dims)
    vector = broadcast_dims("b", as_dtype_array("b", b, dtype), dims)[None, :]
    return QuadraticForm(matrix, vector, as_dtype_array("c", c, dtype))
