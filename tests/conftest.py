"""Shared fixtures: an app on an in-memory store, and a client that runs its lifespan; the Hypothesis profile."""

import os
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.engine import kernels
from service.main import create_app
from tests.postgres import PostgresServer, binaries

COURSE_RUN = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
DECAY_SCHEDULE = {
    "kind": "tf1.exponential_decay",
    "learning_rate": 0.1,
    "decay_steps": 1,
    "decay_rate": 0.99,
    "staircase": True,
}
DATA = Path(__file__).parent / "data"
NUMPY_PARABOLA = {"kind": "expression", "formula": "(w + 1)**2"}
"""The course's loss as a formula. Formulas stay on the engine's NumPy path (`service.engine.kernels.adapters`), so
a crawling run of it takes seconds whether or not the compiled kernels are loaded: the tests that need a run still
computing when they act use it."""

# One profile for every property test: no per-example deadline (a loaded machine makes a 200 ms deadline flaky),
# and a failure prints the blob that reproduces it. HYPOTHESIS_PROFILE picks another registered profile.
hypothesis.settings.register_profile("descent", deadline=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "descent"))


@pytest.fixture(params=["numpy", "compiled"])
def engine_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test once on the engine's NumPy path and once on its compiled kernels (`service.engine.kernels`; the
    kernels are loaded first), for every thread of this process."""
    with kernels.use(request.param):
        yield request.param


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(store_path=str(tmp_path / "runs.sqlite3"), executor="thread")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (skips where the `postgresql` package is missing)."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    server = PostgresServer(bin_dir)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    return postgres.new_database()
