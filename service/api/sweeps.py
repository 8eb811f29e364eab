"""`/v1/sweeps`: a grid of runs computed as one batch; its summary arrays are shaped like the grid."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
import numpy as np
import numpy.typing as npt
import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from service.api import adapters, schemas
from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.documents import ARROW_STREAM, JSON_OPTIONS, arrow_stream
from service.api.errors import NOT_FOUND, ProblemError
from service.api.runs import PROBLEMS, stream_slot
from service.engine.sweep import grid
from service.specs.sweep import SweepSpec
from service.store.base import SweepRecord
from service.timeutil import now

router = APIRouter(
    prefix="/v1/sweeps", tags=["sweeps"], dependencies=[Depends(require_key)], responses=UNAUTHORIZED_RESPONSE
)
SweepId = Annotated[str, Path(description="The sweep's id, as returned by `POST /v1/sweeps`.")]
ENDED = ("finished", "failed")


@router.post(
    "",
    status_code=201,
    summary="Sweep parameters over a grid: every grid point a run, all in one batch",
    response_model=schemas.Sweep,
    responses={
        201: {"headers": {"Location": {"description": "The sweep's URL.", "schema": {"type": "string"}}}},
        202: {"model": schemas.Sweep, "description": "With `wait=false`: the queued sweep; follow `Location`."},
        **{status: PROBLEMS[status] for status in (413, 422, 429)},
    },
)
async def create_sweep(
    spec: SweepSpec,
    request: Request,
    wait: Annotated[bool, Query(description="false: answer 202 at once and sweep in the background.")] = True,
) -> Response:
    """The grid is the cartesian product of the axes. Every point is checked as a run would be (an axis's smallest
    and largest values), then the whole grid runs as one vectorised batch in a worker. By default the answer is the
    finished sweep; `wait=false` answers 202 and `GET /v1/sweeps/{id}/events` streams its progress."""
    state = request.app.state
    _, axes = await anyio.to_thread.run_sync(adapters.build_sweep, spec, state.settings)
    record = SweepRecord(
        id=str(uuid.uuid4()),
        name=spec.name,
        status="queued",
        created_at=now(),
        finished_at=None,
        spec=spec.model_dump(mode="json"),
        shape=[values.size for values in axes],
        axes=[{"path": axis.path, "values": values} for axis, values in zip(spec.axes, axes, strict=True)],
        steps=spec.base.steps,
    )
    state.pool.reserve()
    try:
        await anyio.to_thread.run_sync(state.store.insert_sweep, record, state.pool.owner)
    except BaseException:
        state.pool.release()
        raise
    finished = state.pool.submit(record.id, record.spec, sweep=True)
    location = {"Location": f"/v1/sweeps/{record.id}"}
    if not wait:
        return sweep_response(record, 202, location)
    await finished
    stored = await anyio.to_thread.run_sync(state.store.get_sweep, record.id)
    assert stored is not None
    return sweep_response(stored, 201, location)


def existing_sweep(sweep_id: SweepId, request: Request) -> SweepRecord:
    record: SweepRecord | None = request.app.state.store.get_sweep(sweep_id)
    if record is None:
        raise ProblemError(404, "Not Found", f"There is no sweep {sweep_id!r}.", type_=NOT_FOUND)
    return record


@router.get(
    "/{sweep_id}",
    summary="Read a sweep",
    response_model=schemas.Sweep,
    responses={
        200: {
            "description": "The sweep (JSON); or, once finished, its grid as an Apache Arrow IPC stream "
            f"(`Accept: {ARROW_STREAM}` or `format=arrow`): one row per grid point with the axes' values, the summary "
            "and the kept trace rows (fixed-size lists).",
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        404: PROBLEMS[404],
        409: {"model": schemas.Problem, "description": "Arrow asked for before the sweep finished."},
    },
)
async def read_sweep(
    record: Annotated[SweepRecord, Depends(existing_sweep)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    format: Annotated[Literal["json", "arrow"] | None, Query(description="Overrides `Accept`, for links.")] = None,
) -> Response:
    """The sweep: its axes, progress and, once finished, the summary arrays (and traces if asked for)."""
    if format == "arrow" or (format is None and accept is not None and ARROW_STREAM in accept):
        if record.result is None:
            raise ProblemError(409, "Conflict", f"The sweep is {record.status}; its grid exists once it has finished.")
        body = arrow_stream(*sweep_columns(record))
        return Response(
            body,
            media_type=ARROW_STREAM,
            headers={"Content-Disposition": f'attachment; filename="sweep-{record.id}.arrows"'},
        )
    return sweep_response(record)


def sweep_columns(record: SweepRecord) -> tuple[dict[str, npt.NDArray[Any]], dict[str, str]]:
    """One row per grid point (C order, as the JSON arrays): each axis's value, the summary, and the kept trace
    rows as fixed-size lists; values in the run's dtype."""
    assert record.result is not None
    result = orjson.loads(record.result)
    dtype = np.dtype(record.spec["base"].get("dtype", "float32"))
    values = [np.asarray(axis["values"], dtype=np.float64) for axis in record.axes]
    points = int(np.prod(record.shape))
    columns: dict[str, npt.NDArray[Any]] = {
        axis["path"]: column for axis, column in zip(record.axes, grid(values), strict=True)
    }
    summary = result["summary"]
    for name in ("final_loss", "best_loss"):
        columns[name] = _flat(summary[name], points, dtype)
    columns["verdict"] = np.asarray(summary["verdict"], dtype=object).reshape(points)
    for name in ("converged_at", "diverged_at"):
        columns[name] = np.asarray(summary[name], dtype=object).reshape(points)
    traces = result.get("traces")
    if traces:
        kept = len(traces["step"])
        for name in ("loss", "lr"):
            columns[f"trace.{name}"] = _flat(traces[name], points * kept, dtype).reshape(points, kept)
        w = _flat(traces["w"], None, dtype).reshape(points, kept, -1)
        for dim in range(w.shape[-1]):
            columns["trace.w" if w.shape[-1] == 1 else f"trace.w[{dim}]"] = np.ascontiguousarray(w[..., dim])
    metadata = {"id": record.id, "shape": orjson.dumps(record.shape).decode()}
    if traces:
        metadata["trace.step"] = orjson.dumps(traces["step"]).decode()
    return columns, metadata


def _flat(nested: Any, size: int | None, dtype: np.dtype[np.floating]) -> npt.NDArray[np.floating]:
    """A nested list of numbers (null for non-finite) as a flat array of the run's dtype (NaN for null)."""
    array = np.asarray(nested, dtype=object).reshape(-1 if size is None else size)
    array[array == None] = np.nan  # noqa: E711 (elementwise comparison)
    return array.astype(np.float64).astype(dtype)


@router.get(
    "/{sweep_id}/events",
    response_class=EventSourceResponse,
    summary="Stream a sweep's progress",
    responses={404: PROBLEMS[404]},
)
async def stream_sweep(
    record: Annotated[SweepRecord, Depends(existing_sweep)],
    _slot: Annotated[None, Depends(stream_slot)],
    request: Request,
) -> AsyncIterator[ServerSentEvent]:
    """`progress` {step, steps} whenever the grid advanced (all points advance together), then `end` {status,
    error}; read the result with `GET /v1/sweeps/{id}`."""
    state = request.app.state
    poll = state.settings.stream_poll_ms / 1000
    sent = None
    while True:
        current = await anyio.to_thread.run_sync(state.store.get_sweep, record.id)
        assert current is not None
        if current.progress != sent:
            sent = current.progress
            yield ServerSentEvent(raw_data=_json({"step": current.progress, "steps": current.steps}), event="progress")
        if current.status in ENDED:
            yield ServerSentEvent(raw_data=_json({"status": current.status, "error": current.error}), event="end")
            return
        await anyio.sleep(poll)


def sweep_response(record: SweepRecord, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The sweep document; the stored result (summary arrays, traces) is spliced in as stored, not re-encoded."""
    head: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "spec": record.spec,
        "shape": record.shape,
        "axes": record.axes,
        "progress": {"step": record.progress, "steps": record.steps},
        "error": record.error,
    }
    body = orjson.dumps(head, option=JSON_OPTIONS)
    tail = record.result[1:] if record.result else b'"summary":null}'
    return Response(body[:-1] + b"," + tail, status_code=status_code, media_type="application/json", headers=headers)


def _json(document: dict[str, Any]) -> str:
    return orjson.dumps(document).decode()
