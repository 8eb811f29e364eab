"""The catalogue lists every kind the API accepts, generated from the same models."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.specs.catalog import KIND_MODELS
from service.specs.kinds.base import kind_of


def test_catalog_lists_every_kind_with_its_parameters(client: TestClient) -> None:
    catalog = client.get("/v1/catalog").json()
    for group, models in KIND_MODELS.items():
        assert [entry["kind"] for entry in catalog[group]] == [kind_of(model) for model in models]
    decay = next(entry for entry in catalog["schedules"] if entry["kind"] == "tf1.exponential_decay")
    assert decay["library"] == "tf1"
    params = {p["name"]: p for p in decay["parameters"]}
    assert params["staircase"] == {
        "name": "staircase",
        "required": False,
        "default": False,
        "description": "Decay in whole periods (floor of global_step / decay_steps).",
        "schema": {
            "type": "boolean",
            "default": False,
            "description": "Decay in whole periods (floor of global_step / decay_steps).",
        },
    }
    assert params["decay_steps"]["required"]
    assert params["decay_steps"]["schema"]["minimum"] == 1e-30


@pytest.mark.parametrize(
    ("group", "entry_kind", "parameters"),
    [
        ("losses", "quadratic", {"a": 1, "b": 1, "c": 0}),
        ("losses", "polynomial", {"coefficients": [1, 0, 1]}),
        ("schedules", "constant", {"learning_rate": 0.2}),
        ("schedules", "tf1.exponential_decay", {"learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.99}),
        ("optimizers", "sgd", {}),
        ("optimizers", "tf1.GradientDescentOptimizer", {}),
    ],
)
def test_every_catalogued_kind_runs(
    client: TestClient, group: str, entry_kind: str, parameters: dict[str, Any]
) -> None:
    spec: dict[str, Any] = {
        "loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0},
        "w0": 5,
        "schedule": 0.2,
        "steps": 10,
    }
    spec[{"losses": "loss", "schedules": "schedule", "optimizers": "optimizer"}[group]] = {
        "kind": entry_kind,
        **parameters,
    }
    assert client.post("/v1/runs", json=spec).status_code == 201


def test_tf1_optimizer_gives_the_same_numbers_as_sgd(client: TestClient) -> None:
    base = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
    plain = client.post("/v1/runs", json=base).json()["trace"]
    tf1 = client.post("/v1/runs", json={**base, "optimizer": {"kind": "tf1.GradientDescentOptimizer"}}).json()
    assert tf1["trace"] == plain
