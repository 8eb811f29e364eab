"""Request and response bodies. The kind models (`service.api.kinds`) double as the catalogue."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.api.kinds import losses, optimizers, schedules
from service.api.kinds.base import Finite, Kind, NonNegative, NumberOrList, Strict, kind_of
from service.api.kinds.losses import LossSpec as LossSpec  # re-exported: run, sweep, landscape specs
from service.api.kinds.optimizers import OptimizerSpec
from service.api.kinds.optimizers.common import SGD
from service.api.kinds.schedules import ScheduleSpec

KIND_MODELS: dict[str, tuple[type[Kind], ...]] = {
    "losses": losses.MODELS,
    "schedules": schedules.MODELS,
    "optimizers": optimizers.MODELS,
}
KIND_TAGS = frozenset({"number"} | {kind_of(m) for models in KIND_MODELS.values() for m in models})

# The run spec ---------------------------------------------------------------------------------------------------


class Stop(Strict):
    """Early stopping: the run ends at the first row that meets any given criterion (that row is kept)."""

    grad_tol: NonNegative | None = Field(None, description="Stop when the gradient norm is at most this.")
    loss_tol: Finite | None = Field(None, description="Stop when the loss is at most this.")


class Record(Strict):
    """Which rows the stored trace keeps."""

    every: int = Field(1, ge=1, description="Keep every k-th row, plus the first and the last.")
    state: bool = Field(
        False,
        description="Also keep the optimizer's state per row (momentum buffers, Adam's moments, ...), by the "
        "library's own names.",
    )


class RunSpec(Strict):
    """A gradient-descent run: minimise `loss` from `w0` for `steps` updates."""

    loss: LossSpec
    w0: NumberOrList = Field(description="Starting point: a number, or one number per dimension.")
    schedule: ScheduleSpec = Field(description="Learning rate: a number (constant) or a schedule object.")
    optimizer: OptimizerSpec = Field(default_factory=lambda: SGD(kind="sgd"), description="The update rule.")
    steps: int = Field(ge=1, description="Number of updates; the trace has rows 0..steps.")
    dtype: Literal["float32", "float64"] = Field("float32", description="Arithmetic precision of the whole run.")
    stop: Stop | None = Field(None, description="Early stopping; none by default.")
    record: Record = Field(default_factory=Record, description="Which rows to keep; every row by default.")
    name: str | None = Field(None, max_length=200, description="A label shown in lists and dashboards.")

    def normalised(self) -> dict[str, Any]:
        """The spec with defaults filled in and a bare-number schedule written as a constant schedule."""
        document = self.model_dump(mode="json")
        if isinstance(self.schedule, float):
            document["schedule"] = {"kind": "constant", "learning_rate": self.schedule}
        return document


class Linspace(Strict):
    """`num` evenly spaced values from `start` to `stop` (numpy.linspace)."""

    start: Finite
    stop: Finite
    num: int = Field(ge=1, le=1_000_000)
    endpoint: bool = Field(True, description="Include `stop`.")


class Logspace(Strict):
    """`num` values evenly spaced on a log scale from base**start to base**stop (numpy.logspace): start and stop
    are exponents."""

    start: Finite = Field(ge=-300, le=300)
    stop: Finite = Field(ge=-300, le=300)
    num: int = Field(ge=1, le=1_000_000)
    base: Finite = Field(10.0, gt=0)
    endpoint: bool = Field(True, description="Include base**stop.")


class Axis(Strict):
    """One parameter varied over values: a dotted path into the base spec and exactly one of values, linspace,
    logspace."""

    path: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$",
        max_length=200,
        description="Where in the spec: `schedule.learning_rate`, `optimizer.momentum`, `optimizer.betas.0`, `w0`, "
        "`w0.1`, `loss.a`, `loss.b.0`, ... A real-valued parameter (whole-number ones change the loop itself).",
        examples=["schedule.learning_rate"],
    )
    values: list[Finite] | None = Field(None, min_length=1, max_length=1_000_000)
    linspace: Linspace | None = None
    logspace: Logspace | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Axis":
        given = [name for name in ("values", "linspace", "logspace") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of values, linspace, logspace (got {', '.join(given) or 'none'})")
        return self


class SweepSpec(Strict):
    """A grid of runs: the base run with each axis's parameter varied; the grid is the cartesian product."""

    base: RunSpec
    axes: list[Axis] = Field(min_length=1, max_length=4, description="The parameters varied, outermost first.")
    max_points: int | None = Field(
        None, ge=2, le=10_000, description="Keep each run's trace, thinned to this many rows; none by default."
    )
    name: str | None = Field(None, max_length=200, description="A label shown in lists and dashboards.")


# Responses ------------------------------------------------------------------------------------------------------

Vector = float | list[float]
Status = Literal["queued", "running", "finished", "diverged", "cancelled", "failed"]
VerdictName = Literal["converged", "slow", "oscillating", "diverged", "stalled", "unbounded"]


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
    verdict: VerdictName
    explanation: str = Field(description="One line saying what happened, with the numbers that show it.")
    analysis: LossFacts | None


class Trace(Out):
    """Columnar rows: one array per column, all the same length; w and grad hold arrays for D-dimensional runs."""

    step: list[int]
    w: list[float] | list[list[float]]
    loss: list[float]
    lr: list[float]
    grad: list[float] | list[list[float]]
    state: dict[str, list[float] | list[list[float]]] | None = Field(
        None, description="With `record.state`: the optimizer's state per row, by the library's names."
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
    state: dict[str, Vector] | None = Field(None, description="With `record.state`: the optimizer's state.")


class EndEvent(Out):
    """Data of the last event, `end`."""

    status: Status
    summary: Summary | None
    error: str | None


EVENTS: dict[str, tuple[type[BaseModel], str]] = {
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


class Sweep(Out):
    id: str
    name: str | None
    status: Literal["queued", "running", "finished", "failed"]
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
    loc: list[str | int]
    msg: str


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
