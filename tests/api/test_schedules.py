"""`POST /v1/schedules/preview`: schedules side by side without a loss, their counterparts, and what it refuses."""

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from service.engine import schedules
from service.specs.build import schedule_document

COSINE = {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 100}


def test_rates_are_the_engines(client: TestClient) -> None:
    chosen: list[Any] = [
        0.2,
        COSINE,
        {
            "kind": "keras.ExponentialDecay",
            "initial_learning_rate": 0.1,
            "decay_steps": 10,
            "decay_rate": 0.5,
            "staircase": True,
        },
    ]
    response = client.post("/v1/schedules/preview", json={"schedules": chosen, "steps": 300})
    assert response.status_code == 200
    body = response.json()
    assert body["step"] == list(range(301))
    for entry, given in zip(body["schedules"], chosen, strict=True):
        engine = schedules.build(schedule_document(given), np.dtype(np.float32))(np.arange(301))[:, 0]
        np.testing.assert_array_equal(np.asarray(entry["lr"], np.float32), engine.astype(np.float32))
    assert body["schedules"][0]["schedule"] == {"kind": "constant", "learning_rate": 0.2}
    assert "equivalents" not in body["schedules"][0] or body["schedules"][0]["equivalents"] is None


def test_equivalents_show_where_cosines_part(client: TestClient) -> None:
    body = client.post(
        "/v1/schedules/preview", json={"schedules": [COSINE], "steps": 300, "equivalents": True, "max_points": 7}
    ).json()
    assert len(body["step"]) == 7
    (entry,) = body["schedules"]
    by_library = {e["library"]: e for e in entry["equivalents"]}
    assert set(by_library) == {"tf1", "keras", "optax"}
    keras = by_library["keras"]
    assert keras["schedule"]["kind"] == "keras.CosineDecay"
    # torch climbs back to lr at 2·T_max; Keras stays at 0 after T_max
    assert keras["at_step"] == 200
    assert keras["max_abs_diff"] == pytest.approx(0.1, rel=1e-6)
    assert keras["max_rel_diff"] == pytest.approx(1.0, rel=1e-6)


def test_a_library_without_counterpart_says_why(client: TestClient) -> None:
    onecycle = {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 100, "cycle_momentum": False}
    body = client.post(
        "/v1/schedules/preview", json={"schedules": [onecycle], "steps": 100, "equivalents": True}
    ).json()
    by_library = {e["library"]: e for e in body["schedules"][0]["equivalents"]}
    assert by_library["keras"]["schedule"] is None
    assert "Keras has no one-cycle schedule" in by_library["keras"]["reason"]
    assert by_library["optax"]["schedule"]["kind"] == "optax.cosine_onecycle_schedule"
    # torch and optax place the one-cycle's phases a step apart: the answer measures it, over every step
    optax = by_library["optax"]
    pair = (body["schedules"][0]["lr"], optax["lr"])
    ours, theirs = (np.asarray(lr, np.float32).astype(np.float64) for lr in pair)
    assert optax["max_abs_diff"] == pytest.approx(np.abs(ours - theirs).max())
    assert optax["at_step"] == int(np.abs(ours - theirs).argmax())
    assert optax["max_rel_diff"] == pytest.approx(optax["max_abs_diff"] / np.abs(ours).max())


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"schedules": [], "steps": 10}, ["schedules"]),
        ({"schedules": [0.1] * 17, "steps": 10}, ["schedules"]),
        ({"schedules": [0.1], "steps": 100_001}, ["steps"]),
        (
            {"schedules": [{"kind": "torch.StepLR", "lr": 0.1, "step_size": 0}], "steps": 10},
            ["schedules", 0, "step_size"],
        ),
        ({"schedules": [0.1, {"kind": "torch.ReduceLROnPlateau", "lr": 0.1}], "steps": 10}, ["schedules", 1, "kind"]),
        ({"schedules": [{"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10}], "steps": 50}, ["steps"]),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client: TestClient, body: dict[str, Any], loc: list[Any]) -> None:
    response = client.post("/v1/schedules/preview", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"][: len(loc)] == loc


@pytest.mark.parametrize(
    "schedule",
    [
        {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 70},
        {
            "kind": "torch.CyclicLR",
            "base_lr": 0.01,
            "max_lr": 0.1,
            "step_size_up": 30,
            "mode": "triangular2",
            "cycle_momentum": False,
        },
        {
            "kind": "torch.SequentialLR",
            "lr": 0.1,
            "milestones": [100],
            "schedulers": [
                {"kind": "torch.LinearLR", "total_iters": 100},
                {"kind": "torch.ExponentialLR", "gamma": 0.99},
            ],
        },
        {"kind": "tf1.noisy_linear_cosine_decay", "learning_rate": 0.1, "decay_steps": 500},
        {
            "kind": "optax.sgdr_schedule",
            "cosine_kwargs": [{"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 20, "decay_steps": 300}] * 3,
        },
    ],
    ids=lambda s: s["kind"],
)
def test_thinned_rates_are_the_full_rates_at_those_steps(client: TestClient, schedule: dict[str, Any]) -> None:
    """Without equivalents only the steps shown are computed: the same numbers as at every step."""
    full = client.post("/v1/schedules/preview", json={"schedules": [schedule], "steps": 1000}).json()
    thin = client.post("/v1/schedules/preview", json={"schedules": [schedule], "steps": 1000, "max_points": 37}).json()
    assert len(thin["step"]) == 37
    assert thin["schedules"][0]["lr"] == [full["schedules"][0]["lr"][step] for step in thin["step"]]


def test_a_preview_waits_for_room_in_the_answer_budget(client: TestClient) -> None:
    """While other answers hold the memory the server allows, a preview is refused with 429 and Retry-After."""
    answers = client.app.state.lifecycle.answers  # type: ignore[attr-defined]
    answers.used = answers.capacity  # as if big answers were being sent
    try:
        response = client.post("/v1/schedules/preview", json={"schedules": [COSINE], "steps": 100_000})
    finally:
        answers.used = 0
    assert response.status_code == 429
    assert "DESCENT_MAX_ANSWER_MEMORY_MB" in response.json()["detail"]
    assert client.post("/v1/schedules/preview", json={"schedules": [COSINE], "steps": 100_000}).status_code == 200
