"""Optimizers of every library, by kind (`OPTIMIZERS`), and `build` to make one from a spec."""

from service.engine.optimizers import keras, optax, tf1, torch
from service.engine.optimizers.base import OPTIMIZERS, GradientDescent, NoState, Optimizer, build

__all__ = ["OPTIMIZERS", "GradientDescent", "NoState", "Optimizer", "build", "keras", "optax", "tf1", "torch"]
