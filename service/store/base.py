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


@dataclass(frozen=True)
class Page:
    records: list[RunRecord]
    next_cursor: str | None


class CursorError(ValueError):
    """The cursor was not one this store handed out."""


class RunStore(Protocol):
    def create(self, record: RunRecord, trace: Trace) -> None:
        """Store a run and its trace atomically: either both are stored or nothing is."""
        ...

    def get(self, run_id: str) -> RunRecord | None: ...

    def trace(self, run_id: str) -> Trace | None: ...

    def page(self, limit: int, cursor: str | None) -> Page:
        """Runs newest first; `cursor` continues after the previous page."""
        ...

    def delete(self, run_id: str) -> bool: ...

    def ping(self) -> None:
        """Raise if the store cannot serve requests."""
        ...

    def close(self) -> None: ...
