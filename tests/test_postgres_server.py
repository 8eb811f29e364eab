"""A real server (`python -m service`, with its worker processes) on a real PostgreSQL (DESCENT_STORE_URL): it
serves the README's course run and a sweep, a restart loses nothing, and no SQLite file is written."""

from pathlib import Path

import pytest

from tests.conftest import COURSE_RUN
from tests.live import Server

pytestmark = [pytest.mark.live, pytest.mark.cluster]

SWEEP = {
    "base": COURSE_RUN,
    "axes": [{"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 101}}],
    "max_points": 3,
}


def test_a_server_on_postgresql_serves_runs_and_sweeps_and_a_restart_loses_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    sqlite_file = tmp_path / "runs.sqlite3"
    first = Server(sqlite_file, DESCENT_STORE_URL=postgres_url, DESCENT_MAX_CONCURRENT_RUNS="2")
    try:
        with first.client() as client:
            created = client.post("/v1/runs", json=COURSE_RUN)
            assert created.status_code == 201, created.text
            run = created.json()
            assert run["summary"]["verdict"] == "converged"
            assert run["trace"]["w"][:5] == [5.0, 2.6, 1.16, 0.296, -0.22240001]
            swept = client.post("/v1/sweeps", json=SWEEP)
            assert swept.status_code == 201, swept.text
            sweep = swept.json()
            verdicts = sweep["summary"]["verdict"]
            assert verdicts[50] == "oscillating"  # rate 1
            assert verdicts[-1] == "diverged"
            assert client.get("/readyz").status_code == 200
            sweep = client.get(f"/v1/sweeps/{sweep['id']}").json()
            listed = client.get("/v1/runs").json()
    finally:
        first.stop()
    second = Server(sqlite_file, DESCENT_STORE_URL=postgres_url)
    try:
        with second.client() as client:
            assert client.get(f"/v1/runs/{run['id']}").json() == run
            assert client.get(f"/v1/sweeps/{sweep['id']}").json() == sweep
            assert client.get("/v1/runs").json() == listed
            csv = client.get(f"/v1/runs/{run['id']}", headers={"Accept": "text/csv"}).text
            assert csv.startswith("step,w,loss,lr,grad\n0,5.0,36.0,0.2,12.0\n")
    finally:
        second.stop()
    assert not sqlite_file.exists()
