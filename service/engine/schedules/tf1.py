"""TensorFlow 1 `tf.compat.v1.train.*_decay` schedules, in float32 as TF1 graph mode computes them.

TF1 builds the schedule from Python floats, so it is float32 whatever the variables' dtype. Graph mode
(grappler) rewrites a division by a constant into a multiplication by its float32 reciprocal; pow is evaluated
in double and rounded once (NUMERICS.md §2).
"""

from dataclasses import dataclass

import numpy as np

from service.engine.arrays import Array, IntArray, Numbers
from service.engine.schedules.base import F32, column, param, register, require


@dataclass(frozen=True)
class ExponentialDecay:
    """`learning_rate · decay_rate^(global_step / decay_steps)`, optionally floored."""

    learning_rate: Array  # (P,) float32
    decay_steps: Array  # (P,) float32, positive
    decay_rate: Array  # (P,) float32
    staircase: bool

    def __call__(self, steps: IntArray) -> Array:
        reciprocal = np.divide(np.float32(1), self.decay_steps, dtype=np.float32)
        progress = np.multiply(column(steps, F32), reciprocal, dtype=np.float32)
        if self.staircase:
            np.floor(progress, out=progress)
        factor = np.power(self.decay_rate.astype(np.float64), progress.astype(np.float64)).astype(np.float32)
        return np.multiply(self.learning_rate, factor, dtype=np.float32)


@register("tf1.exponential_decay")
def exponential_decay(
    learning_rate: Numbers,
    decay_steps: Numbers,
    decay_rate: Numbers,
    staircase: bool = False,
    *,
    dtype: np.dtype[np.floating],
) -> ExponentialDecay:
    """`tf.compat.v1.train.exponential_decay`; `decay_steps` must be positive, as TensorFlow requires."""
    steps = param("decay_steps", decay_steps, F32)
    require((steps > 0).all(), "decay_steps", "decay_steps must be greater than 0.")
    return ExponentialDecay(
        learning_rate=param("learning_rate", learning_rate, F32),
        decay_steps=steps,
        decay_rate=param("decay_rate", decay_rate, F32),
        staircase=staircase,
    )
