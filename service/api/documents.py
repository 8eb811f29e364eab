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
    """The trace as CSV with a header row; vector columns are spread as `w[0]`, `w[1]`, …, and recorded optimizer
    state follows as `state.<name>` (or `state.<name>[i]`)."""
    after = {"grad": trace.grad, **{f"state.{name}": values for name, values in trace.state.items()}}
    names = ["step", *_spread("w", trace.w, scalar), "loss", "lr"]
    names += [column for name, values in after.items() for column in _spread(name, values, scalar)]
    columns = [trace.step, *trace.w.T, trace.loss, trace.lr, *(column for v in after.values() for column in v.T)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*(column.astype(str) for column in columns), strict=True))
    return buffer.getvalue()


def _spread(name: str, values: Any, scalar: bool) -> list[str]:
    """CSV header names of a vector column: `name` for a scalar run, else `name[0]`, `name[1]`, …"""
    return [name] if scalar else [f"{name}[{i}]" for i in range(values.shape[1])]
