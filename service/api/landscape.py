"""`/v1/landscape`: a loss on a 1-D range or a 2-D box, for curve and contour plots."""

import anyio.to_thread
from fastapi import APIRouter, Response

from service.api.deps import LifecycleDep, LimitsDep
from service.api.problems import problem_responses
from service.api.responses import json_answer
from service.api.schemas import Landscape
from service.documents import landscape_document
from service.runs.job import JobKind
from service.specs.landscape import LandscapeSpec
from service.specs.prepare import prepare_landscape

router = APIRouter(prefix="/v1", tags=["landscape"])


@router.post(
    "/landscape",
    summary="Evaluate a loss on a grid",
    response_model=Landscape,
    responses=problem_responses(
        413,
        422,
        429,
        _422="The request is invalid (e.g. a loss whose dimensions do not match the bounds, lo not below hi, a "
        "resolution above the limit); `errors` names each field and what to change.",
    ),
)
async def landscape(spec: LandscapeSpec, lifecycle: LifecycleDep, limits: LimitsDep) -> Response:
    """The loss at `resolution` evenly spaced points per axis between each `[lo, hi]` (ends included): a curve for
    one range, a grid of rows (one per y) for two, with the lowest value found. Values that overflow the dtype are
    null. The grid is computed in the worker pool (429 when it is full); nothing is kept."""
    prepared = await anyio.to_thread.run_sync(prepare_landscape, spec, limits)
    record, arrays = await lifecycle.compute(JobKind.LANDSCAPE, prepared.document)
    return await json_answer(landscape_document(record, arrays), sum(values.size for values in arrays.values()))
