"""The embedded default store: SQLite (standard library) in WAL mode, traces as binary arrays.

Each trace column is stored as the raw little-endian bytes of its NumPy array, in row ranges (`trace_parts`),
so a trace of a million rows is a few blobs, not a million JSON numbers.
"""

import sqlite3
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from service.clock import now
from service.engine.trace import COLUMNS, Trace
from service.store.base import (
    ACTIVE,
    LEASE_EXPIRED,
    RUN,
    Arrays,
    Claim,
    JobRecord,
    NotOwnedError,
    Page,
    RunRecord,
    SessionRecord,
    Status,
    ViewRecord,
    ViewUsage,
)
from service.store.checkpoints import Checkpointer
from service.store.migrations import MIGRATIONS, SCHEMA, SCHEMA_VERSION, script
from service.store.rows import (
    JOB_FIELDS,
    RUN_FIELDS,
    array_bytes,
    array_of,
    decode_cursor,
    encode_cursor,
    job_record,
    json_bytes,
    json_or_null,
    run_record,
    trace_part,
)
from service.store.writers import WAIT_S, WriterTurn

_FIELDS = ", ".join(RUN_FIELDS)
_JOB_FIELDS = ", ".join(JOB_FIELDS)

PART_ROWS = 65_536

NOW = "((julianday('now') - 2440587.5) * 86400.0)"
"""The database clock's Unix seconds, what leases are measured by."""


WAL_WAIT_SECONDS = 30.0
NOW_CHECKPOINT_COMMITS = 64
"""`create_now` asks for a checkpoint every this many commits (a tiny run adds a few pages to the WAL; SQLite's own
auto-checkpoint comes at 1,000 pages)."""


def _switch_to_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode. The switch needs the file to itself and SQLite does not wait for that (no busy
    handler), so processes opening a new store together retry it for a while."""
    deadline = time.monotonic() + WAL_WAIT_SECONDS
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SQLiteStore:
    """A connection per thread on a file (WAL: readers never wait and take no lock; writers of every process queue
    for their turn, `WriterTurn`, then take SQLite's lock); one connection behind a lock for `:memory:`, where every
    connection would be a database of its own."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        self._lock: AbstractContextManager[object] = threading.RLock() if path == ":memory:" else nullcontext()
        self._writing = WriterTurn(path)  # write transactions in turn, across threads and processes
        self._now_db: sqlite3.Connection | None = None  # `create_now`'s, behind `_writing`
        self._since_checkpoint = 0
        self._checkpoints = Checkpointer(self._connect)
        self._first = self._local.db = self._connect()
        _switch_to_wal(self._first)  # a property of the file: later connections find it in WAL mode
        with self._lock:
            # One transaction creates or upgrades the schema, so processes opening a store together do it once.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise RuntimeError(f"{path} was written by a newer version (schema {version}).")
                steps = (
                    [script(SCHEMA)]
                    if version == 0
                    else [MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1)]
                )
                for step in steps:
                    step(self._db)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _connect(self, timeout: float = 30) -> sqlite3.Connection:
        db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=timeout)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        with self._opened_lock:
            self._opened.append(db)
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's connection (the one connection for `:memory:`)."""
        if self._path == ":memory:":
            return self._first
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
        return db

    def insert(self, record: RunRecord, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._insert_run(db, record, owner)

    def create(self, record: RunRecord, trace: Trace) -> None:
        self.create_many([(record, trace)])

    def create_many(self, runs: Sequence[tuple[RunRecord, Trace]]) -> None:
        with self._transaction() as db:
            self._insert_runs(db, runs)

    def create_now(self, runs: Sequence[tuple[RunRecord, Trace]]) -> bool:
        """`create_many` on a connection of its own that never waits: the writers' turn (`WriterTurn`) taken only
        if free, SQLite's write lock only if free (no busy handler), and no checkpoint in the commit (every
        NOW_CHECKPOINT_COMMITS-th commit asks the `Checkpointer`'s thread for one instead). False for `:memory:`
        (one connection, shared)."""
        if self._path == ":memory:" or not self._writing.take(blocking=False):
            return False
        try:
            db = self._now_db
            if db is None:
                db = self._now_db = self._connect(timeout=0)
                db.execute("PRAGMA wal_autocheckpoint=0")
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return False  # another process is writing
                raise
            try:
                self._insert_runs(db, runs)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        finally:
            self._writing.give()
        self._since_checkpoint += 1
        if self._since_checkpoint >= NOW_CHECKPOINT_COMMITS:
            self._since_checkpoint = 0
            self._checkpoints.ask()
        return True

    def _insert_runs(self, db: sqlite3.Connection, runs: Sequence[tuple[RunRecord, Trace]]) -> None:
        """Finished runs with their whole traces: one INSERT for each run (its row count and last step included)
        and one per trace part."""
        for record, trace in runs:
            seq = self._insert_run(db, record, None, len(trace), int(trace.step[-1]) if len(trace) else -1)
            self._insert_parts(db, seq, 0, trace)

    @staticmethod
    def _insert_run(
        db: sqlite3.Connection, record: RunRecord, owner: str | None, rows: int = 0, last_step: int = -1
    ) -> int:
        cursor = db.execute(
            "INSERT INTO runs (id, name, status, created_at, finished_at, spec, summary, dtype, dims, owner, error,"
            " rows, last_step) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.name,
                record.status,
                record.created_at,
                record.finished_at,
                orjson.dumps(record.spec),
                json_or_null(record.summary),
                record.dtype,
                record.dims,
                owner,
                record.error,
                rows,
                last_step,
            ),
        )
        return int(cursor.lastrowid or 0)

    def append(self, run_id: str, trace: Trace | None, status: str | None = None, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._check_owner(db, "runs", run_id, owner)
            self._append(db, run_id, trace)
            if status is not None:
                db.execute("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))

    def finish(
        self,
        run_id: str,
        trace: Trace | None,
        status: str,
        finished_at: str,
        summary: dict[str, Any] | None,
        error: str | None = None,
        owner: str | None = None,
    ) -> None:
        with self._transaction() as db:
            self._check_owner(db, "runs", run_id, owner)
            self._append(db, run_id, trace)
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, summary = ?, error = ? WHERE id = ?",
                (status, finished_at, json_or_null(summary), error, run_id),
            )

    @staticmethod
    def _check_owner(db: sqlite3.Connection, table: str, job_id: str, owner: str | None) -> None:
        """With an `owner`, refuse (NotOwnedError) a write to a job that is no longer that owner's active job: recovered
        as failed, ended, deleted, or taken over. Checked inside the write's transaction."""
        if owner is None:
            return
        row = db.execute(f"SELECT owner, status FROM {table} WHERE id = ?", (job_id,)).fetchone()
        if row is None or row[0] != owner or row[1] not in ACTIVE:
            raise NotOwnedError(f"{job_id} is not an active job of {owner} ({'gone' if row is None else row[1]})")

    def _append(self, db: sqlite3.Connection, run_id: str, trace: Trace | None) -> None:
        if trace is None or not len(trace):
            return
        seq, rows = db.execute("SELECT seq, rows FROM runs WHERE id = ?", (run_id,)).fetchone()
        self._insert_parts(db, seq, rows, trace)
        db.execute(
            "UPDATE runs SET rows = rows + ?, last_step = ? WHERE seq = ?", (len(trace), int(trace.step[-1]), seq)
        )

    @staticmethod
    def _insert_parts(db: sqlite3.Connection, seq: int, rows: int, trace: Trace) -> None:
        """The trace's rows as parts of at most PART_ROWS rows, the first one row `rows` of the run."""
        for first in range(0, len(trace), PART_ROWS):
            part = (
                trace if len(trace) <= PART_ROWS else trace.take(np.arange(first, min(first + PART_ROWS, len(trace))))
            )
            db.execute(
                "INSERT INTO trace_parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    rows + first,
                    len(part),
                    int(part.step[-1]),
                    *(array_bytes(getattr(part, name)) for name in COLUMNS),
                    ",".join(part.state),
                    array_bytes(np.stack(list(part.state.values()), axis=1)) if part.state else None,
                ),
            )

    def request_cancel(self, run_id: str, reason: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET cancel = ? WHERE id = ? AND cancel IS NULL", (reason, run_id))
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ? AND status = ? AND owner IS NULL",
                (Status.CANCELLED, now(), run_id, Status.QUEUED),
            )

    def claim(
        self, owner: str, lease_seconds: float, kinds: Collection[str], job_id: str | None = None
    ) -> Claim | None:
        with self._lock:  # a read first: in WAL it neither takes nor waits for the write lock, so an idle claimer
            if not self._oldest_queued(self._db, kinds, job_id):  # (20 polls a second) never holds up a write
                return None
        with self._transaction() as db:
            found = self._oldest_queued(db, kinds, job_id)
            if not found:
                return None
            _, kind, claimed, spec, table = min(found)
            db.execute(
                f"UPDATE {table} SET owner = ?, lease_until = {NOW} + ? WHERE id = ?", (owner, lease_seconds, claimed)
            )
            return Claim(kind, claimed, orjson.loads(spec))

    @staticmethod
    def _oldest_queued(
        db: sqlite3.Connection, kinds: Collection[str], job_id: str | None
    ) -> list[tuple[str, str, str, bytes, str]]:
        """The oldest unclaimed queued run and job of `kinds` (or `job_id` only), through the status indexes."""
        found: list[tuple[str, str, str, bytes, str]] = []
        if RUN in kinds:
            row = db.execute(
                "SELECT created_at, 'run', id, spec, 'runs' FROM runs WHERE status = ? AND owner IS NULL"
                " AND (? IS NULL OR id = ?) ORDER BY seq LIMIT 1",
                (Status.QUEUED, job_id, job_id),
            ).fetchone()
            found += [row] if row else []
        others = sorted(set(kinds) - {RUN})
        if others:
            row = db.execute(
                "SELECT created_at, kind, id, spec, 'jobs' FROM jobs WHERE status = ? AND owner IS NULL"
                f" AND (? IS NULL OR id = ?) AND kind IN ({', '.join('?' * len(others))}) ORDER BY seq LIMIT 1",
                (Status.QUEUED, job_id, job_id, *others),
            ).fetchone()
            found += [row] if row else []
        return found

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        with self._transaction() as db:
            return sum(
                db.execute(
                    f"UPDATE {table} SET lease_until = {NOW} + ? WHERE owner = ? AND status IN (?, ?)",
                    (lease_seconds, owner, Status.QUEUED, Status.RUNNING),
                ).rowcount
                for table in ("runs", "jobs")
            )

    def expire_leases(self) -> list[str]:
        failed: list[str] = []
        with self._transaction() as db:
            for table, what, kept in (("runs", "run", "rows"), ("jobs", "job", "results")):
                failed += [
                    row[0]
                    for row in db.execute(
                        f"UPDATE {table} SET status = ?, finished_at = ?, error = ?"
                        f" WHERE status = ? AND lease_until < {NOW} RETURNING id",
                        (Status.FAILED, now(), LEASE_EXPIRED.format(what=what, kept=kept), Status.RUNNING),
                    ).fetchall()
                ]
                db.execute(
                    f"UPDATE {table} SET owner = NULL, lease_until = NULL WHERE status = ? AND lease_until < {NOW}",
                    (Status.QUEUED,),
                )
        return failed

    def requeue(self, job_id: str, owner: str) -> bool:
        with self._transaction() as db:
            return any(
                db.execute(
                    f"UPDATE {table} SET owner = NULL, lease_until = NULL WHERE id = ? AND owner = ? AND status = ?",
                    (job_id, owner, Status.QUEUED),
                ).rowcount
                for table in ("runs", "jobs")
            )

    def cancel_reason(self, run_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT cancel FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else row[0]

    def unfinished(self) -> list[tuple[str, str | None]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, owner FROM runs WHERE status IN (?, ?)", (Status.QUEUED, Status.RUNNING)
            ).fetchall()
        return [(str(run_id), owner) for run_id, owner in rows]

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db.in_transaction:  # nested: the outer transaction commits
                yield self._db
                return
            if not self._writing.take():
                raise sqlite3.OperationalError(f"database is locked (no writer's turn within {WAIT_S:g} s)")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            finally:
                self._writing.give()

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_FIELDS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return run_record(row) if row else None

    def trace(self, run_id: str, after_step: int = -1, ranges: int | None = None) -> Trace | None:
        with self._lock:
            run = self._db.execute("SELECT seq, dtype, dims FROM runs WHERE id = ?", (run_id,)).fetchone()
            if run is None:
                return None
            parts = self._db.execute(
                "SELECT step, w, loss, lr, grad, state_names, state FROM trace_parts"
                " WHERE run_seq = ? AND last_step > ? ORDER BY first_row LIMIT ?",
                (run[0], after_step, -1 if ranges is None else ranges),
            ).fetchall()
        dtype, dims = np.dtype(run[1]), max(run[2], 1)
        trace = Trace.concat([trace_part(row, dtype, dims) for row in parts], dtype, dims)
        return trace if after_step < 0 else trace.take(np.flatnonzero(trace.step > after_step))

    def page(self, limit: int, cursor: str | None) -> Page:
        before = decode_cursor(cursor) if cursor else None
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, {_FIELDS} FROM runs WHERE (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?",
                (before, before, limit + 1),
            ).fetchall()
        records = [run_record(row[1:]) for row in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return Page(records, next_cursor)

    def delete(self, run_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    def count_by_status(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, count(*) FROM runs GROUP BY status").fetchall()
        return {str(status): int(count) for status, count in rows}

    def insert_job(self, record: JobRecord, owner: str | None = None) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, name, status, created_at, spec, meta, steps, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.kind,
                    record.name,
                    record.status,
                    record.created_at,
                    orjson.dumps(record.spec),
                    json_bytes(record.meta),
                    record.steps,
                    owner,
                ),
            )

    def job_progress(self, job_id: str, step: int, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._check_owner(db, "jobs", job_id, owner)
            db.execute("UPDATE jobs SET progress = ?, status = ? WHERE id = ?", (step, Status.RUNNING, job_id))

    def finish_job(
        self,
        job_id: str,
        status: str,
        finished_at: str,
        arrays: Arrays | None = None,
        meta: dict[str, Any] | None = None,
        error: str | None = None,
        owner: str | None = None,
    ) -> None:
        with self._transaction() as db:
            self._check_owner(db, "jobs", job_id, owner)
            row = db.execute("SELECT seq, meta FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return
            seq, stored = row
            for name, values in (arrays or {}).items():
                db.execute(
                    "INSERT OR REPLACE INTO job_arrays VALUES (?, ?, ?, ?, ?)",
                    (seq, name, values.dtype.newbyteorder("<").str, orjson.dumps(values.shape), array_bytes(values)),
                )
            db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, meta = ?, error = ? WHERE seq = ?",
                (status, finished_at, json_bytes({**orjson.loads(stored), **(meta or {})}), error, seq),
            )

    def get_job(self, job_id: str, kind: str | None = None) -> JobRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_JOB_FIELDS} FROM jobs WHERE id = ? AND (? IS NULL OR kind = ?)", (job_id, kind, kind)
            ).fetchone()
        return None if row is None else job_record(row)

    def job_arrays(self, job_id: str) -> dict[str, npt.NDArray[Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.name, a.dtype, a.shape, a.data FROM job_arrays a JOIN jobs j ON a.job_seq = j.seq"
                " WHERE j.id = ?",
                (job_id,),
            ).fetchall()
        return {name: array_of(dtype, shape, data) for name, dtype, shape, data in rows}

    def delete_job(self, job_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    def unfinished_jobs(self) -> list[tuple[str, str | None]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, owner FROM jobs WHERE status IN (?, ?)", (Status.QUEUED, Status.RUNNING)
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._checkpoints.close()  # before its connection closes under it
        with self._opened_lock:
            for db in self._opened:
                db.close()
            self._opened.clear()
            self._now_db = None
        self._writing.close()

    def create_session(self, session: SessionRecord) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sessions (token_hash, key_fingerprint, created_at, expires_at, revoked_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    session.token_hash,
                    session.key_fingerprint,
                    session.created_at,
                    session.expires_at,
                    session.revoked_at,
                ),
            )

    def get_session(self, token_hash: str) -> SessionRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT token_hash, key_fingerprint, created_at, expires_at, revoked_at FROM sessions"
                " WHERE token_hash = ?",
                (token_hash,),
            ).fetchone()
        return SessionRecord(*row) if row else None

    def revoke_session(self, token_hash: str, at: float) -> bool:
        with self._transaction() as db:
            revoked = db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL", (at, token_hash)
            ).rowcount
        return revoked > 0

    def revoke_key_sessions(self, key_fingerprint: str, at: float) -> int:
        with self._transaction() as db:
            return db.execute(
                "UPDATE sessions SET revoked_at = ? WHERE key_fingerprint = ? AND revoked_at IS NULL",
                (at, key_fingerprint),
            ).rowcount

    def purge_sessions(self, now: float) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,)).rowcount

    def insert_view(self, view: ViewRecord) -> bool:
        with self._transaction() as db:
            inserted = db.execute(
                "INSERT INTO views (id, state, bytes, creator, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (view.id, view.state, len(view.state), view.creator, view.created_at),
            ).rowcount
        return inserted > 0

    def get_view(self, view_id: str) -> ViewRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, state, creator, created_at FROM views WHERE id = ?", (view_id,)
            ).fetchone()
        return ViewRecord(row[0], bytes(row[1]), row[2], row[3]) if row else None

    def view_usage(self, creator: str, since: float) -> ViewUsage:
        with self._lock:
            recent, oldest = self._db.execute(
                "SELECT count(*), min(created_at) FROM views WHERE creator = ? AND created_at >= ?", (creator, since)
            ).fetchone()
            total = self._db.execute("SELECT coalesce(sum(bytes), 0) FROM views").fetchone()[0]
        return ViewUsage(recent, oldest, total)
