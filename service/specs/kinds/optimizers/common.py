"""The library-neutral optimizer: plain gradient descent."""

from typing import Literal

from service.specs.kinds.base import Kind


class SGD(Kind):
    """Plain gradient descent, w ← w − lr·g, the same arithmetic in every library."""

    kind: Literal["sgd"]


MODELS = (SGD,)
