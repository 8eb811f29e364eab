"""The rules the OpenAPI document states against the engine that enforces them.

A library's rule on one number (torch's momentum >= 0, Keras' momentum in [0, 1], ...) is stated in the JSON schema
(`service.specs.kinds.base.checked`) but checked by the engine, which refuses in the library's own words; the
cross-field rules JSON Schema can state (Nesterov's momentum, the loss kinds' dimensions, momentum cycling, an axis's
one source, OneCycleLR's length) are `if`/`then`, `anyOf` or `oneOf` in the models' schemas. Each statement is held
here to what the engine does: at its bound, just beyond it, and for bodies on either side of a rule, the document's
schema and the edge's validate-and-build step agree.
"""

import copy
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from service.engine import optimizers as optimizers_engine
from service.engine.losses import LOSSES
from service.engine.optimizers import OPTIMIZERS
from service.errors import InvalidSpec
from service.limits import Limits
from service.openapi import document
from service.specs import prepare
from service.specs.kinds import optimizers, schedules
from service.specs.kinds.base import INT32_MAX, Kind, kind_of
from service.specs.kinds.losses import FIXED_DIMS, ExpressionLoss
from service.specs.kinds.optimizers.torch import CYCLES_MOMENTUM
from service.specs.kinds.schedules.optax import STEP_KEY
from service.specs.landscape import LandscapeSpec
from service.specs.lr_finder import LRFinderSpec
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "fixtures"
DOCUMENT = document()
LIMITS = Limits()
SPECS: dict[str, tuple[Any, Any]] = {
    "RunSpec": (RunSpec, prepare.prepare_run),
    "SweepSpec": (SweepSpec, prepare.prepare_sweep),
    "LRFinderSpec": (LRFinderSpec, prepare.prepare_lr_finder),
    "LandscapeSpec": (LandscapeSpec, prepare.prepare_landscape),
}


def schema_accepts(name: str, body: Any) -> bool:
    """Whether the document's schema `name` (with every component it refers to) admits `body`."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    return bool(jsonschema_rs.validator_for(schema).is_valid(body))


def refusals(name: str, body: Any) -> list[tuple[list[Any], str]]:
    """What the edge refuses in `body` (validation, then the engine's build and the limits): [] when it is taken."""
    model, prepared = SPECS[name]
    try:
        with np.errstate(all="ignore"):  # a rate of max_lr / 5e-324 overflows to inf, which is not refused
            prepared(model.model_validate(body), LIMITS)
    except ValidationError as exc:
        return [([str(part) for part in error["loc"]], error["msg"]) for error in exc.errors()]
    except InvalidSpec as exc:
        return [(loc, msg) for loc, msg, _ in exc.errors]
    return []


def golden_run(kind: str) -> dict[str, Any]:
    """A run the real library ran with this kind (the first case of its golden fixture)."""
    spec: dict[str, Any] = json.loads((GOLDEN / f"{kind}.json").read_text())["cases"][0]["spec"]
    if kind in ("torch.CyclicLR", "torch.OneCycleLR"):  # they cycle momentum: an optimizer that has one
        spec["optimizer"] = {"kind": "torch.SGD", "momentum": 0.9}
    return spec


def stated_bounds() -> Iterator[Any]:
    """Every bound a kind's JSON schema states beyond the model's own (the `checked` ones), with where it sits."""
    for group, models in (("schedule", schedules.MODELS), ("optimizer", optimizers.MODELS)):
        for model in models:
            for name, field in model.model_fields.items():
                for item, keywords in _checked_keywords(field):
                    yield pytest.param(
                        model, group, name, item, keywords, id=f"{kind_of(model)}.{name}{'' if item is None else '[]'}"
                    )


def _checked_keywords(field: Any) -> Iterator[tuple[int | None, dict[str, Any]]]:
    extra = [meta.json_schema_extra for meta in field.metadata if getattr(meta, "json_schema_extra", None)]
    if field.json_schema_extra:
        extra.append(field.json_schema_extra)
    for keywords in extra:
        yield None, keywords
    for argument in getattr(field.annotation, "__args__", ()):  # list[Annotated[Finite, checked(...)]]
        for meta in getattr(argument, "__metadata__", ()):
            if getattr(meta, "json_schema_extra", None):
                yield 0, meta.json_schema_extra


def edge_values(keywords: dict[str, Any], integer: bool) -> Iterator[tuple[Any, bool]]:
    """(value, whether the statement admits it) at and around each stated bound."""
    step = (lambda x, d: x + d) if integer else (lambda x, d: float(np.nextafter(x, math.copysign(math.inf, d))))
    for key, value in keywords.items():
        match key:
            case "minimum":
                yield from ((value, True), (step(value, -1), False))
            case "exclusiveMinimum":
                yield from ((value, False), (step(value, 1), True))
            case "maximum":
                yield from ((value, True), (step(value, 1), False))
            case "exclusiveMaximum":
                yield from ((value, False), (step(value, -1), True))
            case "not":
                yield from ((keywords["not"]["const"], False), (1e-300, True), (-1e-300, True))
            case "type":
                yield from ((None, False), (0.5, True))


@pytest.mark.parametrize(("model", "group", "name", "item", "keywords"), list(stated_bounds()))
def test_a_stated_bound_is_the_engines(
    model: type[Kind], group: str, name: str, item: int | None, keywords: dict[str, Any]
) -> None:
    """At the bound and one representable number beyond it, the engine takes exactly what the statement admits
    (refusing at the field itself; another field may still refuse, e.g. a horizon at `steps`)."""
    kind = kind_of(model)
    base = golden_run(kind)
    assert base[group]["kind"] == kind
    integer = model.model_fields[name].annotation is int or "int" in repr(model.model_fields[name].annotation)
    for value, admitted in edge_values(keywords, integer and item is None):
        body = copy.deepcopy(base)
        if item is None:
            body[group][name] = value
        else:
            body[group][name] = [value] * len(model.model_fields[name].get_default())
        at_field = [msg for loc, msg in refusals("RunSpec", body) if loc[:2] == [group, name]]
        assert (not at_field) == admitted, (value, at_field)
        assert schema_accepts("RunSpec", body) in (admitted, False)  # the schema may refuse for another rule


def test_every_library_rule_of_one_number_is_stated() -> None:
    """The engine's single-number refusals found by probing each kind from its golden run are all stated."""
    stated = {(kind_of(model), name) for model, _, name, _, _ in (param.values for param in stated_bounds())}
    assert {
        ("torch.SGD", "momentum"),
        ("torch.Adam", "betas"),
        ("torch.Adadelta", "rho"),
        ("torch.StepLR", "step_size"),
        ("torch.LinearLR", "start_factor"),
        ("torch.ReduceLROnPlateau", "factor"),
        ("torch.OneCycleLR", "div_factor"),
        ("keras.SGD", "momentum"),
        ("keras.AdamW", "weight_decay"),
        ("keras.CosineDecayRestarts", "t_mul"),
        ("tf1.AdagradOptimizer", "initial_accumulator_value"),
        ("optax.cosine_decay_schedule", "decay_steps"),
        ("optax.linear_onecycle_schedule", "final_div_factor"),
    } <= stated


def test_fixed_dimensions_are_the_engines() -> None:
    for kind, loss in LOSSES.items():
        document_ = {"kind": kind, **({"coefficients": [1.0]} if kind == "polynomial" else {})}
        if kind not in FIXED_DIMS:
            continue
        fewest, most = FIXED_DIMS[kind]
        for dims in range(1, 5):
            assert (loss.dims_problem(document_, dims) is None) == (fewest <= dims <= (most or dims)), (kind, dims)


def test_the_optimizers_that_cycle_momentum_are_the_engines() -> None:
    f32 = np.dtype(np.float32)
    cycling = {
        kind for kind in OPTIMIZERS if optimizers_engine.build(golden_run(kind)["optimizer"], f32).cycles_momentum
    }
    assert cycling == set(CYCLES_MOMENTUM)


@given(st.integers(min_value=-(2**40), max_value=2**40))
def test_a_step_key_is_a_step_from_0_to_int32_max(step: int) -> None:
    assert (re.fullmatch(STEP_KEY, str(step)) is not None) == (0 <= step <= INT32_MAX)


@pytest.mark.parametrize("key", ["", "01", "+1", "1.0", "1e3", " 1", "١"])
def test_a_step_key_is_written_in_plain_digits(key: str) -> None:
    assert re.fullmatch(STEP_KEY, key) is None


RUN: dict[str, Any] = {"loss": {"kind": "quadratic"}, "w0": 1.0, "schedule": 0.1, "steps": 5}
CYCLIC = {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2}
SWEEP_AXIS = {"path": "schedule.learning_rate"}
PIECEWISE = {"kind": "optax.piecewise_constant_schedule", "init_value": 0.1}
BODIES = [
    # Nesterov needs momentum > 0 and dampening 0 (torch)
    ("RunSpec", {**RUN, "optimizer": {"kind": "torch.SGD", "momentum": 0.9, "nesterov": True}}, True),
    ("RunSpec", {**RUN, "optimizer": {"kind": "torch.SGD", "nesterov": True}}, False),
    (
        "RunSpec",
        {**RUN, "optimizer": {"kind": "torch.SGD", "momentum": 0.9, "dampening": 0.1, "nesterov": True}},
        False,
    ),
    ("RunSpec", {**RUN, "optimizer": {"kind": "torch.SGD", "momentum": 0.9, "dampening": 0.1}}, True),
    # the loss kinds' dimensions
    ("RunSpec", {**RUN, "loss": {"kind": "booth"}, "w0": [1.0, 2.0]}, True),
    ("RunSpec", {**RUN, "loss": {"kind": "booth"}, "w0": 1.0}, False),
    ("RunSpec", {**RUN, "loss": {"kind": "booth"}, "w0": [1.0, 2.0, 3.0]}, False),
    ("RunSpec", {**RUN, "loss": {"kind": "rosenbrock"}, "w0": [1.0, 2.0, 3.0]}, True),
    ("RunSpec", {**RUN, "loss": {"kind": "rosenbrock"}, "w0": [1.0]}, False),
    ("RunSpec", {**RUN, "loss": {"kind": "polynomial", "coefficients": [1, 2]}, "w0": [1.0]}, True),
    ("RunSpec", {**RUN, "loss": {"kind": "polynomial", "coefficients": [1, 2]}, "w0": [1.0, 2.0]}, False),
    ("LRFinderSpec", {"loss": {"kind": "himmelblau"}, "w0": [1.0, 2.0]}, True),
    ("LRFinderSpec", {"loss": {"kind": "himmelblau"}, "w0": 1.0}, False),
    ("LandscapeSpec", {"loss": {"kind": "beale"}, "bounds": [[0, 1], [0, 1]]}, True),
    ("LandscapeSpec", {"loss": {"kind": "beale"}, "bounds": [[0, 1]]}, False),
    ("LandscapeSpec", {"loss": {"kind": "polynomial", "coefficients": [1, 2]}, "bounds": [[0, 1], [0, 1]]}, False),
    # CyclicLR and OneCycleLR cycling momentum need an optimizer with one
    ("RunSpec", {**RUN, "schedule": CYCLIC, "optimizer": {"kind": "torch.Adam"}}, True),
    ("RunSpec", {**RUN, "schedule": CYCLIC}, False),
    ("RunSpec", {**RUN, "schedule": CYCLIC, "optimizer": {"kind": "torch.Adagrad"}}, False),
    ("RunSpec", {**RUN, "schedule": {**CYCLIC, "cycle_momentum": False}}, True),
    ("RunSpec", {**RUN, "schedule": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10}}, False),
    (
        "RunSpec",
        {
            **RUN,
            "schedule": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10},
            "optimizer": {"kind": "torch.SGD"},
        },
        True,
    ),
    # OneCycleLR: total_steps, or epochs and steps_per_epoch
    (
        "RunSpec",
        {**RUN, "schedule": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10, "cycle_momentum": False}},
        True,
    ),
    (
        "RunSpec",
        {
            **RUN,
            "schedule": {
                "kind": "torch.OneCycleLR",
                "max_lr": 0.1,
                "epochs": 2,
                "steps_per_epoch": 5,
                "cycle_momentum": False,
            },
        },
        True,
    ),
    (
        "RunSpec",
        {**RUN, "schedule": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "epochs": 2, "cycle_momentum": False}},
        False,
    ),
    (
        "RunSpec",
        {
            **RUN,
            "schedule": {
                "kind": "torch.OneCycleLR",
                "max_lr": 0.1,
                "total_steps": 0,
                "epochs": 2,
                "steps_per_epoch": 5,
                "cycle_momentum": False,
            },
        },
        False,
    ),
    (
        "RunSpec",
        {
            **RUN,
            "schedule": {
                "kind": "torch.OneCycleLR",
                "max_lr": 0.1,
                "epochs": 0,
                "steps_per_epoch": 5,
                "cycle_momentum": False,
            },
        },
        False,
    ),
    # optax's boundaries_and_scales: steps written in digits, scales not negative
    ("RunSpec", {**RUN, "schedule": {**PIECEWISE, "boundaries_and_scales": {"0": 0.5, "2147483647": 0.0}}}, True),
    ("RunSpec", {**RUN, "schedule": {**PIECEWISE, "boundaries_and_scales": {"2147483648": 0.5}}}, False),
    ("RunSpec", {**RUN, "schedule": {**PIECEWISE, "boundaries_and_scales": {"x": 0.5}}}, False),
    ("RunSpec", {**RUN, "schedule": {**PIECEWISE, "boundaries_and_scales": {"3": -0.5}}}, False),
    # a sweep axis takes exactly one of values, linspace and logspace
    ("SweepSpec", {"base": RUN, "axes": [{**SWEEP_AXIS, "values": [0.1, 0.2]}]}, True),
    ("SweepSpec", {"base": RUN, "axes": [{**SWEEP_AXIS, "values": [0.1], "linspace": None}]}, True),
    ("SweepSpec", {"base": RUN, "axes": [SWEEP_AXIS]}, False),
    ("SweepSpec", {"base": RUN, "axes": [{**SWEEP_AXIS, "values": None}]}, False),
    (
        "SweepSpec",
        {"base": RUN, "axes": [{**SWEEP_AXIS, "values": [0.1], "logspace": {"start": -2, "stop": -1, "num": 3}}]},
        False,
    ),
]


@pytest.mark.parametrize(("name", "body", "valid"), BODIES)
def test_the_schema_and_the_edge_agree(name: str, body: dict[str, Any], valid: bool) -> None:
    assert schema_accepts(name, body) == valid
    assert (refusals(name, body) == []) == valid, refusals(name, body)


def test_the_documents_examples_fit_together() -> None:
    """Schemathesis sends the document's examples together: the formula with the w0 and bounds examples."""
    (formula,) = ExpressionLoss.model_fields["formula"].examples or []
    (w0,) = RunSpec.model_fields["w0"].examples or []
    (bounds,) = LandscapeSpec.model_fields["bounds"].examples or []
    loss = {"kind": "expression", "formula": formula}
    for name, body in [
        ("RunSpec", {**RUN, "loss": loss, "w0": w0}),
        ("LRFinderSpec", {"loss": loss, "w0": w0}),
        ("LandscapeSpec", {"loss": loss, "bounds": bounds}),
        ("SweepSpec", {"base": {**RUN, "loss": loss, "w0": w0}, "axes": [{**SWEEP_AXIS, "values": [0.1]}]}),
    ]:
        assert schema_accepts(name, body)
        assert refusals(name, body) == []
