"""`/v1/sweeps`: a grid of runs computed as one batch; its summary arrays are shaped like the grid."""

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio.to_thread
import numpy.typing as npt
from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from service.api import schemas
from service.api.deps import ClientDep, LifecycleDep, LimitsDep, StreamsDep, StreamSlot
from service.api.problems import problem_responses
from service.api.responses import arrow_response, json_answer, json_response
from service.api.sse import server_sent_events
from service.documents import sweep_document
from service.encodings import ARROW_STREAM, arrow_stream, sweep_columns
from service.runs.job import JobKind
from service.specs.prepare import prepare_sweep
from service.specs.sweep import SweepSpec
from service.store.base import JobRecord

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])
SweepId = Annotated[str, Path(description="The sweep's id, as returned by `POST /v1/sweeps`.")]
NO_SWEEP = "No sweep has this id."


@router.post(
    "",
    status_code=201,
    summary="Sweep parameters over a grid: every grid point a run, all in one batch",
    response_model=schemas.Sweep,
    responses={
        201: {"headers": {"Location": {"description": "The sweep's URL.", "schema": {"type": "string"}}}},
        202: {"model": schemas.Sweep, "description": "With `wait=false`: the queued sweep; follow `Location`."},
        **problem_responses(413, 422, 429),
    },
)
async def create_sweep(
    spec: SweepSpec,
    lifecycle: LifecycleDep,
    limits: LimitsDep,
    wait: Annotated[bool, Query(description="false: answer 202 at once and sweep in the background.")] = True,
) -> Response:
    """The grid is the cartesian product of the axes. Every point is checked as a run would be (an axis's smallest
    and largest values), then the whole grid runs as one vectorised batch in a worker. By default the answer is the
    finished sweep; `wait=false` answers 202 and `GET /v1/sweeps/{id}/events` streams its progress."""
    prepared = await anyio.to_thread.run_sync(prepare_sweep, spec, limits)
    record, finished = await lifecycle.submit_job(
        JobKind.SWEEP, prepared.document, prepared.name, prepared.steps, prepared.meta
    )
    location = {"Location": f"/v1/sweeps/{record.id}"}
    if not wait:
        return json_response(sweep_document(record, None), 202, location)
    await finished
    record = await lifecycle.job(record.id, JobKind.SWEEP)
    arrays = await lifecycle.job_arrays(record)
    return await json_answer(sweep_document(record, arrays), _size(arrays), 201, location)


async def _existing_sweep(sweep_id: SweepId, lifecycle: LifecycleDep) -> JobRecord:
    return await lifecycle.job(sweep_id, JobKind.SWEEP)


ExistingSweep = Annotated[JobRecord, Depends(_existing_sweep)]


@router.get(
    "/{sweep_id}",
    summary="Read a sweep",
    response_model=schemas.Sweep,
    responses={
        200: {
            "description": "The sweep (JSON); or, once finished, its grid as an Apache Arrow IPC stream "
            f"(`Accept: {ARROW_STREAM}` or `format=arrow`): one row per grid point with the axes' values, the summary "
            "and the kept trace rows (fixed-size lists), every number as computed, bit for bit (a diverged point's "
            "NaN is NaN, where JSON writes null).",
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(404, 409, _404=NO_SWEEP, _409="Arrow asked for before the sweep finished."),
    },
)
async def read_sweep(
    record: ExistingSweep,
    lifecycle: LifecycleDep,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    format: Annotated[Literal["json", "arrow"] | None, Query(description="Overrides `Accept`, for links.")] = None,
) -> Response:
    """The sweep: its axes, progress and, once finished, the summary arrays (and traces if asked for)."""
    if format == "arrow" or (format is None and accept is not None and ARROW_STREAM in accept):
        grid = await lifecycle.finished_job_arrays(record)
        body = await anyio.to_thread.run_sync(lambda: arrow_stream(*sweep_columns(record, grid)))
        return arrow_response(body, f"sweep-{record.id}.arrows")
    arrays = await lifecycle.job_arrays(record)
    return await json_answer(sweep_document(record, arrays), _size(arrays))


def _size(arrays: dict[str, npt.NDArray[Any]] | None) -> int:
    return sum(values.size for values in (arrays or {}).values())


@router.get(
    "/{sweep_id}/events",
    response_class=EventSourceResponse,
    summary="Stream a sweep's progress",
    responses=problem_responses(404, _404=NO_SWEEP),
)
async def stream_sweep(
    record: ExistingSweep, _slot: StreamSlot, lifecycle: LifecycleDep, streams: StreamsDep, client: ClientDep
) -> AsyncIterator[ServerSentEvent]:
    """`progress` {step, steps} whenever the grid advanced (all points advance together), then `end` {status,
    error}; read the result with `GET /v1/sweeps/{id}`."""
    async for event in server_sent_events(streams.follow(client, lifecycle.job_events(record.id))):
        yield event
