"""The store interface, the records it keeps, and the one vocabulary of job statuses."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy.typing as npt

from service.engine.trace import Trace


class Status(StrEnum):
    """Where a job (run, sweep, range test, landscape) is in its life; stored, served and counted as these words."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    DIVERGED = "diverged"
    CANCELLED = "cancelled"
    FAILED = "failed"


ACTIVE = frozenset({Status.QUEUED, Status.RUNNING})
"""A job in one of these has an owner that will still write to it."""
ENDED = frozenset(Status) - ACTIVE


@dataclass(frozen=True)
class RunRecord:
    """A run's metadata; `spec` and `summary` are JSON documents, `dims` is 0 for a scalar `w0`."""

    id: str
    name: str | None
    status: str
    created_at: str
    finished_at: str | None
    spec: dict[str, Any]
    summary: dict[str, Any] | None
    dtype: str
    dims: int
    error: str | None = None
    last_step: int = -1


@dataclass(frozen=True)
class JobRecord:
    """A job other than a run (`kind`: sweep, lr_finder, landscape). `spec` is its normalised spec document,
        `meta` plain facts about it (a sweep's grid shape and axis values; small results); big results are arrays,
        read with `job_arrays`. `progress` is the last step computed of `steps` (a sweep writes it as it goes; a range
    test or landscape, quick and answered synchronously, only marks -1 when it starts)."""

    id: str
    kind: str
    name: str | None
    status: str
    created_at: str
    finished_at: str | None
    spec: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    progress: int = -1
    error: str | None = None


@dataclass(frozen=True)
class SessionRecord:
    """A browser session. The store keeps only digests: `token_hash` is the SHA-256 of the opaque token in the
    cookie, `key_fingerprint` the SHA-256 of the API key that started it. Times are Unix seconds."""

    token_hash: str
    key_fingerprint: str
    created_at: float
    expires_at: float
    revoked_at: float | None = None

    def active(self, now: float) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class ViewRecord:
    """A saved dashboard view (`service.views`): `state` is its canonical JSON (the bytes its `id` is derived from),
    `creator` the SHA-256 of the client address that first saved it (what the per-client quota counts), times Unix
    seconds. Views are immutable: saved once, never updated."""

    id: str
    state: bytes
    creator: str
    created_at: float


@dataclass(frozen=True)
class ViewUsage:
    """What the quotas on saving views look at: the views one creator saved since a moment (and the oldest of
    them), and the bytes every view holds."""

    recent: int
    oldest_recent: float | None
    total_bytes: int


@dataclass(frozen=True)
class Page:
    records: list[RunRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class Claim:
    """A queued job a server process took from the shared queue: `kind` is "run" or the job's kind."""

    kind: str
    id: str
    spec: dict[str, Any]


RUN = "run"
"""The kind `claim` names runs by (other jobs go by their `kind` column)."""

LEASE_EXPIRED = (
    "The server process executing this {what} stopped renewing its lease (DESCENT_LEASE_SECONDS): it died or lost "
    "the database. The {kept} stored until then are kept."
)
"""The error a job failed by `expire_leases` gets; `what` is "run" or "job", `kept` "rows" or "results"."""


class NotOwnedError(Exception):
    """A conditional write found the job no longer the writer's active job (recovered as failed, ended, deleted):
    nothing was written. A worker that gets it stops; history is never rewritten."""


class CursorError(ValueError):
    """The cursor was not one this store handed out."""


Arrays = Mapping[str, npt.NDArray[Any]]


class JobStore(Protocol):
    def insert_job(self, record: JobRecord, owner: str | None = None) -> None: ...

    def job_progress(self, job_id: str, step: int, owner: str | None = None) -> None:
        """Record the last step computed (and that the job is running). With `owner`, every write of this protocol
        is conditional: it raises NotOwnedError, writing nothing, unless the job is still that owner's and active."""
        ...

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
        """Store the final status with the result (arrays, and facts merged into `meta`) in one transaction."""
        ...

    def get_job(self, job_id: str, kind: str | None = None) -> JobRecord | None:
        """The job (of that kind, when given), or None."""
        ...

    def job_arrays(self, job_id: str) -> dict[str, npt.NDArray[Any]]:
        """The result arrays of a finished job, each in its dtype and shape, bit for bit as stored."""
        ...

    def delete_job(self, job_id: str) -> bool: ...

    def unfinished_jobs(self) -> list[tuple[str, str | None]]:
        """(id, owner) of every queued or running job."""
        ...


class SessionStore(Protocol):
    """Browser sessions, shared by every server process and replica that uses the store."""

    def create_session(self, session: SessionRecord) -> None: ...

    def get_session(self, token_hash: str) -> SessionRecord | None:
        """The session (active or not), or None for a token this store never issued or has purged."""
        ...

    def revoke_session(self, token_hash: str, at: float) -> bool:
        """End one session; False when it was unknown or already revoked."""
        ...

    def revoke_key_sessions(self, key_fingerprint: str, at: float) -> int:
        """End every session the key started (when it is removed); how many were still unrevoked."""
        ...

    def purge_sessions(self, now: float) -> int:
        """Forget the sessions expired by `now`; how many."""
        ...


class ViewStore(Protocol):
    """Saved dashboard views, shared by every server process and replica that uses the store."""

    def insert_view(self, view: ViewRecord) -> bool:
        """Store a view; False, writing nothing, when a view with its id is already stored."""
        ...

    def get_view(self, view_id: str) -> ViewRecord | None: ...

    def view_usage(self, creator: str, since: float) -> ViewUsage:
        """How many views `creator` saved at or after `since` (and the first time among them), and the bytes of
        every stored view's state."""
        ...


class LeaseStore(Protocol):
    """The shared queue and the leases of every replica's jobs, measured by the database's clock (so replicas'
    clocks need not agree)."""

    def claim(
        self, owner: str, lease_seconds: float, kinds: Collection[str], job_id: str | None = None
    ) -> Claim | None:
        """Take the oldest queued job nobody owns whose kind is in `kinds` (or that job, `job_id`) for `owner`, with
        a lease of `lease_seconds`; None when there is none. Two claimers never get the same job."""
        ...

    def renew_leases(self, owner: str, lease_seconds: float) -> int:
        """Extend the lease of every queued or running job `owner` holds; how many."""
        ...

    def expire_leases(self) -> list[str]:
        """Fail every running job whose lease ran out (its owner died or lost the database; rows kept), put the
        queued ones back in the queue for any replica; the ids of the failed ones."""
        ...

    def requeue(self, job_id: str, owner: str) -> bool:
        """Put back in the queue a run or job that `owner` claimed but never started (its owner died): True when it
        was one; a running or ended one is left as it is."""
        ...


class RunStore(JobStore, SessionStore, ViewStore, LeaseStore, Protocol):
    def insert(self, record: RunRecord, owner: str | None = None) -> None:
        """Store a new run (queued, no rows yet); `owner` names the server process responsible for it."""
        ...

    def create(self, record: RunRecord, trace: Trace) -> None:
        """Store a run and its trace atomically: either both are stored or nothing is."""
        ...

    def create_many(self, runs: Sequence[tuple[RunRecord, Trace]]) -> None:
        """`create` for several runs in one transaction: every one is stored, or none is."""
        ...

    def create_now(self, runs: Sequence[tuple[RunRecord, Trace]]) -> bool:
        """`create_many`, only if it needs no waiting (no lock held by another writer, no network round trip), for
        the event loop itself to call; False, having stored nothing, when it would wait: `create_many` in a thread
        then."""
        ...

    def append(self, run_id: str, trace: Trace | None, status: str | None = None, owner: str | None = None) -> None:
        """Add recorded rows (and optionally set the status) in one transaction."""
        ...

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
        """Add the last rows and the final status, summary and error in one transaction."""
        ...

    def request_cancel(self, run_id: str, reason: str) -> None:
        """Ask the run's worker to stop at its next chunk; the first reason given sticks. A queued run nobody has
        claimed yet ends `cancelled` at once."""
        ...

    def cancel_reason(self, run_id: str) -> str | None: ...

    def unfinished(self) -> list[tuple[str, str | None]]:
        """(id, owner) of every queued or running run."""
        ...

    def get(self, run_id: str) -> RunRecord | None: ...

    def count_by_status(self) -> dict[str, int]: ...

    def trace(self, run_id: str, after_step: int = -1, ranges: int | None = None) -> Trace | None:
        """The stored rows with a step above `after_step` (all by default), from at most `ranges` of the stored
        row ranges (all by default; a follower reads a long trace a few ranges at a time); None for an unknown
        run."""
        ...

    def page(self, limit: int, cursor: str | None) -> Page:
        """Runs newest first; `cursor` continues after the previous page."""
        ...

    def delete(self, run_id: str) -> bool: ...

    def ping(self) -> None:
        """Raise if the store cannot serve requests."""
        ...

    def close(self) -> None: ...
