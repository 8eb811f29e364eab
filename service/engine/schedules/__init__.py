"""Learning-rate schedules of every library, by kind (`SCHEDULES`), and `build` to make one from a spec."""

from service.engine.schedules import keras, optax, tf1, torch
from service.engine.schedules.base import (
    SCHEDULES,
    Bounded,
    Constant,
    CyclesMomentum,
    ReadsLoss,
    Schedule,
    build,
    constant,
)

__all__ = [
    "SCHEDULES",
    "Bounded",
    "Constant",
    "CyclesMomentum",
    "ReadsLoss",
    "Schedule",
    "build",
    "constant",
    "keras",
    "optax",
    "tf1",
    "torch",
]
