"""What an optimizer is, the registry of optimizer kinds, and plain gradient descent.

An optimizer is an `init`/`update` pair over explicit state. `update(w, g, lr, state, out)` writes the next
weights into `out` (a distinct buffer shaped like w, (R, D)) and returns the next state; `lr` is shaped (R, 1) in the
run's dtype. State is a NamedTuple of arrays that `update` may modify in place (the loop owns them).
Numeric hyperparameters are arrays shaped (P, 1) (P = 1, or R in a sweep), so they broadcast over (R, D).
`slots(state)` names the state a trace records (`record.state`), with the library's own names, each shaped (R, D).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from service.engine.arrays import Array, Numbers, as_dtype_array
from service.engine.errors import ParameterError

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)


class Optimizer(Protocol):
    cycles_momentum: bool
    """Whether a torch CyclicLR/OneCycleLR may drive this optimizer's momentum (or beta1)."""

    def init(self, w: Array) -> Any: ...

    def update(self, w: Array, g: Array, lr: Array, state: Any, out: Array, momentum: Array | None = None) -> Any:
        """`momentum` (R, 1), when given, replaces the momentum (or beta1) hyperparameter for this update."""
        ...

    def slots(self, state: Any) -> dict[str, Array]: ...


Factory = Callable[..., Optimizer]
OPTIMIZERS: dict[str, Factory] = {}
"""Every optimizer kind: `kind -> factory(dtype=..., **the library's keyword arguments)`."""


def register(kind: str) -> Callable[[Factory], Factory]:
    """Register a factory under its kind, `<library>.<Name>`."""

    def add(factory: Factory) -> Factory:
        if kind in OPTIMIZERS:
            raise RuntimeError(f"optimizer kind {kind} registered twice")
        OPTIMIZERS[kind] = factory
        return factory

    return add


def build(spec: Mapping[str, Any], dtype: np.dtype[np.floating]) -> Optimizer:
    """The optimizer for a spec `{"kind": ..., **parameters}`."""
    parameters = {name: value for name, value in spec.items() if name != "kind"}
    return OPTIMIZERS[spec["kind"]](dtype=dtype, **parameters)


def hyper(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """A hyperparameter as a column (P, 1) of `dtype`."""
    return as_dtype_array(name, value, dtype)[:, None]


def hyper_via_float32(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """A hyperparameter rounded to float32 first, then cast to `dtype`: TF1 and Keras convert Python floats to
    float32 tensors even for float64 variables (NUMERICS.md §3, float-precision details)."""
    return hyper(name, value, F32).astype(dtype)


def require(condition: bool | np.bool_, name: str, message: str) -> None:
    """Refuse a parameter unless `condition` holds; `message` quotes the library's rule."""
    if not condition:
        raise ParameterError(name, message)


class NoState(NamedTuple):
    """Plain gradient descent keeps no state."""


def rate_via_float32(lr: Array) -> Array:
    """The rate as TF1 and Keras apply it: a float32 tensor cast to the variable's dtype (a no-op in float32)."""
    return lr if lr.dtype == F32 else lr.astype(F32).astype(lr.dtype)


@dataclass(frozen=True)
class GradientDescent:
    """`w ← w − lr·g`, rounded after the product and after the difference, as TensorFlow's
    `ApplyGradientDescent` kernel, torch `SGD` and `optax.sgd` all compute it. `tensorflow`: the rate passes
    through float32 first, as in TF1 and Keras."""

    tensorflow: bool = False
    cycles_momentum = False

    def init(self, w: Array) -> NoState:
        return NoState()

    def update(
        self, w: Array, g: Array, lr: Array, state: NoState, out: Array, momentum: Array | None = None
    ) -> NoState:
        np.multiply(g, rate_via_float32(lr) if self.tensorflow else lr, out=out)
        np.subtract(w, out, out=out)
        return state

    def slots(self, state: NoState) -> dict[str, Array]:
        return {}


@register("sgd")
def sgd(*, dtype: np.dtype[np.floating]) -> GradientDescent:
    """Plain gradient descent, the same in every library."""
    return GradientDescent()


@register("tf1.GradientDescentOptimizer")
def tf1_gradient_descent(*, dtype: np.dtype[np.floating]) -> GradientDescent:
    """`tf.compat.v1.train.GradientDescentOptimizer`: the ApplyGradientDescent kernel."""
    return GradientDescent(tensorflow=True)
