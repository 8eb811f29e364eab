"""Every item of a 422's `errors` carries a machine-readable `type`: Pydantic's for validation errors, the service's
own (`service.errors.ERROR_TYPES`) for its rules and limits, so a client branches on it, not on the wording."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.errors import ERROR_TYPES
from tests.conftest import COURSE_RUN

ONE_CYCLE = {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10}


def run(**changes: Any) -> dict[str, Any]:
    return {**COURSE_RUN, **changes}


CASES: list[tuple[str, str, dict[str, Any], list[str | int], str]] = [
    # validation (Pydantic's error types)
    ("missing w0", "/v1/runs", {k: v for k, v in COURSE_RUN.items() if k != "w0"}, ["w0"], "missing"),
    ("steps below 1", "/v1/runs", run(steps=0), ["steps"], "greater_than_equal"),
    ("fractional steps", "/v1/runs", run(steps=2.5), ["steps"], "int_type"),
    ("string coefficient", "/v1/runs", run(loss={"kind": "quadratic", "a": "one"}), ["loss", "a"], "number_or_list"),
    ("unknown field", "/v1/runs", run(learning_rate=0.2), ["learning_rate"], "extra_forbidden"),
    ("bad dtype", "/v1/runs", run(dtype="float16"), ["dtype"], "literal_error"),
    ("unknown kind", "/v1/runs", run(optimizer={"kind": "adam"}), ["optimizer", "kind"], "union_tag_invalid"),
    ("no kind", "/v1/runs", run(optimizer={"lr": 1}), ["optimizer", "kind"], "union_tag_not_found"),
    ("beyond float32", "/v1/runs", run(w0=1e39), ["w0"], "float32_range"),
    (
        "lr on a child scheduler",
        "/v1/runs",
        run(
            schedule={
                "kind": "torch.ChainedScheduler",
                "lr": 0.1,
                "schedulers": [{"kind": "torch.StepLR", "step_size": 2, "lr": 0.5}],
            }
        ),
        ["schedule", "schedulers", 0, "lr"],
        "child_lr",
    ),
    # the service's own rules
    (
        "dimensions disagree",
        "/v1/runs",
        run(loss={"kind": "polynomial", "coefficients": [1, 2]}, w0=[1, 2]),
        ["loss", "coefficients"],
        "dimension_mismatch",
    ),
    (
        "coefficients per dimension disagree with w0",
        "/v1/runs",
        run(loss={"kind": "quadratic", "a": [1, 2]}, w0=[1, 2, 3]),
        ["loss", "a"],
        "dimension_mismatch",
    ),
    (
        "formula that does not parse",
        "/v1/runs",
        run(loss={"kind": "expression", "formula": "(w + 1)**"}),
        ["loss", "formula"],
        "invalid_expression",
    ),
    (
        "steps past OneCycleLR",
        "/v1/runs",
        run(schedule={**ONE_CYCLE, "cycle_momentum": False}, steps=11),
        ["steps"],
        "beyond_schedule",
    ),
    (
        "cycle_momentum without momentum",
        "/v1/runs",
        run(schedule=ONE_CYCLE, optimizer={"kind": "torch.Adagrad"}, steps=10),
        ["schedule", "cycle_momentum"],
        "incompatible",
    ),
    (
        "engine refuses a parameter",
        "/v1/runs",
        run(loss={"kind": "quadratic_form", "A": [[1, 2], [3]]}, w0=[1, 2]),
        ["loss", "A", 1],
        "invalid_parameter",
    ),
    ("steps beyond the limit", "/v1/runs", run(steps=1_000_001), ["steps"], "limit_exceeded"),
    (
        "trace beyond the limit",
        "/v1/runs",
        run(steps=1_000_000, w0=[1.0] * 64, loss={"kind": "quadratic", "a": 1}),
        ["record", "every"],
        "limit_exceeded",
    ),
    (
        "axis that is not a parameter",
        "/v1/sweeps",
        {"base": COURSE_RUN, "axes": [{"path": "loss.kind", "values": [1, 2]}]},
        ["axes", 0, "path"],
        "not_sweepable",
    ),
    (
        "landscape bounds and loss disagree",
        "/v1/landscape",
        {"loss": {"kind": "quadratic", "a": [1, 2]}, "bounds": [[-1, 1]], "resolution": 5},
        ["bounds"],
        "dimension_mismatch",
    ),
    ("view with a huge integer", "/v1/views", {"state": {"step": 2**60}}, ["state", "step"], "invalid_view"),
]


@pytest.mark.parametrize(("path", "body", "loc", "type_"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_each_error_item_has_its_type(
    client: TestClient, path: str, body: dict[str, Any], loc: list[str | int], type_: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert all(set(error) == {"loc", "msg", "type"} for error in errors)
    assert [error["loc"] for error in errors] == [loc], errors
    assert [error["type"] for error in errors] == [type_]


def test_every_item_of_a_many_error_problem_has_its_own_type(client: TestClient) -> None:
    body = run(steps=0, dtype="float16", w0="five")
    errors = client.post("/v1/runs", json=body).json()["errors"]
    assert {tuple(error["loc"]): error["type"] for error in errors} == {
        ("steps",): "greater_than_equal",
        ("dtype",): "literal_error",
        ("w0",): "number_or_list",
    }


def test_a_query_parameter_error_has_its_type(client: TestClient) -> None:
    response = client.get("/v1/runs", params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert [(error["loc"], error["type"]) for error in response.json()["errors"]] == [
        (["query", "cursor"], "string_pattern_mismatch")
    ]


def test_code_in_a_library_without_the_optimizer_is_no_counterpart(client: TestClient) -> None:
    created = client.post("/v1/runs", json=run(optimizer={"kind": "torch.Adam"}, schedule=0.1))
    assert created.status_code == 201, created.text
    response = client.get(f"/v1/runs/{created.json()['id']}/code", params={"library": "keras"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"loc": ["optimizer", "kind"], "msg": response.json()["errors"][0]["msg"], "type": "no_counterpart"}
    ]


def test_the_service_types_are_documented_in_the_openapi_schema(client: TestClient) -> None:
    item = client.get("/openapi.json").json()["components"]["schemas"]["ErrorItem"]
    assert item["required"] == ["loc", "msg", "type"]
    for code in ERROR_TYPES:
        assert f"`{code}`" in item["properties"]["type"]["description"]
