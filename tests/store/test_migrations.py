"""A store written by the previous release (schema 3: sweep results as JSON) upgrades in place: every run and sweep
reads back exactly as that release answered it. `tests/data/store_v3.*` was written by commit 2f13777 itself: the
SQLite file, and its answers to GET /v1/runs/{id} and GET /v1/sweeps/{id}."""

import json
import shutil
import sqlite3
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from service.store.migrations import SCHEMA_VERSION
from tests.conftest import DATA


@pytest.fixture
def upgraded(tmp_path: Path) -> TestClient:
    path = tmp_path / "descent.sqlite3"
    shutil.copy(DATA / "store_v3.sqlite3", path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    return TestClient(create_app(Settings(store_path=str(path), executor="thread")))


def answers() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DATA / "store_v3.json").read_text("utf-8"))
    return loaded


def test_runs_and_sweeps_read_back_as_the_previous_release_answered(upgraded: TestClient) -> None:
    before = answers()
    with upgraded as client:
        run = before["run"]
        assert isinstance(run, dict)
        assert client.get(f"/v1/runs/{run['id']}").json() == run
        sweeps = before["sweeps"]
        assert isinstance(sweeps, list)
        for sweep in sweeps:
            assert client.get(f"/v1/sweeps/{sweep['id']}").json() == sweep


def test_an_upgraded_sweep_reads_as_arrow_and_the_store_is_at_the_current_version(upgraded: TestClient) -> None:
    sweeps = answers()["sweeps"]
    assert isinstance(sweeps, list)
    with upgraded as client:
        sweep = sweeps[0]
        table = pa.ipc.open_stream(client.get(f"/v1/sweeps/{sweep['id']}?format=arrow").content).read_all()
        assert table.column("verdict").to_pylist() == sweep["summary"]["verdict"]
        assert table.column("final_loss").to_pylist() == pytest.approx(sweep["summary"]["final_loss"], rel=1e-7)
        store = client.app.state.lifecycle.store  # type: ignore[attr-defined]
        assert store.get_job(sweep["id"], "sweep").status == "finished"
    with sqlite3.connect(client.app.state.settings.store_path) as db:  # type: ignore[attr-defined]
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "sweeps" not in tables
    assert {"runs", "trace_parts", "jobs", "job_arrays", "sessions"} <= tables
