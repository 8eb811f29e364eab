"""JSON, CSV and Arrow bodies for runs, written straight from NumPy arrays (orjson keeps each dtype's shortest form;
Arrow keeps the arrays' own bytes)."""

import csv
import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from starlette.responses import Response

from service.api.adapters import trace_document
from service.engine.trace import Trace
from service.store.base import RunRecord

JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
ARROW_STREAM = "application/vnd.apache.arrow.stream"
"""The IANA media type of the Arrow IPC streaming format (file extension `.arrows`)."""


def run_document(record: RunRecord, trace: Trace | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "spec": record.spec,
        "summary": record.summary,
        "error": record.error,
    }
    if trace is not None:
        document["trace"] = trace_document(trace, scalar=record.dims == 0)
    return document


def json_response(document: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(document, option=JSON_OPTIONS),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def trace_columns(trace: Trace, scalar: bool) -> dict[str, npt.NDArray[Any]]:
    """The trace as named 1-D columns, in CSV's order and with CSV's names: `step`, `w` (or `w[0]`, `w[1]`, …),
    `loss`, `lr`, `grad` (or `grad[i]`), then recorded optimizer state as `state.<name>` (or `state.<name>[i]`)."""
    columns: dict[str, npt.NDArray[Any]] = {"step": trace.step}
    columns |= _spread("w", trace.w, scalar)
    columns |= {"loss": trace.loss, "lr": trace.lr}
    columns |= _spread("grad", trace.grad, scalar)
    for name, values in trace.state.items():
        columns |= _spread(f"state.{name}", values, scalar)
    return columns


def csv_text(trace: Trace, scalar: bool) -> str:
    """The trace as CSV with a header row: `trace_columns`, one line per row."""
    columns = trace_columns(trace, scalar)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*(column.astype(str) for column in columns.values()), strict=True))
    return buffer.getvalue()


def arrow_stream(columns: Mapping[str, npt.NDArray[Any]], metadata: Mapping[str, str] | None = None) -> bytes:
    """An Arrow IPC stream (`ARROW_STREAM`) holding one record batch with these columns, in this order.

    Each column keeps its NumPy dtype (int64, float32, float64, ...) and its bytes exactly: NaN payloads, -0.0 and
    infinities included. A 1-D array (N,) is a plain column; a 2-D array (N, k) is a `fixed_size_list<k>` column
    (one list of k values per row: a sweep's per-step row over its runs, say). Every column has the same N.
    `metadata` goes into the schema's key/value metadata. Read it with `pyarrow.ipc.open_stream(body).read_all()`
    in Python or `tableFromIPC(bytes)` of apache-arrow in JavaScript."""
    arrays = [_arrow_array(name, values) for name, values in columns.items()]
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        raise ValueError(f"arrow_stream: the columns have different lengths {sorted(lengths)}")
    batch = pa.RecordBatch.from_arrays(arrays, names=list(columns), metadata=dict(metadata or {}))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def _arrow_array(name: str, values: npt.NDArray[Any]) -> Any:
    """A column as an Arrow array of the same type (zero-copy for a contiguous column)."""
    if values.ndim == 1:
        return pa.array(np.ascontiguousarray(values))
    if values.ndim == 2:
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
    raise ValueError(f"arrow_stream: column {name!r} has {values.ndim} dimensions; give 1 (N,) or 2 (N, k)")


def _spread(name: str, values: npt.NDArray[Any], scalar: bool) -> dict[str, npt.NDArray[Any]]:
    """A (N, D) column as `name` for a scalar run, else as `name[0]`, `name[1]`, …"""
    if scalar:
        return {name: values[:, 0]}
    return {f"{name}[{i}]": values[:, i] for i in range(values.shape[1])}
