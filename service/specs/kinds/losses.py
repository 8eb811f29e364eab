"""Loss kinds."""

from typing import Annotated, Any, Literal

from pydantic import Field

from service.specs.kinds.base import Finite, Kind, NumberOrList

FORMULA_LENGTH = 500
"""The engine's limit (`service.engine.expressions.MAX_LENGTH`; a test keeps them equal)."""


class QuadraticLoss(Kind):
    """a·(w + b)² + c, per dimension and summed, in TensorFlow's order of operations; in float32 over 8 or more
    dimensions the terms are added in tf.reduce_sum's order (Eigen's packets), not left to right."""

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


class ExpressionLoss(Kind):
    """A formula in w, or x and y, or w[0], w[1], …, such as (w + 1)**2, with exact gradients (autodiff).

    The variables are w (one dimension), x and y (w[0] and w[1]), or w[0], w[1], … for any dimension (w0 sets
    it). A formula uses numbers, + - * / ** and parentheses, unary minus, the constants pi and e, and the
    functions listed under `formula`; it is parsed against that whitelist, never run as code.
    """

    kind: Literal["expression"]
    formula: str = Field(
        min_length=1,
        max_length=FORMULA_LENGTH,
        description="The loss as a formula in w (or x, y, or w[0], w[1], …): numbers, + - * / **, parentheses, "
        "pi, e, and the functions exp, log, sqrt, sin, cos, tan, tanh, sinh, cosh, abs, square, log1p, expm1, "
        "atan, sigmoid, softplus. At most 500 characters, 250 terms and 50 levels of nesting.",
        # One example, two-dimensional as the w0 and bounds examples are, so that the document's examples fit
        # together (a 1-D `(w + 1)**2` or a 3-D `w[0]**2 + 10*w[1]**2 + sin(w[2])` cannot share a w0 with it).
        examples=["(1 - x)**2 + 100*(y - x**2)**2"],
    )


class QuadraticFormLoss(Kind):
    """½·wᵀAw + bᵀw + c: minimum at w = −S⁻¹b, with S = ½(A + Aᵀ), when S is positive definite."""

    kind: Literal["quadratic_form"]
    A: list[list[Finite]] = Field(
        min_length=1, description="The D×D matrix, as D rows of D numbers (D is w0's length); need not be symmetric."
    )
    b: NumberOrList = Field(0.0, description="Linear term: one number per dimension (or one number for all).")
    c: Finite = Field(0.0, description="Constant term.")


class RosenbrockLoss(Kind):
    """Rosenbrock's valley Σ b·(w[i+1] − w[i]²)² + (a − w[i])²: minimum 0 at (a, a²) in 2-D, (1, …, 1) for a = 1."""

    kind: Literal["rosenbrock"]
    a: Finite = Field(1.0, description="Where the valley floor starts: the 2-D minimum is at (a, a²).")
    b: Finite = Field(100.0, description="Steepness of the valley walls.")


class HimmelblauLoss(Kind):
    """Himmelblau's (x² + y − 11)² + (x + y² − 7)²: minima 0 at (3, 2), (−2.81, 3.13), (−3.78, −3.28), (3.58, −1.85)."""

    kind: Literal["himmelblau"]


class BealeLoss(Kind):
    """Beale's (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²: minimum 0 at (3, 0.5)."""

    kind: Literal["beale"]


class BoothLoss(Kind):
    """Booth's (x + 2y − 7)² + (2x + y − 5)²: minimum 0 at (1, 3)."""

    kind: Literal["booth"]


MODELS = (
    QuadraticLoss,
    PolynomialLoss,
    ExpressionLoss,
    QuadraticFormLoss,
    RosenbrockLoss,
    HimmelblauLoss,
    BealeLoss,
    BoothLoss,
)
LossSpec = Annotated[
    QuadraticLoss
    | PolynomialLoss
    | ExpressionLoss
    | QuadraticFormLoss
    | RosenbrockLoss
    | HimmelblauLoss
    | BealeLoss
    | BoothLoss,
    Field(discriminator="kind"),
]


FIXED_DIMS: dict[str, tuple[int, int | None]] = {
    "polynomial": (1, 1),
    "rosenbrock": (2, None),
    "himmelblau": (2, 2),
    "beale": (2, 2),
    "booth": (2, 2),
}
"""The dimensions (fewest, most; None: no limit) a loss kind takes whatever its parameters. The other kinds' depend
on their parameters (a list's length, A's size, the formula's variables), which JSON Schema cannot compare with w0's
length; the engine's `dims_problem` refuses them, and tests/specs/test_rules.py holds this table to it."""


def dimension_rules(points: Literal["w0", "bounds"]) -> list[Any]:
    """JSON Schema `if`/`then` rules stating FIXED_DIMS for a body with `loss` and `points`: `w0` (a number is one
    dimension, a list one per number) or a landscape's `bounds` (one [lo, hi] pair per dimension)."""
    rules = []
    for kind, (fewest, most) in FIXED_DIMS.items():
        points_schema: dict[str, Any]
        if points == "w0" and most == 1:
            points_schema = {"not": {"type": "array", "minItems": 2}}
        else:
            points_schema = {"type": "array", "minItems": fewest} if fewest > 1 else {"type": "array"}
            if most is not None:
                points_schema["maxItems"] = most
        condition = {"properties": {"loss": {"properties": {"kind": {"const": kind}}, "required": ["kind"]}}}
        rules.append({"if": {**condition, "required": ["loss"]}, "then": {"properties": {points: points_schema}}})
    return rules
