"""The SQLite store's schema and the steps that bring an older store up to it, in place, runs kept.

Version n's step takes a store of version n - 1 to n inside one transaction (`PRAGMA user_version` counts).
"""

import sqlite3
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

SCHEMA_VERSION = 8

RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    spec BLOB NOT NULL,
    summary BLOB,
    dtype TEXT NOT NULL,
    dims INTEGER NOT NULL,
    owner TEXT,
    error TEXT,
    cancel TEXT,
    rows INTEGER NOT NULL DEFAULT 0,
    last_step INTEGER NOT NULL DEFAULT -1,
    lease_until REAL
);
CREATE TABLE IF NOT EXISTS trace_parts (
    run_seq INTEGER NOT NULL REFERENCES runs(seq) ON DELETE CASCADE,
    first_row INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    step BLOB NOT NULL,
    w BLOB NOT NULL,
    loss BLOB NOT NULL,
    lr BLOB NOT NULL,
    grad BLOB NOT NULL,
    state_names TEXT NOT NULL DEFAULT '',
    state BLOB,
    PRIMARY KEY (run_seq, first_row)
) WITHOUT ROWID;
"""
JOBS = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    spec BLOB NOT NULL,
    meta BLOB NOT NULL,
    steps INTEGER NOT NULL DEFAULT 0,
    progress INTEGER NOT NULL DEFAULT -1,
    error TEXT,
    owner TEXT,
    cancel TEXT,
    lease_until REAL
);
CREATE TABLE IF NOT EXISTS job_arrays (
    job_seq INTEGER NOT NULL REFERENCES jobs(seq) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (job_seq, name)
) WITHOUT ROWID;
"""
SESSIONS = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    key_fingerprint TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE INDEX IF NOT EXISTS sessions_by_key ON sessions (key_fingerprint);
"""
"""Browser sessions: only the SHA-256 of each token and of the key that created it, never either one; times are
Unix seconds (every server process and replica compares them with its own clock)."""
VIEWS = """
CREATE TABLE IF NOT EXISTS views (
    id TEXT PRIMARY KEY,
    state BLOB NOT NULL,
    bytes INTEGER NOT NULL,
    creator TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS views_by_creator ON views (creator, created_at);
CREATE INDEX IF NOT EXISTS views_by_bytes ON views (bytes);
"""
"""Saved dashboard views: immutable, content-addressed (the id is derived from the canonical JSON in `state`);
`creator` is the SHA-256 of the client address that saved one, `created_at` Unix seconds."""
QUEUES = """
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, seq);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
"""
"""The queues by status: a claimer's "oldest queued job" (20 times a second, in a write transaction) and the
counts by status read the queued rows only, not every stored run."""

SCHEMA = RUNS + JOBS + SESSIONS + VIEWS + QUEUES
"""A new store, at SCHEMA_VERSION."""

SWEEPS_V3 = """
CREATE TABLE IF NOT EXISTS sweeps (
    id TEXT PRIMARY KEY,
    name TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT,
    spec BLOB NOT NULL,
    shape BLOB NOT NULL,
    axes BLOB NOT NULL,
    steps INTEGER NOT NULL,
    progress INTEGER NOT NULL DEFAULT -1,
    result BLOB,
    error TEXT,
    owner TEXT
);
"""


def script(sql: str) -> Callable[[sqlite3.Connection], None]:
    """A step made of SQL statements (run one by one: `executescript` would commit the step's transaction)."""

    def step(db: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                db.execute(statement)

    return step


def _sweeps_become_jobs(db: sqlite3.Connection) -> None:
    """Version 4: sweeps join the jobs table, their results stored as arrays instead of a JSON document."""
    script(JOBS)(db)
    rows = db.execute(
        "SELECT id, name, status, created_at, finished_at, spec, shape, axes, steps, progress, result, error, owner"
        " FROM sweeps ORDER BY rowid"
    ).fetchall()
    for sweep_id, name, status, created, finished, spec, shape, axes, steps, progress, result, error, owner in rows:
        meta = {"shape": orjson.loads(shape), "axes": orjson.loads(axes)}
        cursor = db.execute(
            "INSERT INTO jobs (id, kind, name, status, created_at, finished_at, spec, meta, steps, progress, error,"
            " owner) VALUES (?, 'sweep', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sweep_id, name, status, created, finished, spec, orjson.dumps(meta), steps, progress, error, owner),
        )
        if result is not None:
            base = orjson.loads(spec)["base"]
            dtype, scalar = np.dtype(base.get("dtype", "float32")), not isinstance(base["w0"], list)
            for array_name, values in _legacy_result_arrays(orjson.loads(result), dtype, scalar).items():
                db.execute(
                    "INSERT INTO job_arrays VALUES (?, ?, ?, ?, ?)",
                    (
                        cursor.lastrowid,
                        array_name,
                        values.dtype.newbyteorder("<").str,
                        orjson.dumps(values.shape),
                        np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes(),
                    ),
                )
    db.execute("DROP TABLE sweeps")


def _legacy_result_arrays(
    result: dict[str, Any], dtype: np.dtype[np.floating], scalar: bool
) -> dict[str, npt.NDArray[Any]]:
    """A version-3 sweep result (JSON, null for non-finite numbers and for no step) as version 4's flat arrays;
    a number that JSON wrote as null comes back as NaN, a missing step as -1."""
    summary = result["summary"]

    def numbers(nested: Any, kind: Any) -> npt.NDArray[Any]:
        flat = np.asarray(nested, dtype=object).reshape(-1)
        missing = np.asarray([item is None for item in flat], dtype=bool)
        flat[missing] = np.nan if kind is not np.int64 else -1
        return flat.astype(np.float64).astype(kind) if kind is not np.int64 else flat.astype(np.int64)

    arrays: dict[str, npt.NDArray[Any]] = {
        "final_loss": numbers(summary["final_loss"], dtype),
        "best_loss": numbers(summary["best_loss"], dtype),
        "verdict": np.asarray(summary["verdict"], dtype=str).reshape(-1),
        "converged_at": numbers(summary["converged_at"], np.int64),
        "diverged_at": numbers(summary["diverged_at"], np.int64),
    }
    traces = result.get("traces")
    if traces:
        points, kept = arrays["final_loss"].size, len(traces["step"])
        arrays["trace.step"] = np.asarray(traces["step"], dtype=np.int64)
        arrays["trace.w"] = numbers(traces["w"], dtype).reshape((points, kept) if scalar else (points, kept, -1))
        arrays["trace.loss"] = numbers(traces["loss"], dtype).reshape(points, kept)
        arrays["trace.lr"] = numbers(traces["lr"], dtype).reshape(points, kept)
    return arrays


def _leases(db: sqlite3.Connection) -> None:
    """Version 6: a queued or running job's lease, in the database clock's Unix seconds (`service.runs.leases`).
    A store that step 4 gave today's `jobs` table already has the column there."""
    for table in ("runs", "jobs"):
        if "lease_until" not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            db.execute(f"ALTER TABLE {table} ADD COLUMN lease_until REAL")


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: script(
        """
ALTER TABLE trace_parts ADD COLUMN state_names TEXT NOT NULL DEFAULT '';
ALTER TABLE trace_parts ADD COLUMN state BLOB;
"""
    ),
    3: script(SWEEPS_V3),
    4: _sweeps_become_jobs,
    5: script(SESSIONS),
    6: _leases,
    7: script(VIEWS),
    8: script(QUEUES),
}
"""Per version n, the step that brings a store of version n - 1 to n."""
