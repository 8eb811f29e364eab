"""Losses: value over a chunk of rows and gradient at one row, both batched over runs; and the registry of loss
kinds, `LOSSES`, with `build` to make a loss from its spec.

Parameters have shape (P, D) with P = 1 (shared by every run) or P = R (one per run), so a sweep over
a coefficient is one batch. The named test functions are in `testfunctions`, formulas in `expressions`.

Every kind is registered by its own module (`loss_kinds.register`): quadratic, polynomial and quadratic_form here,
rosenbrock, himmelblau, beale and booth in `testfunctions`, expression in `expressions`. This module imports them,
so `LOSSES` is complete whenever it is imported.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.engine import expressions, testfunctions  # noqa: F401 (importing them registers their kinds)
from service.engine.arrays import Array, Numbers, Swept, as_dtype_array, broadcast_dims, columns
from service.engine.errors import ParameterError
from service.engine.facts import flat_tolerance, polynomial_facts, quadratic_form_bounded, quadratic_form_facts
from service.engine.loss_kinds import LOSSES, BoolArray, Loss, LossKind, register, values_per_dimension
from service.engine.reductions import PACKET, tensorflow_sum

__all__ = [
    "LOSSES",
    "BoolArray",
    "Loss",
    "LossKind",
    "Polynomial",
    "Quadratic",
    "QuadraticForm",
    "build",
    "flat_tolerance",
    "polynomial",
    "quadratic",
    "quadratic_form",
    "quadratic_form_bounded",
]


def build(document: Mapping[str, Any], dims: int, dtype: np.dtype[np.floating]) -> Loss:
    """The loss of a spec `{"kind": ..., **parameters}` (the kind model's JSON dump) for a `dims`-dimensional w0,
    in `dtype`. For a sweepable kind, any number in it may be a sweep's per-point values (P,): the loss then has
    parameters (P, D), one row per point. A parameter the kind refuses raises `ParameterError` located at it."""
    kind = document.get("kind")
    if not isinstance(kind, str) or kind not in LOSSES:
        raise ParameterError("kind", f"{kind!r} is not a loss kind; the kinds are {', '.join(LOSSES)}.")
    return LOSSES[kind].build(document, dims, dtype)


@dataclass(frozen=True)
class Quadratic:
    """`a·(w + b)² + c`, summed over dimensions, evaluated in TensorFlow's order (add, square, scale, add); in
    float32 the sum over 8 or more dimensions is `tf.reduce_sum`'s (`reductions.tensorflow_sum`), so TF1 and Keras
    losses match bit for bit (torch and Optax sum in orders of their own, within the float32 tolerance)."""

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
        if shifted.dtype == np.float32 and shifted.shape[-1] >= PACKET:
            return tensorflow_sum(shifted)  # TF and Keras add 8 or more float32 terms in Eigen's order, not NumPy's
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

    def facts(self, run: int) -> dict[str, Any]:
        """The curvature is 2a: a constant rate below 1/a converges, exactly 1/a oscillates forever, above it
        diverges, and 1/(2a) lands on the minimum in one step."""
        a = self.a[min(run, self.a.shape[0] - 1)].astype(np.float64)
        b = self.b[min(run, self.b.shape[0] - 1)].astype(np.float64)
        c = self.c[min(run, self.c.shape[0] - 1)].astype(np.float64)
        if (a < 0).any():
            return {
                "kind": "quadratic",
                "bounded_below": False,
                "minimum": None,
                "curvature": (2 * a).tolist(),
                "max_stable_lr": None,
                "one_step_lr": None,
            }
        curved = a[a > 0]
        one_step = float(1 / (2 * curved[0])) if curved.size and (curved == curved[0]).all() else None
        return {
            "kind": "quadratic",
            "bounded_below": True,
            "minimum": {"w": (-b).tolist(), "loss": float(c.sum())},
            "curvature": (2 * a).tolist(),
            "max_stable_lr": float(1 / curved.max()) if curved.size else None,
            "one_step_lr": one_step,
        }


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

    def facts(self, run: int) -> dict[str, Any]:
        """Near its lowest minimum: the curvature there, and the rates it gives."""
        return polynomial_facts(self.coefficients[min(run, self.coefficients.shape[0] - 1)].astype(np.float64))


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

    def facts(self, run: int) -> dict[str, Any]:
        """The curvatures are the eigenvalues λ of S, and the rate limit is 2/λmax."""
        p = min(run, self.s.shape[0] - 1)
        wide = self.s[p].astype(np.float64), self.b[p].astype(np.float64), float(self.c[p])
        return quadratic_form_facts("quadratic_form", *wide, list(range(self.dims)), self.dims)

    @staticmethod
    def _times(matrix: Array, w: Array) -> Array:
        """matrix·w for rows w shaped (..., R, D)."""
        if matrix.shape[0] == 1:
            return np.asarray(np.einsum("...j,ij->...i", w, matrix[0]))
        return np.asarray(np.einsum("...rj,rij->...ri", w, matrix))


def _horner(coefficients: Array, x: Array) -> Array:
    """Σ c_k·x^k for x shaped (..., R) and coefficients (P, n + 1), highest degree first."""
    result = np.broadcast_to(coefficients[:, -1], x.shape).copy()
    for k in range(coefficients.shape[-1] - 2, -1, -1):
        np.multiply(result, x, out=result)
        np.add(result, coefficients[:, k], out=result)
    return result


@register("quadratic", sweepable=True, dims_problem=values_per_dimension("a", "b", "c"))
def build_quadratic(
    *, a: Swept = 1.0, b: Swept = 0.0, c: Swept = 0.0, dims: int, dtype: np.dtype[np.floating]
) -> Quadratic:
    """A quadratic with scalar or per-dimension coefficients (each may be per-point values), checked and cast."""
    return Quadratic(*(columns(name, value, dims, dtype) for name, value in (("a", a), ("b", b), ("c", c))))


def quadratic(a: Numbers, b: Numbers, c: Numbers, dims: int, dtype: np.dtype[np.floating]) -> Quadratic:
    """A quadratic with scalar or per-dimension coefficients, checked and cast to `dtype`."""
    return build_quadratic(a=a, b=b, c=c, dims=dims, dtype=dtype)


def _one_variable(document: Mapping[str, Any], dims: int) -> str | None:
    return "a polynomial loss has 1" if dims != 1 else None


@register("polynomial", sweepable=True, dims_problem=_one_variable)
def build_polynomial(*, coefficients: Swept, dims: int, dtype: np.dtype[np.floating]) -> Polynomial:
    """A polynomial of one variable (its coefficients may be per-point values); refuses a multi-dimensional `w0`."""
    array = columns("coefficients", coefficients, None, dtype)
    if dims != 1:
        raise ParameterError(
            "coefficients",
            f"a polynomial loss has one variable but w0 has {dims} dimensions; give w0 as a single number.",
            "dimension_mismatch",
        )
    return Polynomial(array)


def polynomial(coefficients: Numbers, dims: int, dtype: np.dtype[np.floating]) -> Polynomial:
    """A polynomial of one variable; refuses a multi-dimensional `w0`."""
    return build_polynomial(coefficients=coefficients, dims=dims, dtype=dtype)


def _square_matrix(document: Mapping[str, Any], dims: int) -> str | None:
    problem = values_per_dimension("b", "c")(document, dims)
    matrix = document.get("A")
    if problem is None and isinstance(matrix, list) and len(matrix) != dims:
        return f"loss.A has {len(matrix)} rows, one per dimension"
    return problem


@register("quadratic_form", dims_problem=_square_matrix)
def build_quadratic_form(
    *,
    A: Sequence[Sequence[float]],  # noqa: N803 (the kind model's name)
    b: Numbers = 0.0,
    c: float = 0.0,
    dims: int,
    dtype: np.dtype[np.floating],
) -> QuadraticForm:
    """`½·wᵀAw + bᵀw + c`; refuses a matrix that is not square or not D×D for a D-dimensional w0."""
    for row, values in enumerate(A):
        if len(values) != len(A):
            raise ParameterError(
                ("A", row),
                f"row {row} of A has {len(values)} numbers but A has {len(A)} rows; A must be square, "
                "one row per dimension with one number per dimension.",
            )
    if len(A) != dims:
        raise ParameterError(
            "A",
            f"A is {len(A)}×{len(A)} but w0 has {dims} dimension{'s' if dims != 1 else ''}; "
            f"give a {dims}×{dims} matrix, or a starting point with {len(A)} numbers.",
            "dimension_mismatch",
        )
    matrix = as_dtype_array("A", [x for values in A for x in values], dtype).reshape(1, dims, dims)
    vector = broadcast_dims("b", as_dtype_array("b", b, dtype), dims)[None, :]
    return QuadraticForm(matrix, vector, as_dtype_array("c", c, dtype))


def quadratic_form(
    a: Sequence[Sequence[float]], b: Numbers, c: float, dims: int, dtype: np.dtype[np.floating]
) -> QuadraticForm:
    """`½·wᵀAw + bᵀw + c`; refuses a matrix that is not square or not D×D for a D-dimensional w0."""
    return build_quadratic_form(A=a, b=b, c=c, dims=dims, dtype=dtype)
