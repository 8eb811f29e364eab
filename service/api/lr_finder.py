"""`/v1/lr-finder`: the learning-rate range test of torch-lr-finder and fastai, with their suggested rates."""

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, Response

from service.api import adapters, schemas
from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.documents import json_response
from service.api.schemas import LRFinderResult
from service.specs.lr_finder import LRFinderSpec

router = APIRouter(
    prefix="/v1", tags=["lr-finder"], dependencies=[Depends(require_key)], responses=UNAUTHORIZED_RESPONSE
)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"model": schemas.Problem, "description": "The body is larger than the server accepts."},
    422: {
        "model": schemas.Problem,
        "description": "The request is invalid or beyond a limit (e.g. end_lr not above start_lr, coefficients "
        "that do not match w0); `errors` names each field and what to change.",
    },
}


@router.post(
    "/lr-finder",
    summary="Run a learning-rate range test and suggest rates",
    response_model=LRFinderResult,
    responses=PROBLEMS,
)
async def lr_finder(spec: LRFinderSpec, request: Request) -> Response:
    """Grows the rate from `start_lr` to `end_lr` over `num_iter` updates (exponentially or linearly, as
    torch-lr-finder), records the loss and its smoothed value, and stops once the smoothed loss exceeds `diverge_th`
    times the best. Answers the curve and three suggestions, each with its rule: `steepest` (torch-lr-finder),
    `valley` and `minimum` (fastai). Nothing is stored."""
    job = adapters.lr_finder_job(spec, request.app.state.settings)
    return await anyio.to_thread.run_sync(lambda: json_response(job()))
