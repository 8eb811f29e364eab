"""`Accept-Language`: a run's explanation in English (the default) or Chinese (zh-CN), its numbers as written; the
verdicts, numbers and field names do not change. Every sentence the engine writes has its translation."""

import re

import pytest
from fastapi.testclient import TestClient

from service.engine.wording import language_of
from tests.conftest import COURSE_RUN, DECAY_SCHEDULE

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[+-]?\d+)?")

RUNS = {
    "converged": {**COURSE_RUN, "schedule": 0.2},
    "oscillating": {**COURSE_RUN, "schedule": 1},
    "slow": {**COURSE_RUN, "schedule": 0.0001},
    "slow-bouncing": {**COURSE_RUN, "schedule": 0.98},
    "overflowed": {**COURSE_RUN, "schedule": 3, "steps": 500},
    "growing": {**COURSE_RUN, "schedule": 1.05},
    "stalled": {**COURSE_RUN, "schedule": 0},
    "unbounded": {**COURSE_RUN, "loss": {"kind": "polynomial", "coefficients": [0, -1]}, "schedule": 0.1},
    "decay": {**COURSE_RUN, "schedule": DECAY_SCHEDULE},
    "warmup": {
        **COURSE_RUN,
        "schedule": {
            "kind": "optax.warmup_cosine_decay_schedule",
            "init_value": 0,
            "peak_value": 0.5,
            "warmup_steps": 10,
            "decay_steps": 40,
        },
    },
    "restarts": {
        **COURSE_RUN,
        "schedule": {"kind": "keras.CosineDecayRestarts", "initial_learning_rate": 1, "first_decay_steps": 8},
    },
    "two-d": {**COURSE_RUN, "loss": {"kind": "quadratic", "a": [1, 4], "b": [1, -1], "c": 0}, "w0": [5, 3]},
}


@pytest.mark.parametrize("name", list(RUNS))
def test_every_explanation_has_its_chinese_sentence_with_the_same_numbers(client: TestClient, name: str) -> None:
    english = client.post("/v1/runs", json=RUNS[name]).json()
    chinese = client.get(f"/v1/runs/{english['id']}", headers=ZH).json()
    en, zh = english["summary"]["explanation"], chinese["summary"]["explanation"]
    assert not re.search(r"[A-Za-z]{3,}", zh.replace("none", "")), f"English left in: {zh!r} (from {en!r})"
    assert re.search(r"[\u4e00-\u9fff]", zh), zh
    assert sorted(NUMBER.findall(zh)) == sorted(NUMBER.findall(en)), (en, zh)
    assert chinese["summary"]["verdict"] == english["summary"]["verdict"]  # words change, values do not
    assert {k: v for k, v in chinese["summary"].items() if k != "explanation"} == {
        k: v for k, v in english["summary"].items() if k != "explanation"
    }


def test_every_answer_that_carries_a_summary_speaks_the_asked_language(client: TestClient) -> None:
    created = client.post("/v1/runs", json=COURSE_RUN, headers=ZH).json()
    assert created["summary"]["explanation"].startswith("收敛：")
    listed = client.get("/v1/runs", headers=ZH).json()["items"]
    assert listed[0]["summary"]["explanation"].startswith("收敛：")
    english = client.get(f"/v1/runs/{created['id']}").json()
    assert english["summary"]["explanation"].startswith("Converged:")
    with client.stream("GET", f"/v1/runs/{created['id']}/events", headers=ZH) as stream:
        body = "".join(stream.iter_text())
    assert "收敛：" in body


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN;q=0.9", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,zh-TW;q=0.5", "zh-CN"),
        ("en;q=0.5,zh;q=0.7", "zh-CN"),
        ("de", "en"),
        ("zh;q=0", "en"),
    ],
)
def test_the_language_is_the_best_ranked_one_we_have(header: str | None, language: str) -> None:
    assert language_of(header) == language
