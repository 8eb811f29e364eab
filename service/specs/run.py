"""The run spec: a loss, a starting point, a schedule, an optimizer and a number of steps."""

from typing import Any, Literal

from pydantic import ConfigDict, Field

from service.specs.kinds.base import Finite, NonNegative, NumberOrList, PositiveStepCount, Strict
from service.specs.kinds.losses import LossSpec, dimension_rules
from service.specs.kinds.optimizers import OptimizerSpec
from service.specs.kinds.optimizers.common import SGD
from service.specs.kinds.optimizers.torch import CYCLES_MOMENTUM
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


CYCLE_MOMENTUM_RULE: dict[str, Any] = {
    "if": {
        "properties": {
            "schedule": {
                "type": "object",
                "properties": {"kind": {"enum": ["torch.CyclicLR", "torch.OneCycleLR"]}},
                "required": ["kind"],
                "not": {"properties": {"cycle_momentum": {"const": False}}, "required": ["cycle_momentum"]},
            }
        },
        "required": ["schedule"],
    },
    "then": {
        "properties": {"optimizer": {"properties": {"kind": {"enum": list(CYCLES_MOMENTUM)}}, "required": ["kind"]}},
        "required": ["optimizer"],
    },
}
"""torch's rule, stated: CyclicLR and OneCycleLR cycling momentum need an optimizer with a momentum or betas."""


class RunSpec(Strict):
    """A gradient-descent run: minimise `loss` from `w0` for `steps` updates."""

    # The cross-field rules JSON Schema can state (README: "Rules the schema cannot state" lists the others)
    model_config = ConfigDict(json_schema_extra={"allOf": [*dimension_rules("w0"), CYCLE_MOMENTUM_RULE]})

    loss: LossSpec
    w0: NumberOrList = Field(
        description="Starting point: a number, or one number per dimension.", examples=[[-1.5, 2.0]]
    )
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
