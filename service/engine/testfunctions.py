"""The classic test functions of optimisation: Rosenbrock (2-D or the N-D sum form), Himmelblau, Beale, Booth.

Each gives its value over rows (n, R, D) and its hand-derived gradient at (R, D), vectorised over the batch, in
the run's dtype; and, for the analysis, its known minima and its exact Hessian (in float64). All four are sums of
squares that vanish at their minima, so every minimum has loss 0. Each is a loss kind, registered at the end.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, as_dtype_array
from service.engine.errors import ParameterError
from service.engine.facts import rates, unknown
from service.engine.loss_kinds import DimsRule, register

Float64 = npt.NDArray[np.float64]


class NamedFunction(ABC):
    """A named function: `kind` as the API names it, plus what the analysis needs."""

    kind: ClassVar[str]

    @property
    @abstractmethod
    def dims(self) -> int: ...

    @abstractmethod
    def value(self, w: Array) -> Array: ...

    @abstractmethod
    def gradient(self, w: Array, out: Array) -> None: ...

    def bounded_below(self) -> npt.NDArray[np.bool_]:
        return np.ones(1, dtype=bool)

    @abstractmethod
    def minima(self, run: int = 0) -> list[Float64]:
        """The global minima (loss 0), when known; the first is the one reported."""

    @abstractmethod
    def hessian(self, w: Float64, run: int = 0) -> Float64:
        """The exact Hessian at a point, in float64."""

    def facts(self, run: int) -> dict[str, Any]:
        """At the first known minimum (loss 0): the curvatures, the Hessian's eigenvalues, and the rates they give."""
        bounded = self.bounded_below()
        facts = unknown(self.kind, bool(bounded[min(run, bounded.size - 1)]))
        minima = self.minima(run)
        if not minima:
            return facts
        curvature = np.linalg.eigvalsh(self.hessian(minima[0], run)).astype(np.float64)
        minimum = {"w": minima[0].tolist(), "loss": 0.0}
        return {**facts, "minimum": minimum, "curvature": curvature.tolist(), **rates(curvature)}


@dataclass(frozen=True)
class Rosenbrock(NamedFunction):
    """Σ b·(w[i+1] − w[i]²)² + (a − w[i])² over i < D − 1; D = 2 is the classic banana valley."""

    a: Array  # (P, 1)
    b: Array  # (P, 1)
    size: int
    kind: ClassVar[str] = "rosenbrock"

    @property
    def dims(self) -> int:
        return self.size

    def value(self, w: Array) -> Array:
        x, following = w[..., :-1], w[..., 1:]
        valley = following - np.square(x)
        terms = self.b * np.square(valley) + np.square(self.a - x)
        return np.asarray(terms.sum(axis=-1, dtype=w.dtype))

    def gradient(self, w: Array, out: Array) -> None:
        x, following = w[:, :-1], w[:, 1:]
        pull = self.b * (following - np.square(x))  # b·(w[i+1] − w[i]²)
        out[:, :-1] = -2 * (2 * x * pull + (self.a - x))
        out[:, -1] = 0
        out[:, 1:] += 2 * pull

    def bounded_below(self) -> npt.NDArray[np.bool_]:
        return np.asarray(self.b[:, 0] >= 0)

    def minima(self, run: int = 0) -> list[Float64]:
        a, b = (float(p[min(run, p.shape[0] - 1), 0]) for p in (self.a, self.b))
        if b < 0:
            return []
        if self.size == 2:
            return [np.array([a, a * a])]
        return [np.full(self.size, a)] if a in (0.0, 1.0) else []  # otherwise no point zeroes every term

    def hessian(self, w: Float64, run: int = 0) -> Float64:
        b = float(self.b[min(run, self.b.shape[0] - 1), 0])
        x, following = w[:-1], w[1:]
        h = np.zeros((self.size, self.size))
        index = np.arange(self.size - 1)
        h[index, index] += 2 - 4 * b * (following - x * x) + 8 * b * x * x
        h[index + 1, index + 1] += 2 * b
        h[index, index + 1] = h[index + 1, index] = -4 * b * x
        return h


class TwoDimensional(NamedFunction, ABC):
    """A function of x = w[0] and y = w[1] without parameters."""

    @property
    def dims(self) -> int:
        return 2

    def value(self, w: Array) -> Array:
        return np.asarray(self.of(w[..., 0], w[..., 1]))

    def gradient(self, w: Array, out: Array) -> None:
        out[:, 0], out[:, 1] = self.slope(w[:, 0], w[:, 1])

    @abstractmethod
    def of(self, x: Array, y: Array) -> Array: ...

    @abstractmethod
    def slope(self, x: Array, y: Array) -> tuple[Array, Array]: ...


class Himmelblau(TwoDimensional):
    """(x² + y − 11)² + (x + y² − 7)²: four minima of 0."""

    kind: ClassVar[str] = "himmelblau"
    MINIMA: ClassVar[tuple[tuple[float, float], ...]] = (
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    )

    def of(self, x: Array, y: Array) -> Array:
        return np.asarray(np.square(x * x + y - 11) + np.square(x + y * y - 7))

    def slope(self, x: Array, y: Array) -> tuple[Array, Array]:
        u, v = x * x + y - 11, x + y * y - 7
        return 4 * x * u + 2 * v, 2 * u + 4 * y * v

    def minima(self, run: int = 0) -> list[Float64]:
        return [np.array(point) for point in self.MINIMA]

    def hessian(self, w: Float64, run: int = 0) -> Float64:
        x, y = w
        u, v = x * x + y - 11, x + y * y - 7
        return np.array([[4 * u + 8 * x * x + 2, 4 * (x + y)], [4 * (x + y), 4 * v + 8 * y * y + 2]])


class Beale(TwoDimensional):
    """(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²: minimum 0 at (3, 0.5)."""

    kind: ClassVar[str] = "beale"
    C: ClassVar[tuple[float, float, float]] = (1.5, 2.25, 2.625)

    def of(self, x: Array, y: Array) -> Array:
        y2 = y * y
        return np.asarray(
            np.square(self.C[0] - x + x * y) + np.square(self.C[1] - x + x * y2) + np.square(self.C[2] - x + x * y2 * y)
        )

    def slope(self, x: Array, y: Array) -> tuple[Array, Array]:
        y2 = y * y
        y3 = y2 * y
        r1, r2, r3 = self.C[0] - x + x * y, self.C[1] - x + x * y2, self.C[2] - x + x * y3
        gx = 2 * (r1 * (y - 1) + r2 * (y2 - 1) + r3 * (y3 - 1))
        gy = 2 * x * (r1 + 2 * r2 * y + 3 * r3 * y2)
        return gx, gy

    def minima(self, run: int = 0) -> list[Float64]:
        return [np.array([3.0, 0.5])]

    def hessian(self, w: Float64, run: int = 0) -> Float64:
        x, y = w
        h = np.zeros((2, 2))
        for i, c in enumerate(self.C, 1):
            r = c - x + x * y**i
            grad = np.array([y**i - 1, i * x * y ** (i - 1)])
            curve = np.array([[0, i * y ** (i - 1)], [i * y ** (i - 1), i * (i - 1) * x * y ** max(i - 2, 0)]])
            h += 2 * (np.outer(grad, grad) + r * curve)
        return h


class Booth(TwoDimensional):
    """(x + 2y − 7)² + (2x + y − 5)²: minimum 0 at (1, 3)."""

    kind: ClassVar[str] = "booth"

    def of(self, x: Array, y: Array) -> Array:
        return np.asarray(np.square(x + 2 * y - 7) + np.square(2 * x + y - 5))

    def slope(self, x: Array, y: Array) -> tuple[Array, Array]:
        r1, r2 = x + 2 * y - 7, 2 * x + y - 5
        return 2 * r1 + 4 * r2, 4 * r1 + 2 * r2

    def minima(self, run: int = 0) -> list[Float64]:
        return [np.array([1.0, 3.0])]

    def hessian(self, w: Float64, run: int = 0) -> Float64:
        return np.array([[10.0, 8.0], [8.0, 10.0]])


TWO_DIMENSIONAL: dict[str, type[TwoDimensional]] = {f.kind: f for f in (Himmelblau, Beale, Booth)}


def _at_least_two(document: Mapping[str, Any], dims: int) -> str | None:
    return "a rosenbrock loss needs at least 2" if dims < 2 else None


@register("rosenbrock", dims_problem=_at_least_two)
def build_rosenbrock(*, a: float = 1.0, b: float = 100.0, dims: int, dtype: np.dtype[np.floating]) -> Rosenbrock:
    """Rosenbrock's function of `dims` ≥ 2 variables (the N-D sum form)."""
    if dims < 2:
        raise ParameterError(
            "kind", "rosenbrock needs at least two dimensions but w0 has one; give w0 as a list, such as [-1, 1]."
        )
    return Rosenbrock(as_dtype_array("a", a, dtype)[:, None], as_dtype_array("b", b, dtype)[:, None], dims)


def rosenbrock(a: float, b: float, dims: int, dtype: np.dtype[np.floating]) -> Rosenbrock:
    """Rosenbrock's function of `dims` ≥ 2 variables (the N-D sum form)."""
    return build_rosenbrock(a=a, b=b, dims=dims, dtype=dtype)


def two_dimensional(kind: str, dims: int) -> TwoDimensional:
    """Himmelblau's, Beale's or Booth's function; refuses a w0 that is not 2-D."""
    if dims != 2:
        raise ParameterError(
            "kind",
            f"{kind} is a function of two variables, x and y, but w0 has {dims} dimension{'s' if dims > 1 else ''}; "
            "give w0 as two numbers [x, y].",
        )
    return TWO_DIMENSIONAL[kind]()


def _two_variables(kind: str) -> DimsRule:
    def rule(document: Mapping[str, Any], dims: int) -> str | None:
        return f"a {kind} loss has 2 (x and y)" if dims != 2 else None

    return rule


@register("himmelblau", dims_problem=_two_variables("himmelblau"))
def build_himmelblau(*, dims: int, dtype: np.dtype[np.floating]) -> TwoDimensional:
    """Himmelblau's function; refuses a w0 that is not 2-D."""
    return two_dimensional("himmelblau", dims)


@register("beale", dims_problem=_two_variables("beale"))
def build_beale(*, dims: int, dtype: np.dtype[np.floating]) -> TwoDimensional:
    """Beale's function; refuses a w0 that is not 2-D."""
    return two_dimensional("beale", dims)


@register("booth", dims_problem=_two_variables("booth"))
def build_booth(*, dims: int, dtype: np.dtype[np.floating]) -> TwoDimensional:
    """Booth's function; refuses a w0 that is not 2-D."""
    return two_dimensional("booth", dims)
