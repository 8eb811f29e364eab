"""Optax schedules (`optax.*_schedule`, `optax.exponential_decay`, `optax.join_schedules`): functions of the
optimizer's int32 step count.

Numbers are computed as JAX does: float32 in float32 runs; in float64 runs (jax_enable_x64) polynomial, linear and
exponential schedules stay float32 (an int32 divided by an int is float32). An exponent written as a whole number
(`2`) is applied by repeated multiplication, one written with a point (`2.0`) by pow, as in jax.numpy.
"""

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from service.specs.kinds.base import (
    INT32_MAX,
    AboveZero,
    AtLeastZero,
    Finite,
    Int32,
    Kind,
    Strict,
    checked,
    tagged_union,
)

Exponent = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)] | Finite
"""A whole number (`2`) is applied by repeated multiplication (lax.integer_pow), a number with a point (`2.0`) by pow:
unlike an integer field's, a whole-number float stays a float here."""
STEP_KEY = (
    "^(0|[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}"
    "|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$"
)
"""A step written in digits, 0 to 2**31 - 1 (the engine's rule for a key of boundaries_and_scales, as a pattern)."""
BoundariesAndScales = Annotated[
    Annotated[dict[str, AtLeastZero], checked(propertyNames={"pattern": STEP_KEY})] | None,
    Field(
        None,
        max_length=1000,
        description='Steps (JSON keys, whole numbers from 0, e.g. {"10": 0.5}) and the factor multiplied in from '
        "that step on (inclusive: at t == step); the factors are cumulative and must be non-negative.",
    ),
]


class OptaxSchedule(Kind):
    library: ClassVar[str] = "optax"


def init_value_field() -> Any:
    return Field(description="Value at step 0.")


class ConstantSchedule(OptaxSchedule):
    """optax.constant_schedule: the same value at every step."""

    kind: Literal["optax.constant_schedule"]
    value: Finite = Field(description="The value at every step.")


class LinearSchedule(OptaxSchedule):
    """optax.linear_schedule: linear init_value → end_value over transition_steps; float32 even in float64 runs.

    init_value until transition_begin; float32 even in float64 runs (an int32 count divided by an int)."""

    kind: Literal["optax.linear_schedule"]
    init_value: Finite = init_value_field()
    end_value: Finite = Field(description="Value from transition_begin + transition_steps on.")
    transition_steps: Int32 = Field(
        description="Steps of the change; 0 or less holds init_value forever (optax only logs it)."
    )
    transition_begin: Int32 = Field(0, description="Steps held at init_value first; a negative value counts as 0.")


class PolynomialSchedule(OptaxSchedule):
    """optax.polynomial_schedule: (init − end)·(1 − (t − begin)/T)^power + end, flat outside [begin, begin + T].

    float32 even in float64 runs (an int32 count divided by an int)."""

    kind: Literal["optax.polynomial_schedule"]
    init_value: Finite = init_value_field()
    end_value: Finite = Field(description="Value from transition_begin + transition_steps on.")
    power: Exponent = Field(description="Power of the decay; a whole number (2) multiplies, 2.0 uses pow.")
    transition_steps: Int32 = Field(
        description="Steps of the change; 0 or less holds init_value forever (optax only logs it)."
    )
    transition_begin: Int32 = Field(0, description="Steps held at init_value first; a negative value counts as 0.")


class ExponentialDecay(OptaxSchedule):
    """optax.exponential_decay: init · decay_rate^((t − begin)/T), clipped at end_value; float32 even in float64.

    Floored exponent with staircase; init_value until transition_begin; float32 even in float64 runs."""

    kind: Literal["optax.exponential_decay"]
    init_value: Finite = init_value_field()
    transition_steps: Int32 = Field(
        description="Steps per factor of decay_rate; 0 or less holds init_value forever (optax only logs it)."
    )
    decay_rate: Finite = Field(description="Factor per transition_steps; 0 holds init_value forever (optax's rule).")
    transition_begin: Int32 = Field(0, description="Steps held at init_value first; a negative value counts as 0.")
    staircase: bool = Field(False, description="Decay in whole periods (floor of the exponent).")
    end_value: Finite | None = Field(
        None, description="A floor when decay_rate < 1, a ceiling when decay_rate > 1; none by default."
    )


class PiecewiseConstantSchedule(OptaxSchedule):
    """optax.piecewise_constant_schedule: init · the product of the scales at steps ≤ t (inclusive, unlike Keras).

    The scale applies at t == step, one step earlier than Keras/TF1's piecewise constant; scales are cumulative."""

    kind: Literal["optax.piecewise_constant_schedule"]
    init_value: Finite = init_value_field()
    boundaries_and_scales: BoundariesAndScales


class PiecewiseInterpolateSchedule(OptaxSchedule):
    """optax.piecewise_interpolate_schedule: linear or cosine moves between knots valued init, init·s1, init·s1·s2…

    Knots at steps 0, b1, b2, … (the scales are cumulative); the last value from the last step on."""

    kind: Literal["optax.piecewise_interpolate_schedule"]
    interpolate_type: Literal["linear", "cosine"] = Field(description="How to move between knots.")
    init_value: Finite = init_value_field()
    boundaries_and_scales: BoundariesAndScales


class CosineDecaySchedule(OptaxSchedule):
    """optax.cosine_decay_schedule: init · ((1 − alpha)·(½(1 + cos(π·min(t, D)/D)))^exponent + alpha), clamped."""

    kind: Literal["optax.cosine_decay_schedule"]
    init_value: Finite = init_value_field()
    decay_steps: Annotated[Int32, checked(minimum=1)] = Field(
        description="Steps of the decay; positive (optax's rule)."
    )
    alpha: Finite = Field(0.0, description="Final value as a fraction of init_value.")
    exponent: Exponent = Field(1.0, description="Power of the cosine factor; 1.0 is the plain cosine.")


class WarmupCosineKwargs(Strict):
    """One segment of an sgdr_schedule: warmup_cosine_decay_schedule's arguments."""

    init_value: Finite = init_value_field()
    peak_value: Finite = Field(description="Value at the end of the warmup.")
    warmup_steps: Int32 = Field(description="Steps of the linear warmup from init_value to peak_value.")
    decay_steps: Int32 = Field(
        description="TOTAL length of the segment, warmup included; must exceed warmup_steps (optax's rule)."
    )
    end_value: Finite = Field(0.0, description="Value at decay_steps and after.")
    exponent: Exponent = Field(1.0, description="Power of the cosine factor; 1.0 is the plain cosine.")


class WarmupCosineDecaySchedule(OptaxSchedule):
    """optax.warmup_cosine_decay_schedule: linear warmup to peak, cosine to end_value; decay_steps includes warmup.

    decay_steps is the TOTAL length (Keras's CosineDecay counts decay_steps after the warmup)."""

    kind: Literal["optax.warmup_cosine_decay_schedule"]
    init_value: Finite = init_value_field()
    peak_value: Finite = Field(description="Value at the end of the warmup.")
    warmup_steps: Int32 = Field(description="Steps of the linear warmup from init_value to peak_value.")
    decay_steps: Int32 = Field(
        description="TOTAL length of the schedule, warmup included; must exceed warmup_steps (optax's rule)."
    )
    end_value: Finite = Field(0.0, description="Value at decay_steps and after.")
    exponent: Exponent = Field(1.0, description="Power of the cosine factor; 1.0 is the plain cosine.")


class WarmupExponentialDecaySchedule(OptaxSchedule):
    """optax.warmup_exponential_decay_schedule: linear warmup to peak, then exponential decay from the warmup's end.

    The decay sees the step counted from the end of the warmup; float32 even in float64 runs."""

    kind: Literal["optax.warmup_exponential_decay_schedule"]
    init_value: Finite = init_value_field()
    peak_value: Finite = Field(description="Value at the end of the warmup, where the decay starts.")
    warmup_steps: Int32 = Field(description="Steps of the linear warmup from init_value to peak_value.")
    transition_steps: Int32 = Field(
        description="Steps per factor of decay_rate; 0 or less holds peak_value (optax only logs it)."
    )
    decay_rate: Finite = Field(description="Factor per transition_steps; 0 holds peak_value (optax's rule).")
    transition_begin: Int32 = Field(
        0, description="Steps after the warmup held at peak_value; a negative value counts as 0."
    )
    staircase: bool = Field(False, description="Decay in whole periods (floor of the exponent).")
    end_value: Finite | None = Field(
        None, description="A floor when decay_rate < 1, a ceiling when decay_rate > 1; none by default."
    )


class WarmupConstantSchedule(OptaxSchedule):
    """optax.warmup_constant_schedule: linear from init_value to peak_value over warmup_steps, then peak_value."""

    kind: Literal["optax.warmup_constant_schedule"]
    init_value: Finite = init_value_field()
    peak_value: Finite = Field(description="Value from warmup_steps on.")
    warmup_steps: Int32 = Field(description="Steps of the warmup; 0 or less holds init_value forever (optax's rule).")


class LinearOnecycleSchedule(OptaxSchedule):
    """optax.linear_onecycle_schedule: linear peak/div → peak → peak/div → peak/div/final_div, knots truncated.

    Knots at int(pct_start·T), int(pct_final·T) and T (a later knot replaces an earlier one at the same step)."""

    kind: Literal["optax.linear_onecycle_schedule"]
    transition_steps: Annotated[Int32, checked(minimum=1)] = Field(
        description="Length T of the cycle; positive (optax's rule)."
    )
    peak_value: Finite = Field(description="Highest value, at int(pct_start·T).")
    pct_start: Finite = Field(0.3, description="Fraction of T spent rising (the knot is truncated by int()).")
    pct_final: Finite = Field(0.85, description="Fraction of T at which the value is back at peak/div_factor.")
    div_factor: AboveZero = Field(25.0, description="The start value is peak_value / div_factor; positive.")
    final_div_factor: AboveZero = Field(
        1e4, description="The final value is peak_value / div_factor / final_div_factor; positive."
    )


class CosineOnecycleSchedule(OptaxSchedule):
    """optax.cosine_onecycle_schedule: cosine peak/div → peak at int(pct_start·T) → peak/(div·final_div) at T.

    torch's OneCycleLR peaks one step earlier (at pct_start·T − 1)."""

    kind: Literal["optax.cosine_onecycle_schedule"]
    transition_steps: Annotated[Int32, checked(minimum=1)] = Field(
        description="Length T of the cycle; positive (optax's rule)."
    )
    peak_value: Finite = Field(description="Highest value, at int(pct_start·T).")
    pct_start: Finite = Field(0.3, description="Fraction of T spent rising (the knot is truncated by int()).")
    div_factor: AboveZero = Field(25.0, description="The start value is peak_value / div_factor; positive.")
    final_div_factor: AboveZero = Field(
        1e4, description="The final value is peak_value / (div_factor · final_div_factor); positive."
    )


class SgdrSchedule(OptaxSchedule):
    """optax.sgdr_schedule: warmup-cosine segments end to end (warm restarts), each lasting its decay_steps."""

    kind: Literal["optax.sgdr_schedule"]
    cosine_kwargs: list[WarmupCosineKwargs] = Field(
        min_length=1, max_length=1000, description="The segments, in order: warmup_cosine_decay_schedule's arguments."
    )


LEAVES = (
    ConstantSchedule,
    LinearSchedule,
    PolynomialSchedule,
    ExponentialDecay,
    PiecewiseConstantSchedule,
    PiecewiseInterpolateSchedule,
    CosineDecaySchedule,
    WarmupCosineDecaySchedule,
    WarmupExponentialDecaySchedule,
    WarmupConstantSchedule,
    LinearOnecycleSchedule,
    CosineOnecycleSchedule,
    SgdrSchedule,
)
"""Every optax schedule but join_schedules."""


NestedChild = tagged_union(
    LEAVES,
    refusal="A join_schedules inside a join_schedules takes optax schedules other than join_schedules (one level of "
    "nesting; a deeper join can be flattened: its boundaries add up).",
)


class NestedJoinSchedules(OptaxSchedule):
    """optax.join_schedules inside a join_schedules: the same, its children not joins themselves."""

    variant: ClassVar[str] = "Nested"
    kind: Literal["optax.join_schedules"]
    schedules: list[NestedChild] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=1000, description="Optax schedules other than join_schedules, in order."
    )
    boundaries: list[Int32] = Field(
        max_length=999, description="Steps where the next schedule takes over; one fewer than schedules."
    )


JoinChild = tagged_union(
    (*LEAVES, NestedJoinSchedules), refusal="A join_schedules takes optax schedules (kinds starting with optax.)."
)


class JoinSchedules(OptaxSchedule):
    """optax.join_schedules: schedules one after another; each later one sees the step from its boundary (from 0)."""

    kind: Literal["optax.join_schedules"]
    schedules: list[JoinChild] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=1000,
        description="Optax schedules, in order; a child join_schedules cannot itself hold another.",
    )
    boundaries: list[Int32] = Field(
        max_length=999, description="Steps where the next schedule takes over; one fewer than schedules."
    )


MODELS = (*LEAVES, JoinSchedules)
