"""Open the store a location names: a database URL (`postgresql://user:pass@host:port/db`, DESCENT_STORE_URL)
selects `SQLStore` on that database; anything else is a SQLite file (DESCENT_STORE_PATH) or `:memory:`.

Plain strings only: worker processes call it too, and they import no settings (no Pydantic)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from service.store.base import RunStore
from service.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from service.store.notify import Listener


def open_store(location: str, migrate: bool = False, pool_size: int | None = None) -> RunStore:
    """`migrate`: bring the schema to Alembic's head first (the server does, once at start; workers do not)."""
    if "://" in location:
        if not location.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError(f"DESCENT_STORE_URL must be a postgresql:// URL, not {location.split('://')[0]}://")
        from service.store.sql import POOL_SIZE, SQLStore  # SQLAlchemy only where a database is used

        return SQLStore(location, pool_size=pool_size or POOL_SIZE, migrate=migrate)
    store = SQLiteStore(location)
    if migrate and location != ":memory:":
        from sqlalchemy import create_engine

        from service.store.migrate import upgrade

        engine = create_engine(f"sqlite:///{location}")
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    return store


def location(store_url: str, store_path: str) -> str:
    """What DESCENT_STORE_URL and DESCENT_STORE_PATH select: the URL when set, else the SQLite file."""
    return store_url or store_path


def listener(store: RunStore, on_notice: Callable[[str | None], None]) -> "Listener | None":
    """A LISTEN/NOTIFY listener on the store's database (not started), or None for SQLite (followers poll)."""
    from service.store.sql import SQLStore

    if not isinstance(store, SQLStore):
        return None
    from service.store.notify import Listener

    return Listener(store.url, on_notice)
