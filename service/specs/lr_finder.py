"""Request and response bodies of `POST /v1/lr-finder` (the learning-rate range test)."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from service.specs.kinds.base import FLOAT32_MAX, NumberOrList, Positive, Strict, WholeNumber
from service.specs.kinds.losses import LossSpec, dimension_rules
from service.specs.kinds.optimizers import OptimizerSpec
from service.specs.kinds.optimizers.common import SGD

MAX_NUM_ITER = 10_000
"""Largest `num_iter`: the test's points come back in one JSON answer (and the libraries' default is 100)."""

SmoothingFactor = Annotated[float, Field(allow_inf_nan=False, ge=0, lt=1)]
Threshold = Annotated[float, Field(allow_inf_nan=False, ge=1, le=FLOAT32_MAX)]


class LRFinderSpec(Strict):
    """The learning-rate range test of torch-lr-finder and fastai: the rate grows from `start_lr` to `end_lr` over
    `num_iter` updates from `w0`; the smoothed loss is recorded and the test stops once it exceeds `diverge_th`
    times the best so far. `end_lr` must be larger than `start_lr`."""

    model_config = ConfigDict(json_schema_extra={"allOf": dimension_rules("w0")})

    loss: LossSpec
    w0: NumberOrList = Field(
        description="Starting point: a number, or one number per dimension.", examples=[[-1.5, 2.0]]
    )
    optimizer: OptimizerSpec = Field(
        default_factory=lambda: SGD(kind="sgd"), description="The update rule; the rate comes from the test."
    )
    dtype: Literal["float32", "float64"] = Field("float32", description="Arithmetic precision of the whole test.")
    start_lr: Positive = Field(1e-7, description="The first rate (torch-lr-finder and fastai default 1e-7).")
    end_lr: Positive = Field(10.0, description="The last rate, reached at update num_iter - 1; above start_lr.")
    num_iter: Annotated[int, Field(ge=2, le=MAX_NUM_ITER), WholeNumber] = Field(
        100, description="Number of updates (rates) in the test."
    )
    step_mode: Literal["exp", "linear"] = Field(
        "exp",
        description="How the rate grows at update k = 0 .. num_iter - 1, with r = k / (num_iter - 1): "
        "exp: start_lr·(end_lr/start_lr)^r; linear: start_lr + r·(end_lr - start_lr) (torch-lr-finder's "
        "ExponentialLR and LinearLR).",
    )
    smooth_f: SmoothingFactor = Field(
        0.05,
        description="Smoothing factor in [0, 1): smoothed = smooth_f·loss + (1 - smooth_f)·previous smoothed "
        "(the first is the loss itself); 0 turns smoothing off.",
    )
    diverge_th: Threshold = Field(
        5.0,
        description="Stop once the smoothed loss exceeds diverge_th times the best smoothed loss so far. As in the "
        "libraries, the rule assumes a positive loss: a negative one stops the test at once (shift it with c).",
    )
