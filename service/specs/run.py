"""The run spec: a loss, a starting point, a schedule, an optimizer and a number of steps."""

from typing import Any, Literal

from pydantic import Field

from service.specs.kinds.base import Finite, NonNegative, NumberOrList, PositiveStepCount, Strict
from service.specs.kinds.losses import LossSpec
from service.specs.kinds.optimizers import OptimizerSpec
from service.specs.kinds.optimizers.common import SGD
from service.specs.kinds.schedules import ScheduleSpec


class Stop(Strict):
    """Early stopping: the run ends at the first row that meets any given criterion (that row is kept)."""

    grad_tol: NonNegative | None = Field(None, description="Stop when the gradient norm is at most this.")
    loss_tol: Finite | None = Field(None, description="Stop when the loss is at most this.")


class Record(Strict):
    """Which rows the stored trace keeps."""

    every: PositiveStepCount = Field(1, description="Keep every k-th row, plus the first and the last.")
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
    steps: PositiveStepCount = Field(description="Number of updates; the trace has rows 0..steps.")
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
