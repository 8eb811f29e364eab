"""TensorFlow 1 `tf.compat.v1.train` optimizers."""

from typing import ClassVar, Literal

from service.api.kinds.base import Kind


class TF1Optimizer(Kind):
    library: ClassVar[str] = "tf1"


class GradientDescentOptimizer(TF1Optimizer):
    """tf.compat.v1.train.GradientDescentOptimizer: var ← var − lr·grad (the ApplyGradientDescent kernel)."""

    kind: Literal["tf1.GradientDescentOptimizer"]


MODELS = (GradientDescentOptimizer,)
