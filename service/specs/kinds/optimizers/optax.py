"""Optax optimizer aliases (the learning rate comes from the schedule). Optax validates none of these numbers."""

from typing import ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import Finite, Kind


class OptaxOptimizer(Kind):
    library: ClassVar[str] = "optax"


class SGD(OptaxOptimizer):
    """optax.sgd: trace = g + momentum·trace, p ← p − lr·trace (the torch form: lr kept out of the trace)."""

    kind: Literal["optax.sgd"]
    momentum: Finite | None = Field(None, description="Decay of the trace (optax.trace); null = no momentum at all.")
    nesterov: bool = Field(False, description="Step along g + momentum·trace; ignored without momentum.")


class Adam(OptaxOptimizer):
    """optax.adam: p ← p − lr·m̂/(√(v̂ + eps_root) + eps), bias-corrected moments; eps on √v̂ like torch (not TF)."""

    kind: Literal["optax.adam"]
    b1: Finite = Field(0.9, description="Decay of the gradient mean.")
    b2: Finite = Field(0.999, description="Decay of the squared-gradient mean.")
    eps: Finite = Field(1e-8, description="Added to √(v̂ + eps_root).")
    eps_root: Finite = Field(0.0, description="Added to v̂ inside the square root.")
    nesterov: bool = Field(False, description="Nesterov momentum (NAdam): m̂ = b1·m/(1−b1^(t+1)) + (1−b1)·g/(1−b1^t).")


class AdamW(OptaxOptimizer):
    """optax.adamw: Adam's step plus weight_decay·p, both × lr; weight_decay defaults to 1e-4 (torch 1e-2)."""

    kind: Literal["optax.adamw"]
    b1: Finite = Field(0.9, description="Decay of the gradient mean.")
    b2: Finite = Field(0.999, description="Decay of the squared-gradient mean.")
    eps: Finite = Field(1e-8, description="Added to √(v̂ + eps_root).")
    eps_root: Finite = Field(0.0, description="Added to v̂ inside the square root.")
    weight_decay: Finite = Field(1e-4, description="Decoupled weight decay: weight_decay·p is added to the update.")
    nesterov: bool = Field(False, description="Nesterov momentum (NAdamW).")


class RMSprop(OptaxOptimizer):
    """optax.rmsprop: p ← p − lr·g/√(nu + eps), nu = decay·nu + (1−decay)·g²; eps inside √, momentum trace after lr."""

    kind: Literal["optax.rmsprop"]
    decay: Finite = Field(0.9, description="Decay of the squared-gradient average (torch's alpha, 0.99 there).")
    eps: Finite = Field(1e-8, description="Added to nu inside the root (eps_in_sqrt) or to √nu.")
    initial_scale: Finite = Field(0.0, description="Starting value of nu: torch uses 0, TF1 uses 1.")
    eps_in_sqrt: bool = Field(True, description="Put eps inside the square root (false: add it to √nu, as torch).")
    centered: bool = Field(False, description="Normalise by the variance: nu − mu², mu the gradient average.")
    momentum: Finite | None = Field(
        None, description="Decay of a trace of the lr-scaled updates (lr inside, as TF1); null = none."
    )
    nesterov: bool = Field(False, description="Nesterov form of the momentum trace.")
    bias_correction: bool = Field(False, description="Divide nu (and mu when centered) by 1 − decay^t.")


class Adagrad(OptaxOptimizer):
    """optax.adagrad: p ← p − lr·g/√(Σg² + eps); sum starts at 0.1 (torch 0), eps inside √ (torch: outside)."""

    kind: Literal["optax.adagrad"]
    initial_accumulator_value: Finite = Field(0.1, description="Starting value of the sum of squared gradients.")
    eps: Finite = Field(1e-7, description="Added to the sum inside the square root.")


class Adamax(OptaxOptimizer):
    """optax.adamax: nu = max(|g| + eps, b2·nu), p ← p − lr·(m/(1−b1^t))/nu; eps inside the max, as torch."""

    kind: Literal["optax.adamax"]
    b1: Finite = Field(0.9, description="Decay of the gradient mean.")
    b2: Finite = Field(0.999, description="Decay of the infinity norm.")
    eps: Finite = Field(1e-8, description="Added to |g| inside the max.")


class NAdam(OptaxOptimizer):
    """optax.nadam: optax.adam with nesterov=True; no momentum_decay schedule (torch NAdam has one)."""

    kind: Literal["optax.nadam"]
    b1: Finite = Field(0.9, description="Decay of the gradient mean.")
    b2: Finite = Field(0.999, description="Decay of the squared-gradient mean.")
    eps: Finite = Field(1e-8, description="Added to √(v̂ + eps_root).")
    eps_root: Finite = Field(0.0, description="Added to v̂ inside the square root.")
    nesterov: bool = Field(True, description="optax.nadam is functools.partial(adam, nesterov=True); false = Adam.")


class Adadelta(OptaxOptimizer):
    """optax.adadelta: p ← p − lr·√(e_x + eps)/√(e_g + eps)·g, the same rule as torch (rho 0.9, eps 1e-6)."""

    kind: Literal["optax.adadelta"]
    rho: Finite = Field(0.9, description="Decay of the squared-gradient and squared-update averages.")
    eps: Finite = Field(1e-6, description="Added inside both roots.")
    weight_decay: Finite = Field(0.0, description="Added to the gradient as weight_decay·p (L2).")


MODELS = (SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, NAdam, Adadelta)
