"""Response bodies, for OpenAPI: what the answer documents (`service.documents`) look like."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.engine.analysis import Verdict
from service.errors import ERROR_TYPES
from service.specs.run import RunSpec
from service.specs.sweep import SweepSpec
from service.store.base import Status

Vector = float | list[float]
StateVector = float | None | list[float | None]
"""An optimizer's state in a row: a row is kept while w, loss, lr and grad are finite, but a state value (Adadelta's
square_avg, ...) may overflow before them, and a non-finite number is written as null."""


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FinalRow(Out):
    step: int
    w: Vector
    loss: float


class BestRow(Out):
    step: int
    loss: float


class Minimum(Out):
    w: list[float]
    loss: float


class LossFacts(Out):
    """Analytic facts of the loss: for a quadratic exact, for a polynomial near its minimum."""

    kind: str
    bounded_below: bool
    minimum: Minimum | None = Field(description="Where the global minimum is, when there is one.")
    curvature: list[float] | None = Field(description="Second derivative per dimension (2a for a quadratic).")
    max_stable_lr: float | None = Field(
        description="Constant rates below this converge; exactly this oscillates forever; above it diverges."
    )
    one_step_lr: float | None = Field(description="The constant rate that lands on the minimum in one step.")


class Summary(Out):
    steps_run: int = Field(description="Updates performed (the last row's step).")
    final: FinalRow | None = Field(description="The last finite row; null if even row 0 was not finite.")
    best: BestRow | None
    converged_at: int | None = Field(description="First step from which the run stays converged.")
    diverged_at: int | None = Field(description="Step of the first non-finite value.")
    verdict: Verdict
    explanation: str = Field(description="One line saying what happened, with the numbers that show it.")
    analysis: LossFacts | None


class Trace(Out):
    """Columnar rows: one array per column, all the same length; w and grad hold arrays for D-dimensional runs."""

    step: list[int]
    w: list[float] | list[list[float]]
    loss: list[float]
    lr: list[float]
    grad: list[float] | list[list[float]]
    state: dict[str, list[float | None] | list[list[float | None]]] | None = Field(
        None,
        description="With `record.state`: the optimizer's state per row, by the library's names (null where a "
        "value overflowed: a row is kept while w, loss, lr and grad are finite).",
    )


class RunInfo(Out):
    id: str
    name: str | None
    status: Status
    created_at: str
    finished_at: str | None
    spec: RunSpec
    summary: Summary | None = Field(description="Null until the run has ended; a cancelled run's covers its rows.")
    error: str | None = Field(description="Why a run failed (e.g. the server stopped while it ran); else null.")


class Run(RunInfo):
    trace: Trace


class StepEvent(Out):
    """Data of a `step` event: one recorded row (w and grad are arrays for a D-dimensional run)."""

    step: int
    w: Vector
    loss: float
    lr: float
    grad: Vector
    state: dict[str, StateVector] | None = Field(
        None, description="With `record.state`: the optimizer's state (null where a value overflowed)."
    )


class EndEvent(Out):
    """Data of the last event, `end`."""

    status: Status
    summary: Summary | None
    error: str | None


RUN_EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "run": (RunInfo, "First: the run without its trace."),
    "step": (StepEvent, "One per recorded row; `id` is the row's step (send it back as `Last-Event-ID`)."),
    "steps": (Trace, "With `batch=k`: k rows in columns, as in a run's `trace`; `id` is the last row's step."),
    "error": (BaseModel, "If the run failed: a problem document, just before `end`."),
    "end": (EndEvent, "Last: the final status and summary; the stream then closes."),
}


Grid = Any
"""Nested lists shaped like the sweep's grid (one level per axis); null where a value is not finite."""


class AxisValues(Out):
    path: str
    values: list[float]


class Stability(Out):
    """Theory beside experiment for a constant rate on a quadratic with plain or heavy-ball momentum."""

    axis: str = Field(description="The swept rate's path.")
    rule: str = Field(description="The closed form used, in words.")
    predicted_max_lr: Grid = Field(description="Rates below this converge (per point of the other axes).")
    largest_stable_lr: Grid = Field(description="The largest swept rate that did not diverge (null if none).")
    smallest_diverged_lr: Grid = Field(description="The smallest swept rate that diverged (null if none).")
    agrees: bool = Field(description="The prediction lies between the two measured rates everywhere.")


class SweepSummary(Out):
    """Per grid point, arrays shaped like the grid."""

    final_loss: Grid
    best_loss: Grid
    verdict: Grid
    converged_at: Grid = Field(description="Step, or null when the run did not converge.")
    diverged_at: Grid = Field(description="Step, or null when the run did not diverge.")
    counts: dict[str, int] = Field(description="How many grid points got each verdict.")
    stability: Stability | None = Field(
        description="When a constant rate is swept on a quadratic with plain or heavy-ball SGD."
    )


class SweepTraces(Out):
    """With `max_points`: the kept rows of every run; w is [point…][row] (or [point…][row][dim])."""

    step: list[int]
    w: Grid
    loss: Grid
    lr: Grid


class SweepProgress(Out):
    step: int = Field(description="The last step computed (all grid points advance together).")
    steps: int


class JobEnd(Out):
    """Data of a sweep stream's last event, `end`; read the result with `GET /v1/sweeps/{id}`."""

    status: Status
    error: str | None


SWEEP_EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "progress": (SweepProgress, "Whenever the grid advanced (all points advance together): the last step computed."),
    "end": (JobEnd, "Last: the final status; the stream then closes."),
}


class Sweep(Out):
    id: str
    name: str | None
    status: Status
    created_at: str
    finished_at: str | None
    spec: SweepSpec
    shape: list[int] = Field(description="The grid's shape: one length per axis.")
    axes: list[AxisValues]
    progress: SweepProgress
    summary: SweepSummary | None = Field(description="Null until the sweep has finished.")
    traces: SweepTraces | None = Field(None, description="With `max_points`, once finished.")
    error: str | None


class RunPage(Out):
    items: list[RunInfo]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ErrorItem(Out):
    """One offending field of a 422: where, what to change, and the kind of error for a program."""

    loc: list[str | int] = Field(description="The field: names and list indices from the body's root.")
    msg: str = Field(description="What to change, in English, for a person.")
    type: str = Field(
        description=(
            "The kind of error, a stable code to branch on (the message's wording may change). A validation error "
            "has Pydantic's error type (https://docs.pydantic.dev/latest/errors/validation_errors/): `missing`, "
            "`greater_than`, `greater_than_equal`, `less_than`, `less_than_equal`, `int_type`, `float_type`, "
            "`literal_error`, `extra_forbidden`, `union_tag_invalid` (an unknown kind), `union_tag_not_found` (no "
            "kind), `json_invalid`, ...; `float32_range` is a number beyond float32's range, `number_or_list` a "
            "value that is neither a number nor a list of numbers, `kind_refused` a kind its parent cannot "
            "take and `child_lr` an lr on a child scheduler (it scales its parent's). The service's own rules: "
            + "; ".join(f"`{code}`: {meaning}" for code, meaning in ERROR_TYPES.items())
            + "."
        ),
        examples=["greater_than", "limit_exceeded"],
    )


class Problem(Out):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ErrorItem] | None = None


class Parameter(Out):
    name: str
    required: bool
    default: Any = None
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")


class CatalogEntry(Out):
    kind: str
    library: str
    description: str
    parameters: list[Parameter]


class Catalog(Out):
    losses: list[CatalogEntry]
    schedules: list[CatalogEntry]
    optimizers: list[CatalogEntry]


class LRSuggestion(Out):
    """A suggested rate and the rule that gave it."""

    name: Literal["steepest", "valley", "minimum"]
    library: Literal["torch-lr-finder", "fastai"] = Field(description="Whose rule this is, reproduced exactly.")
    lr: float | None = Field(description="The suggested rate; null when the curve is too short for the rule.")
    index: int | None = Field(
        description="The point of the curve the rule picked (into `lr`, `loss`, `smoothed_loss`); for `minimum`, "
        "the lowest point, whose rate is ten times the suggestion."
    )
    rule: str = Field(description="The rule, in words.")
    note: str | None = Field(description="Why there is no suggestion, when there is none.")


class LRFinderResult(Out):
    """The range test's curve and the suggested rates. Point k: `lr[k]` is the rate of update k and `loss[k]`
    the loss at the weights that update starts from (as both libraries pair them)."""

    lr: list[float] = Field(description="Rate of each update, in the test's dtype.")
    loss: list[float] = Field(description="Loss before each update, in the test's dtype.")
    smoothed_loss: list[float] = Field(description="The smoothed loss (in double precision, as the libraries).")
    stopped_early: bool = Field(description="True when the test ended before its last update.")
    stop_reason: Literal["completed", "diverged", "non_finite"] = Field(
        description="completed: all num_iter points; diverged: the smoothed loss passed diverge_th times the best "
        "(that point is the last one); non_finite: the next point overflowed (the curve ends before it)."
    )
    suggestions: list[LRSuggestion] = Field(description="steepest, valley and minimum, in this order.")


class GridMinimum(Out):
    """The lowest finite value on the grid (the first in row-major order if tied)."""

    w: list[float] = Field(description="Its coordinates, [x] or [x, y].")
    loss: float
    index: list[int] = Field(
        description="Its position in `loss`: [i] in 1-D, [row (y index), column (x index)] in 2-D."
    )


class Landscape(Out):
    """The grid and the loss on it; values that overflow the dtype are null."""

    x: list[float] = Field(description="Grid coordinates along the first dimension.")
    y: list[float] | None = Field(description="Grid coordinates along the second dimension (2-D only; else null).")
    loss: list[float | None] | list[list[float | None]] = Field(
        description="1-D: loss[i] at x[i]. 2-D: one row per y, loss[j][i] at (x[i], y[j])."
    )
    minimum: GridMinimum | None = Field(description="The grid's lowest finite value; null if none is finite.")


class Equivalent(Out):
    """A schedule's counterpart in another library: the same parameters as that library writes them."""

    library: Literal["tf1", "keras", "torch", "optax"]
    schedule: dict[str, Any] | None = Field(description="The counterpart, as a run's `schedule`; null: none.")
    reason: str | None = Field(description="Why there is no counterpart (null when there is one).")
    lr: list[float | None] | None = Field(None, description="Its rates at the steps shown.")
    max_abs_diff: float | None = Field(None, description="The largest |difference| from the schedule, every step.")
    max_rel_diff: float | None = Field(
        None, description="max_abs_diff relative to the schedule's largest |rate| (as the fidelity rule measures)."
    )
    at_step: int | None = Field(None, description="The step of the largest difference.")


class PreviewedSchedule(Out):
    schedule: dict[str, Any] = Field(description="The schedule as normalised (a number as a constant schedule).")
    lr: list[float | None] = Field(description="The rate at each step shown, in the dtype asked for.")
    equivalents: list[Equivalent] | None = Field(None, description="With `equivalents`: the other libraries'.")


class SchedulePreview(Out):
    steps: int
    dtype: Literal["float32", "float64"]
    step: list[int] = Field(description="The steps shown (all of 0..steps, or `max_points` of them).")
    schedules: list[PreviewedSchedule]


class SavedView(Out):
    """A saved dashboard view's address."""

    id: str = Field(description="The view's short id, derived from its content: the same view has the same id.")
    url: str = Field(description="The dashboard opened on this view (`/v/{id}`, which leads to `/#v={id}`).")
    created_at: str = Field(description="When the view was first saved.")


class View(SavedView):
    """A saved dashboard view, as `POST /v1/views` received it (keys sorted)."""

    state: dict[str, Any]
