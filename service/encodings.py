"""JSON, CSV and Arrow encodings of the answer documents and of traces and sweep grids, written straight from NumPy
arrays: orjson keeps each dtype's shortest decimal (non-finite numbers become null), Arrow keeps the arrays' own
bytes (NaN, infinities and -0.0 included)."""

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from service import csv_kernel
from service.engine.sweep import grid
from service.engine.trace import Trace
from service.numbers_text import lines, text_matrix
from service.store.base import JobRecord

JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
ARROW_STREAM = "application/vnd.apache.arrow.stream"
"""The IANA media type of the Arrow IPC streaming format (file extension `.arrows`)."""


def json_bytes(document: Any) -> bytes:
    """A document as JSON: NumPy arrays and scalars in their dtype's shortest decimal, NaN and infinities as null."""
    return orjson.dumps(document, option=JSON_OPTIONS)


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


def csv_text(trace: Trace, scalar: bool, header: bool = True) -> str:
    """The trace as CSV with a header row: `trace_columns`, one line per row, each number as NumPy's `str` writes
    it (the shortest decimal that reads back to the same float32 or float64; `nan`, `inf`, `-inf`, `-0.0`)."""
    return b"".join(csv_bytes(piece, scalar, header and i == 0) for i, piece in enumerate(_pieces(trace))).decode()


def csv_bytes(trace: Trace, scalar: bool, header: bool = True) -> bytes:
    """`csv_text` as bytes from orjson's digits of each column in NumPy's layout: written by the compiled kernel
    (`csv_kernel`) once it is loaded, by whole-matrix NumPy operations (`numbers_text`) until then."""
    columns = trace_columns(trace, scalar)
    head = b""
    if header:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(columns)
        head = buffer.getvalue().encode()
    if not len(trace):
        return head
    values = list(columns.values())
    body = csv_kernel.lines(values)  # the compiled writer, once loaded
    return head + (body if body is not None else lines([text_matrix(column) for column in values]))


CSV_ROWS = 16_384
"""Rows per piece of a streamed CSV answer: each piece is encoded on its own (a few milliseconds of work)."""


def csv_pieces(trace: Trace, scalar: bool) -> Iterator[Callable[[], bytes]]:
    """The CSV of `csv_text` as pieces of CSV_ROWS rows, each a function that encodes it (to run off the loop)."""
    for first, rows in enumerate(_pieces(trace)):
        yield partial(csv_bytes, rows, scalar, first == 0)


def _pieces(trace: Trace) -> Iterator[Trace]:
    """The trace in pieces of CSV_ROWS rows (one empty piece for an empty trace)."""
    for first in range(0, max(len(trace), 1), CSV_ROWS):
        rows = slice(first, first + CSV_ROWS)  # views, not copies
        state = {name: values[rows] for name, values in trace.state.items()}
        yield Trace(trace.step[rows], trace.w[rows], trace.loss[rows], trace.lr[rows], trace.grad[rows], state)


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
    """A column as an Arrow array of the same type (zero-copy for a contiguous column); a masked array's masked
    entries are nulls."""
    if isinstance(values, np.ma.MaskedArray):
        return pa.array(np.ascontiguousarray(values.data), mask=np.ma.getmaskarray(values))
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


def sweep_columns(
    record: JobRecord, arrays: Mapping[str, npt.NDArray[Any]]
) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
    """A finished sweep as one row per grid point (C order, as the JSON arrays): each axis's value, the summary
    (steps that never happened are null), and the kept trace rows as fixed-size lists. Every value is the computed
    one, bit for bit, in the run's dtype: a diverged point's NaN or infinity stays what it is."""
    values = [np.asarray(axis["values"], dtype=np.float64) for axis in record.meta["axes"]]
    columns: dict[str, npt.NDArray[Any]] = {
        axis["path"]: column for axis, column in zip(record.meta["axes"], grid(values), strict=True)
    }
    columns |= {
        "final_loss": arrays["final_loss"],
        "best_loss": arrays["best_loss"],
        "verdict": arrays["verdict"].astype(object),
    }
    for name in ("converged_at", "diverged_at"):
        columns[name] = np.ma.masked_less(arrays[name], 0)
    metadata = {"id": record.id, "shape": orjson.dumps(record.meta["shape"]).decode()}
    if "trace.step" in arrays:
        for name in ("loss", "lr"):
            columns[f"trace.{name}"] = arrays[f"trace.{name}"]
        points, kept = arrays["trace.loss"].shape
        w = arrays["trace.w"].reshape(points, kept, -1)
        for dim in range(w.shape[-1]):
            columns["trace.w" if w.shape[-1] == 1 else f"trace.w[{dim}]"] = np.ascontiguousarray(w[..., dim])
        metadata["trace.step"] = orjson.dumps(arrays["trace.step"], option=JSON_OPTIONS).decode()
    return columns, metadata
