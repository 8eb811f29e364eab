"""`/v1/views`: dashboard views saved under short ids (`service.views`), and `/v/{id}`, the link that opens one."""

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import RedirectResponse

from service.api import schemas
from service.api.deps import ClientDep, LimitsDep, StoreDep
from service.api.problems import problem_responses
from service.api.responses import json_response
from service.clock import iso
from service.specs.view import ViewSpec
from service.views import ID_PATTERN, SavedView, load_view, save_view

router = APIRouter(prefix="/v1/views", tags=["views"])
links = APIRouter(include_in_schema=False)
ViewId = Annotated[str, Path(pattern=ID_PATTERN, description="The view's id, as `POST /v1/views` answered it.")]
NO_VIEW = "No view has this id."
IMMUTABLE = "private, max-age=31536000, immutable"
"""A view never changes: a browser may keep it for a year. Private: with API keys it is read with credentials, and
no shared cache should hand it to a client without them."""


def _document(view: SavedView, with_state: bool) -> dict[str, object]:
    document: dict[str, object] = {"id": view.id, "url": f"/v/{view.id}", "created_at": iso(view.created_at)}
    if with_state:
        document["state"] = view.state
    return document


@router.post(
    "",
    status_code=201,
    summary="Save a dashboard view under a short id",
    response_model=schemas.SavedView,
    responses={
        201: {
            "headers": {"Location": {"description": "The view's URL in the API.", "schema": {"type": "string"}}},
            "description": "The view was saved.",
        },
        200: {"model": schemas.SavedView, "description": "The same view was saved before: its id, nothing stored."},
        **problem_responses(
            413,
            422,
            429,
            507,
            _422="The view is not a JSON object, holds a non-finite number or an integer beyond ±(2**53 - 1), or is "
            "larger than DESCENT_MAX_VIEW_BYTES; `errors` names where.",
            _429="This client saved DESCENT_MAX_VIEWS_PER_HOUR views in the last hour; retry after `Retry-After` "
            "seconds (a view saved before is still answered).",
            _507="The saved views fill DESCENT_MAX_VIEWS_MB; retrying does not help.",
        ),
    },
)
async def create_view(spec: ViewSpec, store: StoreDep, limits: LimitsDep, client: ClientDep) -> Response:
    """Stores the view once: its id is derived from its content (canonical JSON: keys sorted, no spaces), so saving
    the same view again answers `200` with the same id and stores nothing. Views are immutable and need no
    credentials of their own: with API keys on, saving or reading one needs a key (or session) like every `/v1`
    route, and the runs a view names are read with the reader's own credentials."""
    saved = await anyio.to_thread.run_sync(save_view, store, spec.state, client, limits)
    headers = {"Location": f"/v1/views/{saved.id}"}
    return json_response(_document(saved, with_state=False), 201 if saved.created else 200, headers)


@router.get(
    "/{view_id}",
    summary="Read a saved dashboard view",
    response_model=schemas.View,
    responses={
        200: {
            "headers": {
                "ETag": {"description": "The view's id, quoted: views never change.", "schema": {"type": "string"}}
            }
        },
        304: {"description": "`If-None-Match` named this view's ETag: the copy the client has is the view."},
        **problem_responses(404, 422, _404=NO_VIEW),
    },
)
async def read_view(
    view_id: ViewId,
    store: StoreDep,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The view as it was saved, with a strong `ETag` and `Cache-Control: private, max-age=31536000, immutable`
    (a view never changes); `If-None-Match` with its ETag answers `304`."""
    etag = f'"{view_id}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
    view = await anyio.to_thread.run_sync(load_view, store, view_id)
    if if_none_match is not None and {etag, "*"} & {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return json_response(_document(view, with_state=True), headers=headers)


@links.get("/v/{view_id}")
async def open_view(request: Request, view_id: ViewId) -> RedirectResponse:
    """The short link: the dashboard opened on the view (`/#v={id}`), which it reads with the visitor's
    credentials. Public like the page itself; it reveals nothing, not even whether the view exists."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/#v={view_id}", status_code=302)
