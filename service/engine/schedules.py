"""Learning-rate schedules: pure functions of the global step, evaluated for a whole chunk of steps at once.

A schedule maps steps shaped (n,) to rates shaped (n, P) in the run's dtype, P = 1 or R.
float32 schedules follow TensorFlow's float32 arithmetic op for op (NUMERICS.md §2); float64 schedules
follow the same formula in double precision.
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from service.engine.arrays import Array, IntArray, as_dtype_array
from service.engine.errors import ParameterError


class Schedule(Protocol):
    def __call__(self, steps: IntArray) -> Array: ...


@dataclass(frozen=True)
class Constant:
    """The same rate at every step."""

    rate: Array  # (P,)

    def __call__(self, steps: IntArray) -> Array:
        return np.broadcast_to(self.rate, (steps.size, self.rate.size))


@dataclass(frozen=True)
class TF1ExponentialDecay:
    """`tf.compat.v1.train.exponential_decay`: `lr · rate^(step / decay_steps)`, optionally floored.

    float32 reproduces TF1 graph mode exactly: the division by the constant `decay_steps` is the multiplication
    by its float32 reciprocal that grappler substitutes, and the power is evaluated in double and rounded once.
    """

    learning_rate: Array  # (P,)
    decay_steps: Array  # (P,), positive
    decay_rate: Array  # (P,)
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        dtype = self.learning_rate.dtype
        if dtype == np.float32:
            reciprocal = np.divide(np.float32(1), self.decay_steps, dtype=np.float32)
            progress = np.multiply(steps.astype(np.float32)[:, None], reciprocal, dtype=np.float32)
        else:
            progress = steps.astype(dtype)[:, None] / self.decay_steps
        if self.staircase:
            np.floor(progress, out=progress)
        factor = np.power(self.decay_rate.astype(np.float64), progress.astype(np.float64)).astype(dtype)
        return np.asarray(np.multiply(self.learning_rate, factor, dtype=dtype))


def constant(learning_rate: float, dtype: np.dtype[np.floating]) -> Constant:
    """A constant rate; it must be finite (zero and negative rates are allowed: they show what they do)."""
    return Constant(as_dtype_array("learning_rate", learning_rate, dtype))


def tf1_exponential_decay(
    learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool, dtype: np.dtype[np.floating]
) -> TF1ExponentialDecay:
    """The TF1 exponential decay; `decay_steps` must be positive, as Keras requires."""
    steps = as_dtype_array("decay_steps", decay_steps, dtype)
    if (steps <= 0).any():
        raise ParameterError("decay_steps", "decay_steps must be greater than 0.")
    return TF1ExponentialDecay(
        learning_rate=as_dtype_array("learning_rate", learning_rate, dtype),
        decay_steps=steps,
        decay_rate=as_dtype_array("decay_rate", decay_rate, dtype),
        staircase=staircase,
    )
