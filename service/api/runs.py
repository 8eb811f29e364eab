"""`/v1/runs`: create, read (JSON, CSV or Arrow, thinned), list and delete runs."""

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.responses import Response as PlainResponse
from starlette.responses import StreamingResponse

from service import runs
from service.api import adapters, schemas
from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.documents import ARROW_STREAM, arrow_stream, csv_text, json_response, run_document, trace_columns
from service.api.errors import NOT_FOUND, ProblemError, invalid
from service.api.events import run_events
from service.specs.run import RunSpec
from service.store.base import CursorError, RunRecord, RunStore

router = APIRouter(
    prefix="/v1/runs", tags=["runs"], dependencies=[Depends(require_key)], responses=UNAUTHORIZED_RESPONSE
)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.Problem, "description": description}
    for status, description in (
        (404, "No run has this id."),
        (413, "The body is larger than the server accepts."),
        (422, "The request is invalid or beyond a limit; `errors` names each field and what to change."),
        (429, "Every run slot is busy; retry after `Retry-After` seconds."),
    )
}
RunId = Annotated[str, Path(description="The run's id, as returned by `POST /v1/runs`.")]


def client_of(request: Request) -> str:
    """The client's address (behind a proxy, run uvicorn with --proxy-headers so that this is the real one)."""
    return request.client.host if request.client else "unknown"


def stream_slot(request: Request) -> None:
    """429 before a stream starts when this client already has its maximum of open streams."""
    request.app.state.streams.check(client_of(request))


def existing_run(run_id: RunId, request: Request) -> RunRecord:
    """The run, or a 404 problem before any stream starts (so an EventSource stops reconnecting)."""
    return _found(request.app.state.store.get(run_id), run_id)


@router.post(
    "",
    status_code=201,
    summary="Run a spec: answer with the finished run, start it in the background, or stream it",
    response_model=schemas.Run,
    responses={
        201: {
            "headers": {"Location": {"description": "The run's URL.", "schema": {"type": "string"}}},
            "description": "The finished run; with `Accept: text/event-stream`, its events as "
            "`GET /v1/runs/{run_id}/events` describes them.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        202: {"model": schemas.RunInfo, "description": "With `wait=false`: the queued run; follow `Location`."},
        **{status: PROBLEMS[status] for status in (413, 422, 429)},
    },
)
async def create_run(
    spec: RunSpec,
    request: Request,
    wait: Annotated[bool, Query(description="false: answer 202 at once and run in the background.")] = True,
    batch: Annotated[int | None, Query(ge=1, le=100_000, description="Streams only: rows per `steps` event.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Runs the spec in a worker. By default answers `201` with the finished run, its summary and its trace.
    `Accept: text/event-stream` streams it instead (a client that disconnects cancels the run);
    `wait=false` answers `202` at once. A full worker pool answers `429` with `Retry-After`."""
    state = request.app.state
    # refuse what the engine would refuse, and what exceeds the limits, before anything is stored
    adapters.check_limits(spec, adapters.build_problem(spec), state.settings)
    streaming = accept is not None and "text/event-stream" in accept
    if streaming:
        state.streams.check(client_of(request))
    record, finished = await runs.submit(spec, state.store, state.pool)
    location = {"Location": f"/v1/runs/{record.id}"}
    if streaming:
        frames = runs.stream_and_cancel_on_disconnect(
            state.store, record.id, batch, state.settings.stream_poll_ms / 1000, state.streams, client_of(request)
        )
        return StreamingResponse(
            frames,
            status_code=201,
            media_type="text/event-stream",
            headers={**location, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if not wait:
        return json_response(run_document(record), 202, location)
    await finished
    record, trace = await runs.read(state.store, record.id)
    return json_response(run_document(record, trace), 201, location)


@router.get(
    "",
    summary="List runs, newest first",
    response_model=schemas.RunPage,
    responses={422: PROBLEMS[422]},
)
async def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Runs per page.")] = 20,
    cursor: Annotated[
        str | None, Query(pattern="^[0-9a-z]{1,12}$", description="`next_cursor` of the previous page.")
    ] = None,
) -> Response:
    """Pages of runs without their traces; follow `next_cursor` (also in the `Link` header) for the next page."""
    store: RunStore = request.app.state.store
    try:
        page = store.page(limit, cursor)
    except CursorError as exc:
        raise invalid([(["cursor"], str(exc))]) from exc
    headers = {"Link": f'</v1/runs?limit={limit}&cursor={page.next_cursor}>; rel="next"'} if page.next_cursor else {}
    body = {"items": [run_document(record) for record in page.records], "next_cursor": page.next_cursor}
    return json_response(body, headers=headers)


@router.get(
    "/{run_id}",
    summary="Read a run",
    response_model=schemas.Run,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "The run as JSON; its trace as CSV (`Accept: text/csv` or `format=csv`); or its trace as "
            f"an Apache Arrow IPC stream (`Accept: {ARROW_STREAM}` or `format=arrow`): one record batch with the "
            "CSV's columns (`step` int64; `w` or `w[i]`, `loss`, `lr`, `grad` or `grad[i]`, `state.<name>` or "
            "`state.<name>[i]` in the run's dtype, bit for bit) and the run's `id` and `status` in the schema "
            "metadata. Big traces are many times smaller and faster to write and read than JSON.",
        },
        404: PROBLEMS[404],
        422: PROBLEMS[422],
    },
)
async def read_run(
    run_id: RunId,
    request: Request,
    every: Annotated[int | None, Query(ge=1, description="Keep every k-th row (plus the last).")] = None,
    max_points: Annotated[int | None, Query(ge=2, description="Keep at most n evenly spaced rows.")] = None,
    format: Annotated[
        Literal["json", "csv", "arrow"] | None, Query(description="Overrides `Accept`, for links.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The run with its trace, thinned on request; the first and last rows are always kept."""
    store: RunStore = request.app.state.store
    record = _found(store.get(run_id), run_id)
    trace = store.trace(run_id)
    assert trace is not None
    trace = trace.thin(every, max_points)
    chosen = format or _negotiated(accept)
    if chosen == "csv":
        return PlainResponse(
            csv_text(trace, scalar=record.dims == 0),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="run-{run_id}.csv"'},
        )
    if chosen == "arrow":
        body = arrow_stream(trace_columns(trace, scalar=record.dims == 0), {"id": run_id, "status": record.status})
        return PlainResponse(
            body,
            media_type=ARROW_STREAM,
            headers={"Content-Disposition": f'attachment; filename="run-{run_id}.arrows"'},
        )
    return json_response(run_document(record, trace))


def _negotiated(accept: str | None) -> Literal["json", "csv", "arrow"]:
    """CSV or Arrow when `Accept` names it (CSV first, as before Arrow existed), else JSON."""
    if accept is not None and "text/csv" in accept:
        return "csv"
    if accept is not None and ARROW_STREAM in accept:
        return "arrow"
    return "json"


@router.delete(
    "/{run_id}",
    status_code=204,
    summary="Cancel a running run, or delete an ended one",
    responses={
        202: {
            "model": schemas.RunInfo,
            "description": "The run was queued or running: it is stopped "
            "(within one chunk) and kept with status `cancelled` and the rows computed so far.",
        },
        404: PROBLEMS[404],
        422: PROBLEMS[422],
    },
)
async def delete_run(run_id: RunId, request: Request) -> Response:
    """Deletes an ended run and its trace (`204`). A queued or running run is cancelled instead (`202`); a second
    `DELETE` then deletes it."""
    store: RunStore = request.app.state.store
    record = _found(store.get(run_id), run_id)
    if record.status in ("queued", "running"):
        cancelled = _found(await runs.cancel(store, run_id), run_id)
        return json_response(run_document(cancelled), 202)
    if not store.delete(run_id):
        _found(None, run_id)
    return Response(status_code=204)


@router.get(
    "/{run_id}/events",
    response_class=EventSourceResponse,
    summary="Stream a run's events (replay, then live)",
    responses={404: PROBLEMS[404], 422: PROBLEMS[422]},
)
async def stream_run(
    record: Annotated[RunRecord, Depends(existing_run)],
    _slot: Annotated[None, Depends(stream_slot)],
    request: Request,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=-1, description="Resume after this step (sent by EventSource).")
    ] = None,
    batch: Annotated[
        int | None,
        Query(ge=1, le=100_000, description="Rows per `steps` event (columnar); without it, one `step` event per row."),
    ] = None,
    interval_ms: Annotated[
        int, Query(ge=0, le=10_000, description="Pause between events, to animate a finished run.")
    ] = 0,
    after: Annotated[
        int | None,
        Query(
            ge=-1,
            description="Resume after this step, for a client that cannot send Last-Event-ID (a new EventSource "
            "after a page reload); Last-Event-ID wins when both are given.",
        ),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Events: `run` (the run without trace), then `step` per recorded row with `id` = its step (or `steps` with
    `batch`, `id` = the last step), then `end` with the final status and summary; `error` before `end` if the run
    failed. Stored rows are replayed, then new ones follow live until the run ends. `Last-Event-ID: n` resumes at
    the first row after step n (or `?after=n`). Idle streams get `: ping` comments."""
    state = request.app.state
    events = state.streams.follow(
        client_of(request),
        run_events(
            state.store,
            record.id,
            next(step for step in (last_event_id, after, -1) if step is not None),
            batch,
            interval_ms,
            state.settings.stream_poll_ms / 1000,
        ),
    )
    async for event in events:
        yield event


def _found(record: RunRecord | None, run_id: str) -> RunRecord:
    if record is None:
        raise ProblemError(
            404, "Not Found", f"There is no run {run_id!r}; list runs with GET /v1/runs.", type_=NOT_FOUND
        )
    return record
