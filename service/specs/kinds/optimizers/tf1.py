"""TensorFlow 1 `tf.compat.v1.train` optimizers (the rate comes from the run's schedule)."""

from typing import ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import AboveZero, Finite, Kind


class TF1Optimizer(Kind):
    library: ClassVar[str] = "tf1"


class GradientDescentOptimizer(TF1Optimizer):
    """tf.compat.v1.train.GradientDescentOptimizer: var ← var − lr·grad (the ApplyGradientDescent kernel)."""

    kind: Literal["tf1.GradientDescentOptimizer"]


class MomentumOptimizer(TF1Optimizer):
    """tf.compat.v1.train.MomentumOptimizer: accum ← momentum·accum + grad, var ← var − lr·accum (raw gradients in
    the buffer, scaled by the current rate: differs from Keras under a changing rate)."""

    kind: Literal["tf1.MomentumOptimizer"]
    momentum: Finite = Field(description="Momentum factor; required, as in TF1 (no default).")
    use_nesterov: bool = Field(False, description="Nesterov: var ← var − lr·grad − lr·momentum·accum.")


class AdagradOptimizer(TF1Optimizer):
    """tf.compat.v1.train.AdagradOptimizer: accum ← accum + grad², var ← var − lr·grad/sqrt(accum) (no epsilon;
    the accumulator starts at 0.1, not 0 as in torch)."""

    kind: Literal["tf1.AdagradOptimizer"]
    initial_accumulator_value: AboveZero = Field(
        0.1, description="Starting value of the accumulator; must be positive (TF1 divides by its square root)."
    )


class RMSPropOptimizer(TF1Optimizer):
    """tf.compat.v1.train.RMSPropOptimizer: ms ← ms + (grad² − ms)(1 − decay), mom ← momentum·mom +
    lr·grad/sqrt(ms + epsilon), var ← var − mom (ms starts at 1.0, not 0; epsilon inside the sqrt)."""

    kind: Literal["tf1.RMSPropOptimizer"]
    decay: Finite = Field(0.9, description="Discounting factor of the squared-gradient average (torch's alpha).")
    momentum: Finite = Field(0.0, description="Momentum factor; the rate is applied inside the momentum buffer.")
    epsilon: Finite = Field(1e-10, description="Added to the mean square inside the square root.")
    centered: bool = Field(
        False, description="Normalise by the estimated variance, ms − mg² (mg: the mean gradient, slot `mg`)."
    )


class AdamOptimizer(TF1Optimizer):
    """tf.compat.v1.train.AdamOptimizer: var ← var − lr·sqrt(1 − beta2^t)/(1 − beta1^t)·m/(sqrt(v) + epsilon)
    (epsilon on the uncorrected sqrt(v): the paper's epsilon-hat, not torch's placement)."""

    kind: Literal["tf1.AdamOptimizer"]
    beta1: Finite = Field(0.9, description="Decay of the first-moment estimate m.")
    beta2: Finite = Field(0.999, description="Decay of the second-moment estimate v.")
    epsilon: Finite = Field(1e-8, description="Added to sqrt(v), before bias correction (epsilon-hat).")


class AdadeltaOptimizer(TF1Optimizer):
    """tf.compat.v1.train.AdadeltaOptimizer: var ← var − lr·sqrt(accum_update + eps)/sqrt(accum + eps)·grad (TF1's
    default rate is 0.001, so its steps are ~1000× smaller than torch's lr=1.0)."""

    kind: Literal["tf1.AdadeltaOptimizer"]
    rho: Finite = Field(0.95, description="Decay of both running averages (torch's default is 0.9).")
    epsilon: Finite = Field(1e-8, description="Added inside both square roots.")


MODELS = (
    GradientDescentOptimizer,
    MomentumOptimizer,
    AdagradOptimizer,
    RMSPropOptimizer,
    AdamOptimizer,
    AdadeltaOptimizer,
)
