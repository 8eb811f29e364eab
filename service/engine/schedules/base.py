"""What a schedule is, the registry of schedule kinds, and helpers shared by the libraries' schedules.

A schedule is a pure function of the global step: steps shaped (n,) (int64) give rates shaped (n, P), where P = 1,
or P = R when a numeric parameter has one value per run (a sweep). Each schedule computes in its library's own
precision (TF1 and Keras in float32, PyTorch in Python doubles, Optax in the run's dtype); the loop casts the
result to the run's dtype, which is what the libraries do when they apply the rate.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from service.engine.arrays import Array, IntArray, Numbers, as_dtype_array
from service.engine.errors import ParameterError

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


class Schedule(Protocol):
    def __call__(self, steps: IntArray) -> Array: ...


@runtime_checkable
class CyclesMomentum(Protocol):
    """A schedule that also writes the optimizer's momentum (or Adam's beta1) at every step, as torch's CyclicLR
    and OneCycleLR do with `cycle_momentum=True`."""

    def __call__(self, steps: IntArray) -> Array: ...

    def momentum(self, steps: IntArray) -> Array:
        """The momentum used by each update, shaped (n, P), as Python doubles (float64)."""
        ...


@runtime_checkable
class ReadsLoss(Protocol):
    """A schedule that decides the next rate from the loss (torch's ReduceLROnPlateau): it cannot be evaluated
    ahead, so the loop asks it step by step. State arrays are shaped (R,) and updated in place."""

    def start(self, runs: int) -> Any:
        """The state before the first step."""
        ...

    def rate(self, state: Any) -> Array:
        """The rate of the current step, shaped (R,), float64."""
        ...

    def observe(self, state: Any, loss: Array) -> None:
        """Take the loss of the current row (R,) and move to the next step's rate."""
        ...


@runtime_checkable
class Bounded(Protocol):
    """A schedule the library refuses to evaluate past some step (torch's OneCycleLR past total_steps, a division
    by zero): `max_steps` is the largest `steps` a run may have (None: no limit), `horizon[1]` the library's reason."""

    @property
    def max_steps(self) -> int | None: ...

    @property
    def horizon(self) -> tuple[int | None, str]: ...


Factory = Callable[..., Schedule]
SCHEDULES: dict[str, Factory] = {}
"""Every schedule kind: `kind -> factory(dtype=..., **the library's keyword arguments)`."""


def register(kind: str) -> Callable[[Factory], Factory]:
    """Register a factory under its kind, `<library>.<name>`."""

    def add(factory: Factory) -> Factory:
        if kind in SCHEDULES:
            raise RuntimeError(f"schedule kind {kind} registered twice")
        SCHEDULES[kind] = factory
        return factory

    return add


def build(spec: Mapping[str, Any], dtype: np.dtype[np.floating], **extra: Any) -> Schedule:
    """The schedule for a spec `{"kind": ..., **parameters}` (nested specs are plain dicts too); `extra` adds
    parameters a parent passes down, such as torch's base `lr` for the children of a SequentialLR."""
    parameters = {name: value for name, value in spec.items() if name != "kind"}
    return SCHEDULES[spec["kind"]](dtype=dtype, **parameters, **extra)


def column(steps: IntArray, dtype: np.dtype[np.floating]) -> Array:
    """Steps as a column (n, 1) of `dtype`, ready to broadcast against parameters shaped (P,)."""
    return steps.astype(dtype)[:, None]


def param(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """A numeric parameter as an array (P,) of `dtype` (a number gives P = 1)."""
    return as_dtype_array(name, value, dtype)


def require(condition: bool | np.bool_, name: str, message: str) -> None:
    """Refuse a parameter unless `condition` holds; `message` quotes the library's rule."""
    if not condition:
        raise ParameterError(name, message)


@dataclass(frozen=True)
class Constant:
    """The same rate at every step."""

    rate: Array  # (P,)

    def __call__(self, steps: IntArray) -> Array:
        return np.broadcast_to(self.rate, (steps.size, self.rate.size))


@register("constant")
def constant(learning_rate: Numbers, dtype: np.dtype[np.floating]) -> Constant:
    """A constant rate; it must be finite (zero and negative rates are allowed: they show what they do)."""
    return Constant(param("learning_rate", learning_rate, dtype))
