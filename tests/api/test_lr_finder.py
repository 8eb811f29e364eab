"""`POST /v1/lr-finder`: the range test on the course's loss, its suggestions, and the fields it refuses."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.specs.lr_finder import MAX_NUM_ITER

COURSE: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5}


def test_course_suggestions_fall_in_the_stable_region(client: TestClient) -> None:
    response = client.post("/v1/lr-finder", json=COURSE)
    assert response.status_code == 200
    body = response.json()
    assert [s["name"] for s in body["suggestions"]] == ["steepest", "valley", "minimum"]
    assert [s["library"] for s in body["suggestions"]] == ["torch-lr-finder", "fastai", "fastai"]
    for suggestion in body["suggestions"]:
        assert 0 < suggestion["lr"] < 1  # 2/(2a) = 1: the course's stable limit
        assert suggestion["rule"]
        assert suggestion["note"] is None
    steepest, valley, minimum = body["suggestions"]
    assert steepest["lr"] == body["lr"][steepest["index"]]
    assert valley["lr"] == body["lr"][valley["index"]]
    assert minimum["index"] == min(range(10, len(body["lr"]) - 5), key=body["smoothed_loss"].__getitem__)


def test_course_curve_stops_early_once_diverging(client: TestClient) -> None:
    body = client.post("/v1/lr-finder", json=COURSE).json()
    assert body["stopped_early"] is True
    assert body["stop_reason"] == "diverged"
    assert len(body["lr"]) == len(body["loss"]) == len(body["smoothed_loss"]) < 100
    assert body["lr"][-1] > 1
    assert body["smoothed_loss"][-1] > 5 * min(body["smoothed_loss"])
    assert all(s <= 5 * min(body["smoothed_loss"][: k + 1]) for k, s in enumerate(body["smoothed_loss"][:-1]))


def test_numbers_are_written_in_the_dtype(client: TestClient) -> None:
    body = client.post("/v1/lr-finder", json=COURSE).json()
    assert body["lr"][:2] == [1e-07, 1.2045035e-07]  # float32, shortest
    assert body["loss"][0] == 36.0
    assert body["smoothed_loss"][0] == 36.0
    double = client.post("/v1/lr-finder", json={**COURSE, "dtype": "float64"}).json()
    assert double["lr"][1] == 1e-7 * (10 / 1e-7) ** (1 / 99)


def test_linear_mode_rates(client: TestClient) -> None:
    spec = {**COURSE, "step_mode": "linear", "start_lr": 0.001, "end_lr": 0.5, "num_iter": 50, "dtype": "float64"}
    body = client.post("/v1/lr-finder", json=spec).json()
    assert body["lr"] == [0.001 + k / 49 * (0.5 - 0.001) for k in range(50)]
    assert body["stopped_early"] is False
    assert body["stop_reason"] == "completed"


def test_answer_is_deterministic(client: TestClient) -> None:
    spec = {**COURSE, "optimizer": {"kind": "torch.SGD", "momentum": 0.9}}
    assert client.post("/v1/lr-finder", json=spec).content == client.post("/v1/lr-finder", json=spec).content


def test_too_short_a_curve_gives_null_suggestions_with_a_note(client: TestClient) -> None:
    body = client.post("/v1/lr-finder", json={**COURSE, "start_lr": 2}).json()
    assert len(body["lr"]) < 17
    for suggestion in body["suggestions"]:
        assert suggestion["lr"] is None
        assert suggestion["index"] is None
        assert "needs at least" in suggestion["note"]


def test_vector_loss_and_other_optimizers(client: TestClient) -> None:
    spec = {
        "loss": {"kind": "quadratic", "a": [1, 10], "b": 0, "c": 1},
        "w0": [3, -2],
        "optimizer": {"kind": "keras.Adam"},
        "end_lr": 100,
    }
    response = client.post("/v1/lr-finder", json=spec)
    assert response.status_code == 200
    assert response.json()["loss"][0] == 3**2 + 10 * 2**2 + 2


@pytest.mark.parametrize(
    ("changes", "loc", "words"),
    [
        ({"start_lr": 0}, ["start_lr"], "greater than 0"),
        ({"start_lr": -1, "step_mode": "linear"}, ["start_lr"], "greater than 0"),
        ({"start_lr": 1, "end_lr": 1}, ["end_lr"], "larger than start_lr"),
        ({"start_lr": 0.1, "end_lr": 0.01}, ["end_lr"], "larger than start_lr"),
        ({"num_iter": 1}, ["num_iter"], "at least 2"),
        ({"num_iter": MAX_NUM_ITER + 1}, ["num_iter"], f"at most {MAX_NUM_ITER}"),
        ({"num_iter": 10.5}, ["num_iter"], "integer"),
        ({"step_mode": "cos"}, ["step_mode"], "'exp' or 'linear'"),
        ({"smooth_f": 1}, ["smooth_f"], "less than 1"),
        ({"smooth_f": -0.1}, ["smooth_f"], "at least 0"),
        ({"diverge_th": 0.5}, ["diverge_th"], "at least 1"),
        ({"end_lr": 1e39}, ["end_lr"], "float32's range"),
        ({"lr": 0.1}, ["lr"], "Unknown field"),
        ({"w0": [1, 2], "loss": {"kind": "quadratic", "a": [1, 2, 3]}}, ["loss", "a"], "w0 has 2 dimensions"),
        ({"optimizer": {"kind": "adam"}}, ["optimizer", "kind"], "Unknown kind"),
    ],
)
def test_bad_parameters_get_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], loc: list[str], words: str
) -> None:
    response = client.post("/v1/lr-finder", json={**COURSE, **changes})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["loc"] == loc
    assert words in error["msg"]


def test_dimensions_beyond_the_servers_limit(tmp_path: Any) -> None:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", max_dims=2)
    with TestClient(create_app(settings)) as client:
        response = client.post("/v1/lr-finder", json={**COURSE, "w0": [1, 2, 3]})
    assert response.status_code == 422
    assert response.json()["type"] == "urn:descent:problem:limit-exceeded"
    assert response.json()["errors"][0]["loc"] == ["w0"]


def test_needs_a_key_when_keys_are_configured(tmp_path: Any) -> None:
    settings = Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread", api_keys=["k"])
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/lr-finder", json=COURSE).status_code == 401
        assert client.post("/v1/lr-finder", json=COURSE, headers={"X-API-Key": "k"}).status_code == 200
