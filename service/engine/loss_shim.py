"""TEMPORARY: the old loss dispatch, until the engine's loss registry lands."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from service.engine import expressions, losses, testfunctions
from service.engine.losses import Loss as Loss


@dataclass(frozen=True)
class _Kind:
    sweepable: bool


LOSSES = {
    k: _Kind(k in ("quadratic", "polynomial"))
    for k in ("quadratic", "polynomial", "expression", "quadratic_form", "rosenbrock", "himmelblau", "beale", "booth")
}


def _columns(value: Any, dims: int, dtype: Any) -> Any:
    items = value if isinstance(value, list) else [value] * dims
    stacked = np.broadcast_arrays(*(np.asarray(item, dtype=dtype) for item in items))
    return np.atleast_2d(np.stack(stacked, axis=-1))


def _swept(v: Any) -> bool:
    return isinstance(v, np.ndarray) or (isinstance(v, list) and any(isinstance(i, np.ndarray) for i in v))


def build(doc: Any, dims: int, dtype: Any) -> Loss:
    kind = doc["kind"]
    if kind == "quadratic":
        if any(_swept(doc[n]) for n in "abc"):
            return losses.Quadratic(*(_columns(doc[n], dims, dtype) for n in "abc"))
        return losses.quadratic(doc["a"], doc["b"], doc["c"], dims, dtype)
    if kind == "polynomial":
        if _swept(doc["coefficients"]):
            return losses.Polynomial(_columns(doc["coefficients"], len(doc["coefficients"]), dtype))
        return losses.polynomial(doc["coefficients"], dims, dtype)
    if kind == "expression":
        return expressions.expression(doc["formula"], dims, dtype)
    if kind == "quadratic_form":
        return losses.quadratic_form(doc["A"], doc["b"], doc["c"], dims, dtype)
    if kind == "rosenbrock":
        return testfunctions.rosenbrock(doc["a"], doc["b"], dims, dtype)
    return testfunctions.two_dimensional(kind, dims)


def dims_problem(spec: Any, dims: int) -> str | None:
    kind = spec["kind"]
    if kind in ("quadratic", "quadratic_form"):
        for name in ("a", "b", "c"):
            value = spec.get(name)
            if isinstance(value, list) and len(value) not in (1, dims):
                return f"loss.{name} has {len(value)} values, one per dimension"
    if kind == "quadratic_form" and len(spec["A"]) != dims:
        return f"loss.A has {len(spec['A'])} rows, one per dimension"
    if kind == "polynomial" and dims != 1:
        return "a polynomial loss has 1"
    if kind == "rosenbrock" and dims < 2:
        return "a rosenbrock loss needs at least 2"
    if kind in ("himmelblau", "beale", "booth") and dims != 2:
        return f"a {kind} loss has 2 (x and y)"
    return None
