"""The loss kinds over HTTP: formulas, named test functions and the quadratic form run, and what they refuse is a
422 at the field, with the message pointing at the token."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.engine.expressions import FUNCTIONS, MAX_LENGTH
from service.specs.kinds.losses import FORMULA_LENGTH, ExpressionLoss
from tests.conftest import COURSE_RUN


def test_the_course_as_a_formula_gives_the_course_numbers(client: TestClient) -> None:
    built_in = client.post("/v1/runs", json=COURSE_RUN).json()
    response = client.post("/v1/runs", json={**COURSE_RUN, "loss": {"kind": "expression", "formula": "(w + 1)**2"}})
    assert response.status_code == 201
    run = response.json()
    assert run["trace"] == built_in["trace"]
    assert run["spec"]["loss"] == {"kind": "expression", "formula": "(w + 1)**2"}
    assert run["summary"]["analysis"] == {**built_in["summary"]["analysis"], "kind": "expression"}
    assert run["summary"]["verdict"] == "converged"


def test_a_two_dimensional_formula(client: TestClient) -> None:
    spec = {
        "loss": {"kind": "expression", "formula": "(x - 1)**2 + 10*(y + 2)**2"},
        "w0": [0, 0],
        "schedule": 0.04,
        "steps": 200,
        "dtype": "float64",
    }
    summary = client.post("/v1/runs", json=spec).json()["summary"]
    assert summary["verdict"] == "converged"
    assert summary["final"]["w"] == pytest.approx([1, -2], abs=1e-6)
    assert summary["analysis"]["max_stable_lr"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("formula", "token"),
    [
        ("import os", "`import` at column 1"),
        ("w + __import__('os').system('x')", "`__import__('os').system` at column 5"),
        ("(w + 1)**2 if w > 0 else w", "`if` at column 12"),
        ("w.__class__", "`w.__class__` at column 1"),
        ("w[3]", "`w[3]` at column 1"),
        ("exp(w", "`(` at column 4"),
    ],
)
def test_a_bad_formula_is_a_422_pointing_at_the_token(client: TestClient, formula: str, token: str) -> None:
    response = client.post("/v1/runs", json={**COURSE_RUN, "loss": {"kind": "expression", "formula": formula}})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["loc"] == ["loss", "formula"]
    assert problem["errors"][0]["msg"].startswith(token)
    assert problem["detail"].startswith(f"loss.formula: {token}")


def test_a_formula_too_long_is_refused_by_the_schema(client: TestClient) -> None:
    formula = "w" + " + w" * 200
    response = client.post("/v1/runs", json={**COURSE_RUN, "loss": {"kind": "expression", "formula": formula}})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["loss", "formula"]


def test_the_schema_states_the_engines_limits() -> None:
    assert FORMULA_LENGTH == MAX_LENGTH
    description = ExpressionLoss.model_fields["formula"].description or ""
    assert all(name in description for name in FUNCTIONS)


@pytest.mark.parametrize(
    ("loss", "w0", "rate", "minimum"),
    [
        ({"kind": "booth"}, [0, 0], 0.05, [1, 3]),
        ({"kind": "himmelblau"}, [1, 1], 0.01, [3, 2]),
        ({"kind": "beale"}, [1, 1], 0.01, [3, 0.5]),
        ({"kind": "rosenbrock"}, [0.5, 0.5], 0.001, [1, 1]),
        ({"kind": "rosenbrock", "a": 1, "b": 100}, [0.9, 0.9, 0.9], 0.001, [1, 1, 1]),
        ({"kind": "quadratic_form", "A": [[3, 1], [-1, 2]], "b": [1, -2], "c": 0.5}, [0, 0], 0.1, [-1 / 3, 1]),
    ],
)
def test_named_functions_and_the_quadratic_form_run_to_their_minimum(
    client: TestClient, loss: dict[str, Any], w0: list[float], rate: float, minimum: list[float]
) -> None:
    spec = {"loss": loss, "w0": w0, "schedule": rate, "steps": 30000, "dtype": "float64", "record": {"every": 1000}}
    response = client.post("/v1/runs", json=spec)
    assert response.status_code == 201
    summary = response.json()["summary"]
    assert summary["final"]["w"] == pytest.approx(minimum, abs=1e-4)
    assert summary["analysis"]["minimum"]["w"] == pytest.approx(minimum)


@pytest.mark.parametrize(
    ("loss", "w0", "loc"),
    [
        ({"kind": "quadratic_form", "A": [[1, 2], [3]]}, [0, 0], ["loss", "A", 1]),
        ({"kind": "quadratic_form", "A": [[1, 0], [0, 1]]}, [0, 0, 0], ["loss", "A"]),
        ({"kind": "quadratic_form", "A": [[1, 0], [0, 1]], "b": [1, 2, 3]}, [0, 0], ["loss", "b"]),
        ({"kind": "quadratic_form", "A": []}, [0, 0], ["loss", "A"]),
        ({"kind": "himmelblau"}, [0, 0, 0], ["loss", "kind"]),
        ({"kind": "rosenbrock"}, 0, ["loss", "kind"]),
        ({"kind": "booth", "a": 1}, [0, 0], ["loss", "a"]),
    ],
)
def test_refusals_name_the_field(client: TestClient, loss: dict[str, Any], w0: Any, loc: list[Any]) -> None:
    response = client.post("/v1/runs", json={"loss": loss, "w0": w0, "schedule": 0.1, "steps": 5})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == loc


def test_the_catalogue_describes_each_new_kind(client: TestClient) -> None:
    entries = {entry["kind"]: entry for entry in client.get("/v1/catalog").json()["losses"]}
    assert entries["expression"]["description"].startswith("A formula in w")
    assert entries["booth"]["description"].endswith("minimum 0 at (1, 3).")
    assert {p["name"]: p["default"] for p in entries["rosenbrock"]["parameters"]} == {"a": 1.0, "b": 100.0}
    assert [p["name"] for p in entries["quadratic_form"]["parameters"]] == ["A", "b", "c"]
    assert entries["himmelblau"]["parameters"] == []
