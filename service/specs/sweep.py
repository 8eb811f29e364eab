"""The sweep spec: a base run and up to four axes of real-valued parameters, varied over a grid."""

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from service.specs.kinds.base import Finite, Strict, WholeNumber
from service.specs.run import RunSpec

Count = Annotated[int, Field(ge=1, le=1_000_000), WholeNumber]
"""How many values an axis takes (a grid has at most the server's `max_sweep_runs` points)."""


class Linspace(Strict):
    """`num` evenly spaced values from `start` to `stop` (numpy.linspace)."""

    start: Finite
    stop: Finite
    num: Count = Field(description="How many values.")
    endpoint: bool = Field(True, description="Include `stop`.")


class Logspace(Strict):
    """`num` values evenly spaced on a log scale from base**start to base**stop (numpy.logspace): start and stop
    are exponents."""

    start: Finite = Field(ge=-300, le=300)
    stop: Finite = Field(ge=-300, le=300)
    num: Count = Field(description="How many values.")
    base: Finite = Field(10.0, gt=0)
    endpoint: bool = Field(True, description="Include base**stop.")


SOURCES = ("values", "linspace", "logspace")


class Axis(Strict):
    """One parameter varied over values: a dotted path into the base spec and exactly one of values, linspace,
    logspace."""

    # The schema says "exactly one" too: each branch of the oneOf is one source given (present and not null).
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": [source], "properties": {source: {"not": {"type": "null"}}}} for source in SOURCES]
        }
    )

    path: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$",
        max_length=200,
        description="Where in the spec: `schedule.learning_rate`, `optimizer.momentum`, `optimizer.betas.0`, `w0`, "
        "`w0.1`, `loss.a`, `loss.b.0`, ... A real-valued parameter (whole-number ones change the loop itself).",
        examples=["schedule.learning_rate"],
    )
    values: list[Finite] | None = Field(None, min_length=1, max_length=1_000_000)
    linspace: Linspace | None = None
    logspace: Logspace | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "Axis":
        given = [name for name in SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of values, linspace, logspace (got {', '.join(given) or 'none'})")
        return self


class SweepSpec(Strict):
    """A grid of runs: the base run with each axis's parameter varied; the grid is the cartesian product."""

    base: RunSpec
    axes: list[Axis] = Field(min_length=1, max_length=4, description="The parameters varied, outermost first.")
    max_points: Annotated[int, Field(ge=2, le=10_000), WholeNumber] | None = Field(
        None, description="Keep each run's trace, thinned to this many rows; none by default."
    )
    name: str | None = Field(None, max_length=200, description="A label shown in lists and dashboards.")
