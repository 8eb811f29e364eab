"""JSON and CSV bodies for runs, written straight from NumPy arrays (orjson keeps each dtype's shortest form)."""

import csv
import io
from typing import Any

import orjson
from starlette.responses import Response

from service.api.adapters import trace_document
from service.engine.trace import Trace
from service.store.base import RunRecord

JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


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


def csv_text(trace: Trace, scalar: bool) -> str:
    """The trace as CSV with a header row; vector columns are spread as `w[0]`, `w[1]`, …"""
    dims = trace.w.shape[1]
    names = ["step"]
    for column in ("w", "loss", "lr", "grad"):
        names += [column] if scalar or column in ("loss", "lr") else [f"{column}[{i}]" for i in range(dims)]
    columns = [
        trace.step.astype(str),
        *trace.w.astype(str).T,
        trace.loss.astype(str),
        trace.lr.astype(str),
        *trace.grad.astype(str).T,
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    return buffer.getvalue()
