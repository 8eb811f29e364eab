"""Keras 3 `keras.optimizers` (the rate comes from the run's schedule). Every one takes `weight_decay`, which Keras
applies decoupled: var ← var − var·weight_decay·lr before the update."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import Finite, Kind, ZeroToOne, checked

WEIGHT_DECAY = "Decoupled weight decay, var ← var − var·weight_decay·lr before each update; null: none."


class KerasOptimizer(Kind):
    library: ClassVar[str] = "keras"


class SGD(KerasOptimizer):
    """keras.optimizers.SGD: m ← momentum·m − lr·grad, var ← var + m (the rate is folded into the velocity, so it
    differs from TF1 and torch momentum under a changing rate)."""

    kind: Literal["keras.SGD"]
    momentum: ZeroToOne = Field(0.0, description="Momentum factor, in [0, 1] (Keras' rule); 0 keeps no velocity.")
    nesterov: bool = Field(False, description="Nesterov: var ← var + momentum·m − lr·grad.")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class Adagrad(KerasOptimizer):
    """keras.optimizers.Adagrad: accumulator ← accumulator + grad², var ← var − lr·grad/sqrt(accumulator + epsilon)
    (epsilon inside the sqrt, torch's is outside; the accumulator starts at 0.1)."""

    kind: Literal["keras.Adagrad"]
    initial_accumulator_value: Finite = Field(0.1, description="Starting value of the accumulator.")
    epsilon: Finite = Field(1e-7, description="Added to the accumulator inside the square root.")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class RMSprop(KerasOptimizer):
    """keras.optimizers.RMSprop: velocity ← rho·velocity + (1 − rho)·grad², var ← var − lr·grad/sqrt(velocity +
    epsilon) (epsilon inside the sqrt; with momentum the rate sits inside the momentum buffer)."""

    kind: Literal["keras.RMSprop"]
    rho: Finite = Field(0.9, description="Discounting factor of the squared-gradient average (torch's alpha=0.99).")
    momentum: Finite = Field(0.0, description="Momentum factor; a momentum buffer is kept only when positive.")
    epsilon: Finite = Field(1e-7, description="Added to the average inside the square root.")
    centered: bool = Field(False, description="Normalise by the estimated variance, velocity − average_gradient².")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class Adam(KerasOptimizer):
    """keras.optimizers.Adam: var ← var − lr·sqrt(1 − beta_2^t)/(1 − beta_1^t)·m/(sqrt(v) + epsilon) (epsilon on the
    uncorrected sqrt(v), as in TF1; default epsilon 1e-7, not torch's 1e-8)."""

    kind: Literal["keras.Adam"]
    beta_1: Finite = Field(0.9, description="Decay of the first-moment estimate (variable `momentum`).")
    beta_2: Finite = Field(0.999, description="Decay of the second-moment estimate (variable `velocity`).")
    epsilon: Finite = Field(1e-7, description="Added to sqrt(v), before bias correction (epsilon-hat).")
    amsgrad: bool = Field(False, description="Use the running maximum of v (variable `velocity_hat`).")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class AdamW(KerasOptimizer):
    """keras.optimizers.AdamW: Adam after var ← var − var·weight_decay·lr (weight decay scaled by the full rate;
    default 0.004, torch's is 0.01)."""

    kind: Literal["keras.AdamW"]
    # null is taken by the model and refused by the engine with Keras' own message; the schema says "a number"
    weight_decay: Annotated[Finite | None, checked(type="number")] = Field(
        0.004, description="Decoupled weight decay, var ← var − var·weight_decay·lr; required (Keras refuses null)."
    )
    beta_1: Finite = Field(0.9, description="Decay of the first-moment estimate (variable `momentum`).")
    beta_2: Finite = Field(0.999, description="Decay of the second-moment estimate (variable `velocity`).")
    epsilon: Finite = Field(1e-7, description="Added to sqrt(v), before bias correction (epsilon-hat).")
    amsgrad: bool = Field(False, description="Use the running maximum of v (variable `velocity_hat`).")


class Adamax(KerasOptimizer):
    """keras.optimizers.Adamax: u ← max(beta_2·u, |grad|), var ← var − lr·m/((1 − beta_1^t)(u + epsilon)) (epsilon
    outside the max; torch's is inside)."""

    kind: Literal["keras.Adamax"]
    beta_1: Finite = Field(0.9, description="Decay of the first-moment estimate (variable `momentum`).")
    beta_2: Finite = Field(0.999, description="Decay of the infinity norm (variable `norm`).")
    epsilon: Finite = Field(1e-7, description="Added to the norm.")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class Nadam(KerasOptimizer):
    """keras.optimizers.Nadam: Adam with Nesterov momentum and the schedule u_t = beta_1·(1 − 0.5·0.96^t) (no 0.004
    factor: the ramp is ~250× faster than torch's NAdam)."""

    kind: Literal["keras.Nadam"]
    beta_1: Finite = Field(0.9, description="Decay of the first-moment estimate (variable `momentum`).")
    beta_2: Finite = Field(0.999, description="Decay of the second-moment estimate (variable `velocity`).")
    epsilon: Finite = Field(1e-7, description="Added to sqrt(v̂).")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


class Adadelta(KerasOptimizer):
    """keras.optimizers.Adadelta: var ← var − lr·sqrt(accumulated_delta_var + eps)/sqrt(accumulated_grad + eps)·grad
    (Keras' default rate is 0.001, so steps are ~1000× smaller than torch's lr=1.0)."""

    kind: Literal["keras.Adadelta"]
    rho: Finite = Field(0.95, description="Decay of both running averages (torch's default is 0.9).")
    epsilon: Finite = Field(1e-7, description="Added inside both square roots.")
    weight_decay: Finite | None = Field(None, description=WEIGHT_DECAY)


MODELS = (SGD, Adagrad, RMSprop, Adam, AdamW, Adamax, Nadam, Adadelta)
