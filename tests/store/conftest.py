"""The store's contract tests run against both backends: a SQLite file, and a new database on a real PostgreSQL
server (marked `cluster`)."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from service.store.base import RunStore
from service.store.open import open_store
from service.store.sql import engine_url

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.cluster)]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives: a SQLite file's path, or a PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite3")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def reopen(location: str) -> Iterator[Callable[[], RunStore]]:
    """Open the store at `location` (as a server does: migrated first); every store opened is closed at the end."""
    opened: list[RunStore] = []

    def open_() -> RunStore:
        opened.append(open_store(location, migrate=True))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


@pytest.fixture
def store(reopen: Callable[[], RunStore]) -> RunStore:
    return reopen()


def query(location: str, sql: str) -> Any:
    """The first value of a raw SQL query on the store's database (what a test looks at under the interface)."""
    engine = create_engine(engine_url(location) if "://" in location else f"sqlite:///{location}")
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()
