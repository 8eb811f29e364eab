"""Request and response bodies of `POST /v1/landscape` (a loss on a grid, for curve and contour plots)."""

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from service.specs.kinds.base import Finite, Strict, WholeNumber
from service.specs.kinds.losses import LossSpec, dimension_rules

MAX_RESOLUTION = 1000
"""Largest number of points per axis: a 2-D grid has at most 1000 x 1000 = 10^6 points (about 10 MB of JSON)."""

Bound = Annotated[list[Finite], Field(min_length=2, max_length=2, description="[lo, hi], lo < hi.")]


class LandscapeSpec(Strict):
    """A loss evaluated on a grid: one `[lo, hi]` range gives a curve, two (x, then y) give a contour grid."""

    model_config = ConfigDict(json_schema_extra={"allOf": dimension_rules("bounds")})

    loss: LossSpec
    bounds: list[Bound] = Field(
        min_length=1,
        max_length=2,
        description="One [lo, hi] per dimension of the loss: [[lo, hi]] for a 1-D loss, [[xlo, xhi], [ylo, yhi]] "
        "for a 2-D one.",
        examples=[[[-2.0, 2.0], [-1.0, 3.0]]],
    )
    resolution: Annotated[int, Field(ge=2, le=MAX_RESOLUTION), WholeNumber] = Field(
        101, description="Points per axis, ends included: n in 1-D, n x n in 2-D."
    )
    dtype: Literal["float32", "float64"] = Field("float32", description="Precision of the grid and the loss values.")
