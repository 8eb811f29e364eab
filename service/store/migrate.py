"""Bring a store's schema to Alembic's head at server start (workers never migrate).

Every revision runs in one transaction that first takes a lock (PostgreSQL: an advisory lock; SQLite: the file's
write lock), so server processes starting together migrate once. SQLite: `SQLiteStore` first takes a store of an
older `PRAGMA user_version` to 5 in place (`migrations.py`), then the store is stamped at the baseline revision and
later revisions apply as on PostgreSQL.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text

from service.store.schema import BASELINE

MIGRATIONS_LOCK = 0x64657363656E74
"""The advisory lock key PostgreSQL replicas take while migrating ("descent" in ASCII)."""


def upgrade(engine: Engine) -> None:
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATIONS_LOCK})
        elif connection.dialect.name == "sqlite":  # the file's write lock now, not at the first write
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config = _config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "runs" in tables:
            command.stamp(config, BASELINE)  # a store the SQLite steps brought to version 5
        command.upgrade(config, "head")


def current(connection: Connection) -> str | None:
    """The store's revision, None before any."""
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "alembic"))
    config.attributes["connection"] = connection
    return config
