"""TensorFlow 1 `tf.compat.v1.train.*_decay` schedules (the global step is implicit)."""

from typing import ClassVar, Literal

from pydantic import Field

from service.api.kinds.base import DecaySteps, Finite, Kind


class TF1Schedule(Kind):
    library: ClassVar[str] = "tf1"


class ExponentialDecay(TF1Schedule):
    """tf.compat.v1.train.exponential_decay: learning_rate · decay_rate^(global_step / decay_steps)."""

    kind: Literal["tf1.exponential_decay"]
    learning_rate: Finite = Field(description="Initial rate.")
    decay_steps: DecaySteps = Field(description="Steps per decay period; positive (at least 1e-30).")
    decay_rate: Finite = Field(description="Factor applied per period.")
    staircase: bool = Field(False, description="Decay in whole periods (floor of global_step / decay_steps).")


MODELS = (ExponentialDecay,)
