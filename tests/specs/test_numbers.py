"""The number types of the request contract: every integer field is bounded and takes whole-number floats, a number
is refused beyond float32's range however it is written, and the messages say so in the field's own terms."""

from typing import Any

import pytest
from pydantic import ValidationError

from service.openapi import document
from service.specs.kinds.base import INT32_MAX
from service.specs.landscape import LandscapeSpec
from service.specs.lr_finder import LRFinderSpec
from service.specs.messages import validation_errors
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec

RUN: dict[str, Any] = {"loss": {"kind": "quadratic"}, "w0": 1, "schedule": 0.1, "steps": 3}


def refusals(model: Any, body: dict[str, Any]) -> list[tuple[list[Any], str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return [(loc, msg) for loc, msg, _ in validation_errors(caught.value.errors())]


def request_integers() -> list[tuple[str, dict[str, Any]]]:
    """Every integer schema a request can contain: in parameters and request bodies, following `$ref`s."""
    spec = document()
    found: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()

    def walk(schema: Any, where: str) -> None:
        if isinstance(schema, dict):
            reference = schema.get("$ref")
            if isinstance(reference, str) and reference not in seen:
                seen.add(reference)
                walk(spec["components"]["schemas"][reference.rsplit("/", 1)[-1]], reference.rsplit("/", 1)[-1])
            if schema.get("type") == "integer":
                found.append((where, schema))
            for key, value in schema.items():
                walk(value, f"{where}.{key}")
        elif isinstance(schema, list):
            for index, value in enumerate(schema):
                walk(value, f"{where}.{index}")

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            walk(operation.get("parameters", []), f"{method} {path}")
            walk(operation.get("requestBody", {}), f"{method} {path} body")
    return found


def test_every_integer_a_request_can_hold_is_bounded() -> None:
    """In bodies and parameters alike: an unbounded integer reached the engine or the store as 2**64."""
    found = request_integers()
    assert len(found) > 40
    assert [where for where, schema in found if "minimum" not in schema or "maximum" not in schema] == []


@pytest.mark.parametrize(
    ("model", "body", "read"),
    [
        (RunSpec, {**RUN, "steps": 3.0}, lambda spec: spec.steps),
        (RunSpec, {**RUN, "record": {"every": 2.0}}, lambda spec: spec.record.every),
        (
            RunSpec,
            {**RUN, "schedule": {"kind": "torch.StepLR", "lr": 1, "step_size": 5.0}},
            lambda s: s.schedule.step_size,
        ),
        (
            RunSpec,
            {**RUN, "schedule": {"kind": "tf1.piecewise_constant", "boundaries": [5.0], "values": [0.1, 0.01]}},
            lambda spec: spec.schedule.boundaries[0],
        ),
        (LRFinderSpec, {"loss": {"kind": "quadratic"}, "w0": 1, "num_iter": 20.0}, lambda spec: spec.num_iter),
        (LandscapeSpec, {"loss": {"kind": "quadratic"}, "bounds": [[0, 1]], "resolution": 7.0}, lambda s: s.resolution),
        (
            SweepSpec,
            {"base": RUN, "axes": [{"path": "w0", "linspace": {"start": 0, "stop": 1, "num": 4.0}}], "max_points": 9.0},
            lambda spec: (spec.axes[0].linspace.num, spec.max_points),
        ),
    ],
)
def test_a_whole_number_float_is_taken_for_an_integer(model: Any, body: dict[str, Any], read: Any) -> None:
    value = read(model.model_validate(body))
    for number in value if isinstance(value, tuple) else (value,):
        assert type(number) is int


@pytest.mark.parametrize("value", [3.5, "3", True, float("inf"), float("nan")])
def test_anything_else_is_not_an_integer(value: Any) -> None:
    assert refusals(RunSpec, {**RUN, "steps": value}) == [
        (["steps"], "Give a whole number (an integer such as 3, or 3.0).")
    ]


def test_an_optax_exponent_keeps_the_form_it_was_written_in() -> None:
    """2 multiplies (lax.integer_pow) and 2.0 uses pow: the whole-number conversion of integer fields is not applied."""
    schedule = {"kind": "optax.polynomial_schedule", "init_value": 1, "end_value": 0, "transition_steps": 10}
    as_int = RunSpec.model_validate({**RUN, "schedule": {**schedule, "power": 2}})
    as_float = RunSpec.model_validate({**RUN, "schedule": {**schedule, "power": 2.0}})
    assert type(as_int.normalised()["schedule"]["power"]) is int
    assert type(as_float.normalised()["schedule"]["power"]) is float


def test_an_integer_field_names_its_range_in_full() -> None:
    assert refusals(RunSpec, {**RUN, "record": {"every": 2**64}}) == [
        (["record", "every"], f"Give a number at most {INT32_MAX}.")
    ]
    assert refusals(RunSpec, {**RUN, "steps": 0}) == [(["steps"], "Give a number at least 1.")]


@pytest.mark.parametrize("literal", [10**400, -(10**400), 2**128])
@pytest.mark.parametrize(
    ("where", "loc"),
    [
        ({"w0": "<n>"}, ["w0"]),
        ({"w0": [1, "<n>"]}, ["w0"]),
        ({"loss": {"kind": "quadratic", "a": "<n>"}}, ["loss", "a"]),
        ({"loss": {"kind": "polynomial", "coefficients": ["<n>"]}}, ["loss", "coefficients", 0]),
        ({"schedule": "<n>"}, ["schedule"]),
        ({"stop": {"grad_tol": "<n>"}}, ["stop", "grad_tol"]),
    ],
)
def test_an_integer_beyond_float32_is_refused_without_overflowing(
    literal: int, where: dict[str, Any], loc: list[Any]
) -> None:
    """float(10**400) raises OverflowError: the check compares the integer itself."""
    body = {**RUN, **{key: _put(value, literal) for key, value in where.items()}}
    (error,) = [refusal for refusal in refusals(RunSpec, body) if refusal[0] == loc]
    assert "within ±3.4e38 (float32's range)" in error[1]
    if abs(literal) > 10**300:
        assert "about 1e400" in error[1]


def _put(template: Any, literal: int) -> Any:
    if template == "<n>":
        return literal
    if isinstance(template, list):
        return [_put(item, literal) for item in template]
    if isinstance(template, dict):
        return {key: _put(value, literal) for key, value in template.items()}
    return template
