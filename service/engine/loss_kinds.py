"""What a loss is (`Loss`), and the registry of loss kinds (`LOSSES`), filled by `register` in each loss's own module.

Use the registry through `service.engine.losses`, which imports every module that registers a kind (so `LOSSES`
is complete there) and has `build`. A kind is registered with its factory, whether it can be swept, and its
dimension rule:

    @register("quadratic", sweepable=True, dims_problem=values_per_dimension("a", "b", "c"))
    def build_quadratic(*, a: Swept = 1.0, b: Swept = 0.0, c: Swept = 0.0, dims: int, dtype: ...) -> Quadratic:

The factory takes the kind model's fields as keyword arguments, with its defaults, then `dims` (w0's number of
dimensions) and `dtype`; it refuses a parameter with a `ParameterError` located at it. A sweepable kind's factory
also takes per-point values (`arrays.Swept`) in place of numbers. The loss it returns says its facts (`Loss.facts`).

Adding a loss kind: its class (value, gradient, bounded_below, facts) and its registered factory in its engine
module, and its kind model in `service.specs.kinds.losses`. A new engine module also goes into the imports at the top
of `service.engine.losses`, which make the registry complete.
"""

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array
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

    def facts(self, run: int) -> dict[str, Any] | None:
        """What the analysis knows about run `run`'s loss (see `service.engine.facts`), or None."""
        ...


Factory = Callable[..., Loss]
"""`factory(*, <the kind's parameters>, dims, dtype)`."""
DimsRule = Callable[[Mapping[str, Any], int], str | None]
"""`rule(document, dims)`: why the loss of `document` cannot have `dims` dimensions, or None."""
FactoryT = TypeVar("FactoryT", bound=Factory)


def any_dims(document: Mapping[str, Any], dims: int) -> str | None:
    """The rule of a loss that takes any number of dimensions (or whose factory checks them)."""
    return None


def values_per_dimension(*names: str) -> DimsRule:
    """The rule of per-dimension parameters: each of `names` given as a list has one value, or one per dimension."""

    def rule(document: Mapping[str, Any], dims: int) -> str | None:
        for name in names:
            value = document.get(name)
            if isinstance(value, list) and len(value) not in (1, dims):
                return f"loss.{name} has {len(value)} values, one per dimension"
        return None

    return rule


SETTINGS = ("dims", "dtype")
"""The factory's arguments that are not the kind's parameters."""


@dataclass(frozen=True)
class LossKind:
    """A registered loss kind: its factory, whether a sweep may vary its parameters, and its dimension rule."""

    kind: str
    factory: Factory
    sweepable: bool = False
    dims_rule: DimsRule = any_dims
    parameters: Mapping[str, inspect.Parameter] = field(init=False, repr=False, compare=False)
    """The kind's parameters, as the factory declares them (names, defaults): the kind model's fields."""

    def __post_init__(self) -> None:
        signature = inspect.signature(self.factory).parameters
        if any(name not in signature for name in SETTINGS) or any(
            p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) for p in signature.values()
        ):
            raise TypeError(f"the factory of loss kind {self.kind} must take keyword arguments, dims and dtype")
        parameters = {name: p for name, p in signature.items() if name not in SETTINGS}
        object.__setattr__(self, "parameters", parameters)

    def dims_problem(self, document: Mapping[str, Any], dims: int) -> str | None:
        """Why the loss of `document` cannot have `dims` dimensions, as the end of a sentence ("… but a polynomial
        loss has 1"), or None. The factory checks the dimensions again, in words about w0."""
        return self.dims_rule(document, dims)

    def build(self, document: Mapping[str, Any], dims: int, dtype: np.dtype[np.floating]) -> Loss:
        """The loss of `document` (`{"kind": ..., **parameters}`) for a `dims`-dimensional w0, in `dtype`."""
        parameters = {name: value for name, value in document.items() if name != "kind"}
        for name in parameters:
            if name not in self.parameters:
                known = ", ".join(self.parameters) or "none"
                raise ParameterError(name, f"a {self.kind} loss has no parameter {name}; its parameters: {known}.")
        for name, parameter in self.parameters.items():
            if parameter.default is parameter.empty and name not in parameters:
                raise ParameterError(name, f"a {self.kind} loss needs {name}.")
        swept = {name: _per_point(value) for name, value in parameters.items() if _per_point(value)}
        if swept and not self.sweepable:
            raise ParameterError(
                next(iter(swept)), f"a {self.kind} loss cannot be swept: its parameters are the same for every run."
            )
        points = next((arrays[0].size for arrays in swept.values()), 0)
        for name, arrays in swept.items():
            if any(values.ndim != 1 or values.size != points for values in arrays):
                raise ParameterError(name, "a swept parameter has one value per point of the sweep, (P,) for P points.")
        return self.factory(**parameters, dims=dims, dtype=dtype)


def _per_point(value: Any) -> list[npt.NDArray[Any]]:
    """Every per-point array in a parameter (a number, or lists of them)."""
    if isinstance(value, list | tuple):
        return [array for item in value for array in _per_point(item)]
    return [value] if isinstance(value, np.ndarray) else []


LOSSES: dict[str, LossKind] = {}
"""Every loss kind, by `kind`; complete once `service.engine.losses` is imported."""


def register(
    kind: str, *, sweepable: bool = False, dims_problem: DimsRule = any_dims
) -> Callable[[FactoryT], FactoryT]:
    """Register a factory under its kind (the kind model's `kind`)."""

    def add(factory: FactoryT) -> FactoryT:
        if kind in LOSSES:
            raise RuntimeError(f"loss kind {kind} registered twice")
        LOSSES[kind] = LossKind(kind, factory, sweepable, dims_problem)
        return factory

    return add
