"""`POST /v1/landscape`: curves and contour grids of a loss, their minimum, and the limits."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.specs.landscape import MAX_RESOLUTION
from tests.conftest import NUMPY_PARABOLA

PARABOLA = {"kind": "quadratic", "a": 1, "b": 1, "c": 0}


def test_course_parabola(client: TestClient) -> None:
    response = client.post("/v1/landscape", json={"loss": PARABOLA, "bounds": [[-3, 1]], "resolution": 5})
    assert response.status_code == 200
    assert response.json() == {
        "x": [-3.0, -2.0, -1.0, 0.0, 1.0],
        "y": None,
        "loss": [4.0, 1.0, 0.0, 1.0, 4.0],
        "minimum": {"w": [-1.0], "loss": 0.0, "index": [2]},
    }


def test_course_parabola_in_float32(client: TestClient) -> None:
    body = client.post("/v1/landscape", json={"loss": PARABOLA, "bounds": [[-6, 4]], "resolution": 101}).json()
    x = np.linspace(-6, 4, 101).astype(np.float32)
    # each number is float32's shortest decimal: it reads back to the same float32
    assert np.array(body["x"], np.float32).tobytes() == x.tobytes()
    assert np.array(body["loss"], np.float32).tobytes() == np.square(x + np.float32(1)).tobytes()
    assert body["x"][1] == -5.9  # float32 written shortest
    assert body["minimum"] == {"w": [-1.0], "loss": 0.0, "index": [50]}


def test_quadratic_contour_grid(client: TestClient) -> None:
    loss = {"kind": "quadratic", "a": [1, 10], "b": [1, -2], "c": 0.5}
    spec = {"loss": loss, "bounds": [[-3, 1], [0, 4]], "resolution": 9, "dtype": "float64"}
    body = client.post("/v1/landscape", json=spec).json()
    x, y = body["x"], body["y"]
    assert x == np.linspace(-3, 1, 9).tolist()
    assert y == np.linspace(0, 4, 9).tolist()
    assert len(body["loss"]) == len(y)  # one row per y
    assert body["loss"] == [[(xi + 1) ** 2 + 0.5 + 10 * (yj - 2) ** 2 + 0.5 for xi in x] for yj in y]
    assert body["minimum"] == {"w": [-1.0, 2.0], "loss": 1.0, "index": [4, 4]}


def test_polynomial_curve(client: TestClient) -> None:
    loss = {"kind": "polynomial", "coefficients": [0, -3, 0, 1]}  # w³ - 3w: a local minimum at w = 1
    body = client.post("/v1/landscape", json={"loss": loss, "bounds": [[0, 2]], "resolution": 3}).json()
    assert body["loss"] == [0.0, -2.0, 2.0]
    assert body["minimum"]["w"] == [1.0]


def test_named_test_function_contour(client: TestClient) -> None:
    spec = {"loss": {"kind": "rosenbrock"}, "bounds": [[-2, 2], [-1, 3]], "resolution": 5, "dtype": "float64"}
    body = client.post("/v1/landscape", json=spec).json()
    assert body["minimum"] == {"w": [1.0, 1.0], "loss": 0.0, "index": [2, 3]}
    assert body["loss"][0][0] == 100 * (-1 - 4) ** 2 + (1 + 2) ** 2  # (x, y) = (-2, -1)


def test_expression_curve(client: TestClient) -> None:
    spec = {"loss": {"kind": "expression", "formula": "(w + 1)**2"}, "bounds": [[-3, 1]], "resolution": 5}
    assert client.post("/v1/landscape", json=spec).json()["loss"] == [4.0, 1.0, 0.0, 1.0, 4.0]


def test_overflow_is_null(client: TestClient) -> None:
    spec = {"loss": {"kind": "quadratic", "a": 3e38}, "bounds": [[-3e38, 3e38]], "resolution": 3}
    body = client.post("/v1/landscape", json=spec).json()
    assert body["loss"] == [None, 0.0, None]
    assert body["minimum"]["index"] == [1]
    everywhere = client.post("/v1/landscape", json={**spec, "bounds": [[1e30, 2e30]]}).json()
    assert everywhere["minimum"] is None
    assert everywhere["loss"] == [None, None, None]


def test_largest_grid(client: TestClient) -> None:
    spec = {"loss": {"kind": "quadratic", "a": [1, 2]}, "bounds": [[-1, 1], [-1, 1]], "resolution": MAX_RESOLUTION}
    body = client.post("/v1/landscape", json=spec).json()
    assert len(body["loss"]) == MAX_RESOLUTION
    assert {len(row) for row in body["loss"]} == {MAX_RESOLUTION}


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"resolution": MAX_RESOLUTION + 1}, ["resolution"], f"at most {MAX_RESOLUTION}"),
        ({"resolution": 1}, ["resolution"], "at least 2"),
        ({"bounds": [[0, 1]] * 3}, ["bounds"], "at most 2 items"),
        ({"bounds": []}, ["bounds"], "at least 1 item"),
        ({"bounds": [[0, 1, 2]]}, ["bounds", 0], "at most 2 items"),
        ({"bounds": [[1, 1]]}, ["bounds", 0], "lo must be less than hi"),
        ({"bounds": [[0, 1], [3, 2]]}, ["bounds", 1], "lo must be less than hi"),
        ({"bounds": [[1, 1.000000001]]}, ["bounds", 0], "equal in float32"),
        ({"bounds": [[0, 1e39]]}, ["bounds", 0, 1], "float32's range"),
        ({"loss": {"kind": "quadratic", "a": [1, 2]}}, ["bounds"], "loss.a has 2 values"),
        ({"loss": {"kind": "quadratic", "b": [1, 2, 3]}, "bounds": [[0, 1], [0, 1]]}, ["bounds"], "loss.b has 3"),
        (
            {"loss": {"kind": "polynomial", "coefficients": [1, 2]}, "bounds": [[0, 1], [0, 1]]},
            ["bounds"],
            "polynomial",
        ),
        ({"loss": {"kind": "himmelblau"}}, ["bounds"], "himmelblau loss has 2"),
        ({"loss": {"kind": "rosenbrock"}}, ["bounds"], "at least 2"),
        ({"loss": {"kind": "quadratic_form", "A": [[1, 0], [0, 1]]}}, ["bounds"], "loss.A has 2 rows"),
        ({"loss": {"kind": "expression", "formula": "x + y"}}, ["loss", "formula"], "the bounds': 1"),
        ({"range": [0, 1]}, ["range"], "Unknown field"),
    ],
)
def test_bad_grids_get_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], loc: list[str | int], words: str
) -> None:
    response = client.post("/v1/landscape", json={"loss": PARABOLA, "bounds": [[-3, 1]], **changes})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["loc"] == loc
    assert words in error["msg"]


def test_needs_a_key_when_keys_are_configured(tmp_path: Any) -> None:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", api_keys=["k"])
    spec = {"loss": PARABOLA, "bounds": [[-3, 1]]}
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/landscape", json=spec).status_code == 401
        assert client.post("/v1/landscape", json=spec, headers={"Authorization": "Bearer k"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/landscape", {"loss": PARABOLA, "bounds": [[-3, 1]]}),
        ("/v1/lr-finder", {"loss": PARABOLA, "w0": 5}),
    ],
)
def test_a_full_pool_refuses_with_429_before_computing(tmp_path: Path, path: str, body: dict[str, Any]) -> None:
    """Landscapes and range tests run in the bounded worker pool like runs: when it is full, 429 Retry-After."""
    settings = Settings(
        store_path=str(tmp_path / "runs.sqlite3"), executor="thread", max_concurrent_runs=1, max_queued_runs=0
    )
    crawl = {"loss": NUMPY_PARABOLA, "w0": 5, "schedule": 1e-7, "steps": 1_000_000, "record": {"every": 1000}}
    with TestClient(create_app(settings)) as client:
        busy = client.post("/v1/runs", params={"wait": "false"}, json=crawl).json()
        refused = client.post(path, json=body)
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["type"] == "urn:descent:problem:busy"
        assert client.delete(f"/v1/runs/{busy['id']}").json()["status"] == "cancelled"
        assert client.post(path, json=body).status_code == 200
