"""`/v1/schedules/preview`: schedules side by side, without a loss (`service.specs.preview`)."""

import anyio.to_thread
from fastapi import APIRouter, Response

from service.api.problems import problem_responses
from service.api.responses import json_answer
from service.api.schemas import SchedulePreview
from service.specs.preview import SchedulePreviewSpec, preview

router = APIRouter(prefix="/v1/schedules", tags=["schedules"])


@router.post(
    "/preview",
    summary="Evaluate up to 16 schedules side by side, with their other libraries' counterparts",
    response_model=SchedulePreview,
    responses=problem_responses(
        413,
        422,
        _422="A schedule is invalid (located at `schedules.<i>`), reads the loss (ReduceLROnPlateau), or stops "
        "before `steps`; `errors` names the field and what to change.",
    ),
)
async def preview_schedules(spec: SchedulePreviewSpec) -> Response:
    """The rate of each schedule at steps 0..`steps`, computed in one vectorised call per schedule. With
    `equivalents`, each schedule's counterpart in every other library (`torch.CosineAnnealingLR` beside
    `keras.CosineDecay`, `tf1.cosine_decay` and `optax.cosine_decay_schedule`), and where they differ most."""
    document = await anyio.to_thread.run_sync(preview, spec)
    per_schedule = len(document["step"]) * (1 + (3 if spec.equivalents else 0))
    return await json_answer(document, per_schedule * len(spec.schedules))
