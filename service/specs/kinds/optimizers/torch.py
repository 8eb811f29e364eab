"""PyTorch `torch.optim` optimizers (the learning rate comes from the schedule). torch's own checks (momentum,
eps, weight_decay ≥ 0; betas in [0, 1); Nesterov needs momentum and zero dampening) are the engine's, quoted, and
stated in the JSON schema (`checked`, and SGD's `if`/`then`)."""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from service.specs.kinds.base import AtLeastZero, Finite, Kind, ZeroToOne, checked

Betas = list[Annotated[Finite, checked(minimum=0, exclusiveMaximum=1)]]
"""Each in [0, 1), torch's rule ("Invalid beta parameter at index i")."""


class TorchOptimizer(Kind):
    library: ClassVar[str] = "torch"


class SGD(TorchOptimizer):
    """torch.optim.SGD: p ← p − lr·buf, buf = μ·buf + (1−dampening)·g (buf = g at first; lr kept out of buf)."""

    # torch's rule, stated: Nesterov needs a momentum and zero dampening
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"nesterov": {"const": True}}, "required": ["nesterov"]},
            "then": {
                "properties": {"momentum": {"exclusiveMinimum": 0}, "dampening": {"const": 0}},
                "required": ["momentum"],
            },
        }
    )

    kind: Literal["torch.SGD"]
    momentum: AtLeastZero = Field(
        0.0, description="Momentum factor μ (≥ 0); 0 = plain SGD. The buffer keeps raw gradients."
    )
    dampening: Finite = Field(
        0.0, description="Dampening for momentum: new gradients enter the buffer × (1 − dampening)."
    )
    weight_decay: AtLeastZero = Field(0.0, description="L2 penalty (≥ 0), added to the gradient: g + weight_decay·p.")
    nesterov: bool = Field(
        False, description="Nesterov momentum: step along g + μ·buf; needs momentum > 0 and dampening 0."
    )


class Adagrad(TorchOptimizer):
    """torch.optim.Adagrad: p ← p − clr·g/(√Σg² + eps), clr = lr/(1+(t−1)·lr_decay); eps outside √, sum from 0."""

    kind: Literal["torch.Adagrad"]
    lr_decay: AtLeastZero = Field(0.0, description="Rate decay (≥ 0): update t uses lr/(1 + (t−1)·lr_decay).")
    weight_decay: AtLeastZero = Field(0.0, description="L2 penalty (≥ 0), added to the gradient.")
    initial_accumulator_value: AtLeastZero = Field(
        0.0, description="Starting value of the sum of squares (≥ 0); TF uses 0.1."
    )
    eps: AtLeastZero = Field(1e-10, description="Added to √sum (outside the root; ≥ 0).")


class RMSprop(TorchOptimizer):
    """torch.optim.RMSprop: p ← p − lr·g/(√sq + eps), sq = α·sq + (1−α)·g²; α = 0.99 (TF/Keras 0.9), eps outside √."""

    kind: Literal["torch.RMSprop"]
    alpha: AtLeastZero = Field(0.99, description="Smoothing constant of the squared-gradient average (≥ 0).")
    eps: AtLeastZero = Field(1e-8, description="Added to the root (outside it; ≥ 0).")
    weight_decay: AtLeastZero = Field(0.0, description="L2 penalty (≥ 0), added to the gradient.")
    momentum: AtLeastZero = Field(0.0, description="Momentum (≥ 0): buf = μ·buf + g/avg and p ← p − lr·buf.")
    centered: bool = Field(False, description="Normalise by the variance estimate √(sq − mean(g)²) instead of √sq.")


def betas_field(description: str) -> Any:
    """torch's `betas=(0.9, 0.999)`: exactly two numbers."""
    return Field([0.9, 0.999], min_length=2, max_length=2, description=description)


class Adam(TorchOptimizer):
    """torch.optim.Adam: p ← p − lr/(1−β1^t)·m/(√v/√(1−β2^t) + eps); eps on the bias-corrected √v̂ (TF puts it on √v)."""

    kind: Literal["torch.Adam"]
    betas: Betas = betas_field("[β1, β2]: decay rates of the gradient mean and of its square, each in [0, 1).")
    eps: AtLeastZero = Field(1e-8, description="Added to √v̂ (≥ 0).")
    weight_decay: AtLeastZero = Field(
        0.0, description="L2 penalty (≥ 0) added to the gradient, or decoupled (see below)."
    )
    amsgrad: bool = Field(False, description="Use the running maximum of v (AMSGrad).")
    decoupled_weight_decay: bool = Field(
        False, description="Decay the weights directly, p ← p·(1 − lr·weight_decay), as AdamW does."
    )


class AdamW(TorchOptimizer):
    """torch.optim.AdamW: p ← p·(1 − lr·weight_decay), then Adam; weight_decay 1e-2 (Keras 0.004), scaled by lr."""

    kind: Literal["torch.AdamW"]
    betas: Betas = betas_field("[β1, β2]: decay rates of the gradient mean and of its square, each in [0, 1).")
    eps: AtLeastZero = Field(1e-8, description="Added to √v̂ (≥ 0).")
    weight_decay: AtLeastZero = Field(1e-2, description="Decoupled weight decay (≥ 0), multiplied by the current lr.")
    amsgrad: bool = Field(False, description="Use the running maximum of v (AMSGrad).")


class Adamax(TorchOptimizer):
    """torch.optim.Adamax: u = max(β2·u, |g| + eps), p ← p − lr/(1−β1^t)·m/u; eps inside the max (TF adds it to u)."""

    kind: Literal["torch.Adamax"]
    betas: Betas = betas_field("[β1, β2]: decay of the gradient mean and of the infinity norm, each in [0, 1).")
    eps: AtLeastZero = Field(1e-8, description="Added to |g| inside the max (≥ 0).")
    weight_decay: AtLeastZero = Field(0.0, description="L2 penalty (≥ 0), added to the gradient.")


class NAdam(TorchOptimizer):
    """torch.optim.NAdam: Adam with Nesterov momentum μ_t = β1·(1 − 0.5·0.96^(t·momentum_decay)); Keras uses 0.96^t."""

    kind: Literal["torch.NAdam"]
    betas: Betas = betas_field("[β1, β2]: decay rates of the gradient mean and of its square, each in [0, 1).")
    eps: AtLeastZero = Field(1e-8, description="Added to √v̂ (≥ 0).")
    weight_decay: AtLeastZero = Field(
        0.0, description="L2 penalty (≥ 0) added to the gradient, or decoupled (see below)."
    )
    momentum_decay: AtLeastZero = Field(4e-3, description="ψ in the momentum schedule 0.96^(t·ψ) (≥ 0).")
    decoupled_weight_decay: bool = Field(
        False, description="Decay the weights directly, p ← p·(1 − lr·weight_decay), as AdamW does."
    )


class Adadelta(TorchOptimizer):
    """torch.optim.Adadelta: p ← p − lr·√(acc + eps)/√(sq + eps)·g; torch's usual lr is 1.0 (TF/Keras default 0.001)."""

    kind: Literal["torch.Adadelta"]
    rho: ZeroToOne = Field(0.9, description="Decay of the squared-gradient and squared-update averages, in [0, 1].")
    eps: AtLeastZero = Field(1e-6, description="Added inside both roots (≥ 0).")
    weight_decay: AtLeastZero = Field(0.0, description="L2 penalty (≥ 0), added to the gradient.")


MODELS = (SGD, Adagrad, RMSprop, Adam, AdamW, Adamax, NAdam, Adadelta)
CYCLES_MOMENTUM = ("torch.SGD", "torch.RMSprop", "torch.Adam", "torch.AdamW", "torch.Adamax", "torch.NAdam")
"""The optimizers with a momentum or betas, which torch's CyclicLR and OneCycleLR cycle (`cycle_momentum`)."""
