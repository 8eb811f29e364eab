"""Schedules side by side: up to 16 schedules evaluated over up to 100,000 steps without any loss, through the engine's
schedule registry (one vectorised call per schedule), and on request each one's counterparts in the other libraries
with the same parameters and the largest difference between them."""

from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from service.codegen.counterparts import counterparts
from service.engine import schedules
from service.engine.errors import ParameterError
from service.engine.trace import thinned_rows
from service.errors import InvalidSpec, Loc
from service.specs.build import located, schedule_document
from service.specs.cost import COPIES, JSON_BYTES
from service.specs.kinds.base import Strict, WholeNumber
from service.specs.kinds.schedules import ScheduleSpec

MAX_SCHEDULES = 16
MAX_STEPS = 100_000


class SchedulePreviewSpec(Strict):
    """Schedules to evaluate at steps 0..steps, and whether to add their other libraries' counterparts."""

    schedules: list[ScheduleSpec] = Field(
        min_length=1,
        max_length=MAX_SCHEDULES,
        description=f"Up to {MAX_SCHEDULES} schedules, as a run's `schedule` (a number is a constant rate).",
    )
    steps: Annotated[int, Field(ge=1, le=MAX_STEPS), WholeNumber] = Field(
        description=f"Evaluate at steps 0..steps (at most {MAX_STEPS:,})."
    )
    dtype: Literal["float32", "float64"] = Field(
        "float32", description="The run dtype the rates are cast to, as a run would apply them."
    )
    equivalents: bool = Field(
        False,
        description="Add, per schedule, the corresponding schedule of each other library with the same parameters "
        "(or why there is none) and the largest difference from the schedule.",
    )
    max_points: Annotated[int, Field(ge=2, le=MAX_STEPS + 1), WholeNumber] | None = Field(
        None,
        description="Answer at most this many evenly spaced steps (first and last kept); differences are measured "
        "over every step all the same.",
    )


EVALUATION_COPIES = 8
"""float64 arrays one schedule's evaluation holds per step at its peak (the steps, the rates, the emulated libm's
temporaries, and a comparison's difference and masks). Schedules are evaluated one after another."""


def answer_bytes(spec: SchedulePreviewSpec) -> int:
    """Memory a preview holds at its peak: one schedule's evaluation at every step it computes, and the answer's
    numbers as arrays and as JSON (`cost`'s per-number estimate); what it takes in the answer budget."""
    series = len(spec.schedules) * (4 if spec.equivalents else 1)
    shown = min(spec.max_points or spec.steps + 1, spec.steps + 1)
    evaluated = (spec.steps + 1) if spec.equivalents else shown
    return int(evaluated * EVALUATION_COPIES * 8 + series * shown * (COPIES * 8 + JSON_BYTES))


def preview(spec: SchedulePreviewSpec) -> dict[str, Any]:
    """The rates of each schedule (and of its counterparts) at the steps shown."""
    dtype = np.dtype(spec.dtype)
    steps = np.arange(spec.steps + 1, dtype=np.int64)
    shown = thinned_rows(steps.size, None, spec.max_points)
    answers = []
    for index, entry in enumerate(spec.schedules):
        document = schedule_document(entry if isinstance(entry, float) else entry.model_dump(mode="json"))
        if not spec.equivalents:  # a schedule is a pure function of the step: only the steps shown are computed
            answer: dict[str, Any] = {"schedule": document, "lr": _evaluate(document, steps[shown], dtype, _at(index))}
            answers.append(answer)
            continue
        rates = _evaluate(document, steps, dtype, _at(index))
        answer = {"schedule": document, "lr": rates[shown]}
        answer["equivalents"] = [_compare(other, rates, steps, dtype, shown) for other in counterparts(document)]
        answers.append(answer)
    return {"steps": spec.steps, "dtype": spec.dtype, "step": steps[shown], "schedules": answers}


def _at(index: int) -> Loc:
    return ["schedules", index]


def _evaluate(document: dict[str, Any], steps: npt.NDArray[np.int64], dtype: np.dtype[Any], loc: Loc) -> Any:
    """The rates at `steps`, in `dtype`; a schedule the engine refuses is an `InvalidSpec` located at it."""
    with located(*loc):
        schedule = schedules.build(document, dtype)
    if isinstance(schedule, schedules.ReadsLoss):
        message = f"{document['kind']} decides its rate from the loss, so it has no values without a run"
        raise InvalidSpec([([*loc, "kind"], message, "incompatible")])
    if isinstance(schedule, schedules.Bounded) and schedule.max_steps is not None and steps[-1] > schedule.max_steps:
        message = (
            f"this schedule allows at most {schedule.max_steps} steps ({schedule.horizon[1].rstrip('.')}); ask for "
            "fewer steps or lengthen the schedule"
        )
        raise InvalidSpec([(["steps"], message, "beyond_schedule")])
    return schedule(steps)[:, 0].astype(dtype)


def _compare(
    other: Any, rates: Any, steps: npt.NDArray[np.int64], dtype: np.dtype[Any], shown: npt.NDArray[np.int64]
) -> dict[str, Any]:
    """A counterpart's rates and the largest difference from `rates` (absolute, and relative to the largest rate)."""
    entry: dict[str, Any] = {"library": other.library, "schedule": other.schedule, "reason": other.reason or None}
    if other.schedule is None:
        return entry
    try:
        theirs = _evaluate(other.schedule, steps, dtype, [])
    except (InvalidSpec, ParameterError) as exc:
        message = exc.errors[0][1] if isinstance(exc, InvalidSpec) else exc.message
        return {**entry, "schedule": None, "reason": f"{other.schedule['kind']} refuses these parameters: {message}"}
    difference = np.abs(theirs.astype(np.float64) - rates.astype(np.float64))
    same = (theirs == rates) | (np.isnan(theirs) & np.isnan(rates))
    difference[same] = 0.0
    difference[np.isnan(difference)] = np.inf
    at = int(np.argmax(difference))
    scale = float(np.max(np.abs(rates[np.isfinite(rates)]), initial=0.0))
    largest = float(difference[at])
    return {
        **entry,
        "lr": theirs[shown],
        "max_abs_diff": largest,
        "max_rel_diff": largest / scale if scale > 0 else (0.0 if largest == 0 else None),
        "at_step": int(steps[at]),
    }
