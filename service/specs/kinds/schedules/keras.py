"""Keras 3 `keras.optimizers.schedules` (the constructor's arguments, minus `name`), evaluated eagerly in float32."""

from typing import Any, ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import DecaySteps, Finite, Kind, PositiveInFloat32, StepCount
from service.specs.kinds.schedules.tf1 import Boundaries, Values


class KerasSchedule(Kind):
    library: ClassVar[str] = "keras"


def initial_learning_rate_field() -> Any:
    return Field(description="Initial rate (a float32 tensor: the schedule computes in float32).")


def decay_steps_field() -> Any:
    return Field(
        description="Steps of the decay; must be > 0. Eager Keras divides exactly, so a staircase changes exactly "
        "at its multiples (TF1 graph mode can be one step late)."
    )


def staircase_field() -> Any:
    return Field(False, description="Decay in whole periods (floor of step / decay_steps).")


class ExponentialDecay(KerasSchedule):
    """keras ExponentialDecay: initial_learning_rate · decay_rate^(step / decay_steps); never clamped."""

    kind: Literal["keras.ExponentialDecay"]
    initial_learning_rate: Finite = initial_learning_rate_field()
    decay_steps: DecaySteps = decay_steps_field()
    decay_rate: Finite = Field(description="Factor applied per period; above 1 the rate grows without bound.")
    staircase: bool = staircase_field()


class PiecewiseConstantDecay(KerasSchedule):
    """keras PiecewiseConstantDecay: values[i] between boundaries; the change comes at boundary + 1."""

    kind: Literal["keras.PiecewiseConstantDecay"]
    boundaries: Boundaries = Field(
        description="Increasing steps; a step equal to boundaries[i] still gets values[i]. Keras adds up the "
        "values of every segment a step falls in, so boundaries that are not increasing add values together."
    )
    values: Values = Field(description="One more value than boundaries: values[0] up to boundaries[0], and so on.")


class PolynomialDecay(KerasSchedule):
    """keras PolynomialDecay: (initial - end) · (1 - step/decay_steps)^power + end; end defaults to 1e-4, not 0."""

    kind: Literal["keras.PolynomialDecay"]
    initial_learning_rate: Finite = initial_learning_rate_field()
    decay_steps: DecaySteps = Field(description="Steps to reach end_learning_rate; must be > 0. Flat after.")
    end_learning_rate: Finite = Field(
        0.0001, description="Final rate (default 1e-4, not 0); above the initial rate the rate increases."
    )
    power: Finite = Field(1.0, description="Exponent of the decay (1: linear).")
    cycle: bool = Field(
        False,
        description="Restart past decay_steps over a horizon grown to the next multiple of decay_steps; the rate "
        "jumps back only partway, not to the initial rate.",
    )


class InverseTimeDecay(KerasSchedule):
    """keras InverseTimeDecay: initial_learning_rate / (1 + decay_rate · step / decay_steps)."""

    kind: Literal["keras.InverseTimeDecay"]
    initial_learning_rate: Finite = initial_learning_rate_field()
    decay_steps: DecaySteps = decay_steps_field()
    decay_rate: Finite = Field(description="How fast the rate falls: it halves when decay_rate · p reaches 1.")
    staircase: bool = staircase_field()


class CosineDecay(KerasSchedule):
    """keras CosineDecay: optional linear warmup, then half a cosine to alpha · peak over decay_steps (after warmup).

    The warmup goes linearly from initial_learning_rate to warmup_target over warmup_steps; the cosine then runs
    over decay_steps more steps (Optax counts the warmup in its decay_steps), and the rate is flat after."""

    kind: Literal["keras.CosineDecay"]
    initial_learning_rate: Finite = Field(
        description="Start rate: the cosine's peak, or with warmup_target the rate the warmup starts from."
    )
    decay_steps: DecaySteps = Field(
        description="Steps of the half cosine, after the warmup (Optax counts the warmup in); must be > 0."
    )
    alpha: Finite = Field(0.0, description="Final rate as a fraction of the peak (not an absolute floor).")
    warmup_target: Finite | None = Field(
        None, description="Peak reached linearly at warmup_steps; none: no warmup (warmup_steps is then ignored)."
    )
    warmup_steps: StepCount = Field(0, description="Steps of the linear warmup (only with warmup_target).")


class CosineDecayRestarts(KerasSchedule):
    """keras CosineDecayRestarts: SGDR, periods × t_mul, peaks × m_mul (alpha not scaled by m_mul).

    Period i lasts first_decay_steps · t_mul^i steps and restarts at m_mul^i · the rate."""

    kind: Literal["keras.CosineDecayRestarts"]
    initial_learning_rate: Finite = initial_learning_rate_field()
    first_decay_steps: DecaySteps = Field(description="Steps of the first period; must be > 0.")
    t_mul: PositiveInFloat32 = Field(
        2.0, description="Each period is t_mul times longer than the one before; positive (in float32)."
    )
    m_mul: Finite = Field(1.0, description="Each restart starts at m_mul times the previous restart's rate.")
    alpha: Finite = Field(
        0.0, description="Floor as a fraction of the initial rate; never reached exactly (each period restarts first)."
    )


MODELS = (
    ExponentialDecay,
    PiecewiseConstantDecay,
    PolynomialDecay,
    InverseTimeDecay,
    CosineDecay,
    CosineDecayRestarts,
)
