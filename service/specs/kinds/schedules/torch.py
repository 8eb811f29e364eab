"""PyTorch `torch.optim.lr_scheduler` schedulers (the optimizer is implicit; the rate is a Python double).

A scheduler that scales the optimizer's rate takes that rate as `lr` (torch's `initial_lr`). The children of
SequentialLR and ChainedScheduler take no `lr`: they scale their parent's, as torch children share the optimizer's.
CyclicLR and OneCycleLR set the rate themselves, so they have no `lr`. LambdaLR and MultiplicativeLR take Python
functions and are not served; nor is CyclicLR's `scale_fn`.
"""

import inspect
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, create_model

from service.engine.schedules import torch as engine_torch
from service.specs.kinds.base import (
    INT32_MAX,
    Finite,
    Kind,
    LibraryStepCount,
    NotZero,
    StepCount,
    ZeroToOne,
    checked,
    kind_of,
    tagged_union,
)

Milestones = Annotated[list[StepCount], Field(max_length=1000)]


class TorchSchedule(Kind):
    library: ClassVar[str] = "torch"


def base_lr_field() -> Any:
    return Field(description="The optimizer's learning rate (torch's initial_lr), which the scheduler scales.")


class StepLR(TorchSchedule):
    """torch StepLR: lr · gamma^(k // step_size), a drop every step_size steps (the first at k = step_size)."""

    kind: Literal["torch.StepLR"]
    lr: Finite = base_lr_field()
    step_size: LibraryStepCount = Field(description="Steps between drops; at least 1 (torch divides by it).")
    gamma: Finite = Field(0.1, description="Factor applied at each drop.")


class MultiStepLR(TorchSchedule):
    """torch MultiStepLR: lr · gamma^(number of milestones ≤ k); the drop happens at k = milestone."""

    kind: Literal["torch.MultiStepLR"]
    lr: Finite = base_lr_field()
    milestones: Milestones = Field(description="Steps where the rate drops; a repeated milestone drops twice.")
    gamma: Finite = Field(0.1, description="Factor applied at each milestone.")


class ConstantLR(TorchSchedule):
    """torch ConstantLR: lr · factor before total_iters, lr from then on (total_iters 0: lr · factor forever)."""

    kind: Literal["torch.ConstantLR"]
    lr: Finite = base_lr_field()
    factor: ZeroToOne = Field(1.0 / 3, description="Multiplier until total_iters, from 0 to 1 (torch's rule).")
    total_iters: StepCount = Field(
        5,
        description="Steps at the reduced rate. torch's recursion never restores the rate when this is 0; with "
        "factor 0 it divides by zero at this step.",
    )


class LinearLR(TorchSchedule):
    """torch LinearLR: lr · a factor going linearly from start_factor to end_factor over total_iters, then flat.

    With total_iters 0 torch's recursion stays at lr · start_factor forever."""

    kind: Literal["torch.LinearLR"]
    lr: Finite = base_lr_field()
    start_factor: Annotated[Finite, checked(exclusiveMinimum=0, maximum=1)] = Field(
        1.0 / 3, description="Factor at step 0; greater than 0, at most 1 (torch's rule)."
    )
    end_factor: ZeroToOne = Field(1.0, description="Factor from total_iters on; from 0 to 1 (torch's rule).")
    total_iters: StepCount = Field(5, description="Steps of the linear change.")


class ExponentialLR(TorchSchedule):
    """torch ExponentialLR: lr · gamma^k."""

    kind: Literal["torch.ExponentialLR"]
    lr: Finite = base_lr_field()
    gamma: Finite = Field(description="Factor applied every step; required, as in torch.")


class PolynomialLR(TorchSchedule):
    """torch PolynomialLR: lr · (1 − min(k, total_iters)/total_iters)^power; decays to 0, not to an end rate.

    Unlike Keras's PolynomialDecay (end 1e-4 by default) it reaches exactly 0 and stays there."""

    kind: Literal["torch.PolynomialLR"]
    lr: Finite = base_lr_field()
    total_iters: StepCount = Field(5, description="Steps to reach 0 (0: the rate never moves, as in torch).")
    power: Finite = Field(1.0, description="Power of the polynomial (negative: torch fails at total_iters).")


class CosineAnnealingLR(TorchSchedule):
    """torch CosineAnnealingLR: half-cosine from lr down to eta_min over T_max; periodic: not clamped after T_max.

    eta_min + (lr − eta_min)(1 + cos(π k / T_max))/2: it climbs back to lr at 2·T_max. Computed as torch computes
    it, recursively (each step scales the previous rate), which drifts from that closed form by ~3e-16 relative per
    step (more than 1e-12 past ~3,500 steps)."""

    kind: Literal["torch.CosineAnnealingLR"]
    lr: Finite = base_lr_field()
    T_max: LibraryStepCount = Field(description="Half-period in steps: the rate reaches eta_min at T_max; at least 1.")
    eta_min: Finite = Field(0.0, description="Lowest rate.")


class CosineAnnealingWarmRestarts(TorchSchedule):
    """torch CosineAnnealingWarmRestarts (SGDR): cosine from lr towards eta_min, restarting at lr every T_i steps.

    T_i starts at T_0 and is multiplied by T_mult at each restart."""

    kind: Literal["torch.CosineAnnealingWarmRestarts"]
    lr: Finite = base_lr_field()
    T_0: LibraryStepCount = Field(description="Length of the first cycle; an integer > 0 (torch's rule).")
    T_mult: LibraryStepCount = Field(1, description="Growth of the cycle length at each restart; an integer ≥ 1.")
    eta_min: Finite = Field(0.0, description="Lowest rate (never reached exactly: restarts come first).")


class CyclicLR(TorchSchedule):
    """torch CyclicLR: cycles between base_lr and max_lr; by default cycles momentum (or Adam's beta1) inversely.

    Momentum cycling even turns momentum on in a torch.SGD with momentum 0, as torch does. Modes triangular,
    triangular2 and exp_range; a custom scale_fn (a Python callable) is not served."""

    kind: Literal["torch.CyclicLR"]
    base_lr: Finite = Field(description="Lower rate, at the start of each cycle (replaces the optimizer's rate).")
    max_lr: Finite = Field(description="Upper rate, reached step_size_up steps into each cycle (before scaling).")
    step_size_up: LibraryStepCount = Field(2000, description="Steps from base_lr up to max_lr; at least 1.")
    step_size_down: StepCount | None = Field(None, description="Steps back down; None means step_size_up.")
    mode: Literal["triangular", "triangular2", "exp_range"] = Field(
        "triangular",
        description="triangular: constant amplitude; triangular2: halved every cycle; exp_range: scaled by "
        "gamma^k. (A custom scale_fn, a Python callable in torch, is not served.)",
    )
    gamma: Finite = Field(1.0, description="exp_range's per-step factor on the amplitude.")
    scale_mode: Literal["cycle", "iterations"] = Field(
        "cycle",
        description="Only used by torch with a custom scale_fn (not served): the built-in modes set it "
        "themselves (exp_range scales per iteration, the others per cycle), so it has no effect here.",
    )
    cycle_momentum: bool = Field(
        True,
        description="Also cycle momentum (or Adam's beta1), between max_momentum and base_momentum; needs an "
        "optimizer with momentum or betas, and turns momentum on in a torch.SGD with momentum 0.",
    )
    base_momentum: Finite = Field(0.8, description="Momentum at the peak rate.")
    max_momentum: Finite = Field(0.9, description="Momentum at the base rate (and at step 0).")


class OneCycleLR(TorchSchedule):
    """torch OneCycleLR: max_lr/div_factor up to max_lr, then far below; cycles momentum; at most total_steps.

    The rate falls to max_lr/div_factor/final_div_factor at total_steps − 1; momentum (or Adam's beta1) cycles
    inversely by default. torch raises when stepped past total_steps, so a run has at most total_steps steps."""

    # torch's rule, stated: total_steps (1 or more), or else epochs and steps_per_epoch (1 or more each)
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["total_steps"],
                    "properties": {"total_steps": {"type": "integer", "minimum": 1, "maximum": INT32_MAX}},
                },
                {
                    "required": ["epochs", "steps_per_epoch"],
                    "properties": {
                        "total_steps": {"type": "null"},
                        "epochs": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                        "steps_per_epoch": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
                    },
                },
            ]
        }
    )

    kind: Literal["torch.OneCycleLR"]
    max_lr: Finite = Field(description="Peak rate (the optimizer's rate is ignored).")
    total_steps: StepCount | None = Field(
        None, description="Length of the cycle; or give epochs and steps_per_epoch. A run may have at most this."
    )
    epochs: StepCount | None = Field(None, description="With steps_per_epoch: total_steps = epochs·steps_per_epoch.")
    steps_per_epoch: StepCount | None = Field(None, description="Steps per epoch (with epochs).")
    pct_start: ZeroToOne = Field(0.3, description="Fraction of the cycle spent increasing the rate, from 0 to 1.")
    anneal_strategy: Literal["cos", "linear"] = Field("cos", description="Shape of each phase.")
    cycle_momentum: bool = Field(
        True,
        description="Also cycle momentum (or Adam's beta1), from max_momentum down to base_momentum and back; "
        "needs an optimizer with momentum or betas, and turns momentum on in a torch.SGD with momentum 0.",
    )
    base_momentum: Finite = Field(0.85, description="Momentum at the peak rate.")
    max_momentum: Finite = Field(0.95, description="Momentum at the start and the end.")
    div_factor: NotZero = Field(25.0, description="Initial rate = max_lr / div_factor; not 0.")
    final_div_factor: NotZero = Field(1e4, description="Final rate = initial rate / final_div_factor; not 0.")
    three_phase: bool = Field(
        False, description="Go back down to the initial rate symmetrically before the final annealing."
    )


class ReduceLROnPlateau(TorchSchedule):
    """torch ReduceLROnPlateau: rate × factor after more than patience steps without a better loss.

    Stepped with the loss of row t after update t; a NaN loss is never better."""

    kind: Literal["torch.ReduceLROnPlateau"]
    lr: Finite = base_lr_field()
    mode: Literal["min", "max"] = Field("min", description="min: better means lower loss; max: higher.")
    factor: Annotated[Finite, checked(exclusiveMaximum=1)] = Field(
        0.1, description="Multiplier at each reduction; less than 1 (torch's rule)."
    )
    patience: StepCount = Field(
        10, description="Steps without improvement tolerated: the cut comes on the (patience+1)-th."
    )
    threshold: Finite = Field(1e-4, description="How much better counts as better (see threshold_mode).")
    threshold_mode: Literal["rel", "abs"] = Field(
        "rel", description="rel: better than best·(1 ∓ threshold); abs: better than best ∓ threshold."
    )
    cooldown: StepCount = Field(0, description="Steps after a cut during which bad steps are not counted.")
    min_lr: Finite = Field(0.0, description="Lower bound of the rate.")
    eps: Finite = Field(1e-8, description="A cut smaller than this is skipped.")


class TorchChild(TorchSchedule):
    """A scheduler inside a SequentialLR or ChainedScheduler (its model is named `<Kind>Child`)."""

    variant: ClassVar[str] = "Child"


def _as_child(model: type[TorchSchedule]) -> type[TorchSchedule]:
    """The model without `lr`, for a child of SequentialLR or ChainedScheduler (it scales the parent's lr)."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in model.model_fields.items() if name != "lr"
    }
    note = "As a child it takes no lr: it scales its SequentialLR's or ChainedScheduler's lr."
    doc = f"{inspect.cleandoc(model.__doc__ or '')}\n\n{note}"
    child: type[TorchSchedule] = create_model(
        f"{model.__name__}Child", __base__=TorchChild, __module__=__name__, __doc__=doc, **fields
    )
    return child


_SCALING = (
    StepLR,
    MultiStepLR,
    ConstantLR,
    LinearLR,
    ExponentialLR,
    PolynomialLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
)
_BY_KIND = {kind_of(model): model for model in _SCALING}
# The lists of what may be composed live once, in the engine; these are their models.
CHAINABLE = tuple(_BY_KIND[kind] for kind in engine_torch.CHAINED_CHILDREN)
SEQUENCEABLE = tuple(_BY_KIND[kind] for kind in engine_torch.SEQUENTIAL_CHILDREN)
_CHILDREN = {model: _as_child(model) for model in SEQUENCEABLE}
SEQUENTIAL_REFUSAL = (
    "SequentialLR sequences schedulers that scale the optimizer's rate: "
    + ", ".join(kind_of(model) for model in SEQUENCEABLE)
    + ". torch refuses ReduceLROnPlateau (SequentialLR does not support `ReduceLROnPlateau` scheduler as it "
    "requires additional kwargs to be specified when calling `step`); CyclicLR, OneCycleLR (which set the rate and "
    "the momentum themselves) and nested SequentialLR/ChainedScheduler are not served."
)
CHAINED_REFUSAL = (
    "ChainedScheduler chains only the multiplicative schedulers: "
    + ", ".join(kind_of(model) for model in CHAINABLE)
    + ". The others overwrite or shift the rate each step, so torch's result depends on the order of the chain "
    "(pytorch/pytorch#129565); use SequentialLR to run schedulers one after another."
)
SequenceChild = tagged_union([_CHILDREN[model] for model in SEQUENCEABLE], refusal=SEQUENTIAL_REFUSAL)
ChainChild = tagged_union([_CHILDREN[model] for model in CHAINABLE], refusal=CHAINED_REFUSAL)


class SequentialLR(TorchSchedule):
    """torch SequentialLR: schedulers one after another at the milestones, each restarting at its own step 0.

    Each child starts again from lr, not from where the previous one stopped."""

    kind: Literal["torch.SequentialLR"]
    lr: Finite = base_lr_field()
    schedulers: list[SequenceChild] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=100,
        description="The schedulers, without lr (they scale this lr): StepLR, MultiStepLR, ConstantLR, LinearLR, "
        "ExponentialLR, PolynomialLR, CosineAnnealingLR or CosineAnnealingWarmRestarts.",
    )
    milestones: Milestones = Field(
        description="Steps where the next scheduler takes over, in increasing order; one fewer than schedulers."
    )


class ChainedScheduler(TorchSchedule):
    """torch ChainedScheduler: lr times the product of its multiplicative schedulers' factors.

    Every child steps the same rate each step. Children are limited to the multiplicative schedulers: with the
    others torch's result depends on the order of the chain (pytorch/pytorch#129565)."""

    kind: Literal["torch.ChainedScheduler"]
    lr: Finite = base_lr_field()
    schedulers: list[ChainChild] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=100,
        description="The schedulers, without lr (they scale this lr): StepLR, MultiStepLR, ConstantLR, LinearLR, "
        "ExponentialLR or PolynomialLR.",
    )


MODELS = (
    StepLR,
    MultiStepLR,
    ConstantLR,
    LinearLR,
    ExponentialLR,
    PolynomialLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    ChainedScheduler,
)
