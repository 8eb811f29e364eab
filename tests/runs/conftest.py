"""Fixtures of the execution layer's tests: a store on each backend (in-memory SQLite, a new PostgreSQL database),
and a gate in place of the pool's `execute`."""

from collections.abc import Iterator

import pytest

from service.store.base import RunStore
from service.store.open import open_store
from tests.runs.support import Gate


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.cluster)])
def store(request: pytest.FixtureRequest) -> Iterator[RunStore]:
    location = ":memory:" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))
    opened = open_store(location, migrate=True)
    yield opened
    opened.close()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Jobs submitted to a pool wait at this gate until `gate.open()` (a pool made with `gate=` opens it at exit)."""
    held = Gate()
    monkeypatch.setattr("service.runs.pool.execute", held)
    return held
