"""The store's schema as one SQLAlchemy Core definition for every backend (SQLite, PostgreSQL).

It mirrors `migrations.SCHEMA` (schema version 8) column for column: JSON documents and trace columns are binary
blobs (BLOB on SQLite, bytea on PostgreSQL), times of runs and jobs ISO 8601 text, times of sessions Unix seconds.
Alembic's revisions (`service/store/alembic/versions`) start from it; a later change to the schema is a new
revision, applied to both backends.
"""

from sqlalchemy import (
    REAL,
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeEngine

BASELINE = "0005"
"""Alembic's first revision: the schema of `PRAGMA user_version` 5."""
HEAD = "0008"
"""Alembic's last revision (indexes by status): a store the server opened is at it."""

Big: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit integer: BIGINT on PostgreSQL, INTEGER on SQLite (64-bit there, and its rowid as a primary key)."""
Seconds: TypeEngine[float] = Double().with_variant(REAL(), "sqlite")
"""Unix seconds: double precision on PostgreSQL, REAL (the same 8 bytes) on SQLite."""

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("seq", Big, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("status", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("spec", LargeBinary, nullable=False),
    Column("summary", LargeBinary),
    Column("dtype", Text, nullable=False),
    Column("dims", Integer, nullable=False),
    Column("owner", Text),
    Column("error", Text),
    Column("cancel", Text),
    Column("rows", Big, nullable=False, server_default=text("0")),
    Column("last_step", Big, nullable=False, server_default=text("-1")),
    Column("lease_until", Seconds),
    Index("runs_by_status", "status", "seq"),
    sqlite_autoincrement=True,
)

trace_parts = Table(
    "trace_parts",
    metadata,
    Column("run_seq", Big, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("first_row", Big, primary_key=True),
    Column("rows", Big, nullable=False),
    Column("last_step", Big, nullable=False),
    Column("step", LargeBinary, nullable=False),
    Column("w", LargeBinary, nullable=False),
    Column("loss", LargeBinary, nullable=False),
    Column("lr", LargeBinary, nullable=False),
    Column("grad", LargeBinary, nullable=False),
    Column("state_names", Text, nullable=False, server_default=text("''")),
    Column("state", LargeBinary),
    sqlite_with_rowid=False,
)

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Big, primary_key=True, autoincrement=True),
    Column("id", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("name", Text),
    Column("status", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("spec", LargeBinary, nullable=False),
    Column("meta", LargeBinary, nullable=False),
    Column("steps", Big, nullable=False, server_default=text("0")),
    Column("progress", Big, nullable=False, server_default=text("-1")),
    Column("error", Text),
    Column("owner", Text),
    Column("cancel", Text),
    Column("lease_until", Seconds),
    Index("jobs_by_status", "status", "seq"),
    sqlite_autoincrement=True,
)

job_arrays = Table(
    "job_arrays",
    metadata,
    Column("job_seq", Big, ForeignKey("jobs.seq", ondelete="CASCADE"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("dtype", Text, nullable=False),
    Column("shape", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    Column("key_fingerprint", Text, nullable=False),
    Column("created_at", Seconds, nullable=False),
    Column("expires_at", Seconds, nullable=False),
    Column("revoked_at", Seconds),
    Index("sessions_by_expiry", "expires_at"),
    Index("sessions_by_key", "key_fingerprint"),
    sqlite_with_rowid=False,
)

views = Table(
    "views",
    metadata,
    Column("id", Text, primary_key=True),
    Column("state", LargeBinary, nullable=False),
    Column("bytes", Big, nullable=False),
    Column("creator", Text, nullable=False),
    Column("created_at", Seconds, nullable=False),
    Index("views_by_creator", "creator", "created_at"),
    Index("views_by_bytes", "bytes"),
)
"""Saved dashboard views (`service.views`): the canonical JSON of each, under the id derived from it; `bytes` is
its length (the total the store-wide cap sums), `creator` the SHA-256 of the client address that saved it. The
indexes cover the quotas' reads: a creator's recent views, and the sum of every view's bytes (a scan of a narrow
index, not of the states: about 12 ms for 100,000 views on SQLite). Rows of up to 64 KiB: a rowid table on SQLite,
not one without (which suits small rows)."""
