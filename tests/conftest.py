"""Shared fixtures: an app on an in-memory store, and a client that runs its lifespan."""

from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app

COURSE_RUN = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
DECAY_SCHEDULE = {
    "kind": "tf1.exponential_decay",
    "learning_rate": 0.1,
    "decay_steps": 1,
    "decay_rate": 0.99,
    "staircase": True,
}
DATA = Path(__file__).parent / "data"

# No deadline: the suite shares small machines, where a run of 2000 optimizer steps may take longer than Hypothesis'
# default 200 ms without anything being wrong.
hypothesis.settings.register_profile("descent", deadline=None)
hypothesis.settings.load_profile("descent")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client
