"""The course chapter's two TensorFlow listings, reproduced digit for digit through the HTTP API.

The listings are parsed from the seed file itself (tests/data/course_seed.txt is a byte copy of
shared/seeds/000_6ab5c42c1d61ec9a.txt; a test below checks the copy when shared/ is beside the repository).
"""

import re
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import COURSE_RUN, DATA, DECAY_SCHEDULE

pytestmark = pytest.mark.usefixtures("engine_path")  # both engine paths, bit for bit the same

SEED = DATA / "course_seed.txt"
SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_6ab5c42c1d61ec9a.txt"
CONSTANT_LINE = re.compile(r"After (\d+) steps:w is (\S+) , loss is (\S+)\.$")
DECAY_LINE = re.compile(r"After (\d+) steps: global_step is (\S+) ,w is (\S+),learning rate is (\S+),loss is (\S+)$")


def listing(pattern: re.Pattern[str]) -> list[tuple[str, ...]]:
    rows = [match.groups() for line in SEED.read_text("utf-8").splitlines() if (match := pattern.match(line))]
    assert len(rows) == 40, f"expected 40 printed lines, found {len(rows)}"
    return rows


def f32(value: float) -> float:
    """The float32 a JSON number denotes (we write float32 runs as the shortest float32 decimal)."""
    return float(np.float32(value))


def test_seed_copy_is_the_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip(f"{SHARED_SEED} is not beside this checkout")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_constant_rate_listing(client: TestClient) -> None:
    trace = client.post("/v1/runs", json=COURSE_RUN).json()["trace"]
    for i, w, loss in listing(CONSTANT_LINE):
        row = int(i) + 1  # the course prints the state after update i, which is row i + 1
        assert trace["step"][row] == row
        assert ("%f" % f32(trace["w"][row]), "%f" % f32(trace["loss"][row])) == (w, loss), f"line {i}"


def test_exponential_decay_listing(client: TestClient) -> None:
    trace = client.post("/v1/runs", json={**COURSE_RUN, "schedule": DECAY_SCHEDULE}).json()["trace"]
    for i, global_step, w, lr, loss in listing(DECAY_LINE):
        row = int(i) + 1
        printed = tuple("%f" % f32(trace[column][row]) for column in ("step", "w", "lr", "loss"))
        assert printed == (global_step, w, lr, loss), f"line {i}"


@pytest.mark.parametrize(
    ("schedule", "verdict", "words"),
    [
        (0.2, "converged", ["Converged", "w settled at -1"]),
        (1, "oscillating", ["Oscillating", "between -7 and 5", "constant rates below 1 converge"]),
        (0.0001, "slow", ["Slow", "more steps"]),
        (DECAY_SCHEDULE, "converged", ["Converged", "rate 0.1 decaying to 0.0668972"]),
    ],
)
def test_chapter_verdicts(client: TestClient, schedule: object, verdict: str, words: list[str]) -> None:
    summary = client.post("/v1/runs", json={**COURSE_RUN, "schedule": schedule}).json()["summary"]
    assert summary["verdict"] == verdict
    for word in words:
        assert word in summary["explanation"]
    assert summary["analysis"]["max_stable_lr"] == 1.0
    assert summary["analysis"]["one_step_lr"] == 0.5
    assert summary["analysis"]["minimum"] == {"w": [-1.0], "loss": 0.0}


def test_rate_one_bounces_between_5_and_minus_7(client: TestClient) -> None:
    trace = client.post("/v1/runs", json={**COURSE_RUN, "schedule": 1}).json()["trace"]
    assert trace["w"] == [5.0 if t % 2 == 0 else -7.0 for t in range(41)]
    assert set(trace["loss"]) == {36.0}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_keras_pair_gives_the_tf1_pairs_numbers(client: TestClient, dtype: str) -> None:
    """`keras.ExponentialDecay` + `keras.SGD` with the course's settings is the TF1 pair, number for number."""
    keras_schedule = {
        "kind": "keras.ExponentialDecay",
        "initial_learning_rate": DECAY_SCHEDULE["learning_rate"],
        **{key: DECAY_SCHEDULE[key] for key in ("decay_steps", "decay_rate", "staircase")},
    }
    tf1 = {
        **COURSE_RUN,
        "dtype": dtype,
        "schedule": DECAY_SCHEDULE,
        "optimizer": {"kind": "tf1.GradientDescentOptimizer"},
    }
    keras = {**COURSE_RUN, "dtype": dtype, "schedule": keras_schedule, "optimizer": {"kind": "keras.SGD"}}
    tf1_trace, keras_trace = (client.post("/v1/runs", json=spec).json()["trace"] for spec in (tf1, keras))
    assert keras_trace == tf1_trace
