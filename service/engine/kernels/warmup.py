"""Load (or compile) the kernel specialisations the engine uses by running a tiny chunk of each kernel in each dtype:
every one (`run_all`), the ones every process uses (`run_core`), or one optimizer's (`run_optimizer`)."""

import numpy as np

from service.engine.analysis import Analyzer
from service.engine.kernels import adapters, sweeps
from service.engine.loop import Problem, TraceChunk
from service.engine.losses import Loss, polynomial, quadratic, quadratic_form
from service.engine.optimizers import GradientDescent, Optimizer
from service.engine.optimizers import keras as keras_optimizers
from service.engine.optimizers import optax as optax_optimizers
from service.engine.optimizers import tf1 as tf1_optimizers
from service.engine.optimizers import torch as torch_optimizers
from service.engine.optimizers.base import F32, F64
from service.engine.schedules import Constant
from service.engine.whole import computed

ROWS = 3
FUSED = (GradientDescent, torch_optimizers.SGD, torch_optimizers.Adam)
"""The optimizers the fused sweep (`sweeps`) covers: the others have only the loop's kernels to warm."""


def cases(dtype: np.dtype[np.floating]) -> list[tuple[Loss, Optimizer]]:
    """One (loss, optimizer) pair per kernel and loss encoding in `dtype`."""
    losses: list[Loss] = [
        quadratic(1.0, 1.0, 0.0, 2, dtype),
        polynomial([0.0, 0.0, 1.0], 1, dtype),
        quadratic_form([[2.0, 0.0], [0.0, 1.0]], 0.0, 0.0, 2, dtype),
    ]
    optimizers: list[Optimizer] = [
        GradientDescent(),
        torch_optimizers.sgd(momentum=0.9, dtype=dtype),
        torch_optimizers.adam(dtype=dtype),
        tf1_optimizers.momentum_optimizer(0.9, use_nesterov=True, dtype=dtype),
        keras_optimizers.sgd(0.9, weight_decay=0.01, dtype=dtype),
        optax_optimizers.sgd(0.9, dtype=dtype),
        tf1_optimizers.adam_optimizer(dtype=dtype),
        keras_optimizers.adamw(amsgrad=True, dtype=dtype),
        optax_optimizers.adamw(nesterov=True, dtype=dtype),
        keras_optimizers.adamax(weight_decay=0.01, dtype=dtype),
        optax_optimizers.adamax(dtype=dtype),
        torch_optimizers.adamax(weight_decay=0.01, dtype=dtype),
        keras_optimizers.nadam(weight_decay=0.01, dtype=dtype),
        torch_optimizers.nadam(weight_decay=0.01, dtype=dtype),
        torch_optimizers.nadam(weight_decay=0.01, decoupled_weight_decay=True, dtype=dtype),
        tf1_optimizers.adagrad_optimizer(dtype=dtype),
        tf1_optimizers.rmsprop_optimizer(momentum=0.5, centered=True, dtype=dtype),
        keras_optimizers.adagrad(weight_decay=0.01, dtype=dtype),
        keras_optimizers.rmsprop(momentum=0.5, centered=True, dtype=dtype),
        torch_optimizers.adagrad(lr_decay=0.01, dtype=dtype),
        torch_optimizers.rmsprop(momentum=0.5, weight_decay=0.01, dtype=dtype),
        optax_optimizers.adagrad(dtype=dtype),
        optax_optimizers.rmsprop(momentum=0.5, bias_correction=True, dtype=dtype),
        tf1_optimizers.adadelta_optimizer(dtype=dtype),
        torch_optimizers.adadelta(weight_decay=0.01, dtype=dtype),
        optax_optimizers.adadelta(weight_decay=0.01, dtype=dtype),
    ]
    return [(loss, optimizer) for loss in losses for optimizer in optimizers]


def run_all() -> None:
    """Every kernel of every optimizer, in both dtypes."""
    for dtype in (F32, F64):
        for loss, optimizer in cases(dtype):
            run_pair(loss, optimizer, dtype)


def run_core() -> None:
    """What every process uses: plain gradient descent's kernels, the loss values, the analysis, the whole-run
    kernel and the fused sweep, in both dtypes (each optimizer's own kernels load on first use: `run_optimizer`)."""
    for dtype in (F32, F64):
        for loss, optimizer in cases(dtype):
            if isinstance(optimizer, GradientDescent):
                run_pair(loss, optimizer, dtype)


def run_optimizer(kind: type) -> None:
    """The kernels of one optimizer class (every pair of `cases` with an optimizer of that class), in both dtypes."""
    for dtype in (F32, F64):
        for loss, optimizer in cases(dtype):
            if type(optimizer) is kind:
                run_pair(loss, optimizer, dtype)


def optimizer_classes() -> set[type]:
    """The optimizer classes whose kernels `run_all` loads."""
    return {type(optimizer) for _, optimizer in cases(F32)}


def run_pair(loss: Loss, optimizer: Optimizer, dtype: np.dtype[np.floating]) -> None:
    """Run a tiny chunk of this pair through its runner, the loss values, the analysis, the whole-run kernel and
    (for the fused optimizers) the fused sweep."""
    run = adapters.runner(loss, optimizer, dtype)
    if run is None:
        raise RuntimeError(f"no kernel for {type(loss).__name__} with {type(optimizer).__name__}")
    dims = loss.dims
    weights = np.zeros((ROWS + 1, 1, dims), dtype)
    weights[0] = 1
    grads = np.empty((ROWS, 1, dims), dtype)
    lr = np.full((ROWS, 1), 0.1, dtype)
    run(weights, grads, lr, ROWS - 1, optimizer.init(weights[0]))
    value = adapters.values(loss, dtype)
    if value is not None:
        value(weights[:ROWS])
    chunk = TraceChunk(
        np.arange(ROWS, dtype=np.int64),
        weights[:ROWS],
        np.ascontiguousarray(loss.value(weights[:ROWS]), dtype),
        grads,
        lr,
        np.full(1, ROWS, np.int64),
        np.ones(1, np.int8),
        np.full(1, -1, np.int64),
        {},
    )
    if not adapters.analyze(Analyzer(loss, 1, dims, dtype, compiled=False), chunk):
        raise RuntimeError(f"the analysis kernel refused a {dtype} chunk")
    single = Problem(loss, Constant(rate=np.full(1, 0.1, dtype)), optimizer, np.ones((1, dims), dtype), ROWS)
    if computed(single, 1, adapters.runner) is None:
        raise RuntimeError(f"the whole-run kernel refused {type(loss).__name__} with {type(optimizer).__name__}")
    if isinstance(optimizer, FUSED):
        sweep(loss, optimizer, dtype)


def sweep(loss: Loss, optimizer: Optimizer, dtype: np.dtype[np.floating]) -> None:
    """A tiny sweep through the fused kernel, keeping every row (the kernel has one specialisation per dtype), for
    the losses whose values it computes."""
    if sweeps.value_encoding(loss, dtype) is None:
        return
    dims = loss.dims
    problem = Problem(loss, Constant(rate=np.full(1, 0.1, dtype)), optimizer, np.ones((2, dims), dtype), ROWS)
    run = sweeps.sweeper(problem)
    if run is None:
        raise RuntimeError(f"no fused sweep for {type(loss).__name__} with {type(optimizer).__name__}")
    kept = np.arange(ROWS + 1, dtype=np.int64)
    targets = (np.empty((2, kept.size, dims), dtype), np.empty((2, kept.size), dtype), np.empty((2, kept.size), dtype))
    run(Analyzer(loss, 2, dims, dtype, compiled=False), kept, targets, None)
