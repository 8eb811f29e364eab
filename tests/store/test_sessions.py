"""Browser sessions in the store: created, read back, revoked one by one or by key, purged when expired; a store of
schema 4 gains the table in place, its runs kept. On both backends."""

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from service.store.base import RunStore, SessionRecord
from service.store.migrations import SCHEMA_VERSION
from service.store.sqlite import SQLiteStore
from tests.store.test_store import record, trace

NOW = 1_800_000_000.0


def session(token: str, key: str = "key-a", expires_in: float = 60) -> SessionRecord:
    return SessionRecord(f"hash-{token}", f"fingerprint-{key}", NOW, NOW + expires_in)


def test_a_session_reads_back_as_stored(store: RunStore) -> None:
    store.create_session(session("a"))
    assert store.get_session("hash-a") == session("a")
    assert store.get_session("hash-unknown") is None


def test_a_token_is_stored_once(store: RunStore) -> None:
    store.create_session(session("a"))
    with pytest.raises(Exception, match=r"(?i)unique"):
        store.create_session(session("a", key="key-b"))
    assert store.get_session("hash-a") == session("a")


def test_active_means_neither_revoked_nor_expired() -> None:
    live = session("a", expires_in=60)
    assert live.active(NOW)
    assert live.active(NOW + 59.9)
    assert not live.active(NOW + 60)
    assert not replace(live, revoked_at=NOW + 1).active(NOW + 2)


def test_revoking_ends_one_session_once(store: RunStore) -> None:
    store.create_session(session("a"))
    store.create_session(session("b"))
    assert store.revoke_session("hash-a", NOW + 5)
    assert not store.revoke_session("hash-a", NOW + 6)  # the first revocation's time stays
    assert not store.revoke_session("hash-unknown", NOW + 6)
    revoked = store.get_session("hash-a")
    assert revoked is not None
    assert revoked.revoked_at == NOW + 5
    assert not revoked.active(NOW + 6)
    still = store.get_session("hash-b")
    assert still is not None
    assert still.active(NOW + 6)


def revoked_at(store: RunStore, token: str) -> float | None:
    stored = store.get_session(f"hash-{token}")
    assert stored is not None
    return stored.revoked_at


def test_revoking_a_key_ends_only_its_sessions(store: RunStore) -> None:
    for token, key in (("a1", "key-a"), ("a2", "key-a"), ("b1", "key-b")):
        store.create_session(session(token, key))
    store.revoke_session("hash-a2", NOW + 1)
    assert store.revoke_key_sessions("fingerprint-key-a", NOW + 2) == 1  # a2 was already revoked
    assert store.revoke_key_sessions("fingerprint-key-a", NOW + 3) == 0
    assert [revoked_at(store, token) for token in ("a1", "a2", "b1")] == [NOW + 2, NOW + 1, None]


def test_purging_forgets_expired_sessions_only(store: RunStore) -> None:
    store.create_session(session("short", expires_in=10))
    store.create_session(session("long", expires_in=100))
    assert store.purge_sessions(NOW + 9) == 0
    assert store.purge_sessions(NOW + 10) == 1
    assert store.get_session("hash-short") is None
    assert store.get_session("hash-long") is not None
    assert store.purge_sessions(NOW + 100) == 1
    assert store.get_session("hash-long") is None


def test_sessions_are_shared_by_every_connection_to_the_store(reopen: Callable[[], RunStore]) -> None:
    one, two = reopen(), reopen()
    one.create_session(session("a"))
    assert two.get_session("hash-a") == session("a")
    assert two.revoke_session("hash-a", NOW + 1)
    revoked = one.get_session("hash-a")
    assert revoked is not None
    assert not revoked.active(NOW + 1)
    one.close()
    two.close()


def schema_4_store(path: Path) -> None:
    """A store as the previous release left it: schema 4 is schema 5 without the sessions table."""
    store = SQLiteStore(str(path))
    store.create(record("kept"), trace(41, np.float32))
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE sessions")
        db.execute("PRAGMA user_version = 4")


def test_a_schema_4_store_gains_sessions_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    schema_4_store(path)
    store = SQLiteStore(str(path))
    kept = store.get("kept")
    assert kept is not None
    assert kept.last_step == 40
    kept_trace = store.trace("kept")
    assert kept_trace is not None
    assert len(kept_trace) == 41
    store.create_session(session("a"))
    assert store.get_session("hash-a") == session("a")
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 8
