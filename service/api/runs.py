"""`/v1/runs`: create, read (JSON, CSV or Arrow, thinned), list and delete runs, and stream their events."""

from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from starlette.responses import StreamingResponse

from service.api import direct, schemas
from service.api.auth import guarded
from service.api.deps import ClientDep, Edge, LifecycleDep, StreamsDep, StreamSlot
from service.api.language import LanguageDep, localized, localized_events
from service.api.metrics import Metrics
from service.api.problems import problem_responses
from service.api.responses import Release, held_body, json_response, streamed_attachment
from service.api.sse import encoded
from service.documents import run_document
from service.encodings import ARROW_STREAM, arrow_stream, csv_pieces, json_bytes, trace_columns
from service.engine import kernels, whole
from service.engine.trace import Trace
from service.engine.wording import language_of
from service.errors import InvalidSpec
from service.specs.kinds.base import INT32_MAX
from service.specs.prepare import Prepared, prepare_run
from service.specs.run import RunSpec
from service.store.base import CursorError, RunRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])
RunId = Annotated[str, Path(description="The run's id, as returned by `POST /v1/runs`.")]
NO_RUN = "No run has this id."
LAST_STEP = INT32_MAX
"""No run has a step beyond this (steps are int32, as the schema bounds them): a resume point above it is refused
before the stream starts, since no run can reach it. At or below it, a resume point after the run's last row
replays nothing, so an ended run's stream is `run` then `end` at once (and a live run's follows until its `end`):
that is what an EventSource needs that lost its connection between the last `step` and the `end`."""


async def create_run(
    spec: RunSpec,
    request: Request,
    language: LanguageDep,
    wait: Annotated[bool, Query(description="false: answer 202 at once and run in the background.")] = True,
    batch: Annotated[int | None, Query(ge=1, le=100_000, description="Streams only: rows per `steps` event.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Runs the spec in a worker. By default answers `201` with the finished run, its summary and its trace.
    `Accept: text/event-stream` streams it instead (a client that disconnects cancels the run);
    `wait=false` answers `202` at once. A full worker pool answers `429` with `Retry-After`."""
    return await answer_run(request, spec, language, wait, batch, accept)


async def direct_create_run(request: Request) -> Response | None:
    """`create_run` for the common request, read straight from the request (`direct.DirectRoute`): no query
    string, a JSON body that is a valid spec, a key in a header or none needed, no event stream asked for. None
    for any other request, which FastAPI's own handling then answers (and refuses, with the same problems)."""
    if request.scope["query_string"] or not direct.plain_json(request) or not await direct.key_admits(request):
        return None
    accept = request.headers.get("accept")
    if accept is not None and "text/event-stream" in accept:
        return None
    spec = await direct.body_model(request, RunSpec)
    if spec is None:
        return None
    return await answer_run(request, spec, language_of(request.headers.get("accept-language")), True, None, accept)


router.add_api_route(
    "",
    create_run,
    methods=["POST"],
    route_class_override=direct.route(direct_create_run),
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
        **problem_responses(413, 422, 429),
    },
)


async def answer_run(
    request: Request, spec: RunSpec, language: str, wait: bool, batch: int | None, accept: str | None
) -> Response:
    """`POST /v1/runs` once its request is read: a tiny waited run built, computed and stored on the event loop
    when that takes microseconds (`_quick`, `Lifecycle.compute_now`, `store_computed`), else in one
    thread hop, and answered from memory; any other run through the pool."""
    edge = Edge(request)
    lifecycle, limits, streams, client, metrics = edge.lifecycle, edge.limits, edge.streams, edge.client, edge.metrics
    streaming = accept is not None and "text/event-stream" in accept
    if streaming:
        streams.check(client)

    quick = wait and not streaming and _quick(spec, limits.inline_run_work)
    early = prepare_run(spec, limits) if quick else None
    if early is not None and early.problem is not None:
        done = lifecycle.compute_now(early.document, early.name, early.steps, early.problem)
        if done is not None:
            await lifecycle.store_computed(*done)
            return _finished(done, metrics, language)

    def prepare() -> tuple[Prepared, tuple[RunRecord, Trace] | None]:
        """One thread hop: validate and build; a tiny waited run is also computed and stored here."""
        prepared = early or prepare_run(spec, limits)
        if not wait or streaming or prepared.problem is None:
            return prepared, None
        return prepared, lifecycle.run_inline(prepared.document, prepared.name, prepared.steps, prepared.problem)

    prepared, computed = await anyio.to_thread.run_sync(prepare)
    if computed is not None:
        return _finished(computed, metrics, language)
    record, finished = await lifecycle.submit_run(prepared.document, prepared.name, prepared.steps)
    location = {"Location": f"/v1/runs/{record.id}"}
    if streaming:
        events = guarded(request, lifecycle.followed_run(record.id, batch))
        frames = encoded(streams.follow(client, localized_events(events, language)))
        return StreamingResponse(
            frames,
            status_code=201,
            media_type="text/event-stream",
            headers={**location, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if not wait:
        return json_response(localized(run_document(record), language), 202, location)
    await finished
    record, trace, release = await lifecycle.answer(record.id, wait=30.0)  # the run is done: wait for room
    return await _held(localized(run_document(record, trace), language), release, 201, location)


BUILT_SLOWLY = frozenset({"expression"})
"""Loss kinds whose building takes a millisecond or more (a formula is parsed and compiled): built in a thread."""


def _quick(spec: RunSpec, inline_run_work: int) -> bool:
    """Whether the run may be built, computed and stored on the event loop itself (`Lifecycle.compute_now`,
    `store_computed`), read from the spec before anything is built: the compiled kernels are loaded, it is a tiny run
    (DESCENT_INLINE_RUN_WORK) of at most 2 dimensions, and its loss builds in microseconds. On the loop a course
    run costs about a third less CPU than through a thread, whose GIL hand-overs cost more than the run."""
    dims = len(spec.w0) if isinstance(spec.w0, list) else 1
    return (
        kernels.ready()  # loaded: never a compile on the loop (`compiled` mode loads them in a thread first)
        and kernels.enabled()
        and dims <= whole.MAX_DIMS
        and (spec.steps + 1) * dims <= inline_run_work
        and spec.loss.kind not in BUILT_SLOWLY
    )


def _finished(computed: tuple[RunRecord, Trace], metrics: Metrics, language: str) -> Response:
    """A tiny run's answer, from memory."""
    record, trace = computed
    metrics.rows.inc(record.last_step + 1)
    return json_response(localized(run_document(record, trace), language), 201, {"Location": f"/v1/runs/{record.id}"})


@router.get("", summary="List runs, newest first", response_model=schemas.RunPage, responses=problem_responses(422))
async def list_runs(
    lifecycle: LifecycleDep,
    language: LanguageDep,
    limit: Annotated[int, Query(ge=1, le=100, description="Runs per page.")] = 20,
    cursor: Annotated[
        str | None, Query(pattern="^[0-9a-z]{1,12}$", description="`next_cursor` of the previous page.")
    ] = None,
) -> Response:
    """Pages of runs without their traces; follow `next_cursor` (also in the `Link` header) for the next page."""
    try:
        page = await lifecycle.page(limit, cursor)
    except CursorError as exc:
        raise InvalidSpec([(["cursor"], str(exc), "invalid_cursor")]) from exc
    headers = {"Link": f'</v1/runs?limit={limit}&cursor={page.next_cursor}>; rel="next"'} if page.next_cursor else {}
    items = [localized(run_document(record), language) for record in page.records]
    body = {"items": items, "next_cursor": page.next_cursor}
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
        **problem_responses(404, 422, _404=NO_RUN),
    },
)
async def read_run(
    run_id: RunId,
    lifecycle: LifecycleDep,
    language: LanguageDep,
    every: Annotated[int | None, Query(ge=1, le=INT32_MAX, description="Keep every k-th row (plus the last).")] = None,
    max_points: Annotated[
        int | None, Query(ge=2, le=INT32_MAX, description="Keep at most n evenly spaced rows.")
    ] = None,
    format: Annotated[
        Literal["json", "csv", "arrow"] | None, Query(description="Overrides `Accept`, for links.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The run with its trace, thinned on request; the first and last rows are always kept."""
    record, full, release = await lifecycle.answer(run_id)
    try:
        trace, scalar = full.thin(every, max_points), record.dims == 0
        del full
        match format or _negotiated(accept):
            case "csv":
                pieces = csv_pieces(trace, scalar)
                return streamed_attachment(pieces, "text/csv; charset=utf-8", f"run-{run_id}.csv", release)
            case "arrow":
                metadata = {"id": run_id, "status": record.status}
                body = await anyio.to_thread.run_sync(arrow_stream, trace_columns(trace, scalar), metadata)
                disposition = {"Content-Disposition": f'attachment; filename="run-{run_id}.arrows"'}
                return held_body(body, ARROW_STREAM, release, headers=disposition)
        return await _held(localized(run_document(record, trace), language), release)
    except BaseException:
        await release()
        raise


async def _held(
    document: dict[str, Any], release: Release, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A run document as JSON, encoded in a thread, holding its room in the answer budget until it is sent."""
    body = await anyio.to_thread.run_sync(json_bytes, document)
    return held_body(body, "application/json", release, status_code, headers)


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
        **problem_responses(404, 422, _404=NO_RUN),
    },
)
async def delete_run(run_id: RunId, lifecycle: LifecycleDep) -> Response:
    """Deletes an ended run and its trace (`204`). A queued or running run is cancelled instead (`202`); a second
    `DELETE` then deletes it."""
    cancelled = await lifecycle.cancel_or_delete(run_id)
    if cancelled is not None:
        return json_response(run_document(cancelled), 202)
    return Response(status_code=204)


async def _existing_run(run_id: RunId, lifecycle: LifecycleDep) -> RunRecord:
    """The run, or a 404 problem before any stream starts (so an EventSource stops reconnecting)."""
    return await lifecycle.run(run_id)


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,  # framed here, a block of rows at a time (FastAPI's SSE frames item by item)
    summary="Stream a run's events (replay, then live)",
    responses={
        200: {"description": "Successful Response", "content": {"text/event-stream": {}}},
        **problem_responses(404, 422, _404=NO_RUN),
    },
)
async def stream_run(
    request: Request,
    record: Annotated[RunRecord, Depends(_existing_run)],
    _slot: StreamSlot,
    lifecycle: LifecycleDep,
    streams: StreamsDep,
    client: ClientDep,
    language: LanguageDep,
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=-1,
            le=LAST_STEP,
            description="Resume after this step (sent by EventSource); after the run's last row, the stream is "
            "`run` then `end`.",
        ),
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
            le=LAST_STEP,
            description="Resume after this step, for a client that cannot send Last-Event-ID (a new EventSource "
            "after a page reload); Last-Event-ID wins when both are given.",
        ),
    ] = None,
) -> Response:
    """Events: `run` (the run without trace), then `step` per recorded row with `id` = its step (or `steps` with
    `batch`, `id` = the last step), then `end` with the final status and summary; `error` before `end` if the run
    failed. Stored rows are replayed, then new ones follow live until the run ends. `Last-Event-ID: n` resumes at
    the first row after step n (or `?after=n`). Idle streams get `: ping` comments."""
    resume = next(step for step in (last_event_id, after, -1) if step is not None)
    events = localized_events(guarded(request, lifecycle.run_events(record.id, resume, batch, interval_ms)), language)
    frames = encoded(streams.follow(client, events))  # per-row events framed a block at a time, as they come
    return StreamingResponse(
        frames, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
