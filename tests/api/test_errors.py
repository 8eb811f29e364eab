"""Bad input gets a 4xx problem naming the field, and nothing is stored."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import COURSE_RUN

TRIANGULAR2 = {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 1, "mode": "triangular2"}
ONE_CYCLE = {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 10}
STEP_LR = {"kind": "torch.StepLR", "step_size": 2}


def spec(**changes: Any) -> dict[str, Any]:
    return {**COURSE_RUN, **changes}


BAD_SPECS = [
    ("unknown loss kind", spec(loss={"kind": "cubic"}), ["loss", "kind"], "Unknown kind 'cubic'"),
    ("unknown schedule kind", spec(schedule={"kind": "tf1.nope"}), ["schedule", "kind"], "Unknown kind"),
    (
        "unknown optimizer kind",
        spec(optimizer={"kind": "adam"}),
        ["optimizer", "kind"],
        "Unknown kind 'adam'; did you mean keras.Adam or torch.Adam or optax.adam?",
    ),
    ("misspelt kind", spec(optimizer={"kind": "torch.Adamm"}), ["optimizer", "kind"], "did you mean torch.Adam"),
    ("negative steps", spec(steps=-5), ["steps"], "at least 1"),
    ("fractional steps", spec(steps=2.5), ["steps"], "integer"),
    ("steps above the limit", spec(steps=1_000_001), ["steps"], "at most 1000000"),
    (
        "w0 length mismatch",
        spec(loss={"kind": "quadratic", "a": [1, 2]}, w0=[1, 2, 3]),
        ["loss", "a"],
        "w0 has 3 dimensions",
    ),
    (
        "polynomial in 2-D",
        spec(loss={"kind": "polynomial", "coefficients": [1, 2]}, w0=[1, 2]),
        ["loss", "coefficients"],
        "one variable",
    ),
    ("non-numeric coefficient", spec(loss={"kind": "quadratic", "a": "one"}), ["loss", "a"], "'one'"),
    (
        "non-numeric list item",
        spec(loss={"kind": "polynomial", "coefficients": [1, "x"]}),
        ["loss", "coefficients", 1],
        "valid number",
    ),
    ("boolean w0", spec(w0=True), ["w0"], "True"),
    ("string rate", spec(schedule="0.2"), ["schedule"], "number"),
    ("unknown field", spec(learning_rate=0.2), ["learning_rate"], "Unknown field 'learning_rate'"),
    ("unknown nested field", spec(loss={"kind": "quadratic", "d": 1}), ["loss", "d"], "Unknown field"),
    ("missing w0", {k: v for k, v in COURSE_RUN.items() if k != "w0"}, ["w0"], "required"),
    ("float32 overflow", spec(w0=1e39), ["w0"], "float32's range"),
    (
        "coefficient beyond float32",
        spec(loss={"kind": "polynomial", "coefficients": [1e39]}),
        ["loss", "coefficients", 0],
        "within ±3.4e38",
    ),
    (
        "zero decay_steps",
        spec(schedule={"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.9}),
        ["schedule", "decay_steps"],
        "at least 1e-30",
    ),
    ("bad dtype", spec(dtype="float16"), ["dtype"], "float32"),
    ("record every 0", spec(record={"every": 0}), ["record", "every"], "at least 1"),
    ("too many dims", spec(loss={"kind": "quadratic"}, w0=[0.0] * 1001), ["w0"], "at most 1000"),
    (
        "trace too big",
        spec(loss={"kind": "quadratic"}, w0=[0.0] * 1000, steps=100_000),
        ["record", "every"],
        "set record.every",
    ),
    ("long name", spec(name="x" * 201), ["name"], "200"),
    (
        "OneCycleLR past total_steps",
        spec(schedule=ONE_CYCLE, optimizer={"kind": "torch.SGD"}, steps=11),
        ["steps"],
        "allows at most 10: torch.OneCycleLR raises 'Tried to step 11 times",
    ),
    (
        "CyclicLR triangular2 past torch's overflow",
        spec(
            schedule=TRIANGULAR2,
            optimizer={"kind": "torch.SGD", "momentum": 0.9},
            steps=2048,
        ),
        ["steps"],
        "allows at most 2047: torch.CyclicLR with mode='triangular2' raises OverflowError",
    ),
    (
        "momentum cycling without momentum",
        spec(schedule=ONE_CYCLE, optimizer={"kind": "torch.Adagrad"}, steps=10),
        ["schedule", "cycle_momentum"],
        "optimizer must support momentum or beta1",
    ),
    (
        "a library rule in a nested schedule",
        spec(schedule={"kind": "torch.SequentialLR", "lr": 0.1, "schedulers": [STEP_LR, STEP_LR], "milestones": []}),
        ["schedule", "milestones"],
        "milestones",
    ),
    (
        "a kind its parent cannot take",
        spec(schedule={"kind": "torch.ChainedScheduler", "lr": 0.1, "schedulers": [{"kind": "torch.OneCycleLR"}]}),
        ["schedule", "schedulers", 0, "kind"],
        "ChainedScheduler chains only the multiplicative schedulers",
    ),
    (
        "a child with its own lr",
        spec(schedule={"kind": "torch.ChainedScheduler", "lr": 0.1, "schedulers": [{**STEP_LR, "lr": 1}]}),
        ["schedule", "schedulers", 0, "lr"],
        "takes no lr of its own: it scales the ChainedScheduler's lr",
    ),
    (
        "state recorded beyond the trace limit",
        spec(
            loss={"kind": "quadratic"},
            w0=[0.0] * 1000,
            steps=9_000,  # 18 million numbers without the state; Adam's two moments double that
            optimizer={"kind": "torch.Adam"},
            record={"state": True},
        ),
        ["record", "every"],
        "set record.every",
    ),
]


@pytest.mark.parametrize(("case", "body", "loc", "words"), BAD_SPECS, ids=[case[0] for case in BAD_SPECS])
def test_bad_spec_is_a_problem_naming_the_field(
    client: TestClient, case: str, body: Any, loc: list[Any], words: str
) -> None:
    response = client.post("/v1/runs", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["title"]
    assert problem["type"].startswith("urn:descent:problem:")
    matching = [error for error in problem["errors"] if error["loc"] == loc]
    assert matching, f"no error at {loc}: {problem['errors']}"
    assert words in matching[0]["msg"]
    assert ".".join(map(str, problem["errors"][0]["loc"])) in problem["detail"]
    assert client.get("/v1/runs").json()["items"] == []


def test_non_finite_json_numbers_are_refused(client: TestClient) -> None:
    body = b'{"loss": {"kind": "quadratic"}, "w0": NaN, "schedule": Infinity, "steps": 3}'
    response = client.post("/v1/runs", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} >= {("w0",), ("schedule",)}


def test_malformed_json(client: TestClient) -> None:
    response = client.post("/v1/runs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body"]


def test_a_50_megabyte_body_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post("/v1/runs", content=b" " * (50 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "at most 1,048,576" in response.json()["detail"]
    assert client.get("/v1/runs").json()["items"] == []


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(30):
            yield b" " * 65536

    response = client.post("/v1/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/runs/no-such-run", 404),
        ("/v1/runs?cursor=Not-A-Cursor", 422),
        ("/v1/runs?limit=0", 422),
        ("/v1/runs/x?max_points=1", 422),
        ("/v1/nothing-here", 404),
    ],
)
def test_bad_reads_are_problems(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


def test_method_not_allowed_is_a_problem(client: TestClient) -> None:
    response = client.put("/v1/runs")
    assert response.status_code == 405
    assert response.json()["title"] == "Method Not Allowed"


def test_a_body_that_is_not_utf8_is_a_400_problem(client: TestClient) -> None:
    response = client.post("/v1/runs", content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "UTF-8" in response.json()["detail"]
