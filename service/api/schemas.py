"""Request and response bodies. The kind models double as the catalogue (one source of truth).

Every kind model has `library` (whose numbers it reproduces) and a docstring whose first line is its
one-line description; its fields are the library's own keyword arguments with the library's defaults.
"""

import math
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, PlainValidator, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError

FLOAT32_MAX = 3.4028234663852886e38
"""Every number in a spec lies within float32's finite range, so that any run can be computed in either dtype."""
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0, le=FLOAT32_MAX)]
DecaySteps = Annotated[float, Field(allow_inf_nan=False, ge=1e-30, le=FLOAT32_MAX)]
"""Positive, and at least 1e-30 so that it stays positive in float32."""


def _number_or_numbers(value: Any) -> float | list[float]:
    """A finite number, or a non-empty list of finite numbers (strings and booleans are refused)."""
    if isinstance(value, list):
        if not value:
            raise PydanticCustomError("number_or_list", "Give at least one number.")
        return [_finite(item, f"item {index}") for index, item in enumerate(value)]
    return _finite(value, "value")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "number_or_list", "Give a number or a list of numbers; {what} is {got}.", {"what": what, "got": repr(value)}
        )
    number = float(value)
    if not math.isfinite(number) or abs(number) > FLOAT32_MAX:
        raise PydanticCustomError(
            "number_or_list",
            "Give finite numbers within ±3.4e38 (float32's range); {what} is {got}.",
            {"what": what, "got": repr(value)},
        )
    return number


NumberOrList = Annotated[
    float | list[float],
    PlainValidator(_number_or_numbers),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
                {
                    "type": "array",
                    "items": {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
                    "minItems": 1,
                },
            ]
        }
    ),
]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo never silently runs the wrong experiment."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Kind(Strict):
    """A catalogue entry: `library` names whose numbers it reproduces."""

    library: ClassVar[str] = "all"


# Losses ---------------------------------------------------------------------------------------------------------


class QuadraticLoss(Kind):
    """a·(w + b)² + c, per dimension and summed, in TensorFlow's order of operations."""

    kind: Literal["quadratic"]
    a: NumberOrList = Field(1.0, description="Curvature/2 per dimension (one number for all, or one per dimension).")
    b: NumberOrList = Field(0.0, description="Shift: the minimum is at w = -b.")
    c: NumberOrList = Field(0.0, description="Offset: the minimum loss is the sum of c.")


class PolynomialLoss(Kind):
    """c0 + c1·w + … + cn·wⁿ in one variable (increasing degree, as numpy.polynomial)."""

    kind: Literal["polynomial"]
    coefficients: list[Finite] = Field(
        min_length=1, max_length=64, description="Coefficients c0, c1, …, cn in increasing degree."
    )


LossSpec = Annotated[QuadraticLoss | PolynomialLoss, Field(discriminator="kind")]

# Schedules ------------------------------------------------------------------------------------------------------


class ConstantSchedule(Kind):
    """The same rate at every step; a bare number in `schedule` means this."""

    kind: Literal["constant"]
    learning_rate: Finite = Field(description="The rate.")


class TF1ExponentialDecay(Kind):
    """tf.compat.v1.train.exponential_decay: learning_rate · decay_rate^(global_step / decay_steps)."""

    library: ClassVar[str] = "tf1"
    kind: Literal["tf1.exponential_decay"]
    learning_rate: Finite = Field(description="Initial rate.")
    decay_steps: DecaySteps = Field(description="Steps per decay period; positive (at least 1e-30).")
    decay_rate: Finite = Field(description="Factor applied per period.")
    staircase: bool = Field(False, description="Decay in whole periods (floor of global_step / decay_steps).")


def _schedule_tag(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    if isinstance(value, dict):
        kind = value.get("kind")
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


ScheduleSpec = Annotated[
    Annotated[Finite, Tag("number")]
    | Annotated[ConstantSchedule, Tag("constant")]
    | Annotated[TF1ExponentialDecay, Tag("tf1.exponential_decay")],
    Discriminator(_schedule_tag),
]

# Optimizers -----------------------------------------------------------------------------------------------------


class SGD(Kind):
    """Plain gradient descent, w ← w − lr·g, the same arithmetic in every library."""

    kind: Literal["sgd"]


class TF1GradientDescentOptimizer(Kind):
    """tf.compat.v1.train.GradientDescentOptimizer: var ← var − lr·grad (the ApplyGradientDescent kernel)."""

    library: ClassVar[str] = "tf1"
    kind: Literal["tf1.GradientDescentOptimizer"]


OptimizerSpec = Annotated[SGD | TF1GradientDescentOptimizer, Field(discriminator="kind")]

KIND_MODELS: dict[str, tuple[type[Kind], ...]] = {
    "losses": (QuadraticLoss, PolynomialLoss),
    "schedules": (ConstantSchedule, TF1ExponentialDecay),
    "optimizers": (SGD, TF1GradientDescentOptimizer),
}


def kind_of(model: type[Kind]) -> str:
    """The `kind` tag of a kind model."""
    (tag,) = get_args(model.model_fields["kind"].annotation)
    return str(tag)


KIND_TAGS = frozenset({"number"} | {kind_of(m) for models in KIND_MODELS.values() for m in models})

# The run spec ---------------------------------------------------------------------------------------------------


class Stop(Strict):
    """Early stopping: the run ends at the first row that meets any given criterion (that row is kept)."""

    grad_tol: NonNegative | None = Field(None, description="Stop when the gradient norm is at most this.")
    loss_tol: Finite | None = Field(None, description="Stop when the loss is at most this.")


class Record(Strict):
    """Which rows the stored trace keeps."""

    every: int = Field(1, ge=1, description="Keep every k-th row, plus the first and the last.")


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
