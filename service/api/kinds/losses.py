"""Loss kinds."""

from typing import Literal

from pydantic import Field

from service.api.kinds.base import Finite, Kind, NumberOrList


class QuadraticLoss(Kind):
    """a·(w + b)² + c, per dimension and summed, in TensorFlow's order of operations."""

    kind: Literal["quadratic"]
    a: NumberOrList = Field(1.0, description="Curvature/2 per dimension (one number for all, or one per dimension).")
    b: NumberOrList = Field(0.0, description="Shift: the minimum is at w = -b.")
    c: NumberOrList = Field(0.0, description="Offset: the minimum loss is the sum of c.")


class PolynomialLoss(Kind):
    """c0 + c1·w + … + cn·wⁿ in one variable (increasing degree, as numpy.polynomial)."""

    kind: Literal["polynomial"]
    coefficients: list[Finite] = Field(
        min_length=1, max_length=64, description="Coefficients c0, c1, …, cn in increasing degree."
    )


MODELS = (QuadraticLoss, PolynomialLoss)
