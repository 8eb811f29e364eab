"""`/v1/landscape`: a loss on a 1-D range or a 2-D box, for curve and contour plots."""

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Response

from service.api import adapters, schemas
from service.api.auth import UNAUTHORIZED_RESPONSE, require_key
from service.api.documents import json_response
from service.api.schemas import Landscape
from service.specs.landscape import LandscapeSpec

router = APIRouter(
    prefix="/v1", tags=["landscape"], dependencies=[Depends(require_key)], responses=UNAUTHORIZED_RESPONSE
)

PROBLEMS: dict[int | str, dict[str, Any]] = {
    413: {"model": schemas.Problem, "description": "The body is larger than the server accepts."},
    422: {
        "model": schemas.Problem,
        "description": "The request is invalid (e.g. a loss whose dimensions do not match the bounds, lo not below "
        "hi, a resolution above the limit); `errors` names each field and what to change.",
    },
}


@router.post("/landscape", summary="Evaluate a loss on a grid", response_model=Landscape, responses=PROBLEMS)
async def landscape(spec: LandscapeSpec) -> Response:
    """The loss at `resolution` evenly spaced points per axis between each `[lo, hi]` (ends included): a curve for
    one range, a grid of rows (one per y) for two, with the lowest value found. Values that overflow the dtype are
    null. Nothing is stored."""
    job = adapters.landscape_job(spec)
    return await anyio.to_thread.run_sync(lambda: json_response(job()))
