"""The run store interface and the record it keeps."""

from dataclasses import dataclass
from typing import Any, Protocol

from service.engine.trace import Trace


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
class SweepRecord:
    """A sweep's metadata; `result` is the finished sweep's JSON document (summary, traces) as stored bytes."""

    id: str
    name: str | None
    status: str
    created_at: str
    finished_at: str | None
    spec: dict[str, Any]
    shape: list[int]
    axes: list[dict[str, Any]]
    steps: int
    progress: int = -1
    result: bytes | None = None
    error: str | None = None


@dataclass(frozen=True)
class Page:
    records: list[RunRecord]
    next_cursor: str | None


class CursorError(ValueError):
    """The cursor was not one this store handed out."""


class SweepStore(Protocol):
    def insert_sweep(self, record: SweepRecord, owner: str | None = None) -> None: ...

    def sweep_progress(self, sweep_id: str, step: int) -> None:
        """Record the last step computed (and that the sweep is running)."""
        ...

    def finish_sweep(
        self, sweep_id: str, status: str, finished_at: str, result: bytes | None, error: str | None = None
    ) -> None: ...

    def get_sweep(self, sweep_id: str) -> SweepRecord | None: ...

    def unfinished_sweeps(self) -> list[tuple[str, str | None]]:
        """(id, owner) of every queued or running sweep."""
        ...


class RunStore(SweepStore, Protocol):
    def insert(self, record: RunRecord, owner: str | None = None) -> None:
        """Store a new run (queued, no rows yet); `owner` names the server process responsible for it."""
        ...

    def create(self, record: RunRecord, trace: Trace) -> None:
        """Store a run and its trace atomically: either both are stored or nothing is."""
        ...

    def append(self, run_id: str, trace: Trace | None, status: str | None = None) -> None:
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
    ) -> None:
        """Add the last rows and the final status, summary and error in one transaction."""
        ...

    def request_cancel(self, run_id: str, reason: str) -> None:
        """Ask the run's worker to stop at its next chunk; the first reason given sticks."""
        ...

    def cancel_reason(self, run_id: str) -> str | None: ...

    def unfinished(self) -> list[tuple[str, str | None]]:
        """(id, owner) of every queued or running run."""
        ...

    def get(self, run_id: str) -> RunRecord | None: ...

    def count_by_status(self) -> dict[str, int]: ...

    def trace(self, run_id: str, after_step: int = -1) -> Trace | None:
        """The stored rows with a step above `after_step` (all by default); None for an unknown run."""
        ...

    def page(self, limit: int, cursor: str | None) -> Page:
        """Runs newest first; `cursor` continues after the previous page."""
        ...

    def delete(self, run_id: str) -> bool: ...

    def ping(self) -> None:
        """Raise if the store cannot serve requests."""
        ...

    def close(self) -> None: ...
