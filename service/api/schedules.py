"""`/v1/schedules/preview`: schedules side by side, without a loss (`service.specs.preview`)."""

import anyio.to_thread
from fastapi import APIRouter, Response

from service.api.deps import LifecycleDep
from service.api.problems import problem_responses
from service.api.responses import held_body
from service.api.schemas import SchedulePreview
from service.encodings import json_bytes
from service.specs.preview import SchedulePreviewSpec, answer_bytes, preview

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


@router.post(
    "/preview",
    summary="Evaluate up to 16 schedules side by side, with their other libraries' counterparts",
    response_model=SchedulePreview,
    responses=problem_responses(
        413,
        422,
        429,
        _429="The answers in flight already hold the memory the server allows (DESCENT_MAX_ANSWER_MEMORY_MB); "
        "retry after `Retry-After` seconds, or ask for fewer points (max_points) or no equivalents.",
        _422="A schedule is invalid (located at `schedules.<i>`), reads the loss (ReduceLROnPlateau), or stops "
        "before `steps`; `errors` names the field and what to change.",
    ),
)
async def preview_schedules(spec: SchedulePreviewSpec, lifecycle: LifecycleDep) -> Response:
    """The rate of each schedule at steps 0..`steps`, computed in one vectorised call per schedule. With
    `equivalents`, each schedule's counterpart in every other library (`torch.CosineAnnealingLR` beside
    `keras.CosineDecay`, `tf1.cosine_decay` and `optax.cosine_decay_schedule`), and where they differ most. The
    answer takes its room in the server's answer-memory budget (`429` while it is full)."""
    release = await lifecycle.answers.take(answer_bytes(spec), wait=1.0)  # room in the answers' memory budget
    try:
        body = await anyio.to_thread.run_sync(lambda: json_bytes(preview(spec)))
    except BaseException:
        await release()
        raise
    return held_body(body, "application/json", release)
