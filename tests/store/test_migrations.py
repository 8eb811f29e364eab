"""A store written by the previous release (schema 3: sweep results as JSON) upgrades in place: every run and sweep
reads back exactly as that release answered it. `tests/data/store_v3.*` was written by commit 2f13777 itself: the
SQLite store (as its `.dump`, loaded into a fresh file) and its answers to GET /v1/runs/{id} and /v1/sweeps/{id}."""

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.config import Settings
from service.main import create_app
from service.store.migrations import SCHEMA, SCHEMA_VERSION
from service.store.open import open_store
from service.store.schema import HEAD, metadata
from service.store.sql import engine_url
from service.store.sqlite import SQLiteStore
from tests.conftest import DATA
from tests.store.conftest import query
from tests.store.test_store import record, trace


@pytest.fixture
def upgraded(tmp_path: Path) -> TestClient:
    path = tmp_path / "descent.sqlite3"
    db = sqlite3.connect(path)
    db.executescript((DATA / "store_v3.sql").read_text("utf-8"))
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    db.close()
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


def test_a_store_written_before_state_was_recorded_is_migrated(tmp_path: Path) -> None:
    """Version 1 stores (no state columns) open, keep their runs, and take runs with state."""
    path = str(tmp_path / "runs.sqlite3")
    store = SQLiteStore(path)
    store.create(record("old"), trace(5, np.float32))
    store.close()
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE parts AS SELECT run_seq, first_row, rows, last_step, step, w, loss, lr, grad FROM trace_parts;"
        "DROP TABLE trace_parts; ALTER TABLE parts RENAME TO trace_parts; PRAGMA user_version=1;"
    )
    db.close()
    migrated = SQLiteStore(path)
    old = migrated.trace("old")
    assert old is not None
    assert len(old) == 5
    assert old.state == {}
    migrated.create(record("new"), replace(trace(4, np.float32), state={"momentum": trace(4, np.float32).w}))
    new = migrated.trace("new")
    assert new is not None
    assert list(new.state) == ["momentum"]


CLAIM_PLAN = (
    "EXPLAIN QUERY PLAN SELECT id FROM {table} WHERE status = 'queued' AND owner IS NULL"
    " AND (NULL IS NULL OR id = NULL) ORDER BY seq LIMIT 1"
)


@pytest.mark.parametrize("table", ["runs", "jobs"])
def test_a_version_7_store_gains_the_status_index_that_claims_read_queued_jobs_by(tmp_path: Path, table: str) -> None:
    """Without it every claim (20 a second, holding the write lock) scanned every stored run: 8-20 ms at 10,000."""
    path = str(tmp_path / "runs.sqlite3")
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.executescript(f"DROP INDEX {table}_by_status; PRAGMA user_version=7;")
    assert "SCAN" in " ".join(row[3] for row in db.execute(CLAIM_PLAN.format(table=table)))
    db.close()
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    plan = " ".join(row[3] for row in db.execute(CLAIM_PLAN.format(table=table)))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    assert f"USING INDEX {table}_by_status" in plan
    assert "SCAN" not in plan


def test_an_upgraded_store_is_stamped_and_brought_to_alembics_head(upgraded: TestClient, tmp_path: Path) -> None:
    """Today's SQLite steps bring an old store to version 8; Alembic stamps its baseline and takes it from there (its
    later revisions apply to SQLite and PostgreSQL alike)."""
    with upgraded:
        pass
    assert query(str(tmp_path / "descent.sqlite3"), "SELECT version_num FROM alembic_version") == HEAD


def test_alembic_stamps_a_store_once_and_a_new_store_at_head(tmp_path: Path) -> None:
    path = str(tmp_path / "runs.sqlite3")
    open_store(path, migrate=True).close()
    open_store(path, migrate=True).close()
    assert query(path, "SELECT count(*) FROM alembic_version") == 1
    assert query(path, "SELECT version_num FROM alembic_version") == HEAD


def columns(db: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every table's columns (name, type, not null, default without parentheses, key position) and indexes. An
    INTEGER PRIMARY KEY is the rowid, never null whether or not it says NOT NULL."""
    tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    described: dict[str, list[tuple[object, ...]]] = {}
    for table in tables:
        info = db.execute(f"PRAGMA table_info({table})").fetchall()
        described[table] = [
            (name, kind, notnull or pk == 1, str(default).strip("()") if default is not None else None, pk)
            for _, name, kind, notnull, default, pk in info
        ]
        described[table + " indexes"] = sorted(
            (row[1], tuple(c[2] for c in db.execute(f"PRAGMA index_info({row[1]})")))
            for row in db.execute(f"PRAGMA index_list({table})")
            if not row[1].startswith("sqlite_autoindex")
        )
    return described


def test_the_sqlalchemy_schema_is_sqlites_schema_8(tmp_path: Path) -> None:
    """One schema definition: `schema.py` creates on SQLite exactly the tables `migrations.SCHEMA` does."""

    handwritten = sqlite3.connect(tmp_path / "handwritten.sqlite3")
    handwritten.executescript(SCHEMA)
    engine = create_engine(f"sqlite:///{tmp_path / 'generated.sqlite3'}")
    metadata.create_all(engine)
    engine.dispose()
    generated = sqlite3.connect(tmp_path / "generated.sqlite3")
    assert columns(generated) == columns(handwritten)
    assert {row[0] for row in generated.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} == {
        "runs", "trace_parts", "jobs", "job_arrays", "sessions", "views", "sqlite_sequence"
    }  # fmt: skip
    without_rowid = "SELECT name FROM sqlite_master WHERE sql LIKE '%WITHOUT ROWID%' ORDER BY name"
    assert generated.execute(without_rowid).fetchall() == handwritten.execute(without_rowid).fetchall()
    handwritten.close()
    generated.close()


def test_server_processes_starting_together_migrate_once(location: str) -> None:
    """Several processes (or replicas) opening a new store at once: every one starts, the store is stamped once."""
    start = threading.Barrier(4)

    def open_and_close() -> None:
        start.wait()
        open_store(location, migrate=True).close()

    with ThreadPoolExecutor(4) as threads:
        for opened in [threads.submit(open_and_close) for _ in range(4)]:
            opened.result()
    assert query(location, "SELECT count(*) FROM alembic_version") == 1
    assert query(location, "SELECT version_num FROM alembic_version") == HEAD


@pytest.mark.cluster
def test_a_postgresql_store_of_the_previous_release_gains_leases_and_keeps_its_runs(postgres_url: str) -> None:
    """A database an earlier release created (Alembic 0005, no `lease_until`) is brought to 0006 at start."""
    open_store(postgres_url, migrate=True).close()
    engine = create_engine(engine_url(postgres_url))
    with engine.begin() as db:  # what 0005 left: no lease columns, the version it stamped, a finished run
        db.execute(text("ALTER TABLE runs DROP COLUMN lease_until"))
        db.execute(text("ALTER TABLE jobs DROP COLUMN lease_until"))
        db.execute(text("UPDATE alembic_version SET version_num = '0005'"))
        db.execute(
            text(
                "INSERT INTO runs (id, status, created_at, spec, dtype, dims) "
                "VALUES ('kept', 'finished', '2026-11-01T00:00:00.000Z', '\\x7b7d', 'float32', 0)"
            )
        )
    engine.dispose()
    store = open_store(postgres_url, migrate=True)
    try:
        kept = store.get("kept")
        assert kept is not None
        assert kept.status == "finished"
        assert query(postgres_url, "SELECT version_num FROM alembic_version") == HEAD
        assert query(postgres_url, "SELECT count(lease_until) FROM runs") == 0  # the column is there, empty
    finally:
        store.close()
