"""Saved views in the store: stored once under their id, read back byte for byte, counted for the quotas, shared by
every connection; a store of the previous release (SQLite schema 6, Alembic 0006) gains the table in place, its runs
kept. On both backends."""

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from service.store.base import RunStore, ViewRecord, ViewUsage
from service.store.migrations import SCHEMA_VERSION
from service.store.open import open_store
from service.store.schema import HEAD
from service.store.sql import engine_url
from service.store.sqlite import SQLiteStore
from tests.store.conftest import query
from tests.store.test_store import record, trace

NOW = 1_800_000_000.0


def view(ident: str, state: bytes = b'{"runs":["a"]}', creator: str = "client-a", at: float = NOW) -> ViewRecord:
    return ViewRecord(ident, state, creator, at)


def test_a_view_reads_back_byte_for_byte(store: RunStore) -> None:
    state = '{"log":["loss"],"runs":["a","b"],"spec":{"name":"雪"}}'.encode()
    assert store.insert_view(view("v1", state))
    assert store.get_view("v1") == view("v1", state)
    assert store.get_view("unknown") is None


def test_a_view_is_stored_once(store: RunStore) -> None:
    assert store.insert_view(view("v1"))
    assert not store.insert_view(view("v1", b'{"other":1}', creator="client-b", at=NOW + 5))
    assert store.get_view("v1") == view("v1")  # the first one stays, whoever saves the id again
    assert store.view_usage("client-b", NOW) == ViewUsage(0, None, len(b'{"runs":["a"]}'))


def test_usage_counts_a_creators_recent_views_and_every_views_bytes(store: RunStore) -> None:
    assert store.view_usage("client-a", 0) == ViewUsage(0, None, 0)
    store.insert_view(view("old", b"{}", at=NOW - 4000))
    store.insert_view(view("v1", b'{"a":1}', at=NOW - 100))
    store.insert_view(view("v2", b'{"a":22}', at=NOW - 10))
    store.insert_view(view("w1", b'{"b":333}', creator="client-b", at=NOW - 50))
    total = len(b"{}") + len(b'{"a":1}') + len(b'{"a":22}') + len(b'{"b":333}')
    assert store.view_usage("client-a", NOW - 3600) == ViewUsage(2, NOW - 100, total)
    assert store.view_usage("client-a", NOW - 10) == ViewUsage(1, NOW - 10, total)
    assert store.view_usage("client-b", NOW - 3600) == ViewUsage(1, NOW - 50, total)


def test_views_are_shared_by_every_connection_to_the_store(reopen: Callable[[], RunStore]) -> None:
    one, two = reopen(), reopen()
    assert one.insert_view(view("v1"))
    assert two.get_view("v1") == view("v1")
    assert not two.insert_view(view("v1"))


def test_a_schema_6_store_gains_views_and_keeps_its_runs(tmp_path: Path) -> None:
    """The previous release's SQLite file (schema 6, Alembic 0006, no views table) opens as a server opens it."""
    path = tmp_path / "runs.sqlite3"
    open_store(str(path), migrate=True).close()
    store = SQLiteStore(str(path))
    store.create(record("kept"), trace(41, np.float32))
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE views")
        db.execute("PRAGMA user_version = 6")
        db.execute("UPDATE alembic_version SET version_num = '0006'")
    upgraded = open_store(str(path), migrate=True)
    try:
        kept = upgraded.get("kept")
        assert kept is not None
        assert kept.last_step == 40
        assert upgraded.insert_view(view("v1"))
        assert upgraded.get_view("v1") == view("v1")
    finally:
        upgraded.close()
    assert query(str(path), "PRAGMA user_version") == SCHEMA_VERSION == 8
    assert query(str(path), "SELECT version_num FROM alembic_version") == HEAD == "0008"


@pytest.mark.cluster
def test_a_postgresql_store_of_the_previous_release_gains_views_and_keeps_its_runs(postgres_url: str) -> None:
    """A database at Alembic 0006 (no views table) is brought to 0007 at start, its runs kept."""
    open_store(postgres_url, migrate=True).close()
    engine = create_engine(engine_url(postgres_url))
    with engine.begin() as db:
        db.execute(text("DROP TABLE views"))
        db.execute(text("UPDATE alembic_version SET version_num = '0006'"))
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
        assert store.insert_view(view("v1"))
        assert store.get_view("v1") == view("v1")
        assert query(postgres_url, "SELECT version_num FROM alembic_version") == HEAD
    finally:
        store.close()
