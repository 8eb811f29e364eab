"""`GET /v1/runs/{id}/code`: the run as a program in each library, and the kinds a library has no counterpart of.
(The programs' numbers are proven against the real libraries by `tests/golden/test_code.py`.)"""

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

COURSE: dict[str, Any] = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "steps": 40}
DECAY = {"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.99, "staircase": True}
SEED = Path(__file__).parents[1] / "data" / "course_seed.txt"  # a byte copy of the chapter (tests/test_course.py)
IDIOMS = {
    "tf1": ["tf.compat.v1.Session()", ".minimize(loss, global_step=global_step)", "sess.run(train_step)"],
    "keras": ["keras.optimizers.schedules.ExponentialDecay(", "opt.apply_gradients([(grad_val, w)])"],
    "torch": ["opt.step()", "sched.step()", "torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.99)"],
    "optax": ["opt.update(grad_val, state, w)", "optax.apply_updates(w, updates)", "optax.exponential_decay("],
}


def created(client: TestClient, spec: dict[str, Any]) -> str:
    response = client.post("/v1/runs", json=spec)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("library", IDIOMS)
def test_each_library_writes_its_idiom(client: TestClient, library: str) -> None:
    run = created(client, {**COURSE, "schedule": DECAY})
    response = client.get(f"/v1/runs/{run}/code", params={"library": library})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/x-python")
    ast.parse(response.text)  # a Python program
    for idiom in IDIOMS[library]:
        assert idiom in response.text
    assert 'print("step,w,loss,lr,grad")' in response.text  # the CSV download's header
    header = client.get(f"/v1/runs/{run}", params={"format": "csv"}).text.splitlines()[0]
    assert header == "step,w,loss,lr,grad"


def test_the_course_run_reads_like_the_chapter(client: TestClient) -> None:
    """The chapter's second listing, line for line where TF1 code is written the same (`tf.compat.v1.` for `tf.`)."""
    run = created(client, {**COURSE, "schedule": DECAY})
    text = client.get(f"/v1/runs/{run}/code", params={"library": "tf1"}).text
    chapter = {line.strip() for line in SEED.read_text("utf-8").splitlines()}
    ours = {line.strip().replace("tf.compat.v1.", "tf.") for line in text.splitlines()}
    assert {
        "w = tf.Variable(tf.constant(5, dtype=tf.float32))",
        "global_step = tf.Variable(0, trainable=False)",
        "train_step = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss, global_step=global_step)",
        "with tf.Session() as sess:",
        "init_op = tf.global_variables_initializer()",
        "sess.run(init_op)",
        "sess.run(train_step)",
    } <= ours & chapter
    # the chapter's exponential_decay(LEARNING_RATE_BASE, global_step, LEARNING_RATE_STEP, LEARNING_RATE_DECAY, ...)
    assert "learning_rate = tf.compat.v1.train.exponential_decay(0.1, global_step, 1, 0.99, staircase=True)" in text
    assert "loss = tf.square(w + 1.0)" in text  # the chapter's tf.square(w+1)


def test_a_schedule_of_another_library_is_written_as_its_counterpart(client: TestClient) -> None:
    run = created(client, {**COURSE, "schedule": {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 40}})
    text = client.get(f"/v1/runs/{run}/code", params={"library": "keras"}).text
    assert "keras.optimizers.schedules.CosineDecay(initial_learning_rate=0.1, decay_steps=40.0)" in text
    assert "torch.CosineAnnealingLR is written as its keras counterpart keras.CosineDecay" in text


@pytest.mark.parametrize(
    ("spec", "library", "loc", "named"),
    [
        (
            {"schedule": {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 40, "cycle_momentum": False}},
            "keras",
            ["schedule", "kind"],
            "torch.OneCycleLR has no keras counterpart",
        ),
        (
            {"schedule": 0.1, "optimizer": {"kind": "torch.Adam"}},
            "optax",
            ["optimizer", "kind"],
            "torch.Adam has no optax counterpart",
        ),
        (
            {
                "schedule": {
                    "kind": "keras.InverseTimeDecay",
                    "initial_learning_rate": 0.1,
                    "decay_steps": 5,
                    "decay_rate": 0.5,
                }
            },
            "torch",
            ["schedule", "kind"],
            "keras.InverseTimeDecay has no torch",
        ),
        (
            {"schedule": 0.1, "record": {"state": True}, "optimizer": {"kind": "torch.SGD", "momentum": 0.9}},
            "torch",
            ["record", "state"],
            "without the optimizer's state",
        ),
    ],
)
def test_a_kind_without_counterpart_is_a_problem_naming_it(
    client: TestClient, spec: dict[str, Any], library: str, loc: list[str], named: str
) -> None:
    run = created(client, {**COURSE, **spec})
    response = client.get(f"/v1/runs/{run}/code", params={"library": library})
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "urn:descent:problem:no-counterpart"
    assert problem["errors"][0]["loc"] == loc
    assert named in problem["errors"][0]["msg"]
    assert re.search(r"ask for library=\w+|CSV download", problem["errors"][0]["msg"])


def test_unknown_library_and_unknown_run(client: TestClient) -> None:
    run = created(client, {**COURSE, "schedule": 0.2})
    response = client.get(f"/v1/runs/{run}/code", params={"library": "jax"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "library"]
    assert client.get("/v1/runs/nope/code", params={"library": "tf1"}).status_code == 404


def test_a_run_name_cannot_become_code(client: TestClient) -> None:
    name = 'x"""\nimport os; os.system("echo pwned")  # \\\n"""'
    run = created(client, {**COURSE, "schedule": 0.2, "name": name})
    for library in IDIOMS:
        text = client.get(f"/v1/runs/{run}/code", params={"library": library}).text
        module = ast.parse(text)
        docstring = ast.get_docstring(module)
        assert docstring is not None
        assert 'x""" import os; os.system("echo pwned") # \\ """' in " ".join(docstring.split())
        calls = [node for node in ast.walk(module) if isinstance(node, ast.Attribute) and node.attr == "system"]
        assert not calls
