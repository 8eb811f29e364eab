"""TensorFlow 1 `tf.compat.v1.train.*_decay` schedules (the global step is implicit)."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import (
    DecaySteps,
    Finite,
    Int32,
    Kind,
    NonNegative,
    PositiveInFloat32,
    WholeNumber,
)

Boundaries = Annotated[list[Int32], Field(min_length=1, max_length=999)]
"""Steps where a piecewise-constant rate changes (ints, as TF needs them to compare with the integer step)."""
Values = Annotated[list[Finite], Field(min_length=2, max_length=1000)]


class TF1Schedule(Kind):
    library: ClassVar[str] = "tf1"


def learning_rate_field() -> Any:
    return Field(description="Initial rate.")


def decay_steps_field() -> Any:
    return Field(
        description="Steps of the decay; positive. TF1 graph mode divides by it as a multiplication by the float32 "
        "reciprocal, so a boundary can land one step late (e.g. at 42, not 41, for 41)."
    )


def staircase_field() -> Any:
    return Field(False, description="Decay in whole periods (floor of global_step / decay_steps).")


class ExponentialDecay(TF1Schedule):
    """tf.compat.v1.train.exponential_decay: learning_rate · decay_rate^(global_step / decay_steps)."""

    kind: Literal["tf1.exponential_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = decay_steps_field()
    decay_rate: Finite = Field(description="Factor applied per period.")
    staircase: bool = staircase_field()


class NaturalExpDecay(TF1Schedule):
    """tf.compat.v1.train.natural_exp_decay: learning_rate · exp(-decay_rate · global_step / decay_steps)."""

    kind: Literal["tf1.natural_exp_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = decay_steps_field()
    decay_rate: Finite = Field(
        description="Rate in the exponent; TF evaluates the schedule as a pow of the float32 exp(-decay_rate)."
    )
    staircase: bool = staircase_field()


class InverseTimeDecay(TF1Schedule):
    """tf.compat.v1.train.inverse_time_decay: learning_rate / (1 + decay_rate · global_step / decay_steps)."""

    kind: Literal["tf1.inverse_time_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = decay_steps_field()
    decay_rate: Finite = Field(description="How fast the rate falls: it halves when decay_rate · p reaches 1.")
    staircase: bool = staircase_field()


class PolynomialDecay(TF1Schedule):
    """tf.compat.v1.train.polynomial_decay: (lr - end)·(1 - t/decay_steps)^power + end; end is 1e-4 by default.

    t is min(global_step, decay_steps), or with cycle the horizon grows to the next multiple of decay_steps."""

    kind: Literal["tf1.polynomial_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = Field(description="Steps to reach end_learning_rate; positive. The rate is flat after.")
    end_learning_rate: Finite = Field(
        0.0001, description="Final rate (default 1e-4, not 0); above learning_rate the rate increases."
    )
    power: Finite = Field(1.0, description="Exponent of the decay (1: linear).")
    cycle: bool = Field(
        False,
        description="Restart past decay_steps over a horizon grown to the next multiple of decay_steps; the rate "
        "jumps back only partway, not to learning_rate.",
    )


class PiecewiseConstant(TF1Schedule):
    """tf.compat.v1.train.piecewise_constant: values[i] between boundaries; the change comes at boundary + 1."""

    kind: Literal["tf1.piecewise_constant"]
    boundaries: Boundaries = Field(
        description="Increasing steps; a step equal to boundaries[i] still gets values[i] (the value below it)."
    )
    values: Values = Field(description="One more value than boundaries: values[0] up to boundaries[0], and so on.")


class CosineDecay(TF1Schedule):
    """tf.compat.v1.train.cosine_decay: half a cosine from learning_rate to alpha · learning_rate, flat after."""

    kind: Literal["tf1.cosine_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = Field(description="Steps of the half cosine; positive. The rate is flat after.")
    alpha: Finite = Field(0.0, description="Final rate as a fraction of learning_rate (not an absolute floor).")


class CosineDecayRestarts(TF1Schedule):
    """tf.compat.v1.train.cosine_decay_restarts: SGDR, periods × t_mul, peaks × m_mul (alpha not scaled by m_mul).

    Period i lasts first_decay_steps · t_mul^i steps and restarts at m_mul^i · the rate."""

    kind: Literal["tf1.cosine_decay_restarts"]
    learning_rate: Finite = learning_rate_field()
    first_decay_steps: DecaySteps = Field(description="Steps of the first period; positive.")
    t_mul: PositiveInFloat32 = Field(
        2.0, description="Each period is t_mul times longer than the one before; positive (in float32)."
    )
    m_mul: Finite = Field(1.0, description="Each restart starts at m_mul times the previous restart's rate.")
    alpha: Finite = Field(
        0.0, description="Floor as a fraction of learning_rate; never reached exactly (each period restarts first)."
    )


class LinearCosineDecay(TF1Schedule):
    """tf.compat.v1.train.linear_cosine_decay: lr·((alpha + linear)·cosine + beta); starts at lr·(1+alpha+beta).

    linear = (decay_steps - t) / decay_steps, cosine = 0.5·(1 + cos(2π·num_periods·t / decay_steps)),
    t = min(global_step, decay_steps)."""

    kind: Literal["tf1.linear_cosine_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = Field(description="Steps of the decay; positive. The rate is flat after.")
    num_periods: Finite = Field(0.5, description="Periods of the cosine over decay_steps (0.5: half a cosine).")
    alpha: Finite = Field(0.0, description="Added to the linear part (see the formula).")
    beta: Finite = Field(0.001, description="Added at the end: the floor is learning_rate · beta for 0.5 periods.")


class NoisyLinearCosineDecay(TF1Schedule):
    """tf.compat.v1.train.noisy_linear_cosine_decay: linear_cosine_decay plus Gaussian noise, seeded (TF's is not).

    The noise N(0, initial_variance / (1 + t)^variance_decay) is added to the linear part. TensorFlow draws new
    noise at every evaluation, so its rates cannot be reproduced; ours are a pure function of (seed, step)."""

    kind: Literal["tf1.noisy_linear_cosine_decay"]
    learning_rate: Finite = learning_rate_field()
    decay_steps: DecaySteps = Field(description="Steps of the decay; positive. The rate is flat after, but noisy.")
    initial_variance: NonNegative = Field(
        1.0, description="Variance of the noise at step 0: N(0, initial_variance / (1 + t)^variance_decay)."
    )
    variance_decay: Finite = Field(0.55, description="How fast the noise variance falls with the step.")
    num_periods: Finite = Field(0.5, description="Periods of the cosine over decay_steps (0.5: half a cosine).")
    alpha: Finite = Field(0.0, description="Added to the linear part (see linear_cosine_decay).")
    beta: Finite = Field(0.001, description="Added at the end (see linear_cosine_decay).")
    seed: Annotated[int, Field(ge=0, le=2**63 - 1), WholeNumber] = Field(
        0,
        description="Not TensorFlow's: TF draws new noise at every evaluation (not reproducible); ours is a pure "
        "function of (seed, step), so a run repeats exactly.",
    )


MODELS = (
    ExponentialDecay,
    NaturalExpDecay,
    InverseTimeDecay,
    PolynomialDecay,
    PiecewiseConstant,
    CosineDecay,
    CosineDecayRestarts,
    LinearCosineDecay,
    NoisyLinearCosineDecay,
)
