"""Building blocks of the kind models: number types with the service's ranges, and the tagged unions.

Every kind model has `library` (whose numbers it reproduces) and a docstring whose first line is its one-line
description; its fields are the library's own keyword arguments, with the library's defaults.
"""

import inspect
import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Union, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

FLOAT32_MAX = 3.4028234663852886e38
"""Every number in a spec lies within float32's finite range, so that any run can be computed in either dtype."""
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
NonNegative = Annotated[float, Field(allow_inf_nan=False, ge=0, le=FLOAT32_MAX)]
DecaySteps = Annotated[float, Field(allow_inf_nan=False, ge=1e-30, le=FLOAT32_MAX)]
"""Positive, and at least 1e-30 so that it stays positive in float32."""
Positive = Annotated[float, Field(allow_inf_nan=False, gt=0, le=FLOAT32_MAX)]
Fraction = Annotated[float, Field(allow_inf_nan=False, ge=0, le=1)]
"""A number from 0 to 1 inclusive (a decay factor, a momentum, a percentage of the run)."""


def checked(**keywords: Any) -> Any:
    """A library's rule on one number, stated in the JSON schema (`minimum`, `exclusiveMaximum`, `not`, ...) and
    checked by the engine, which refuses with the library's own words: Pydantic does not check it, so that message
    is the one a client reads, located at the field. tests/specs/test_rules.py holds each statement to the engine."""
    return Field(json_schema_extra=keywords)


AtLeastZero = Annotated[Finite, checked(minimum=0)]
"""0 or more, the library's rule (torch's "Invalid ... value", ...)."""
AboveZero = Annotated[Finite, checked(exclusiveMinimum=0)]
"""Greater than 0, the library's rule (a divisor, a logarithm's argument)."""
ZeroToOne = Annotated[Finite, checked(minimum=0, maximum=1)]
"""From 0 to 1 inclusive, the library's rule."""
NotZero = Annotated[Finite, checked(**{"not": {"const": 0}})]
"""Any number but 0, the library's rule (a divisor)."""
PositiveInFloat32 = Annotated[Positive, checked(exclusiveMinimum=2**-150)]
"""Positive once rounded to float32, which the library computes in: 2**-150 and below round to 0."""
INT32_MAX = 2**31 - 1
"""The largest step: steps are counted in int32 (as TensorFlow, JAX and the engine count them)."""


def _whole_number(value: Any) -> Any:
    """A whole-number float (`3.0`) as the integer it is, for an integer field: JSON has one number type and many
    clients write every number with a point (JSON Schema's `integer` admits 3.0 too). Anything else goes to the
    integer validator unchanged, which refuses 3.5, strings and booleans."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_whole_number)
"""On every integer field of a spec, which is always bounded: `Annotated[int, Field(ge=..., le=...), WholeNumber]`
(the bounds before the validator, or the JSON schema writes them as `ge`/`le` instead of `minimum`/`maximum`)."""
StepCount = Annotated[int, Field(ge=0, le=INT32_MAX), WholeNumber]
"""A whole number of steps, 0 or more (an int32 step counter's range)."""
PositiveStepCount = Annotated[int, Field(ge=1, le=INT32_MAX), WholeNumber]
"""A whole number of steps, 1 or more."""
LibraryStepCount = Annotated[StepCount, checked(minimum=1)]
"""1 or more, the library's rule (a period, a divisor); 0 is refused by the engine with the library's words."""
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX), WholeNumber]
"""A whole number in int32's range (a step a library compares with its int32 step count; may be negative)."""


def _number_or_numbers(value: Any) -> float | list[float]:
    """A finite number, or a non-empty list of finite numbers (strings and booleans are refused)."""
    if isinstance(value, list):
        if not value:
            raise PydanticCustomError("too_short", "Give at least one number.")
        return [_finite(item, f"item {index}") for index, item in enumerate(value)]
    return _finite(value, "value")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError(
            "number_or_list", "Give a number or a list of numbers; {what} is {got}.", {"what": what, "got": repr(value)}
        )
    # abs() first: an int compares exactly, where float(10**400) (and math.isfinite of it) would overflow
    if abs(value) > FLOAT32_MAX or not math.isfinite(value):
        raise PydanticCustomError(
            "float32_range",
            "Give finite numbers within ±3.4e38 (float32's range); {what} is {got}.",
            {"what": what, "got": shown(value)},
        )
    return float(value)


def shown(value: int | float) -> str:
    """A number for a message: an integer too large for a float by its magnitude (`about 1e400`), not its digits."""
    if isinstance(value, int) and abs(value) > FLOAT32_MAX:
        return f"{'-' if value < 0 else ''}about 1e{int(math.log10(abs(value)))}"
    return repr(value)


NumberOrList = Annotated[
    float | list[float],
    PlainValidator(_number_or_numbers),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
                {
                    "type": "array",
                    "items": {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX},
                    "minItems": 1,
                },
            ]
        }
    ),
]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo never silently runs the wrong experiment."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Kind(Strict):
    """A catalogue entry: `library` names whose numbers it reproduces.

    Each kind model is named after its kind (`tf1.exponential_decay` → `Tf1ExponentialDecay`), so that the
    libraries' equal class names (Keras' and Optax's ExponentialDecay, torch's and Keras' SGD) stay distinct in
    OpenAPI; a variant of a kind (e.g. without a field) sets `variant`, which is appended.
    """

    library: ClassVar[str] = "all"
    variant: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        annotation = inspect.get_annotations(cls).get("kind")
        if annotation is not None:
            words = str(get_args(annotation)[0]).replace("_", ".").split(".")
            cls.__name__ = cls.__qualname__ = "".join(w[:1].upper() + w[1:] for w in words) + cls.variant


def kind_of(model: type[Kind]) -> str:
    """The `kind` tag of a kind model."""
    (tag,) = get_args(model.model_fields["kind"].annotation)
    return str(tag)


def tag_of(value: Any) -> str | None:
    """The discriminator of a spec: its `kind`, or "number" for a bare number (a constant rate)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    if isinstance(value, dict):
        kind = value.get("kind")
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


def tagged_union(models: Sequence[type[Kind]], number: bool = False, refusal: str | None = None) -> Any:
    """A union of kind models discriminated by `kind` (and a bare number tagged "number" when `number`); with
    `refusal`, any other kind is refused with that reason instead of a list of the expected kinds."""
    members: list[Any] = [Annotated[model, Tag(kind_of(model))] for model in models]
    if number:
        members.insert(0, Annotated[Finite, Tag("number")])
    discriminator = (
        Discriminator(tag_of, custom_error_type="kind_refused", custom_error_message=refusal)
        if refusal
        else Discriminator(tag_of)
    )
    return Annotated[Union[tuple(members)], discriminator]  # noqa: UP007 (a runtime-built union)
