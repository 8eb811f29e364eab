"""`/v1/lr-finder`: the learning-rate range test of torch-lr-finder and fastai, with their suggested rates."""

import anyio.to_thread
from fastapi import APIRouter, Response

from service.api.deps import LifecycleDep, LimitsDep
from service.api.problems import problem_responses
from service.api.responses import json_answer
from service.api.schemas import LRFinderResult
from service.documents import range_test_document
from service.runs.job import JobKind
from service.specs.lr_finder import LRFinderSpec
from service.specs.prepare import prepare_lr_finder

router = APIRouter(prefix="/v1", tags=["lr-finder"])


@router.post(
    "/lr-finder",
    summary="Run a learning-rate range test and suggest rates",
    response_model=LRFinderResult,
    responses=problem_responses(
        413,
        422,
        429,
        _422="The request is invalid or beyond a limit (e.g. end_lr not above start_lr, coefficients that do not "
        "match w0); `errors` names each field and what to change.",
    ),
)
async def lr_finder(spec: LRFinderSpec, lifecycle: LifecycleDep, limits: LimitsDep) -> Response:
    """Grows the rate from `start_lr` to `end_lr` over `num_iter` updates (exponentially or linearly, as
    torch-lr-finder), records the loss and its smoothed value, and stops once the smoothed loss exceeds `diverge_th`
    times the best. Answers the curve and three suggestions, each with its rule: `steepest` (torch-lr-finder),
    `valley` and `minimum` (fastai). The test runs in the worker pool (429 when it is full); nothing is kept."""
    prepared = await anyio.to_thread.run_sync(prepare_lr_finder, spec, limits)
    record, arrays = await lifecycle.compute(JobKind.LR_FINDER, prepared.document)
    return await json_answer(range_test_document(record, arrays), sum(values.size for values in arrays.values()))
