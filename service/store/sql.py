"""The store on a SQLAlchemy engine: PostgreSQL (psycopg 3, a connection pool) for replicas sharing one database.

The same contract, rows and blobs as `SQLiteStore`, byte for byte: trace columns and job arrays are the raw
little-endian bytes of their NumPy arrays (bytea), JSON documents orjson's bytes. Every write is one short
transaction; a conditional write locks the job's row (`SELECT ... FOR UPDATE`) before it checks its owner, so a
recovery and a worker's write cannot interleave.
"""

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Double,
    Engine,
    Table,
    cast,
    create_engine,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url

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
from service.store.schema import job_arrays, jobs, runs, sessions, trace_parts, views
from service.store.sqlite import PART_ROWS

POOL_SIZE = 5
"""Connections each process keeps open (plus as many again under a burst)."""

CHANNEL = "descent"
"""Every write NOTIFYs this channel with the job's id ("queued" for a new queued job): a wake-up for the
replicas' followers and claimers (`service.store.notify`), who then read the rows from the tables."""
QUEUED = "queued"

_RUN_FIELDS = tuple(runs.c[name] for name in RUN_FIELDS)
_JOB_FIELDS = tuple(jobs.c[name] for name in JOB_FIELDS)


def engine_url(url: str) -> str:
    """`postgresql://...` (what DESCENT_STORE_URL says) with the psycopg 3 driver named for SQLAlchemy."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class SQLStore:
    """A pooled engine shared by the server's threads; each worker process opens its own (one connection)."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE, migrate: bool = False) -> None:
        self._engine: Engine = create_engine(
            engine_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_recycle=1800
        )
        if migrate:
            from service.store.migrate import upgrade  # Alembic: only the server imports it

            upgrade(self._engine)

    @property
    def url(self) -> str:
        """The database's URL (with its password), for a connection of its own such as the listener's."""
        return self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._engine.begin() as connection:
            yield connection

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as connection:
            yield connection

    def insert(self, record: RunRecord, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._insert(db, record, owner)
            _notify(db, QUEUED)

    @staticmethod
    def _insert(db: Connection, record: RunRecord, owner: str | None) -> None:
        db.execute(
            insert(runs).values(
                id=record.id,
                name=record.name,
                status=record.status,
                created_at=record.created_at,
                finished_at=record.finished_at,
                spec=orjson.dumps(record.spec),
                summary=json_or_null(record.summary),
                dtype=record.dtype,
                dims=record.dims,
                owner=owner,
                error=record.error,
            )
        )

    def create(self, record: RunRecord, trace: Trace) -> None:
        self.create_many([(record, trace)])

    def create_many(self, runs: Sequence[tuple[RunRecord, Trace]]) -> None:
        with self._transaction() as db:
            for record, trace in runs:
                self._insert(db, record, None)
                self._append(db, record.id, trace)

    def create_now(self, runs: Sequence[tuple[RunRecord, Trace]]) -> bool:
        """Never: every statement is a round trip to the server, which the event loop must not wait for."""
        return False

    def append(self, run_id: str, trace: Trace | None, status: str | None = None, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._check_owner(db, runs, run_id, owner)
            self._append(db, run_id, trace)
            if status is not None:
                db.execute(update(runs).where(runs.c.id == run_id).values(status=status))
            _notify(db, run_id)

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
            self._check_owner(db, runs, run_id, owner)
            self._append(db, run_id, trace)
            db.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(status=status, finished_at=finished_at, summary=json_or_null(summary), error=error)
            )
            _notify(db, run_id)

    @staticmethod
    def _check_owner(db: Connection, table: Table, job_id: str, owner: str | None) -> None:
        """With an `owner`, refuse (NotOwnedError) a write to a job that is no longer that owner's active job; the
        job's row stays locked until the write's transaction ends."""
        if owner is None:
            return
        row = db.execute(
            select(table.c.owner, table.c.status).where(table.c.id == job_id).with_for_update()
        ).one_or_none()
        if row is None or row[0] != owner or row[1] not in ACTIVE:
            raise NotOwnedError(f"{job_id} is not an active job of {owner} ({'gone' if row is None else row[1]})")

    @staticmethod
    def _append(db: Connection, run_id: str, trace: Trace | None) -> None:
        if trace is None or not len(trace):
            return
        seq, rows = db.execute(select(runs.c.seq, runs.c.rows).where(runs.c.id == run_id).with_for_update()).one()
        parts = []
        for first in range(0, len(trace), PART_ROWS):
            part = trace.take(np.arange(first, min(first + PART_ROWS, len(trace))))
            parts.append(
                {
                    "run_seq": seq,
                    "first_row": rows + first,
                    "rows": len(part),
                    "last_step": int(part.step[-1]),
                    **{name: array_bytes(getattr(part, name)) for name in COLUMNS},
                    "state_names": ",".join(part.state),
                    "state": array_bytes(np.stack(list(part.state.values()), axis=1)) if part.state else None,
                }
            )
        db.execute(insert(trace_parts), parts)
        db.execute(
            update(runs).where(runs.c.seq == seq).values(rows=runs.c.rows + len(trace), last_step=int(trace.step[-1]))
        )

    def request_cancel(self, run_id: str, reason: str) -> None:
        with self._transaction() as db:
            db.execute(update(runs).where(runs.c.id == run_id, runs.c.cancel.is_(None)).values(cancel=reason))
            db.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == Status.QUEUED, runs.c.owner.is_(None))
                .values(status=Status.CANCELLED, finished_at=now())
            )
            _notify(db, run_id)

    def claim(
        self, owner: str, lease_seconds: float, kinds: Collection[str], job_id: str | None = None
    ) -> Claim | None:
        with self._transaction() as db:
            found: list[tuple[str, str, str, bytes, Table]] = []
            for table, kind_column in ((runs, literal(RUN)), (jobs, jobs.c.kind)):
                query = (
                    select(table.c.created_at, kind_column, table.c.id, table.c.spec)
                    .where(table.c.status == Status.QUEUED, table.c.owner.is_(None), kind_column.in_(list(kinds)))
                    .order_by(table.c.seq)
                    .limit(1)
                    .with_for_update(skip_locked=True)  # a job another replica is claiming is skipped, not waited on
                )
                if job_id is not None:
                    query = query.where(table.c.id == job_id)
                row = db.execute(query).one_or_none()
                if row is not None:
                    found.append((*row, table))
            if not found:
                return None
            _, kind, claimed, spec, chosen = min(found, key=lambda candidate: candidate[:3])
            db.execute(
                update(chosen).where(chosen.c.id == claimed).values(owner=owner, lease_until=_now() + lease_seconds)
            )
            return Claim(str(kind), str(claimed), orjson.loads(spec))

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        with self._transaction() as db:
            return sum(
                db.execute(
                    update(table)
                    .where(table.c.owner == owner, table.c.status.in_([Status.QUEUED, Status.RUNNING]))
                    .values(lease_until=_now() + lease_seconds)
                ).rowcount
                for table in (runs, jobs)
            )

    def expire_leases(self) -> list[str]:
        failed: list[str] = []
        with self._transaction() as db:
            for table, what, kept in ((runs, "run", "rows"), (jobs, "job", "results")):
                failed += db.execute(
                    update(table)
                    .where(table.c.status == Status.RUNNING, table.c.lease_until < _now())
                    .values(status=Status.FAILED, finished_at=now(), error=LEASE_EXPIRED.format(what=what, kept=kept))
                    .returning(table.c.id)
                ).scalars()
                requeued = db.execute(
                    update(table)
                    .where(table.c.status == Status.QUEUED, table.c.lease_until < _now())
                    .values(owner=None, lease_until=None)
                ).rowcount
                if requeued:
                    _notify(db, QUEUED)
            for job_id in failed:
                _notify(db, job_id)
        return failed

    def requeue(self, job_id: str, owner: str) -> bool:
        with self._transaction() as db:
            requeued = sum(
                db.execute(
                    update(table)
                    .where(table.c.id == job_id, table.c.owner == owner, table.c.status == Status.QUEUED)
                    .values(owner=None, lease_until=None)
                ).rowcount
                for table in (runs, jobs)
            )
            if requeued:
                _notify(db, QUEUED)
        return requeued > 0

    def cancel_reason(self, run_id: str) -> str | None:
        with self._read() as db:
            reason = db.execute(select(runs.c.cancel).where(runs.c.id == run_id)).scalar_one_or_none()
        return reason if isinstance(reason, str) else None

    def unfinished(self) -> list[tuple[str, str | None]]:
        return self._unfinished(runs)

    def _unfinished(self, table: Table) -> list[tuple[str, str | None]]:
        with self._read() as db:
            rows = db.execute(
                select(table.c.id, table.c.owner).where(table.c.status.in_([Status.QUEUED, Status.RUNNING]))
            ).all()
        return [(str(job_id), owner) for job_id, owner in rows]

    def get(self, run_id: str) -> RunRecord | None:
        with self._read() as db:
            row = db.execute(select(*_RUN_FIELDS).where(runs.c.id == run_id)).one_or_none()
        return run_record(tuple(row)) if row else None

    def trace(self, run_id: str, after_step: int = -1, ranges: int | None = None) -> Trace | None:
        with self._read() as db:
            run = db.execute(select(runs.c.seq, runs.c.dtype, runs.c.dims).where(runs.c.id == run_id)).one_or_none()
            if run is None:
                return None
            parts = db.execute(
                select(
                    trace_parts.c.step,
                    trace_parts.c.w,
                    trace_parts.c.loss,
                    trace_parts.c.lr,
                    trace_parts.c.grad,
                    trace_parts.c.state_names,
                    trace_parts.c.state,
                )
                .where(trace_parts.c.run_seq == run[0], trace_parts.c.last_step > after_step)
                .order_by(trace_parts.c.first_row)
                .limit(ranges)
            ).all()
        dtype, dims = np.dtype(run[1]), max(run[2], 1)
        trace = Trace.concat([trace_part(tuple(row), dtype, dims) for row in parts], dtype, dims)
        return trace if after_step < 0 else trace.take(np.flatnonzero(trace.step > after_step))

    def page(self, limit: int, cursor: str | None) -> Page:
        query = select(runs.c.seq, *_RUN_FIELDS).order_by(runs.c.seq.desc()).limit(limit + 1)
        if cursor:
            query = query.where(runs.c.seq < decode_cursor(cursor))
        with self._read() as db:
            rows = db.execute(query).all()
        records = [run_record(tuple(row[1:])) for row in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return Page(records, next_cursor)

    def delete(self, run_id: str) -> bool:
        with self._transaction() as db:
            return db.execute(delete(runs).where(runs.c.id == run_id)).rowcount > 0

    def count_by_status(self) -> dict[str, int]:
        with self._read() as db:
            rows = db.execute(select(runs.c.status, func.count()).group_by(runs.c.status)).all()
        return {str(status): int(count) for status, count in rows}

    def insert_job(self, record: JobRecord, owner: str | None = None) -> None:
        with self._transaction() as db:
            _notify(db, QUEUED)
            db.execute(
                insert(jobs).values(
                    id=record.id,
                    kind=record.kind,
                    name=record.name,
                    status=record.status,
                    created_at=record.created_at,
                    spec=orjson.dumps(record.spec),
                    meta=json_bytes(record.meta),
                    steps=record.steps,
                    owner=owner,
                )
            )

    def job_progress(self, job_id: str, step: int, owner: str | None = None) -> None:
        with self._transaction() as db:
            self._check_owner(db, jobs, job_id, owner)
            db.execute(update(jobs).where(jobs.c.id == job_id).values(progress=step, status=Status.RUNNING))
            _notify(db, job_id)

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
            self._check_owner(db, jobs, job_id, owner)
            row = db.execute(select(jobs.c.seq, jobs.c.meta).where(jobs.c.id == job_id).with_for_update()).one_or_none()
            if row is None:
                return
            seq, stored = row
            if arrays:
                db.execute(delete(job_arrays).where(job_arrays.c.job_seq == seq, job_arrays.c.name.in_(list(arrays))))
                db.execute(
                    insert(job_arrays),
                    [
                        {
                            "job_seq": seq,
                            "name": name,
                            "dtype": values.dtype.newbyteorder("<").str,
                            "shape": orjson.dumps(values.shape).decode(),
                            "data": array_bytes(values),
                        }
                        for name, values in arrays.items()
                    ],
                )
            db.execute(
                update(jobs)
                .where(jobs.c.seq == seq)
                .values(
                    status=status,
                    finished_at=finished_at,
                    meta=json_bytes({**orjson.loads(stored), **(meta or {})}),
                    error=error,
                )
            )
            _notify(db, job_id)

    def get_job(self, job_id: str, kind: str | None = None) -> JobRecord | None:
        query = select(*_JOB_FIELDS).where(jobs.c.id == job_id)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        with self._read() as db:
            row = db.execute(query).one_or_none()
        return None if row is None else job_record(tuple(row))

    def job_arrays(self, job_id: str) -> dict[str, npt.NDArray[Any]]:
        with self._read() as db:
            rows = db.execute(
                select(job_arrays.c.name, job_arrays.c.dtype, job_arrays.c.shape, job_arrays.c.data)
                .join(jobs, job_arrays.c.job_seq == jobs.c.seq)
                .where(jobs.c.id == job_id)
            ).all()
        return {name: array_of(dtype, shape, bytes(data)) for name, dtype, shape, data in rows}

    def delete_job(self, job_id: str) -> bool:
        with self._transaction() as db:
            return db.execute(delete(jobs).where(jobs.c.id == job_id)).rowcount > 0

    def unfinished_jobs(self) -> list[tuple[str, str | None]]:
        return self._unfinished(jobs)

    def ping(self) -> None:
        with self._read() as db:
            db.execute(select(1)).one()

    def close(self) -> None:
        self._engine.dispose()

    def create_session(self, session: SessionRecord) -> None:
        with self._transaction() as db:
            db.execute(
                insert(sessions).values(
                    token_hash=session.token_hash,
                    key_fingerprint=session.key_fingerprint,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                    revoked_at=session.revoked_at,
                )
            )

    def get_session(self, token_hash: str) -> SessionRecord | None:
        with self._read() as db:
            row = db.execute(
                select(
                    sessions.c.token_hash,
                    sessions.c.key_fingerprint,
                    sessions.c.created_at,
                    sessions.c.expires_at,
                    sessions.c.revoked_at,
                ).where(sessions.c.token_hash == token_hash)
            ).one_or_none()
        return SessionRecord(*row) if row else None

    def revoke_session(self, token_hash: str, at: float) -> bool:
        with self._transaction() as db:
            revoked = db.execute(
                update(sessions)
                .where(sessions.c.token_hash == token_hash, sessions.c.revoked_at.is_(None))
                .values(revoked_at=at)
            ).rowcount
        return revoked > 0

    def revoke_key_sessions(self, key_fingerprint: str, at: float) -> int:
        with self._transaction() as db:
            return db.execute(
                update(sessions)
                .where(sessions.c.key_fingerprint == key_fingerprint, sessions.c.revoked_at.is_(None))
                .values(revoked_at=at)
            ).rowcount

    def purge_sessions(self, now: float) -> int:
        with self._transaction() as db:
            return db.execute(delete(sessions).where(sessions.c.expires_at <= now)).rowcount

    def insert_view(self, view: ViewRecord) -> bool:
        with self._transaction() as db:
            inserted = db.execute(
                pg_insert(views)
                .values(
                    id=view.id,
                    state=view.state,
                    bytes=len(view.state),
                    creator=view.creator,
                    created_at=view.created_at,
                )
                .on_conflict_do_nothing(index_elements=[views.c.id])
                .returning(views.c.id)
            ).first()
        return inserted is not None

    def get_view(self, view_id: str) -> ViewRecord | None:
        with self._read() as db:
            row = db.execute(
                select(views.c.id, views.c.state, views.c.creator, views.c.created_at).where(views.c.id == view_id)
            ).one_or_none()
        return ViewRecord(row[0], bytes(row[1]), row[2], row[3]) if row else None

    def view_usage(self, creator: str, since: float) -> ViewUsage:
        with self._read() as db:
            recent, oldest = db.execute(
                select(func.count(), func.min(views.c.created_at)).where(
                    views.c.creator == creator, views.c.created_at >= since
                )
            ).one()
            total = db.execute(select(func.coalesce(func.sum(views.c.bytes), 0))).scalar_one()
        return ViewUsage(int(recent), oldest, int(total))


def _now() -> ColumnElement[float]:
    """The database clock's Unix seconds, what leases are measured by (`clock_timestamp`: not the transaction's
    start)."""
    return cast(func.extract("epoch", func.clock_timestamp()), Double)


def _notify(db: Connection, payload: str) -> None:
    """Wake the listeners once the transaction commits (PostgreSQL delivers NOTIFY at commit, never before)."""
    db.execute(select(func.pg_notify(CHANNEL, payload)))
