"""`/v1/runs`: create, read back (JSON, thinned, CSV), list with cursors, delete."""

import csv
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import COURSE_RUN, DECAY_SCHEDULE


def test_create_answers_201_with_location_and_normalised_spec(client: TestClient) -> None:
    response = client.post("/v1/runs", json={**COURSE_RUN, "name": "rate 0.2"})
    assert response.status_code == 201
    run = response.json()
    assert response.headers["location"] == f"/v1/runs/{run['id']}"
    assert run["status"] == "finished"
    assert run["name"] == "rate 0.2"
    assert run["spec"]["schedule"] == {"kind": "constant", "learning_rate": 0.2}
    assert run["spec"]["optimizer"] == {"kind": "sgd"}
    assert run["spec"]["dtype"] == "float32"
    assert run["created_at"].endswith("Z")
    assert run["finished_at"] >= run["created_at"]
    columns = run["trace"]
    assert {len(values) for values in columns.values()} == {41}


def test_float32_numbers_are_written_shortest(client: TestClient) -> None:
    response = client.post("/v1/runs", json=COURSE_RUN)
    assert '"w":[5.0,2.6,1.16,' in response.text
    assert "2.5999999046325684" not in response.text
    assert response.json()["summary"]["final"] == {"step": 40, "w": -0.99999994, "loss": 3.5527137e-15}


def test_float64_run_reproduces_double_arithmetic(client: TestClient) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "dtype": "float64"}).json()
    expected, w = [], 5.0
    for _ in range(41):
        expected.append(w)
        w = w - 0.2 * (2.0 * (w + 1.0))
    assert run["trace"]["w"] == expected


def test_vector_run_has_vector_rows(client: TestClient) -> None:
    spec = {"loss": {"kind": "quadratic", "a": [1, 10], "b": 0, "c": 0}, "w0": [1, 1], "schedule": 0.04, "steps": 5}
    run = client.post("/v1/runs", json=spec).json()
    assert len(run["trace"]["w"]) == 6
    assert len(run["trace"]["w"][0]) == 2
    assert run["summary"]["analysis"]["max_stable_lr"] == 0.1


def test_polynomial_run(client: TestClient) -> None:
    spec = {"loss": {"kind": "polynomial", "coefficients": [1, 0, 1]}, "w0": 2, "schedule": 0.1, "steps": 100}
    summary = client.post("/v1/runs", json=spec).json()["summary"]
    assert summary["verdict"] == "converged"
    assert summary["analysis"]["minimum"] == {"w": [0.0], "loss": 1.0}


def test_read_back_equals_the_answer(client: TestClient) -> None:
    created = client.post("/v1/runs", json=COURSE_RUN).json()
    assert client.get(f"/v1/runs/{created['id']}").json() == created


def test_thinning_keeps_first_and_last(client: TestClient) -> None:
    run_id = client.post("/v1/runs", json={**COURSE_RUN, "steps": 1000}).json()["id"]
    assert client.get(f"/v1/runs/{run_id}", params={"every": 300}).json()["trace"]["step"] == [0, 300, 600, 900, 1000]
    steps = client.get(f"/v1/runs/{run_id}", params={"max_points": 10}).json()["trace"]["step"]
    assert len(steps) == 10
    assert steps[0] == 0
    assert steps[-1] == 1000


def test_record_every_stores_fewer_rows(client: TestClient) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "steps": 95, "record": {"every": 10}}).json()
    assert run["trace"]["step"] == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    assert run["summary"]["steps_run"] == 95


def test_csv_by_accept_and_by_format(client: TestClient) -> None:
    run = client.post("/v1/runs", json=COURSE_RUN).json()
    by_accept = client.get(f"/v1/runs/{run['id']}", headers={"Accept": "text/csv"})
    by_format = client.get(f"/v1/runs/{run['id']}?format=csv")
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == by_format.text
    rows = list(csv.DictReader(io.StringIO(by_accept.text)))
    assert list(rows[0]) == ["step", "w", "loss", "lr", "grad"]
    assert len(rows) == 41
    assert rows[1]["w"] == "2.6"
    assert rows[1]["loss"] == "12.959999"
    assert [float(r["w"]) for r in rows] == run["trace"]["w"]


def test_csv_spreads_vector_columns(client: TestClient) -> None:
    spec = {"loss": {"kind": "quadratic", "a": 1}, "w0": [1, 2], "schedule": 0.1, "steps": 2}
    run_id = client.post("/v1/runs", json=spec).json()["id"]
    header = client.get(f"/v1/runs/{run_id}?format=csv").text.splitlines()[0]
    assert header == "step,w[0],w[1],loss,lr,grad[0],grad[1]"


def test_list_is_newest_first_with_cursor_pages_and_no_traces(client: TestClient) -> None:
    ids = [client.post("/v1/runs", json={**COURSE_RUN, "name": f"run {i}"}).json()["id"] for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/v1/runs", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        assert all("trace" not in item for item in body["items"])
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            assert "link" not in page.headers
            break
        assert 'rel="next"' in page.headers["link"]
    assert seen == ids[::-1]


def test_delete_removes_the_run(client: TestClient) -> None:
    run_id = client.post("/v1/runs", json=COURSE_RUN).json()["id"]
    assert client.delete(f"/v1/runs/{run_id}").status_code == 204
    assert client.get(f"/v1/runs/{run_id}").status_code == 404
    assert client.delete(f"/v1/runs/{run_id}").status_code == 404
    assert client.get("/v1/runs").json()["items"] == []


def test_diverged_run_stores_its_finite_rows(client: TestClient) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "schedule": 3, "steps": 500}).json()
    assert run["status"] == "diverged"
    assert run["summary"]["verdict"] == "diverged"
    diverged_at = run["summary"]["diverged_at"]
    assert run["trace"]["step"][-1] == diverged_at - 1
    assert np.isfinite(run["trace"]["loss"]).all()
    assert "overflowed" in run["summary"]["explanation"]


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_optimizer_state_is_recorded_when_asked(client: TestClient) -> None:
    """torch.SGD's momentum buffer per row: 0 before the first update (it does not exist yet), then the buffer."""
    spec = {**COURSE_RUN, "steps": 3, "optimizer": {"kind": "torch.SGD", "momentum": 0.9}, "record": {"state": True}}
    run = client.post("/v1/runs", json=spec).json()
    buffer = run["trace"]["state"]["momentum_buffer"]
    assert buffer[:2] == [0.0, 12.0]  # the first buffer is the first gradient, 2·(5 + 1)
    w1 = run["trace"]["w"][1]
    assert buffer[2] == np.float32(np.float32(0.9) * np.float32(12) + np.float32(2) * np.float32(w1 + 1))
    plain = client.post("/v1/runs", json={**spec, "record": {}}).json()
    assert "state" not in plain["trace"]
    assert plain["trace"]["w"] == run["trace"]["w"]
    header = client.get(f"/v1/runs/{run['id']}?format=csv").text.splitlines()[0]
    assert header == "step,w,loss,lr,grad,state.momentum_buffer"


@pytest.mark.parametrize(
    ("schedule", "phrase"),
    [
        # OneCycleLR starts at max_lr / 25 = 0.02 and rises to 0.5 before it anneals: not "0.02 decaying"
        ({"kind": "torch.OneCycleLR", "max_lr": 0.5, "total_steps": 41, "cycle_momentum": False}, "rate between "),
        # a warm-up from 0: not "rate 0"
        (
            {
                "kind": "optax.warmup_cosine_decay_schedule",
                "init_value": 0,
                "peak_value": 0.5,
                "warmup_steps": 10,
                "decay_steps": 40,
            },
            "rate 0 rising to 0.5, then down to 0",
        ),
        # restarts come back to 1 at the end: not "rate 1"
        ({"kind": "keras.CosineDecayRestarts", "initial_learning_rate": 1, "first_decay_steps": 8}, "rate between "),
        (0.2, "(rate 0.2)"),
        (DECAY_SCHEDULE, "rate 0.1 decaying to 0.0668972"),
    ],
    ids=["onecycle", "warmup", "restarts", "constant", "decay"],
)
def test_explanation_names_the_rate_by_its_whole_path(
    client: TestClient, schedule: dict[str, object] | float, phrase: str
) -> None:
    run = client.post("/v1/runs", json={**COURSE_RUN, "schedule": schedule}).json()
    explanation = run["summary"]["explanation"]
    assert phrase in explanation, explanation
    lr = [x for x in run["trace"]["lr"] if x is not None]
    if phrase == "rate between ":
        assert f"between {min(lr):.6g} and {max(lr):.6g}" in explanation, explanation
