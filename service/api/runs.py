"""`/v1/runs`: create, read (JSON or CSV, thinned), list and delete runs."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from starlette.responses import Response as PlainResponse

from service import runs
from service.api import adapters, schemas
from service.api.documents import csv_text, json_response, run_document
from service.api.errors import NOT_FOUND, ProblemError, invalid
from service.store.base import CursorError, RunRecord, RunStore

router = APIRouter(prefix="/v1/runs", tags=["runs"])

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


@router.post(
    "",
    status_code=201,
    summary="Run a spec and store it",
    response_model=schemas.Run,
    responses={
        201: {"headers": {"Location": {"description": "The run's URL.", "schema": {"type": "string"}}}},
        **PROBLEMS,
    },
)
async def create_run(spec: schemas.RunSpec, request: Request) -> Response:
    """Runs the spec to the end and answers with the stored run, its summary and its trace."""
    adapters.check_limits(spec, request.app.state.settings)
    problem = adapters.build_problem(spec)
    record, trace = await request.app.state.slots.run(runs.execute, spec, problem, request.app.state.store)
    return json_response(run_document(record, trace), 201, {"Location": f"/v1/runs/{record.id}"})


@router.get(
    "",
    summary="List runs, newest first",
    response_model=schemas.RunPage,
    responses={422: PROBLEMS[422]},
)
async def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100, description="Runs per page.")] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
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
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "The run as JSON, or its trace as CSV (`Accept: text/csv` or `format=csv`).",
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
    format: Annotated[Literal["json", "csv"] | None, Query(description="Overrides `Accept`, for links.")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The run with its trace, thinned on request; the first and last rows are always kept."""
    store: RunStore = request.app.state.store
    record = _found(store.get(run_id), run_id)
    trace = store.trace(run_id)
    assert trace is not None
    trace = trace.thin(every, max_points)
    wants_csv = format == "csv" or (format is None and accept is not None and "text/csv" in accept)
    if wants_csv:
        return PlainResponse(
            csv_text(trace, scalar=record.dims == 0),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="run-{run_id}.csv"'},
        )
    return json_response(run_document(record, trace))


@router.delete("/{run_id}", status_code=204, summary="Delete a run", responses={404: PROBLEMS[404], 422: PROBLEMS[422]})
async def delete_run(run_id: RunId, request: Request) -> Response:
    """Deletes the run and its trace."""
    store: RunStore = request.app.state.store
    if not store.delete(run_id):
        _found(None, run_id)
    return Response(status_code=204)


def _found(record: RunRecord | None, run_id: str) -> RunRecord:
    if record is None:
        raise ProblemError(
            404, "Not Found", f"There is no run {run_id!r}; list runs with GET /v1/runs.", type_=NOT_FOUND
        )
    return record
