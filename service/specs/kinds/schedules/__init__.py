"""Schedule kinds of every library, and the union a spec's `schedule` is validated against."""

from typing import TYPE_CHECKING

from service.specs.kinds.base import Kind, tagged_union
from service.specs.kinds.schedules import common, keras, optax, tf1, torch

MODELS: tuple[type[Kind], ...] = (*common.MODELS, *tf1.MODELS, *keras.MODELS, *torch.MODELS, *optax.MODELS)

if TYPE_CHECKING:
    ScheduleSpec = float | Kind
else:
    ScheduleSpec = tagged_union(MODELS, number=True)
