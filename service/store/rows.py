"""How both stores write and read their rows: records from rows, NumPy arrays as little-endian bytes, JSON as
orjson's bytes, and page cursors. One codec, so SQLite and PostgreSQL hold the same bytes."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from service.engine.trace import Trace
from service.store.base import CursorError, JobRecord, RunRecord

RUN_FIELDS = (
    "id",
    "name",
    "status",
    "created_at",
    "finished_at",
    "spec",
    "summary",
    "dtype",
    "dims",
    "error",
    "last_step",
)
"""The columns `run_record` reads, in its order."""
JOB_FIELDS = ("id", "kind", "name", "status", "created_at", "finished_at", "spec", "meta", "steps", "progress", "error")
"""The columns `job_record` reads, in its order."""


def run_record(row: tuple[object, ...]) -> RunRecord:
    id_, name, status, created, finished, spec, summary, dtype, dims, error, last_step = row
    return RunRecord(
        id=str(id_),
        name=name if isinstance(name, str) else None,
        status=str(status),
        created_at=str(created),
        finished_at=finished if isinstance(finished, str) else None,
        spec=orjson.loads(spec),  # type: ignore[arg-type]
        summary=orjson.loads(summary) if summary is not None else None,  # type: ignore[arg-type]
        dtype=str(dtype),
        dims=int(dims),  # type: ignore[call-overload]
        error=error if isinstance(error, str) else None,
        last_step=int(last_step),  # type: ignore[call-overload]
    )


def job_record(row: Sequence[Any]) -> JobRecord:
    """A job from its row: id, kind, name, status, created_at, finished_at, spec, meta, steps, progress, error."""
    job_id, kind, name, status, created_at, finished_at, spec, meta, steps, progress, error = row
    return JobRecord(
        job_id,
        kind,
        name,
        status,
        created_at,
        finished_at,
        orjson.loads(spec),
        orjson.loads(meta),
        int(steps),
        int(progress),
        error,
    )


def json_bytes(document: object) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def array_of(dtype: str, shape: bytes, data: bytes) -> npt.NDArray[Any]:
    """A stored array in its dtype (native byte order) and shape."""
    stored = np.dtype(dtype)
    return np.frombuffer(data, dtype=stored).astype(stored.newbyteorder("="), copy=True).reshape(orjson.loads(shape))


def json_or_null(document: object) -> bytes | None:
    return None if document is None else orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def array_bytes(array: npt.NDArray[np.generic]) -> bytes:
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def trace_part(row: tuple[Any, ...], dtype: np.dtype[np.floating], dims: int) -> Trace:
    little = dtype.newbyteorder("<")
    step = np.frombuffer(row[0], dtype="<i8").astype(np.int64)
    names = row[5].split(",") if row[5] else []
    slots = np.frombuffer(row[6], dtype=little).astype(dtype).reshape(-1, len(names), dims) if names else None
    return Trace(
        step,
        np.frombuffer(row[1], dtype=little).astype(dtype).reshape(-1, dims),
        np.frombuffer(row[2], dtype=little).astype(dtype),
        np.frombuffer(row[3], dtype=little).astype(dtype),
        np.frombuffer(row[4], dtype=little).astype(dtype).reshape(-1, dims),
        {name: slots[:, index] for index, name in enumerate(names)} if slots is not None else {},
    )


def encode_cursor(seq: int) -> str:
    """An opaque position: the base-36 sequence number of the last run on the page."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        seq, digit = divmod(seq, 36)
        text = digits[digit] + text
        if seq == 0:
            return text


def decode_cursor(cursor: str) -> int:
    try:
        return int(cursor, 36)
    except ValueError as exc:
        raise CursorError(f"{cursor!r} is not a cursor from this server; use next_cursor from a page.") from exc
