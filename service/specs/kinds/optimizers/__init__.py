"""Optimizer kinds of every library, and the union a spec's `optimizer` is validated against."""

from typing import TYPE_CHECKING

from service.specs.kinds.base import Kind, tagged_union
from service.specs.kinds.optimizers import common, keras, optax, tf1, torch

MODELS: tuple[type[Kind], ...] = (*common.MODELS, *tf1.MODELS, *keras.MODELS, *torch.MODELS, *optax.MODELS)

if TYPE_CHECKING:
    OptimizerSpec = Kind
else:
    OptimizerSpec = tagged_union(MODELS)
