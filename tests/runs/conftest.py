"""Fixtures of the execution layer's tests: an in-memory store, and a gate in place of the pool's `execute`."""

from collections.abc import Iterator

import pytest

from service.store.sqlite import SQLiteStore
from tests.runs.support import Gate


@pytest.fixture
def store() -> Iterator[SQLiteStore]:
    memory = SQLiteStore(":memory:")
    yield memory
    memory.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Jobs submitted to a pool wait at this gate until `gate.open()` (a pool made with `gate=` opens it at exit)."""
    held = Gate()
    monkeypatch.setattr("service.runs.pool.execute", held)
    return held
