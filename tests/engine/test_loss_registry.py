"""The loss registry: one engine kind per kind model (same parameters, required set and defaults); `build` gives the
losses the factories give, bit for bit; a swept build is its points' single builds side by side; the dimension
rules' messages; refusals located at the parameter."""

import inspect
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pydantic.fields import FieldInfo

from service.engine import expressions, losses, testfunctions
from service.engine.errors import ParameterError
from service.engine.losses import LOSSES, Loss, build
from service.specs.kinds.base import Kind, kind_of
from service.specs.kinds.losses import MODELS

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
DTYPES = [F32, F64]
MODEL_OF = {kind_of(model): model for model in MODELS}

FORMULAS = ["(w + 1)**2", "(1 - x)**2 + 100*(y - x**2)**2", "w[0]**2 + 10*w[1]**2 + sin(w[2])"]
"""Formulas in w (1-D), in x and y (2-D, the document's example) and in w[i] (3-D)."""
EXAMPLES: list[tuple[dict[str, Any], int]] = [
    ({"kind": "quadratic"}, 1),  # the model's defaults
    ({"kind": "quadratic"}, 3),
    ({"kind": "quadratic", "a": 0.1, "b": 3.0, "c": -1.0}, 1),
    ({"kind": "quadratic", "a": [1.0, 3.0], "b": -2.0, "c": [0.5, 1.0]}, 2),
    ({"kind": "quadratic", "a": [0.5], "b": [1.0, -1.0, 0.25], "c": 2.0}, 3),
    ({"kind": "polynomial", "coefficients": [1.0, -2.0, 0.5, 0.25]}, 1),
    ({"kind": "polynomial", "coefficients": [3.0]}, 1),
    *[({"kind": "expression", "formula": formula}, dims) for formula, dims in zip(FORMULAS, (1, 2, 3), strict=True)],
    ({"kind": "quadratic_form", "A": [[2.0, 1.0], [0.0, 3.0]], "b": [1.0, -1.0], "c": 0.5}, 2),
    ({"kind": "quadratic_form", "A": [[2.0]]}, 1),
    ({"kind": "rosenbrock"}, 2),
    ({"kind": "rosenbrock", "a": 0.5, "b": 10.0}, 4),
    ({"kind": "himmelblau"}, 2),
    ({"kind": "beale"}, 2),
    ({"kind": "booth"}, 2),
]


def dump(document: dict[str, Any]) -> dict[str, Any]:
    """The document as the API passes it: validated by the kind model, then dumped."""
    return MODEL_OF[document["kind"]].model_validate(document).model_dump()


def old_loss(document: dict[str, Any], dims: int, dtype: np.dtype[np.floating]) -> Loss:
    """The factories as service/api/adapters.py called them before the registry."""
    match document:
        case {"kind": "quadratic", "a": a, "b": b, "c": c}:
            return losses.quadratic(a, b, c, dims, dtype)
        case {"kind": "polynomial", "coefficients": coefficients}:
            return losses.polynomial(coefficients, dims, dtype)
        case {"kind": "expression", "formula": formula}:
            return expressions.expression(formula, dims, dtype)
        case {"kind": "quadratic_form", "A": matrix, "b": b, "c": c}:
            return losses.quadratic_form(matrix, b, c, dims, dtype)
        case {"kind": "rosenbrock", "a": a, "b": b}:
            return testfunctions.rosenbrock(a, b, dims, dtype)
    return testfunctions.two_dimensional(document["kind"], dims)


def old_columns(value: Any, dims: int, dtype: np.dtype[np.floating]) -> npt.NDArray[np.floating]:
    """service/api/adapters.py's `_columns` before the registry."""
    items = value if isinstance(value, list) else [value] * dims
    columns = np.broadcast_arrays(*(np.asarray(item, dtype=dtype) for item in items))
    return np.atleast_2d(np.stack(columns, axis=-1))


def old_swept_loss(document: dict[str, Any], dims: int, dtype: np.dtype[np.floating]) -> Loss:
    """service/api/adapters.py's `_swept_loss` before the registry."""
    if document["kind"] == "quadratic":
        return losses.Quadratic(*(old_columns(document[name], dims, dtype) for name in ("a", "b", "c")))
    coefficients = document["coefficients"]
    return losses.Polynomial(old_columns(coefficients, len(coefficients), dtype))


def bits(values: npt.NDArray[Any]) -> tuple[str, tuple[int, ...], bytes]:
    array = np.ascontiguousarray(values)
    return array.dtype.str, array.shape, array.tobytes()


def values_and_gradient(loss: Loss, runs: int, dims: int, dtype: np.dtype[np.floating]) -> tuple[Any, Any]:
    """The loss over 5 rows of `runs` points near the origin, and its gradient at the last row."""
    w = np.random.default_rng(dims * 10 + runs).uniform(-2.5, 2.5, (5, runs, dims)).astype(dtype)
    out = np.empty((runs, dims), dtype)
    loss.gradient(w[-1], out)
    return bits(loss.value(w)), bits(out)


def factory_parameters(kind: str) -> dict[str, Any]:
    """name -> default (`inspect.Parameter.empty` when required) of the registered factory, but dims and dtype."""
    signature = inspect.signature(LOSSES[kind].factory).parameters
    return {name: p.default for name, p in signature.items() if name not in ("dims", "dtype")}


def model_parameters(model: type[Kind]) -> dict[str, Any]:
    def default(info: FieldInfo) -> Any:
        return inspect.Parameter.empty if info.is_required() else info.default

    return {name: default(info) for name, info in model.model_fields.items() if name != "kind"}


def test_every_kind_model_has_an_engine_kind_and_back() -> None:
    assert sorted(LOSSES) == sorted(MODEL_OF)
    assert all(entry.kind == kind for kind, entry in LOSSES.items())


@pytest.mark.parametrize("model", MODELS, ids=kind_of)
def test_the_factory_takes_the_models_parameters_with_its_defaults(model: type[Kind]) -> None:
    kind = kind_of(model)
    assert factory_parameters(kind) == model_parameters(model)
    assert list(LOSSES[kind].parameters) == list(model_parameters(model))


def test_the_sweepable_kinds() -> None:
    assert {kind for kind, entry in LOSSES.items() if entry.sweepable} == {"quadratic", "polynomial"}


def test_every_kind_has_an_example() -> None:
    assert {document["kind"] for document, _ in EXAMPLES} == set(LOSSES)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(("document", "dims"), EXAMPLES, ids=lambda v: str(v) if isinstance(v, int) else v["kind"])
def test_build_gives_what_the_factories_give(document: dict[str, Any], dims: int, dtype: np.dtype[np.floating]) -> None:
    spec = dump(document)
    new, old = build(spec, dims, dtype), old_loss(spec, dims, dtype)
    assert type(new) is type(old)
    assert new.dims == old.dims == dims
    for runs in (1, 3):
        assert values_and_gradient(new, runs, dims, dtype) == values_and_gradient(old, runs, dims, dtype)
    assert bits(new.bounded_below()) == bits(old.bounded_below())
    assert new.facts(0) == old.facts(0)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_a_swept_quadratic_is_its_points_side_by_side(dims: int, dtype: np.dtype[np.floating]) -> None:
    a = np.array([0.5, 1.0, 2.0, 1e-3, 0.1])
    b = np.linspace(-1.3, 2.7, 5)
    c = np.array([0.0, 1.0, -2.5, 3.3, 1e3])
    swept = {"kind": "quadratic", "a": a, "b": [b] + [0.7] * (dims - 1), "c": c}
    loss = build(swept, dims, dtype)
    assert isinstance(loss, losses.Quadratic)
    assert loss.a.shape == loss.b.shape == loss.c.shape == (5, dims)
    points = [
        build(
            dump({"kind": "quadratic", "a": float(a[p]), "b": [float(b[p])] + [0.7] * (dims - 1), "c": float(c[p])}),
            dims,
            dtype,
        )
        for p in range(a.size)
    ]
    assert_side_by_side(loss, points, dims, dtype)
    old = old_swept_loss(swept, dims, dtype)
    assert values_and_gradient(loss, 5, dims, dtype) == values_and_gradient(old, 5, dims, dtype)
    assert isinstance(old, losses.Quadratic)
    assert [bits(getattr(loss, name)) for name in "abc"] == [bits(getattr(old, name)) for name in "abc"]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_swept_polynomial_is_its_points_side_by_side(dtype: np.dtype[np.floating]) -> None:
    c0, c2 = np.array([1.0, -2.0, 0.5, 7.0]), np.array([0.25, 1.0, 3.0, -0.5])
    swept = {"kind": "polynomial", "coefficients": [c0, -1.0, c2]}
    loss = build(swept, 1, dtype)
    assert isinstance(loss, losses.Polynomial)
    assert loss.coefficients.shape == (4, 3)
    points = [
        build(dump({"kind": "polynomial", "coefficients": [float(c0[p]), -1.0, float(c2[p])]}), 1, dtype)
        for p in range(c0.size)
    ]
    assert_side_by_side(loss, points, 1, dtype)
    old = old_swept_loss(swept, 1, dtype)
    assert isinstance(old, losses.Polynomial)
    assert bits(loss.coefficients) == bits(old.coefficients)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    ("document", "dims"),
    [
        ({"kind": "quadratic", "a": 2.0, "b": [1.0, -1.0], "c": 0.0}, 2),
        ({"kind": "polynomial", "coefficients": [1.0, 0.0, 1.0]}, 1),
    ],
)
def test_a_sweep_of_other_parameters_leaves_the_loss_unswept(
    document: dict[str, Any], dims: int, dtype: np.dtype[np.floating]
) -> None:
    """`_swept_loss` built these two kinds through `_columns` even when no loss parameter was swept."""
    new, old = build(dump(document), dims, dtype), old_swept_loss(dump(document), dims, dtype)
    assert values_and_gradient(new, 3, dims, dtype) == values_and_gradient(old, 3, dims, dtype)
    assert new.facts(0) == old.facts(0)


def assert_side_by_side(loss: Loss, points: list[Loss], dims: int, dtype: np.dtype[np.floating]) -> None:
    """Run p of the swept loss gives, bit for bit, what point p's own loss gives (values, gradient, facts)."""
    w = np.random.default_rng(7).uniform(-2.5, 2.5, (6, len(points), dims)).astype(dtype)
    values = loss.value(w)
    gradient = np.empty((len(points), dims), dtype)
    loss.gradient(w[-1], gradient)
    bounded = np.broadcast_to(loss.bounded_below(), (len(points),))
    for p, point in enumerate(points):
        alone = np.empty((1, dims), dtype)
        point.gradient(w[-1, p : p + 1], alone)
        assert bits(values[:, p : p + 1]) == bits(point.value(w[:, p : p + 1]))
        assert bits(gradient[p : p + 1]) == bits(alone)
        assert bool(bounded[p]) == bool(point.bounded_below()[0])
        assert loss.facts(p) == point.facts(0)


@pytest.mark.parametrize(
    ("document", "dims", "problem"),
    [
        ({"kind": "quadratic", "a": [1.0, 2.0, 3.0]}, 2, "loss.a has 3 values, one per dimension"),
        ({"kind": "quadratic", "b": [1.0, 2.0]}, 3, "loss.b has 2 values, one per dimension"),
        ({"kind": "quadratic", "a": 1.0, "c": [0.0, 1.0]}, 1, "loss.c has 2 values, one per dimension"),
        ({"kind": "quadratic", "a": [2.0], "b": [1.0, 2.0, 3.0]}, 3, None),
        ({"kind": "quadratic"}, 7, None),
        ({"kind": "quadratic_form", "A": [[1.0, 0.0], [0.0, 1.0]]}, 3, "loss.A has 2 rows, one per dimension"),
        ({"kind": "quadratic_form", "A": [[1.0]], "b": [1.0, 2.0]}, 3, "loss.b has 2 values, one per dimension"),
        ({"kind": "quadratic_form", "A": [[1.0, 0.0], [0.0, 1.0]], "b": [1.0, 2.0]}, 2, None),
        ({"kind": "polynomial", "coefficients": [1.0, 2.0]}, 2, "a polynomial loss has 1"),
        ({"kind": "polynomial", "coefficients": [1.0, 2.0]}, 1, None),
        ({"kind": "rosenbrock"}, 1, "a rosenbrock loss needs at least 2"),
        ({"kind": "rosenbrock"}, 5, None),
        ({"kind": "himmelblau"}, 1, "a himmelblau loss has 2 (x and y)"),
        ({"kind": "beale"}, 3, "a beale loss has 2 (x and y)"),
        ({"kind": "booth"}, 1, "a booth loss has 2 (x and y)"),
        ({"kind": "booth"}, 2, None),
        ({"kind": "expression", "formula": "w[4]**2"}, 1, None),  # the factory names the variable w0 lacks
    ],
)
def test_dims_problem(document: dict[str, Any], dims: int, problem: str | None) -> None:
    assert LOSSES[document["kind"]].dims_problem(dump(document), dims) == problem


@pytest.mark.parametrize(
    ("document", "dims", "dtype", "loc"),
    [
        ({"kind": "quadratic", "a": 1e39}, 1, F32, ("a",)),
        ({"kind": "quadratic", "b": [1.0, 2.0, 3.0]}, 2, F64, ("b",)),
        ({"kind": "quadratic", "c": np.array([1.0, 1e39])}, 1, F32, ("c",)),
        ({"kind": "quadratic", "a": [np.array([1.0, 2.0]), 1.0, 1.0]}, 2, F64, ("a",)),
        ({"kind": "quadratic", "a": np.array([1.0, 2.0]), "b": np.array([1.0, 2.0, 3.0])}, 1, F64, ("b",)),
        ({"kind": "quadratic", "a": np.ones((2, 2))}, 2, F64, ("a",)),
        ({"kind": "quadratic", "d": 1.0}, 1, F64, ("d",)),
        ({"kind": "polynomial", "coefficients": [1.0, 2.0]}, 2, F64, ("coefficients",)),
        ({"kind": "polynomial"}, 1, F64, ("coefficients",)),
        ({"kind": "quadratic_form", "A": [[1.0, 0.0], [1.0]]}, 2, F64, ("A", 1)),
        ({"kind": "quadratic_form", "A": [[1.0]], "b": np.array([1.0, 2.0])}, 1, F64, ("b",)),
        ({"kind": "rosenbrock", "a": np.array([1.0, 2.0])}, 2, F64, ("a",)),
        ({"kind": "rosenbrock"}, 1, F64, ("kind",)),
        ({"kind": "himmelblau"}, 3, F64, ("kind",)),
        ({"kind": "expression", "formula": "w[4]**2"}, 2, F64, ("formula",)),
        ({"kind": "cubic"}, 1, F64, ("kind",)),
    ],
)
def test_refusals_are_located_at_the_parameter(
    document: dict[str, Any], dims: int, dtype: np.dtype[np.floating], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ParameterError) as refused:
        build(document, dims, dtype)
    assert refused.value.loc == loc


def test_an_unsweepable_kind_says_so() -> None:
    with pytest.raises(ParameterError, match="a rosenbrock loss cannot be swept"):
        build({"kind": "rosenbrock", "b": np.array([1.0, 100.0])}, 2, F64)
