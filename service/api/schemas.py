"""Request and response bodies. The kind models (`service.api.kinds`) double as the catalogue."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.api.kinds import losses, optimizers, schedules
from service.api.kinds.base import Finite, Kind, NonNegative, NumberOrList, Strict, kind_of
from service.api.kinds.losses import PolynomialLoss, QuadraticLoss
from service.api.kinds.optimizers import OptimizerSpec
from service.api.kinds.optimizers.common import SGD
from service.api.kinds.schedules import ScheduleSpec

LossSpec = Annotated[QuadraticLoss | PolynomialLoss, Field(discriminator="kind")]

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
