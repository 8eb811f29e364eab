"""Schedule-only golden cases: the lr a real library gives update t, for t = 0..steps.

Idioms (see README.md): TF1 in a tf.Graph + Session with an int32 global step assigned t; Keras 3 eager,
``schedule(tf.constant(t, tf.int64))``; torch ``opt.step(); sched.step(); get_last_lr()``; Optax eager,
``schedule(jnp.asarray(t, jnp.int32))`` one step at a time (float64 cases under ``jax_enable_x64``).
Libraries are imported lazily, so ``--only torch`` never imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

Params = dict[str, Any]
Case = dict[str, Any]

F32, F64 = "float32", "float64"
STATS_STEPS = (0, 1, 5, 10, 50, 100)
STATS_SAMPLES = 4000
TORCH_SGD_LR = 0.1  # the optimizer's own lr for CyclicLR / OneCycleLR, which overwrite it
MOMENTUM_CYCLERS = frozenset({"CyclicLR", "OneCycleLR"})


class Entry(NamedTuple):
    """One case of a kind: its name, run length, the library's kwargs, the run's dtype."""

    name: str
    steps: int
    params: Params
    dtype: str = F32
    stats: bool = False  # noisy_linear_cosine_decay: record mean/std instead of lr


def run_spec(schedule: Params, steps: int, dtype: str) -> Params:
    """A complete run spec of our API around a schedule (plain GD on (w+1)^2 from 5)."""
    loss = {"kind": "quadratic", "a": 1.0, "b": 1.0, "c": 0.0}
    return {
        "loss": loss,
        "w0": [5.0],
        "schedule": schedule,
        "optimizer": {"kind": "sgd"},
        "steps": steps,
        "dtype": dtype,
    }


# --------------------------------------------------------------------------------------------------- libraries


@functools.cache
def tensorflow() -> Any:
    """TensorFlow with its Python logger silenced."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    return tf


@functools.cache
def keras() -> Any:
    """Keras 3 on the TensorFlow backend (generate.py sets KERAS_BACKEND)."""
    tensorflow()
    import keras as keras_module

    return keras_module


@functools.cache
def torch() -> Any:
    """PyTorch."""
    import torch as torch_module

    return torch_module


@functools.cache
def jax_optax() -> tuple[Any, Any, Any]:
    """(jax, jax.numpy, optax)."""
    import jax
    import jax.numpy as jnp
    import optax

    return jax, jnp, optax


# --------------------------------------------------------------------------------------------------- TF1 graph


def tf1_tensor(tf: Any, name: str, params: Params, step: Any) -> Any:
    """``tf.compat.v1.train.<name>(..., global_step=step)``; piecewise_constant takes the step as ``x``."""
    function = getattr(tf.compat.v1.train, name)
    if name == "piecewise_constant":
        return function(step, **params)
    return function(global_step=step, **params)


@contextlib.contextmanager
def tf1_session(name: str, params: Params) -> Iterator[tuple[Any, Callable[[int], None], Any]]:
    """A Session over a fresh graph: (session, set_step, lr tensor). The global step is an int32 tf.Variable."""
    tf = tensorflow()
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        step = v1.Variable(0, trainable=False)
        lr = tf1_tensor(tf, name, params, step)
        value = v1.placeholder(tf.int32, [])
        assign = step.assign(value)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            yield session, lambda t: session.run(assign, {value: t}), lr


def tf1_lrs(name: str, params: Params, steps: int) -> list[float]:
    """sess.run(lr) with the global step assigned t, t = 0..steps."""
    with tf1_session(name, params) as (session, set_step, lr):
        values = []
        for t in range(steps + 1):
            set_step(t)
            values.append(float(session.run(lr)))
        return values


def tf1_stats(name: str, params: Params) -> Params:
    """Mean and (population) std of lr over STATS_SAMPLES evaluations at each of STATS_STEPS."""
    import numpy as np

    means, stds = [], []
    with tf1_session(name, params) as (session, set_step, lr):
        for t in STATS_STEPS:
            set_step(t)
            draws = np.array([session.run(lr) for _ in range(STATS_SAMPLES)], dtype=np.float64)
            means.append(float(draws.mean()))
            stds.append(float(draws.std()))
    return {"steps": list(STATS_STEPS), "mean": means, "std": stds, "samples": STATS_SAMPLES}


# --------------------------------------------------------------------------------------------------- Keras 3


def keras_lrs(name: str, params: Params, steps: int) -> list[float]:
    """Eager ``schedule(tf.constant(t, tf.int64))``, as a Keras optimizer calls it with its int64 iterations."""
    tf = tensorflow()
    schedule = getattr(keras().optimizers.schedules, name)(**params)
    return [float(schedule(tf.constant(t, tf.int64))) for t in range(steps + 1)]


# --------------------------------------------------------------------------------------------------- torch


def torch_scheduler(optimizer: Any, schedule: Params) -> Any:
    """Build a torch scheduler from a spec (children of Sequential/Chained on the same optimizer)."""
    schedulers = torch().optim.lr_scheduler
    name = schedule["kind"].split(".", 1)[1]
    kwargs = {key: value for key, value in schedule.items() if key not in ("kind", "lr", "schedulers")}
    if "schedulers" in schedule:
        children = [torch_scheduler(optimizer, child) for child in schedule["schedulers"]]
        if name == "ChainedScheduler":
            return schedulers.ChainedScheduler(children, optimizer=optimizer, **kwargs)
        return getattr(schedulers, name)(optimizer, children, **kwargs)
    return getattr(schedulers, name)(optimizer, **kwargs)


def torch_trace(schedule: Params, steps: int, dtype: str) -> tuple[list[float], list[float] | None]:
    """lr[t] = get_last_lr() after t ``opt.step(); sched.step()``; momentum[t] = the group's momentum for update t."""
    module = torch()
    param = module.nn.Parameter(module.zeros(1, dtype=getattr(module, dtype)))
    optimizer = module.optim.SGD([param], lr=schedule.get("lr", TORCH_SGD_LR))
    scheduler = torch_scheduler(optimizer, schedule)
    name = schedule["kind"].split(".", 1)[1]
    cycles = name in MOMENTUM_CYCLERS and schedule.get("cycle_momentum", True)
    lrs, momentum = [float(scheduler.get_last_lr()[0])], []
    for _ in range(steps):
        momentum.append(float(optimizer.param_groups[0]["momentum"]))
        optimizer.step()
        scheduler.step()
        lrs.append(float(scheduler.get_last_lr()[0]))
    return lrs, (momentum if cycles else None)


# --------------------------------------------------------------------------------------------------- Optax


@contextlib.contextmanager
def jax_x64(enabled: bool) -> Iterator[None]:
    """``jax_enable_x64`` set for the block, restored afterwards."""
    jax = jax_optax()[0]
    before = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", before)


def optax_schedule(schedule: Params) -> Any:
    """Build an optax schedule from a spec (join_schedules children recursively; JSON keys to int boundaries)."""
    optax = jax_optax()[2]
    name = schedule["kind"].split(".", 1)[1]
    kwargs = {key: value for key, value in schedule.items() if key != "kind"}
    if name == "join_schedules":
        kwargs["schedules"] = [optax_schedule(child) for child in kwargs["schedules"]]
    if kwargs.get("boundaries_and_scales") is not None:
        kwargs["boundaries_and_scales"] = {int(key): value for key, value in kwargs["boundaries_and_scales"].items()}
    return getattr(optax, name)(**kwargs)


def optax_lrs(schedule: Params, steps: int, dtype: str) -> list[float]:
    """Eager ``schedule(jnp.asarray(t, jnp.int32))`` per t (optax's count is int32 even with x64).

    ``jnp.asarray`` gives a bare Python float (constant_schedule) the dtype it takes in the update.
    """
    jnp = jax_optax()[1]
    with jax_x64(dtype == F64):
        function = optax_schedule(schedule)
        return [float(jnp.asarray(function(jnp.asarray(t, jnp.int32)))) for t in range(steps + 1)]


# --------------------------------------------------------------------------------------------------- cases


def make_case(kind: str, entry: Entry) -> Case:
    """Run one entry against its library and return the fixture case."""
    library, name = kind.split(".", 1)
    schedule = {"kind": kind, **entry.params}
    case: Case = {"name": entry.name, "spec": run_spec(schedule, entry.steps, entry.dtype)}
    if entry.stats:
        case["stats"] = tf1_stats(name, entry.params)
    elif library == "tf1":
        case["lr"] = tf1_lrs(name, entry.params, entry.steps)
    elif library == "keras":
        case["lr"] = keras_lrs(name, entry.params, entry.steps)
    elif library == "torch":
        case["lr"], momentum = torch_trace(schedule, entry.steps, entry.dtype)
        if momentum is not None:
            case["momentum"] = momentum
    else:
        case["lr"] = optax_lrs(schedule, entry.steps, entry.dtype)
    return case


def cases(only: str = "") -> Iterator[tuple[str, Case]]:
    """Every schedule case whose kind starts with ``only``, as (kind, case) pairs (see generate.py)."""
    for library, table in TABLES.items():
        for name, entries in table.items():
            kind = f"{library}.{name}"
            if not kind.startswith(only):
                continue
            for entry in entries:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    case = make_case(kind, entry)
                for warning in caught:
                    print(f"warning {kind}/{entry.name}: {warning.message}", file=sys.stderr)
                yield kind, case


E = Entry

KERAS: dict[str, list[Entry]] = {
    "ExponentialDecay": [
        E("smooth_every_10", 100, {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.96}),
        E(
            "staircase_41_eager_fires_on_time",
            130,
            {"initial_learning_rate": 0.1, "decay_steps": 41, "decay_rate": 0.5, "staircase": True},
        ),
        E("staircase_7", 80, {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.9, "staircase": True}),
        E("rate_above_one_grows", 100, {"initial_learning_rate": 0.01, "decay_steps": 20, "decay_rate": 1.05}),
        E(
            "staircase_10_f64",
            60,
            {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.96, "staircase": True},
            F64,
        ),
    ],
    "PiecewiseConstantDecay": [
        E("boundary_in_lower_segment", 60, {"boundaries": [10, 30], "values": [0.1, 0.05, 0.01]}),
        E("boundary_zero_and_adjacent", 80, {"boundaries": [0, 50, 51], "values": [1.0, 0.5, 0.25, 0.125]}),
        E("single_boundary_increasing", 60, {"boundaries": [41], "values": [0.01, 0.1]}),
        E("three_boundaries_f64", 70, {"boundaries": [5, 20, 45], "values": [0.3, 0.2, 0.1, 0.05]}, F64),
    ],
    "PolynomialDecay": [
        E("default_end_clamped", 80, {"initial_learning_rate": 0.1, "decay_steps": 50}),
        E(
            "power_2_end_1e3",
            80,
            {"initial_learning_rate": 0.1, "decay_steps": 40, "end_learning_rate": 0.001, "power": 2.0},
        ),
        E(
            "cycle_power_half",
            90,
            {"initial_learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.01, "power": 0.5, "cycle": True},
        ),
        E("end_above_init_increases", 60, {"initial_learning_rate": 0.01, "decay_steps": 30, "end_learning_rate": 0.1}),
        E(
            "cycle_power_1_f64",
            100,
            {"initial_learning_rate": 1.0, "decay_steps": 30, "end_learning_rate": 0.0, "cycle": True},
            F64,
        ),
    ],
    "InverseTimeDecay": [
        E("smooth", 80, {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
        E("staircase_7", 60, {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 1.0, "staircase": True}),
        E(
            "staircase_41_eager",
            130,
            {"initial_learning_rate": 0.1, "decay_steps": 41, "decay_rate": 0.5, "staircase": True},
        ),
        E("every_step_f64", 60, {"initial_learning_rate": 0.5, "decay_steps": 1, "decay_rate": 0.1}, F64),
    ],
    "CosineDecay": [
        E("clamped_after_decay_steps", 80, {"initial_learning_rate": 0.1, "decay_steps": 50}),
        E("alpha_floor", 100, {"initial_learning_rate": 0.1, "decay_steps": 60, "alpha": 0.1}),
        E(
            "warmup_from_zero",
            80,
            {"initial_learning_rate": 0.0, "decay_steps": 50, "alpha": 0.01, "warmup_target": 0.1, "warmup_steps": 10},
        ),
        E(
            "warmup_from_nonzero",
            70,
            {"initial_learning_rate": 0.01, "decay_steps": 40, "warmup_target": 0.1, "warmup_steps": 15},
        ),
        E(
            "warmup_steps_ignored_without_target",
            60,
            {"initial_learning_rate": 0.1, "decay_steps": 40, "warmup_steps": 10},
        ),
        E(
            "warmup_target_below_init",
            60,
            {"initial_learning_rate": 0.2, "decay_steps": 30, "warmup_target": 0.1, "warmup_steps": 10},
        ),
        E(
            "warmup_alpha_f64",
            90,
            {"initial_learning_rate": 0.0, "decay_steps": 60, "alpha": 0.1, "warmup_target": 1.0, "warmup_steps": 20},
            F64,
        ),
    ],
    "CosineDecayRestarts": [
        E("t_mul_2_restarts_10_30_70_150", 160, {"initial_learning_rate": 0.1, "first_decay_steps": 10}),
        E(
            "t_mul_1_m_mul_08_alpha",
            100,
            {"initial_learning_rate": 0.1, "first_decay_steps": 20, "t_mul": 1.0, "m_mul": 0.8, "alpha": 0.1},
        ),
        E("t_mul_1_5", 120, {"initial_learning_rate": 0.1, "first_decay_steps": 8, "t_mul": 1.5}),
        E(
            "t_mul_3_m_mul_half",
            210,
            {"initial_learning_rate": 1.0, "first_decay_steps": 5, "t_mul": 3.0, "m_mul": 0.5},
        ),
        E(
            "t_mul_2_m_mul_half_alpha_f64",
            80,
            {"initial_learning_rate": 0.1, "first_decay_steps": 10, "m_mul": 0.5, "alpha": 0.05},
            F64,
        ),
    ],
}

TF1: dict[str, list[Entry]] = {
    "exponential_decay": [
        E(
            "staircase_41_graph_one_step_late",
            130,
            {"learning_rate": 0.1, "decay_steps": 41, "decay_rate": 0.5, "staircase": True},
        ),
        E("smooth_every_10", 100, {"learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.96}),
        E(
            "course_staircase_every_step",
            60,
            {"learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.99, "staircase": True},
        ),
        E("staircase_47", 150, {"learning_rate": 1.0, "decay_steps": 47, "decay_rate": 0.5, "staircase": True}),
        E(
            "staircase_41_f64",
            130,
            {"learning_rate": 0.1, "decay_steps": 41, "decay_rate": 0.5, "staircase": True},
            F64,
        ),
    ],
    "natural_exp_decay": [
        E("smooth", 60, {"learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
        E("staircase_41", 130, {"learning_rate": 0.1, "decay_steps": 41, "decay_rate": 0.5, "staircase": True}),
        E("staircase_5_f64", 60, {"learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.1, "staircase": True}, F64),
    ],
    "inverse_time_decay": [
        E("smooth", 60, {"learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
        E("staircase_55_graph", 170, {"learning_rate": 0.1, "decay_steps": 55, "decay_rate": 1.0, "staircase": True}),
        E("staircase_7", 60, {"learning_rate": 0.1, "decay_steps": 7, "decay_rate": 1.0, "staircase": True}),
        E("every_step_f64", 60, {"learning_rate": 0.5, "decay_steps": 1, "decay_rate": 0.1}, F64),
    ],
    "polynomial_decay": [
        E("default_end_clamped", 80, {"learning_rate": 0.1, "decay_steps": 50}),
        E(
            "power_2_cycle_graph_restarts_early_at_90",
            100,
            {"learning_rate": 0.1, "decay_steps": 30, "end_learning_rate": 0.001, "power": 2.0, "cycle": True},
        ),
        E(
            "power_half_end_above_init",
            60,
            {"learning_rate": 0.01, "decay_steps": 40, "end_learning_rate": 0.1, "power": 0.5},
        ),
        E("cycle_f64", 90, {"learning_rate": 1.0, "decay_steps": 20, "end_learning_rate": 0.0, "cycle": True}, F64),
    ],
    "piecewise_constant": [
        E("boundary_in_lower_segment", 60, {"boundaries": [10, 30], "values": [0.1, 0.05, 0.01]}),
        E("boundaries_0_41_82", 100, {"boundaries": [0, 41, 82], "values": [1.0, 0.5, 0.25, 0.125]}),
        E("increasing_values_f64", 60, {"boundaries": [20], "values": [0.01, 0.1]}, F64),
    ],
    "cosine_decay": [
        E("clamped_after_decay_steps", 80, {"learning_rate": 0.1, "decay_steps": 50}),
        E("alpha_floor", 130, {"learning_rate": 0.1, "decay_steps": 61, "alpha": 0.1}),
        E("short_f64", 60, {"learning_rate": 1.0, "decay_steps": 40, "alpha": 0.01}, F64),
    ],
    "cosine_decay_restarts": [
        E("t_mul_2_restarts_10_30_70_150", 160, {"learning_rate": 0.1, "first_decay_steps": 10}),
        E(
            "t_mul_1_m_mul_half_alpha",
            90,
            {"learning_rate": 0.1, "first_decay_steps": 20, "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1},
        ),
        E("t_mul_1_5", 120, {"learning_rate": 0.1, "first_decay_steps": 8, "t_mul": 1.5}),
        E("t_mul_3", 210, {"learning_rate": 1.0, "first_decay_steps": 5, "t_mul": 3.0, "m_mul": 0.9}),
        E("t_mul_2_f64", 80, {"learning_rate": 0.1, "first_decay_steps": 10, "m_mul": 0.5, "alpha": 0.05}, F64),
    ],
    "linear_cosine_decay": [
        E("defaults_clamped", 80, {"learning_rate": 0.1, "decay_steps": 50}),
        E(
            "two_periods_alpha_beta",
            90,
            {"learning_rate": 0.1, "decay_steps": 60, "num_periods": 2.0, "alpha": 0.1, "beta": 0.01},
        ),
        E("one_and_half_periods_f64", 70, {"learning_rate": 1.0, "decay_steps": 50, "num_periods": 1.5}, F64),
    ],
    "noisy_linear_cosine_decay": [
        E("zero_variance_exact", 80, {"learning_rate": 0.1, "decay_steps": 50, "initial_variance": 0.0}),
        E(
            "zero_variance_periods_alpha_f64",
            80,
            {"learning_rate": 1.0, "decay_steps": 60, "initial_variance": 0.0, "num_periods": 1.5, "alpha": 0.05},
            F64,
        ),
        E("default_variance_stats", 100, {"learning_rate": 0.1, "decay_steps": 100}, stats=True),
    ],
}

TORCH: dict[str, list[Entry]] = {
    "StepLR": [
        E("step_10_gamma_half", 60, {"lr": 0.1, "step_size": 10, "gamma": 0.5}),
        E("step_1_gamma_09", 60, {"lr": 1.0, "step_size": 1, "gamma": 0.9}),
        E("step_7_default_gamma", 60, {"lr": 0.1, "step_size": 7}),
        E("step_13_f64", 80, {"lr": 0.5, "step_size": 13, "gamma": 0.8}, F64),
    ],
    "MultiStepLR": [
        E("three_milestones", 60, {"lr": 0.1, "milestones": [10, 25, 40], "gamma": 0.5}),
        E("duplicate_milestone_twice", 70, {"lr": 1.0, "milestones": [20, 20, 50], "gamma": 0.5}),
        E("milestone_zero_default_gamma", 60, {"lr": 0.1, "milestones": [0, 30]}),
        E("milestones_f64", 80, {"lr": 0.3, "milestones": [15, 60], "gamma": 0.3}, F64),
    ],
    "ConstantLR": [
        E("defaults", 60, {"lr": 0.1}),
        E("factor_half_20", 60, {"lr": 0.1, "factor": 0.5, "total_iters": 20}),
        E("total_iters_zero_stays_scaled", 60, {"lr": 0.1, "factor": 0.25, "total_iters": 0}),
        E("factor_one_tenth_f64", 60, {"lr": 1.0, "factor": 0.1, "total_iters": 30}, F64),
    ],
    "LinearLR": [
        E("defaults", 60, {"lr": 0.1}),
        E("warmup_30", 60, {"lr": 0.1, "start_factor": 0.01, "end_factor": 1.0, "total_iters": 30}),
        E("decreasing_40", 60, {"lr": 0.1, "start_factor": 1.0, "end_factor": 0.1, "total_iters": 40}),
        E("to_zero", 60, {"lr": 0.1, "start_factor": 0.5, "end_factor": 0.0, "total_iters": 25}),
        E("total_iters_zero_stays_start", 60, {"lr": 0.1, "start_factor": 0.5, "total_iters": 0}),
        E("warmup_f64", 60, {"lr": 1.0, "start_factor": 0.1, "total_iters": 20}, F64),
    ],
    "ExponentialLR": [
        E("gamma_095", 100, {"lr": 0.1, "gamma": 0.95}),
        E("gamma_099_long", 300, {"lr": 1.0, "gamma": 0.99}),
        E("gamma_09_f64", 100, {"lr": 0.1, "gamma": 0.9}, F64),
    ],
    "PolynomialLR": [
        E("defaults_to_zero", 60, {"lr": 0.1}),
        E("power_2_total_50", 80, {"lr": 0.1, "total_iters": 50, "power": 2.0}),
        E("power_half_total_40", 60, {"lr": 1.0, "total_iters": 40, "power": 0.5}),
        E("linear_f64", 80, {"lr": 0.1, "total_iters": 64}, F64),
    ],
    "CosineAnnealingLR": [
        E("periodic_past_2_t_max", 65, {"lr": 0.1, "T_max": 10}),
        E("eta_min_three_periods", 160, {"lr": 0.1, "T_max": 50, "eta_min": 0.001}),
        E("t_max_1_alternates", 60, {"lr": 0.1, "T_max": 1}),
        E("t_max_7_f64", 100, {"lr": 1.0, "T_max": 7, "eta_min": 0.1}, F64),
        # torch's recursion drifts from the closed form past ~3,500 steps (NUMERICS.md, "Corrections")
        E("recursion_t_max_37_8000_f64", 8000, {"lr": 0.1, "T_max": 37}, F64),
        E("recursion_t_max_3_eta_min_8000_f64", 8000, {"lr": 0.1, "T_max": 3, "eta_min": 0.0123}, F64),
        E("recursion_t_max_1000_eta_min_8000_f64", 8000, {"lr": 0.05, "T_max": 1000, "eta_min": 0.001}, F64),
        E("recursion_t_max_1_8000_f64", 8000, {"lr": 0.3, "T_max": 1}, F64),
        E("recursion_t_max_37_8000", 8000, {"lr": 0.1, "T_max": 37}),
    ],
    "CosineAnnealingWarmRestarts": [
        E("t0_10_mult_1", 60, {"lr": 0.1, "T_0": 10}),
        E("t0_5_mult_2_eta_min", 160, {"lr": 0.1, "T_0": 5, "T_mult": 2, "eta_min": 0.01}),
        E("t0_3_mult_3", 130, {"lr": 1.0, "T_0": 3, "T_mult": 3}),
        E("t0_1", 60, {"lr": 0.1, "T_0": 1}),
        E("t0_8_mult_2_f64", 130, {"lr": 0.5, "T_0": 8, "T_mult": 2, "eta_min": 0.05}, F64),
    ],
    "CyclicLR": [
        E("triangular_up_10", 80, {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10}),
        E(
            "triangular2_up_10_down_20",
            130,
            {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10, "step_size_down": 20, "mode": "triangular2"},
        ),
        E(
            "exp_range_gamma_098",
            120,
            {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 15, "mode": "exp_range", "gamma": 0.98},
        ),
        E(
            "no_momentum_cycling_up_5_down_15",
            60,
            {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5, "step_size_down": 15, "cycle_momentum": False},
        ),
        E(
            "custom_momentum_up_8_down_4_f64",
            60,
            {
                "base_lr": 0.05,
                "max_lr": 0.5,
                "step_size_up": 8,
                "step_size_down": 4,
                "base_momentum": 0.7,
                "max_momentum": 0.95,
            },
            F64,
        ),
    ],
    "OneCycleLR": [
        E("cos_total_100_full_run", 100, {"max_lr": 0.1, "total_steps": 100}),
        E("linear_anneal_total_80", 80, {"max_lr": 1.0, "total_steps": 80, "anneal_strategy": "linear"}),
        E("three_phase_cos_total_90", 90, {"max_lr": 0.5, "total_steps": 90, "three_phase": True}),
        E(
            "three_phase_linear_fractional_knots",
            77,
            {
                "max_lr": 0.1,
                "total_steps": 77,
                "pct_start": 0.25,
                "anneal_strategy": "linear",
                "three_phase": True,
                "div_factor": 10.0,
                "final_div_factor": 100.0,
            },
        ),
        E("epochs_times_steps_per_epoch", 120, {"max_lr": 0.1, "epochs": 10, "steps_per_epoch": 12}),
        E(
            "partial_run_no_momentum_cycling",
            150,
            {"max_lr": 0.3, "total_steps": 200, "pct_start": 0.4, "cycle_momentum": False},
        ),
        E(
            "custom_momentum_total_64_f64",
            64,
            {"max_lr": 0.2, "total_steps": 64, "base_momentum": 0.8, "max_momentum": 0.9, "div_factor": 20.0},
            F64,
        ),
    ],
    "SequentialLR": [
        E(
            "linear_warmup_then_exponential",
            60,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 5},
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                ],
                "milestones": [5],
            },
        ),
        E(
            "constant_step_multistep",
            80,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 20},
                    {"kind": "torch.StepLR", "step_size": 7, "gamma": 0.5},
                    {"kind": "torch.MultiStepLR", "milestones": [5, 15], "gamma": 0.1},
                ],
                "milestones": [10, 30],
            },
        ),
        E(
            "warmup_then_polynomial",
            80,
            {
                "lr": 1.0,
                "schedulers": [
                    {"kind": "torch.LinearLR", "start_factor": 0.01, "end_factor": 1.0, "total_iters": 10},
                    {"kind": "torch.PolynomialLR", "total_iters": 50, "power": 2.0},
                ],
                "milestones": [10],
            },
        ),
        E(
            "milestone_before_child_finishes",
            60,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.LinearLR", "start_factor": 0.2, "total_iters": 20},
                    {"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 10},
                ],
                "milestones": [8],
            },
        ),
        E(
            "exponential_then_step_f64",
            60,
            {
                "lr": 0.5,
                "schedulers": [
                    {"kind": "torch.ExponentialLR", "gamma": 0.95},
                    {"kind": "torch.StepLR", "step_size": 10, "gamma": 0.5},
                ],
                "milestones": [20],
            },
            F64,
        ),
        E(
            "warmup_then_cosine_recursion_f64",
            6000,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 5},
                    {"kind": "torch.CosineAnnealingLR", "T_max": 40, "eta_min": 0.0007},
                ],
                "milestones": [5],
            },
            F64,
        ),
    ],
    "ChainedScheduler": [
        E(
            "constant_times_exponential",
            60,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.ConstantLR", "factor": 0.1, "total_iters": 3},
                    {"kind": "torch.ExponentialLR", "gamma": 0.9},
                ],
            },
        ),
        E(
            "linear_step_multistep",
            80,
            {
                "lr": 0.1,
                "schedulers": [
                    {"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 10},
                    {"kind": "torch.StepLR", "step_size": 15, "gamma": 0.5},
                    {"kind": "torch.MultiStepLR", "milestones": [40, 60], "gamma": 0.2},
                ],
            },
        ),
        E(
            "polynomial_times_constant",
            60,
            {
                "lr": 1.0,
                "schedulers": [
                    {"kind": "torch.PolynomialLR", "total_iters": 40, "power": 2.0},
                    {"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 10},
                ],
            },
        ),
        E(
            "exponential_times_linear_f64",
            60,
            {
                "lr": 0.5,
                "schedulers": [
                    {"kind": "torch.ExponentialLR", "gamma": 0.97},
                    {"kind": "torch.LinearLR", "start_factor": 0.25, "total_iters": 12},
                ],
            },
            F64,
        ),
    ],
}

SGDR_SEGMENT = {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5, "decay_steps": 30, "end_value": 0.001}

OPTAX: dict[str, list[Entry]] = {
    "constant_schedule": [
        E("value_01", 60, {"value": 0.1}),
        E("value_3e4", 60, {"value": 3e-4}),
        E("value_01_f64", 60, {"value": 0.1}, F64),
    ],
    "linear_schedule": [
        E("to_zero_clamped", 80, {"init_value": 1.0, "end_value": 0.0, "transition_steps": 50}),
        E(
            "increasing_with_begin",
            60,
            {"init_value": 0.0, "end_value": 0.1, "transition_steps": 30, "transition_begin": 10},
        ),
        E("zero_steps_constant_init", 60, {"init_value": 0.1, "end_value": 0.0, "transition_steps": 0}),
        E("decay_f64", 60, {"init_value": 0.1, "end_value": 0.001, "transition_steps": 41}, F64),
    ],
    "polynomial_schedule": [
        E(
            "power_2_with_begin",
            80,
            {"init_value": 0.1, "end_value": 0.001, "power": 2, "transition_steps": 50, "transition_begin": 5},
        ),
        E("power_half_increasing", 60, {"init_value": 0.01, "end_value": 0.1, "power": 0.5, "transition_steps": 40}),
        E("zero_steps_constant_init", 60, {"init_value": 0.1, "end_value": 0.0, "power": 2, "transition_steps": 0}),
        E("power_3_f64", 80, {"init_value": 1.0, "end_value": 0.0, "power": 3, "transition_steps": 60}, F64),
    ],
    "exponential_decay": [
        E(
            "staircase_41_eager_fires_on_time",
            130,
            {"init_value": 0.1, "transition_steps": 41, "decay_rate": 0.5, "staircase": True},
        ),
        E(
            "begin_and_end_value",
            100,
            {"init_value": 0.1, "transition_steps": 10, "decay_rate": 0.8, "transition_begin": 10, "end_value": 0.02},
        ),
        E(
            "rate_above_one_capped",
            100,
            {"init_value": 0.01, "transition_steps": 5, "decay_rate": 1.2, "end_value": 0.1},
        ),
        E("rate_zero_constant", 60, {"init_value": 0.1, "transition_steps": 10, "decay_rate": 0.0}),
        E("staircase_7_f64", 80, {"init_value": 0.1, "transition_steps": 7, "decay_rate": 0.9, "staircase": True}, F64),
    ],
    "piecewise_constant_schedule": [
        E("inclusive_boundaries", 60, {"init_value": 0.1, "boundaries_and_scales": {"10": 0.5, "30": 0.2}}),
        E("boundary_zero_and_growth", 60, {"init_value": 0.1, "boundaries_and_scales": {"0": 0.5, "20": 4.0}}),
        E("no_boundaries", 60, {"init_value": 0.1}),
        E(
            "three_boundaries_f64",
            80,
            {"init_value": 1.0, "boundaries_and_scales": {"15": 0.1, "40": 0.5, "41": 0.5}},
            F64,
        ),
    ],
    "piecewise_interpolate_schedule": [
        E(
            "linear",
            60,
            {"interpolate_type": "linear", "init_value": 0.1, "boundaries_and_scales": {"10": 2.0, "30": 0.1}},
        ),
        E(
            "cosine",
            60,
            {"interpolate_type": "cosine", "init_value": 0.1, "boundaries_and_scales": {"10": 2.0, "30": 0.1}},
        ),
        E(
            "linear_boundary_zero",
            60,
            {"interpolate_type": "linear", "init_value": 1.0, "boundaries_and_scales": {"0": 0.5, "25": 0.1}},
        ),
        E(
            "cosine_adjacent_f64",
            60,
            {
                "interpolate_type": "cosine",
                "init_value": 1.0,
                "boundaries_and_scales": {"20": 0.5, "21": 0.5, "45": 0.1},
            },
            F64,
        ),
    ],
    "cosine_decay_schedule": [
        E("clamped", 80, {"init_value": 0.1, "decay_steps": 50}),
        E("alpha_exponent_2", 100, {"init_value": 0.1, "decay_steps": 60, "alpha": 0.1, "exponent": 2.0}),
        E("alpha_f64", 80, {"init_value": 1.0, "decay_steps": 41, "alpha": 0.01}, F64),
    ],
    "warmup_cosine_decay_schedule": [
        E(
            "decay_steps_include_warmup",
            120,
            {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 10, "decay_steps": 100, "end_value": 0.01},
        ),
        E(
            "exponent_2_nonzero_init",
            80,
            {"init_value": 0.01, "peak_value": 0.1, "warmup_steps": 7, "decay_steps": 60, "exponent": 2.0},
        ),
        E("no_warmup", 60, {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 40}),
        E(
            "warmup_f64",
            100,
            {"init_value": 0.0, "peak_value": 0.5, "warmup_steps": 20, "decay_steps": 80, "end_value": 0.005},
            F64,
        ),
    ],
    "warmup_exponential_decay_schedule": [
        E(
            "warmup_10_smooth",
            80,
            {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 10, "transition_steps": 5, "decay_rate": 0.9},
        ),
        E(
            "staircase_begin_end_value",
            100,
            {
                "init_value": 0.01,
                "peak_value": 0.1,
                "warmup_steps": 10,
                "transition_steps": 10,
                "decay_rate": 0.5,
                "transition_begin": 5,
                "staircase": True,
                "end_value": 0.02,
            },
        ),
        E(
            "warmup_f64",
            80,
            {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 20, "transition_steps": 20, "decay_rate": 0.5},
            F64,
        ),
    ],
    "warmup_constant_schedule": [
        E("warmup_10", 60, {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 10}),
        E("decreasing_warmup", 60, {"init_value": 0.05, "peak_value": 0.01, "warmup_steps": 25}),
        E("zero_warmup_stays_init", 60, {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 0}),
        E("warmup_f64", 60, {"init_value": 0.001, "peak_value": 0.1, "warmup_steps": 30}, F64),
    ],
    "linear_onecycle_schedule": [
        E("t_100_past_end", 120, {"transition_steps": 100, "peak_value": 0.1}),
        E(
            "t_77_truncated_knots",
            90,
            {
                "transition_steps": 77,
                "peak_value": 1.0,
                "pct_start": 0.25,
                "pct_final": 0.9,
                "div_factor": 10.0,
                "final_div_factor": 100.0,
            },
        ),
        E("t_64_f64", 80, {"transition_steps": 64, "peak_value": 0.5}, F64),
    ],
    "cosine_onecycle_schedule": [
        E("t_100_past_end", 120, {"transition_steps": 100, "peak_value": 0.1}),
        E(
            "t_77_truncated_knot",
            90,
            {
                "transition_steps": 77,
                "peak_value": 1.0,
                "pct_start": 0.35,
                "div_factor": 10.0,
                "final_div_factor": 100.0,
            },
        ),
        E("t_64_f64", 80, {"transition_steps": 64, "peak_value": 0.5}, F64),
    ],
    "sgdr_schedule": [
        E("three_equal_segments_past_end", 100, {"cosine_kwargs": [SGDR_SEGMENT, SGDR_SEGMENT, SGDR_SEGMENT]}),
        E(
            "growing_segments_no_warmup",
            150,
            {
                "cosine_kwargs": [
                    {"init_value": 0.1, "peak_value": 0.1, "warmup_steps": 0, "decay_steps": 20},
                    {"init_value": 0.05, "peak_value": 0.08, "warmup_steps": 5, "decay_steps": 40, "end_value": 0.001},
                    {"init_value": 0.0, "peak_value": 0.05, "warmup_steps": 10, "decay_steps": 80, "exponent": 2.0},
                ]
            },
        ),
        E(
            "two_segments_f64",
            80,
            {
                "cosine_kwargs": [
                    {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 10, "decay_steps": 40, "end_value": 0.01},
                    {"init_value": 0.0, "peak_value": 0.5, "warmup_steps": 10, "decay_steps": 30, "end_value": 0.01},
                ]
            },
            F64,
        ),
    ],
    "join_schedules": [
        E(
            "constant_then_linear_local_step",
            80,
            {
                "schedules": [
                    {"kind": "optax.constant_schedule", "value": 0.1},
                    {"kind": "optax.linear_schedule", "init_value": 0.1, "end_value": 0.0, "transition_steps": 40},
                ],
                "boundaries": [20],
            },
        ),
        E(
            "three_children",
            100,
            {
                "schedules": [
                    {
                        "kind": "optax.exponential_decay",
                        "init_value": 0.1,
                        "transition_steps": 7,
                        "decay_rate": 0.5,
                        "staircase": True,
                    },
                    {"kind": "optax.cosine_decay_schedule", "init_value": 0.05, "decay_steps": 25},
                    {
                        "kind": "optax.piecewise_constant_schedule",
                        "init_value": 0.01,
                        "boundaries_and_scales": {"0": 2.0, "10": 0.5},
                    },
                ],
                "boundaries": [30, 60],
            },
        ),
        E(
            "nested_join",
            80,
            {
                "schedules": [
                    {
                        "kind": "optax.join_schedules",
                        "schedules": [
                            {
                                "kind": "optax.linear_schedule",
                                "init_value": 0.0,
                                "end_value": 0.1,
                                "transition_steps": 10,
                            },
                            {"kind": "optax.constant_schedule", "value": 0.1},
                        ],
                        "boundaries": [10],
                    },
                    {
                        "kind": "optax.polynomial_schedule",
                        "init_value": 0.1,
                        "end_value": 0.0,
                        "power": 2,
                        "transition_steps": 30,
                    },
                ],
                "boundaries": [25],
            },
        ),
        E(
            "warmup_then_exponential_f64",
            80,
            {
                "schedules": [
                    {"kind": "optax.linear_schedule", "init_value": 0.0, "end_value": 1.0, "transition_steps": 15},
                    {"kind": "optax.exponential_decay", "init_value": 1.0, "transition_steps": 10, "decay_rate": 0.7},
                ],
                "boundaries": [15],
            },
            F64,
        ),
    ],
}

TABLES: dict[str, dict[str, list[Entry]]] = {"keras": KERAS, "tf1": TF1, "torch": TORCH, "optax": OPTAX}
