"""Optimizers as `init`/`update` pairs over explicit state.

`update(w, g, lr, state, out)` writes the next weights into `out` (a distinct buffer of w's shape) and returns
the next state; `lr` is shaped (R, 1) so that it broadcasts over dimensions. State arrays are updated in place:
the loop owns them, and in-place ufuncs keep the step loop free of temporaries.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from service.engine.arrays import Array


class Optimizer(Protocol):
    def init(self, w: Array) -> Any: ...

    def update(self, w: Array, g: Array, lr: Array, state: Any, out: Array) -> Any: ...


class NoState(NamedTuple):
    """Plain gradient descent keeps no state."""


@dataclass(frozen=True)
class GradientDescent:
    """`w ← w − lr·g`, rounded after the product and after the difference, as TensorFlow's
    `ApplyGradientDescent` kernel, torch `SGD` and `optax.sgd` all compute it."""

    def init(self, w: Array) -> NoState:
        return NoState()

    def update(self, w: Array, g: Array, lr: Array, state: NoState, out: Array) -> NoState:
        np.multiply(g, lr, out=out)
        np.subtract(w, out, out=out)
        return state
