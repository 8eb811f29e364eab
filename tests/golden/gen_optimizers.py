"""Golden runs of optimizers (TF1, Keras 3, PyTorch, Optax), plus the torch runs that need an optimizer.

`generate(only)` returns fixture kind -> list of case dicts (FIXTURES.md format) for the kinds starting with
`only`. The libraries run in worker subprocesses of this same file (`python gen_optimizers.py --worker LIB
[--x64]`), which read job specs as JSON on stdin and print results as JSON: TF, torch and JAX never share a
process, and Optax's float64 cases run in a worker started with `JAX_ENABLE_X64=1` (set before JAX is imported),
its float32 cases in one without.

Conventions (NUMERICS.md §0): row t of `lr` is the rate update t uses; `w[t]` and `state[...][t]` are after t
updates, row 0 the initial state. Torch state that does not exist before the first step (e.g. `momentum_buffer`,
`exp_avg`) gets row 0 = its initial value (0, or 1 for NAdam's `mu_product`), listed in the case's "notes".
Scalar state (NAdam `mu_product`, Keras Nadam `u_product`) is broadcast to D so every state array is (steps+1, D).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

Json = dict[str, Any]
Rows = list[list[float]]

STEPS = 60
LOSS_2D: Json = {"kind": "quadratic", "a": [1.0, 0.25], "b": [1.0, -2.0], "c": 0.0}
W0_2D = [5.0, 3.0]
LOSS_1D: Json = {"kind": "quadratic", "a": 1.0, "b": 1.0, "c": 0.0}
W0_1D = [5.0]


# --------------------------------------------------------------------------------------------------------------------
# Job definitions (parent process; no numerical library imported here)


@dataclass(frozen=True)
class Job:
    """One full run: the fixture kind it belongs to, its case name, our run spec and what to record."""

    kind: str
    name: str
    library: str
    spec: Json
    momentum: bool = False
    state: bool = True
    loss: bool = False


@dataclass(frozen=True)
class Option:
    """A case of an optimizer kind: its parameters and how the run around it differs from the default."""

    name: str
    params: Json = field(default_factory=dict)
    decay: bool = False
    f64: bool = False
    one_d: bool = False
    lr: float | None = None


def run_spec(optimizer: Json, schedule: float | Json, *, dtype: str = "float32", one_d: bool = False) -> Json:
    """A run spec of our API on the 2-D quadratic (or the course's 1-D loss)."""
    return {
        "loss": LOSS_1D if one_d else LOSS_2D,
        "w0": W0_1D if one_d else W0_2D,
        "schedule": schedule,
        "optimizer": optimizer,
        "steps": STEPS,
        "dtype": dtype,
    }


def decaying(library: str, lr: float) -> Json:
    """The library's exponential decay starting at `lr` (halving every 10 steps; torch: ×0.95 per step)."""
    if library == "torch":
        return {"kind": "torch.ExponentialLR", "lr": lr, "gamma": 0.95}
    if library == "tf1":
        return {"kind": "tf1.exponential_decay", "learning_rate": lr, "decay_steps": 10, "decay_rate": 0.5}
    if library == "keras":
        return {"kind": "keras.ExponentialDecay", "initial_learning_rate": lr, "decay_steps": 10, "decay_rate": 0.5}
    return {"kind": "optax.exponential_decay", "init_value": lr, "transition_steps": 10, "decay_rate": 0.5}


def optimizer_jobs(kind: str, lr: float, options: Iterable[Option], base: Json | None = None) -> list[Job]:
    """Defaults (constant and decaying rate), the given options, and the course's 1-D loss."""
    library = kind.split(".", 1)[0]
    rows = [
        Option("defaults_constant_lr"),
        Option("defaults_exponential_decay", decay=True),
        *options,
        Option("defaults_course_1d", one_d=True),
    ]
    jobs = []
    for row in rows:
        rate = lr if row.lr is None else row.lr
        schedule: float | Json = decaying(library, rate) if row.decay else rate
        optimizer = {"kind": kind, **(base or {}), **row.params}
        spec = run_spec(optimizer, schedule, dtype="float64" if row.f64 else "float32", one_d=row.one_d)
        jobs.append(Job(kind, row.name, library, spec))
    return jobs


def torch_optimizer_jobs() -> list[Job]:
    """torch.optim: every option of each optimizer, with a constant rate and with ExponentialLR."""
    o = Option
    return [
        *optimizer_jobs(
            "torch.SGD",
            0.1,
            [
                o("momentum_exponential_lr", {"momentum": 0.9}, decay=True),
                o("dampening", {"momentum": 0.9, "dampening": 0.5}),
                o("nesterov_exponential_lr", {"momentum": 0.9, "nesterov": True}, decay=True),
                o("weight_decay_momentum", {"momentum": 0.5, "weight_decay": 0.1}),
                o(
                    "nesterov_weight_decay_float64",
                    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
                    True,
                    True,
                ),
            ],
        ),
        *optimizer_jobs(
            "torch.Adagrad",
            0.5,
            [
                o("lr_decay", {"lr_decay": 0.05}),
                o("weight_decay_initial_accumulator", {"weight_decay": 0.1, "initial_accumulator_value": 0.1}, True),
                o("eps_float64", {"eps": 1e-3}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "torch.RMSprop",
            0.02,
            [
                o("momentum_exponential_lr", {"momentum": 0.5}, decay=True),
                o("centered", {"centered": True}),
                o("alpha_eps_weight_decay", {"alpha": 0.9, "eps": 1e-4, "weight_decay": 0.1}),
                o("centered_momentum_float64", {"centered": True, "momentum": 0.5}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "torch.Adam",
            0.1,
            [
                o("amsgrad_exponential_lr", {"amsgrad": True}, decay=True),
                o("weight_decay_l2", {"weight_decay": 0.1}),
                o("decoupled_weight_decay_exponential_lr", {"weight_decay": 0.1, "decoupled_weight_decay": True}, True),
                o("betas_eps", {"betas": [0.8, 0.99], "eps": 1e-6}),
                o(
                    "amsgrad_decoupled_float64",
                    {"amsgrad": True, "weight_decay": 0.05, "decoupled_weight_decay": True},
                    decay=True,
                    f64=True,
                ),
            ],
        ),
        *optimizer_jobs(
            "torch.AdamW",
            0.1,
            [
                o("amsgrad", {"amsgrad": True}),
                o("weight_decay_exponential_lr", {"weight_decay": 0.1}, decay=True),
                o("betas_eps", {"betas": [0.8, 0.99], "eps": 1e-6}),
                o("weight_decay_float64", {"weight_decay": 0.1}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "torch.Adamax",
            0.1,
            [
                o("weight_decay", {"weight_decay": 0.1}),
                o("betas_eps_exponential_lr", {"betas": [0.8, 0.99], "eps": 1e-3}, decay=True),
                o("defaults_float64", {}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "torch.NAdam",
            0.1,
            [
                o("momentum_decay", {"momentum_decay": 0.1}),
                o("weight_decay_l2_exponential_lr", {"weight_decay": 0.1}, decay=True),
                o("decoupled_weight_decay", {"weight_decay": 0.1, "decoupled_weight_decay": True}),
                o("momentum_decay_betas_float64", {"momentum_decay": 0.1, "betas": [0.8, 0.99]}, True, True),
            ],
        ),
        *optimizer_jobs(
            "torch.Adadelta",
            1.0,
            [
                o("rho_eps", {"rho": 0.95, "eps": 1e-4}),
                o("weight_decay_exponential_lr", {"weight_decay": 0.1}, decay=True),
                o("defaults_float64", {}, decay=True, f64=True),
            ],
        ),
    ]


def tf1_optimizer_jobs() -> list[Job]:
    """tf.compat.v1.train optimizers in graph mode, constant rate and tf1.exponential_decay."""
    o = Option
    course = course_pair_specs()
    return [
        *optimizer_jobs(
            "tf1.GradientDescentOptimizer",
            0.1,
            [o("defaults_float64", decay=True, f64=True)],
        ),
        Job("tf1.GradientDescentOptimizer", "course_exponential_decay_staircase", "tf1", course["tf1"], state=False),
        *optimizer_jobs(
            "tf1.MomentumOptimizer",
            0.05,
            [
                o("momentum_0_5_exponential_decay", {"momentum": 0.5}, decay=True),
                o("nesterov", {"use_nesterov": True}),
                o("nesterov_exponential_decay", {"use_nesterov": True}, decay=True),
                o("nesterov_float64", {"use_nesterov": True}, decay=True, f64=True),
            ],
            base={"momentum": 0.9},
        ),
        *optimizer_jobs(
            "tf1.AdagradOptimizer",
            0.5,
            [
                o("initial_accumulator_exponential_decay", {"initial_accumulator_value": 0.01}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "tf1.RMSPropOptimizer",
            0.02,
            [
                o("momentum_exponential_decay", {"momentum": 0.5}, decay=True),
                o("centered", {"centered": True}),
                o(
                    "centered_momentum_decay_epsilon",
                    {"centered": True, "momentum": 0.5, "decay": 0.95, "epsilon": 1e-6},
                ),
                o("centered_momentum_float64", {"centered": True, "momentum": 0.5}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "tf1.AdamOptimizer",
            0.1,
            [
                o("betas_epsilon", {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "tf1.AdadeltaOptimizer",
            1.0,
            [
                o("library_default_rate_0_001", lr=0.001),
                o("rho_epsilon", {"rho": 0.9, "epsilon": 1e-3}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
    ]


def keras_optimizer_jobs() -> list[Job]:
    """keras.optimizers (TF backend, eager), constant rate and keras ExponentialDecay."""
    o = Option
    course = course_pair_specs()
    return [
        *optimizer_jobs(
            "keras.SGD",
            0.1,
            [
                o("momentum_exponential_decay", {"momentum": 0.9}, decay=True),
                o("nesterov_exponential_decay", {"momentum": 0.9, "nesterov": True}, decay=True),
                o("weight_decay_momentum", {"momentum": 0.5, "weight_decay": 0.1}),
                o("nesterov_float64", {"momentum": 0.9, "nesterov": True}, decay=True, f64=True),
            ],
        ),
        Job("keras.SGD", "course_exponential_decay_staircase", "keras", course["keras"], state=False),
        *optimizer_jobs(
            "keras.Adagrad",
            0.5,
            [
                o("initial_accumulator_epsilon", {"initial_accumulator_value": 0.01, "epsilon": 1e-3}, decay=True),
                o("weight_decay", {"weight_decay": 0.1}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.RMSprop",
            0.02,
            [
                o("momentum_exponential_decay", {"momentum": 0.5}, decay=True),
                o("centered", {"centered": True}),
                o("centered_momentum_rho_epsilon", {"centered": True, "momentum": 0.5, "rho": 0.95, "epsilon": 1e-4}),
                o("weight_decay", {"weight_decay": 0.1}),
                o("centered_momentum_float64", {"centered": True, "momentum": 0.5}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.Adam",
            0.1,
            [
                o("amsgrad_exponential_decay", {"amsgrad": True}, decay=True),
                o("betas_epsilon", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
                o("weight_decay_exponential_decay", {"weight_decay": 0.1}, decay=True),
                o("amsgrad_float64", {"amsgrad": True}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.AdamW",
            0.1,
            [
                o("amsgrad", {"amsgrad": True}),
                o("weight_decay_exponential_decay", {"weight_decay": 0.1}, decay=True),
                o("betas_epsilon", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
                o("weight_decay_float64", {"weight_decay": 0.1}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.Adamax",
            0.1,
            [
                o("betas_epsilon_exponential_decay", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3}, decay=True),
                o("weight_decay", {"weight_decay": 0.1}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.Nadam",
            0.1,
            [
                o("betas_epsilon", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6}),
                o("weight_decay_exponential_decay", {"weight_decay": 0.1}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "keras.Adadelta",
            1.0,
            [
                o("library_default_rate_0_001", lr=0.001),
                o("rho_epsilon", {"rho": 0.9, "epsilon": 1e-3}),
                o("weight_decay", {"weight_decay": 0.1}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
    ]


def optax_optimizer_jobs() -> list[Job]:
    """optax aliases (eager, no jit), constant rate and optax.exponential_decay."""
    o = Option
    return [
        *optimizer_jobs(
            "optax.sgd",
            0.1,
            [
                o("momentum_constant_lr", {"momentum": 0.9}),
                o("momentum_exponential_decay", {"momentum": 0.9}, decay=True),
                o("nesterov_exponential_decay", {"momentum": 0.9, "nesterov": True}, decay=True),
                o("nesterov_float64", {"momentum": 0.9, "nesterov": True}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.adam",
            0.1,
            [
                o("eps_root", {"eps_root": 1e-8}),
                o("nesterov_exponential_decay", {"nesterov": True}, decay=True),
                o("b1_b2_eps", {"b1": 0.8, "b2": 0.99, "eps": 1e-6}),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.adamw",
            0.1,
            [
                o("weight_decay_exponential_decay", {"weight_decay": 0.1}, decay=True),
                o("nesterov", {"nesterov": True}),
                o("eps_root", {"eps_root": 1e-8, "b1": 0.8}),
                o("weight_decay_float64", {"weight_decay": 0.1}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.rmsprop",
            0.02,
            [
                o("centered", {"centered": True}),
                o("momentum_exponential_decay", {"momentum": 0.5}, decay=True),
                o("nesterov_momentum_initial_scale", {"momentum": 0.5, "nesterov": True, "initial_scale": 1.0}),
                o("eps_outside_sqrt_bias_correction", {"eps_in_sqrt": False, "bias_correction": True}, decay=True),
                o("centered_momentum_float64", {"centered": True, "momentum": 0.5}, decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.adagrad",
            0.5,
            [
                o("initial_accumulator_eps", {"initial_accumulator_value": 0.01, "eps": 1e-3}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.adamax",
            0.1,
            [
                o("b1_b2_eps_exponential_decay", {"b1": 0.8, "b2": 0.99, "eps": 1e-3}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.nadam",
            0.1,
            [
                o("eps_root", {"eps_root": 1e-8}),
                o("b1_b2_eps_exponential_decay", {"b1": 0.8, "b2": 0.99, "eps": 1e-6}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
        *optimizer_jobs(
            "optax.adadelta",
            1.0,
            [
                o("rho_eps", {"rho": 0.95, "eps": 1e-4}),
                o("weight_decay_exponential_decay", {"weight_decay": 0.1}, decay=True),
                o("defaults_float64", decay=True, f64=True),
            ],
        ),
    ]


def course_pair_specs() -> dict[str, Json]:
    """The course's decayed run (w0 5, (w+1)², 40 steps, f32) with TF1's and Keras' exponential decay + plain SGD."""
    tf1 = {
        "kind": "tf1.exponential_decay",
        "learning_rate": 0.1,
        "decay_steps": 1,
        "decay_rate": 0.99,
        "staircase": True,
    }
    keras = {
        "kind": "keras.ExponentialDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 1,
        "decay_rate": 0.99,
        "staircase": True,
    }
    optimizers = {"tf1": "tf1.GradientDescentOptimizer", "keras": "keras.SGD"}
    return {
        lib: {**run_spec({"kind": optimizers[lib]}, schedule, one_d=True), "steps": 40}
        for lib, schedule in (("tf1", tf1), ("keras", keras))
    }


def generic_sgd_jobs() -> list[Job]:
    """Kind "sgd": the course run (rate 0.2, 40 steps) with each library's plain SGD, and the decayed course pair."""
    jobs = []
    for library in ("tf1", "keras", "torch", "optax"):
        spec = {**run_spec({"kind": "sgd"}, 0.2, one_d=True), "steps": 40}
        jobs.append(Job("sgd", f"course_{library}", library, spec, state=False))
    f64 = {**run_spec({"kind": "sgd"}, 0.2, one_d=True, dtype="float64"), "steps": 40}
    jobs.append(Job("sgd", "course_torch_float64", "torch", f64, state=False))
    for library, spec in course_pair_specs().items():
        generic = {**spec, "optimizer": {"kind": "sgd"}}
        jobs.append(Job("sgd", f"course_{library}_exponential_decay_staircase", library, generic, state=False))
    return jobs


def torch_cycling_jobs() -> list[Job]:
    """CyclicLR / OneCycleLR with SGD(momentum), plain SGD (momentum switched on) and Adam (beta1 cycled)."""
    sgd_m = {"kind": "torch.SGD", "momentum": 0.9}
    sgd = {"kind": "torch.SGD"}
    adam = {"kind": "torch.Adam"}
    tri = {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 10}
    exp = {**tri, "mode": "exp_range", "gamma": 0.98, "step_size_up": 8, "step_size_down": 12}
    one = {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": STEPS}
    three = {**one, "three_phase": True}
    runs = [
        ("run_triangular_sgd_momentum", tri, sgd_m, "float32"),
        ("run_triangular_sgd_plain_momentum_switched_on", tri, sgd, "float32"),
        ("run_triangular_sgd_momentum_not_cycled", {**tri, "cycle_momentum": False}, sgd_m, "float32"),
        ("run_exp_range_sgd_momentum", exp, sgd_m, "float32"),
        ("run_exp_range_sgd_plain_float64", exp, sgd, "float64"),
        ("run_triangular_adam_beta1_cycled", tri, adam, "float32"),
        ("run_exp_range_adam_beta1_cycled", exp, adam, "float32"),
        ("run_default_sgd_momentum", one, sgd_m, "float32"),
        ("run_default_sgd_plain_momentum_switched_on", one, sgd, "float32"),
        ("run_three_phase_sgd_momentum", three, sgd_m, "float32"),
        ("run_three_phase_sgd_plain_float64", three, sgd, "float64"),
        ("run_default_adam_beta1_cycled", one, adam, "float32"),
        ("run_three_phase_adam_beta1_cycled", three, adam, "float32"),
    ]
    return [
        Job(str(schedule["kind"]), name, "torch", run_spec(optimizer, schedule, dtype=dtype), momentum=True)
        for name, schedule, optimizer, dtype in runs
    ]


def torch_plateau_jobs() -> list[Job]:
    """ReduceLROnPlateau full runs (`opt.step(); sched.step(loss of row t)`) with plain torch.SGD."""
    kind = "torch.ReduceLROnPlateau"
    sgd = {"kind": "torch.SGD"}
    runs: list[tuple[str, Json, bool, str]] = [
        ("run_course_rate_1_stuck_then_cut", {"lr": 1.0}, True, "float32"),
        ("run_slow_rel_threshold", {"lr": 0.01, "threshold": 0.1, "patience": 1, "factor": 0.7}, True, "float32"),
        (
            "run_slow_abs_threshold",
            {"lr": 0.02, "threshold": 0.2, "threshold_mode": "abs", "patience": 2, "factor": 0.5},
            True,
            "float32",
        ),
        ("run_mode_max_decreasing_loss", {"lr": 0.05, "mode": "max", "patience": 3, "factor": 0.5}, False, "float32"),
        ("run_cooldown", {"lr": 0.05, "mode": "max", "patience": 2, "factor": 0.5, "cooldown": 4}, False, "float32"),
        (
            "run_min_lr_clamp",
            {"lr": 0.05, "mode": "max", "patience": 1, "factor": 0.3, "min_lr": 0.004},
            False,
            "float32",
        ),
        (
            "run_eps_blocks_cut",
            {"lr": 0.01, "mode": "max", "patience": 2, "factor": 0.5, "eps": 0.002},
            False,
            "float32",
        ),
        ("run_course_rate_1_float64", {"lr": 1.0, "patience": 4, "factor": 0.5}, True, "float64"),
    ]
    return [
        Job(kind, name, "torch", run_spec(sgd, {"kind": kind, **params}, dtype=dtype, one_d=one_d), state=False)
        for name, params, one_d, dtype in runs
    ]


WIDE_DIMS = (8, 9, 12, 16, 33, 100)
WIDE_STEPS = 30


def wide_loss_jobs() -> list[Job]:
    """float32 quadratics over D >= 8 dimensions with TF1's and Keras' plain SGD, recording the loss of every row:
    `tf.reduce_sum` adds 8 or more float32 values in Eigen's order, not left to right (NUMERICS.md, "Corrections").
    Coefficients spread over a decade and more and an offset c of either sign, so that the order shows in the last
    bits."""
    rng = np.random.default_rng(16)
    jobs = []
    for dims in WIDE_DIMS:

        def draw(low: float, high: float, dims: int = dims) -> list[float]:
            return [float(x) for x in rng.uniform(low, high, dims).astype(np.float32)]

        a = [float(np.float32(10.0**e)) for e in rng.uniform(-0.3, 1.0, dims)]  # curvatures 1 to 20: converges
        loss = {"kind": "quadratic", "a": a, "b": draw(-3.0, 3.0), "c": draw(-1.0, 1.0)}
        for library, kind in (("tf1", "tf1.GradientDescentOptimizer"), ("keras", "keras.SGD")):
            spec = {
                "loss": loss,
                "w0": draw(-5.0, 5.0),
                "schedule": 0.04,
                "optimizer": {"kind": kind},
                "steps": WIDE_STEPS,
                "dtype": "float32",
            }
            jobs.append(Job(kind, f"loss_d{dims}", library, spec, state=False, loss=True))
    return jobs


def all_jobs() -> list[Job]:
    """Every run this module generates."""
    return [
        *generic_sgd_jobs(),
        *torch_optimizer_jobs(),
        *tf1_optimizer_jobs(),
        *keras_optimizer_jobs(),
        *optax_optimizer_jobs(),
        *torch_cycling_jobs(),
        *torch_plateau_jobs(),
        *wide_loss_jobs(),
    ]


# --------------------------------------------------------------------------------------------------------------------
# Parent side: dispatch jobs to workers and assemble cases


def worker_group(job: Job) -> tuple[str, bool]:
    """(library, x64): Optax float64 runs need a process with JAX's x64 mode on from the start."""
    return job.library, job.library == "optax" and job.spec["dtype"] == "float64"


def run_workers(jobs: list[Job]) -> list[Json]:
    """Results of `jobs` in order, one worker subprocess per (library, x64) group."""
    groups: dict[tuple[str, bool], list[int]] = {}
    for index, job in enumerate(jobs):
        groups.setdefault(worker_group(job), []).append(index)
    results: list[Json] = [{} for _ in jobs]
    for (library, x64), indices in groups.items():
        payload = [
            {"spec": jobs[i].spec, "momentum": jobs[i].momentum, "state": jobs[i].state, "loss": jobs[i].loss}
            for i in indices
        ]
        for index, result in zip(indices, call_worker(library, x64, payload), strict=True):
            results[index] = result
    return results


def call_worker(library: str, x64: bool, payload: list[Json]) -> list[Json]:
    """Run one worker subprocess on `payload` and parse its JSON answer."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "JAX_PLATFORMS": "cpu",
        "JAX_ENABLE_X64": "1" if x64 else "0",
        "CUDA_VISIBLE_DEVICES": "",
    }
    command = [sys.executable, os.path.abspath(__file__), "--worker", library, *(["--x64"] if x64 else [])]
    done = subprocess.run(command, input=json.dumps(payload), capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{library} worker failed:\n{done.stderr[-4000:]}")
    answer: list[Json] = json.loads(done.stdout)
    return answer


def generate(only: str = "") -> dict[str, list[Json]]:
    """Fixture kind -> cases (FIXTURES.md case objects) for the runs whose kind starts with `only`."""
    jobs = [job for job in all_jobs() if job.kind.startswith(only)]
    cases: dict[str, list[Json]] = {}
    for job, result in zip(jobs, run_workers(jobs), strict=True):
        case: Json = {"name": job.name, "spec": job.spec, **result}
        cases.setdefault(job.kind, []).append(case)
    return cases


# --------------------------------------------------------------------------------------------------------------------
# Worker side: shared helpers


def as_rows(values: Any, dims: int) -> list[float]:
    """One row of D Python floats (a scalar is broadcast)."""
    array = np.broadcast_to(np.asarray(values, dtype=np.float64).reshape(-1), (dims,))
    return [float(x) for x in array]


def np_dtype(spec: Json) -> type[np.floating[Any]]:
    """NumPy dtype of a run."""
    return np.float64 if spec["dtype"] == "float64" else np.float32


def coefficients(spec: Json) -> tuple[np.ndarray[Any, Any], ...]:
    """The quadratic's a, b, c broadcast to D in the run's dtype."""
    dims = len(spec["w0"])
    loss = spec["loss"]
    return tuple(np.broadcast_to(np.asarray(loss[k], np_dtype(spec)), (dims,)).copy() for k in ("a", "b", "c"))


def library_kwargs(entry: Json) -> Json:
    """A spec entry minus its kind."""
    return {k: v for k, v in entry.items() if k != "kind"}


def collect_state(rows: list[dict[str, list[float]]], initial: dict[str, float], dims: int) -> tuple[Json, list[str]]:
    """Per-name (steps+1, D) arrays from per-row snapshots; names missing in a row get their initial value."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    filled: list[str] = []
    state: Json = {}
    for name in names:
        if any(name not in row for row in rows):
            filled.append(name)
        state[name] = [row.get(name, [initial.get(name, 0.0)] * dims) for row in rows]
    return state, filled


def finish(
    lr: list[float],
    w: Rows,
    states: list[dict[str, list[float]]] | None,
    dims: int,
    momentum: list[float] | None = None,
    initial: dict[str, float] | None = None,
) -> Json:
    """The recorded arrays of one run as a result dict."""
    result: Json = {"lr": lr, "w": w}
    if momentum is not None:
        result["momentum"] = momentum
    if states:
        state, filled = collect_state(states, initial or {}, dims)
        if state:
            result["state"] = state
        if filled:
            values = ", ".join(f"{name}={(initial or {}).get(name, 0.0)}" for name in filled)
            result["notes"] = f"state row 0 filled with the initial value (absent before the first step): {values}"
    return result


# --------------------------------------------------------------------------------------------------------------------
# Worker side: torch


def run_torch(spec: Json, record_momentum: bool, record_state: bool) -> Json:
    """`for t: loss.backward(); opt.step(); sched.step()` with torch.optim and torch.optim.lr_scheduler."""
    import torch  # type: ignore[import-not-found, unused-ignore]

    dtype = torch.float64 if spec["dtype"] == "float64" else torch.float32
    a, b, c = (torch.tensor(x, dtype=dtype) for x in coefficients(spec))
    param = torch.tensor(spec["w0"], dtype=dtype, requires_grad=True)
    optimizer, scheduler, plateau = torch_optimizer(spec, param)
    dims = len(spec["w0"])
    lr: list[float] = []
    momentum: list[float] = []
    w: Rows = [as_rows(param.detach().numpy(), dims)]
    states = [torch_state(optimizer, param, dims)]
    for _ in range(spec["steps"]):
        group = optimizer.param_groups[0]
        lr.append(float(group["lr"]))
        if record_momentum:
            momentum.append(float(group["betas"][0] if "betas" in group else group["momentum"]))
        optimizer.zero_grad()
        loss = torch.sum(a * torch.square(param + b) + c)
        loss.backward()
        optimizer.step()
        if plateau:
            scheduler.step(float(loss.item()))
        elif scheduler is not None:
            scheduler.step()
        w.append(as_rows(param.detach().numpy(), dims))
        states.append(torch_state(optimizer, param, dims))
    lr.append(float(optimizer.param_groups[0]["lr"]))
    kept = states if record_state else None
    return finish(lr, w, kept, dims, momentum if record_momentum else None, {"mu_product": 1.0})


def torch_optimizer(spec: Json, param: Any) -> tuple[Any, Any, bool]:
    """(optimizer, scheduler or None, whether it is ReduceLROnPlateau) for a spec."""
    import torch

    entry = spec["optimizer"]
    name = "SGD" if entry["kind"] == "sgd" else entry["kind"].removeprefix("torch.")
    kwargs = library_kwargs(entry)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    schedule = spec["schedule"]
    if not isinstance(schedule, dict):
        return getattr(torch.optim, name)([param], lr=float(schedule), **kwargs), None, False
    sched_kwargs = library_kwargs(schedule)
    base_lr = float(sched_kwargs.pop("lr", 0.1))  # CyclicLR / OneCycleLR overwrite the rate themselves
    optimizer = getattr(torch.optim, name)([param], lr=base_lr, **kwargs)
    sched_name = schedule["kind"].removeprefix("torch.")
    scheduler = getattr(torch.optim.lr_scheduler, sched_name)(optimizer, **sched_kwargs)
    return optimizer, scheduler, sched_name == "ReduceLROnPlateau"


def torch_state(optimizer: Any, param: Any, dims: int) -> dict[str, list[float]]:
    """The tensors of `optimizer.state[param]` except `step`, by torch's own names."""
    import torch

    return {
        name: as_rows(value.detach().numpy(), dims)
        for name, value in optimizer.state[param].items()
        if name != "step" and isinstance(value, torch.Tensor)
    }


# --------------------------------------------------------------------------------------------------------------------
# Worker side: TF1 (graph mode + Session)


def run_tf1(spec: Json, record_state: bool, record_loss: bool = False) -> Json:
    """The course's TF1 loop: `sess.run([lr, train_op])` with `minimize(loss, global_step=gs)`; with `record_loss`,
    `sess.run(loss)` at the initial w and after every update."""
    import tensorflow as tf  # type: ignore[import-not-found, unused-ignore]

    v1 = tf.compat.v1
    dtype = tf.float64 if spec["dtype"] == "float64" else tf.float32
    dims = len(spec["w0"])
    graph = tf.Graph()
    with graph.as_default():
        a, b, c = (tf.constant(x, dtype=dtype) for x in coefficients(spec))
        w = tf.Variable(np.asarray(spec["w0"], np_dtype(spec)), dtype=dtype)
        gs = tf.Variable(0, trainable=False)
        learning_rate = tf1_schedule(spec["schedule"], gs)
        loss = tf.reduce_sum(a * tf.square(w + b) + c)
        entry = spec["optimizer"]
        name = "GradientDescentOptimizer" if entry["kind"] == "sgd" else entry["kind"].removeprefix("tf1.")
        optimizer = getattr(v1.train, name)(learning_rate, **library_kwargs(entry))
        train = optimizer.minimize(loss, global_step=gs)
        slots = {slot: optimizer.get_slot(w, slot) for slot in optimizer.get_slot_names()}
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            lr: list[float] = []
            w_rows: Rows = [as_rows(sess.run(w), dims)]
            states = [{k: as_rows(v, dims) for k, v in sess.run(slots).items()}]
            losses = [float(sess.run(loss))]
            for _ in range(spec["steps"]):
                used, _ = sess.run([learning_rate, train])
                lr.append(float(used))
                w_rows.append(as_rows(sess.run(w), dims))
                states.append({k: as_rows(v, dims) for k, v in sess.run(slots).items()})
                losses.append(float(sess.run(loss)))
            lr.append(float(sess.run(learning_rate)))
    result = finish(lr, w_rows, states if record_state else None, dims)
    return {**result, "loss": losses} if record_loss else result


def tf1_schedule(schedule: float | Json, global_step: Any) -> Any:
    """A float32 rate tensor: a constant, or `tf.compat.v1.train.<name>(..., global_step=gs)`."""
    import tensorflow as tf

    if not isinstance(schedule, dict):
        return tf.constant(schedule, dtype=tf.float32)
    function = getattr(tf.compat.v1.train, schedule["kind"].removeprefix("tf1."))
    kwargs = library_kwargs(schedule)
    if schedule["kind"] == "tf1.piecewise_constant":
        return function(global_step, **kwargs)
    return function(global_step=global_step, **kwargs)


# --------------------------------------------------------------------------------------------------------------------
# Worker side: Keras 3 (TF backend, eager)


def run_keras(spec: Json, record_state: bool, record_loss: bool = False) -> Json:
    """Eager Keras 3: `opt.apply_gradients([(g, var)])` with g from tf.GradientTape; with `record_loss`, the loss
    the tape computed at each w, and at the final w."""
    import keras  # type: ignore[import-not-found, unused-ignore]
    import tensorflow as tf

    dims = len(spec["w0"])
    a, b, c = (tf.constant(x) for x in coefficients(spec))
    var = keras.Variable(np.asarray(spec["w0"], np_dtype(spec)), dtype=spec["dtype"], name="w")
    schedule = spec["schedule"]
    if isinstance(schedule, dict):
        learning_rate = getattr(keras.optimizers.schedules, schedule["kind"].removeprefix("keras."))(
            **library_kwargs(schedule)
        )
    else:
        learning_rate = float(schedule)
    entry = spec["optimizer"]
    name = "SGD" if entry["kind"] == "sgd" else entry["kind"].removeprefix("keras.")
    optimizer = getattr(keras.optimizers, name)(learning_rate=learning_rate, **library_kwargs(entry))
    optimizer.build([var])
    lr: list[float] = []
    w: Rows = [as_rows(var.numpy(), dims)]
    states = [keras_state(optimizer, dims)]
    losses: list[float] = []
    for _ in range(spec["steps"]):
        lr.append(float(np.asarray(optimizer.learning_rate)))
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(a * tf.square(var + b) + c)
        losses.append(float(loss.numpy()))
        optimizer.apply_gradients([(tape.gradient(loss, var), var)])
        w.append(as_rows(var.numpy(), dims))
        states.append(keras_state(optimizer, dims))
    lr.append(float(np.asarray(optimizer.learning_rate)))
    losses.append(float(tf.reduce_sum(a * tf.square(var + b) + c).numpy()))
    result = finish(lr, w, states if record_state else None, dims)
    return {**result, "loss": losses} if record_loss else result


def keras_state(optimizer: Any, dims: int) -> dict[str, list[float]]:
    """Optimizer variables by Keras' slot names (`w_momentum` -> `momentum`); Nadam's scalar is `u_product`."""
    skip = {id(optimizer.iterations), id(getattr(optimizer, "_learning_rate", None))}
    state = {}
    for variable in optimizer.variables:
        if id(variable) in skip or variable.name in ("iteration", "learning_rate"):
            continue
        name = "u_product" if variable is getattr(optimizer, "_u_product", None) else variable.name.removeprefix("w_")
        state[name] = as_rows(variable.numpy(), dims)
    return state


# --------------------------------------------------------------------------------------------------------------------
# Worker side: Optax (eager, no jit)


def run_optax(spec: Json, record_state: bool) -> Json:
    """`updates, state = opt.update(g, state, params); params = optax.apply_updates(params, updates)`."""
    import jax  # type: ignore[import-not-found, unused-ignore]
    import jax.numpy as jnp  # type: ignore[import-not-found, unused-ignore]
    import optax  # type: ignore[import-not-found, unused-ignore]

    if (spec["dtype"] == "float64") != bool(jax.config.jax_enable_x64):
        raise RuntimeError("optax float64 runs need a worker started with JAX_ENABLE_X64=1 (and float32 without)")
    dims = len(spec["w0"])
    dtype = jnp.float64 if spec["dtype"] == "float64" else jnp.float32
    a, b, c = (jnp.asarray(x, dtype) for x in coefficients(spec))
    params = jnp.asarray(spec["w0"], dtype)
    schedule = optax_schedule(spec["schedule"])
    entry = spec["optimizer"]
    name = "sgd" if entry["kind"] == "sgd" else entry["kind"].removeprefix("optax.")
    optimizer = getattr(optax, name)(schedule, **library_kwargs(entry))
    opt_state = optimizer.init(params)

    def loss(w: Any) -> Any:
        return jnp.sum(a * jnp.square(w + b) + c)

    gradient = jax.grad(loss)
    lr: list[float] = []
    w: Rows = [as_rows(params, dims)]
    states = [optax_state(opt_state, dims)]
    for step in range(spec["steps"] + 1):
        lr.append(float(schedule(jnp.asarray(step, jnp.int32)) if callable(schedule) else schedule))
        if step == spec["steps"]:
            break
        updates, opt_state = optimizer.update(gradient(params), opt_state, params)
        params = optax.apply_updates(params, updates)
        w.append(as_rows(params, dims))
        states.append(optax_state(opt_state, dims))
    return finish(lr, w, states if record_state else None, dims)


def optax_schedule(schedule: float | Json) -> float | Callable[[Any], Any]:
    """A float, or the optax schedule function named by the spec."""
    import optax

    if not isinstance(schedule, dict):
        return float(schedule)
    kwargs = library_kwargs(schedule)
    return getattr(optax, schedule["kind"].removeprefix("optax."))(**kwargs)  # type: ignore[no-any-return]


def optax_state(state: Any, dims: int) -> dict[str, list[float]]:
    """(D,)-shaped leaves of the optimizer state's NamedTuples, by field name (class-prefixed on a clash)."""
    found: dict[str, list[float]] = {}

    def visit(node: Any) -> None:
        if hasattr(node, "_fields"):
            for field_name in node._fields:
                value = getattr(node, field_name)
                if np.shape(value) == (dims,):
                    key = field_name if field_name not in found else f"{type(node).__name__}.{field_name}"
                    found[key] = as_rows(value, dims)
                else:
                    visit(value)
        elif isinstance(node, tuple | list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            for item in node.values():
                visit(item)

    visit(state)
    return found


# --------------------------------------------------------------------------------------------------------------------
# Worker entry point


def worker(library: str, out: TextIO) -> None:
    """Read jobs as JSON from stdin, run them with `library`, write the results as JSON to `out`."""
    jobs: list[Json] = json.load(sys.stdin)
    results = []
    for job in jobs:
        spec, momentum, state, loss = job["spec"], job["momentum"], job["state"], job.get("loss", False)
        if library == "torch":
            results.append(run_torch(spec, momentum, state))
        elif library == "tf1":
            results.append(run_tf1(spec, state, loss))
        elif library == "keras":
            results.append(run_keras(spec, state, loss))
        else:
            results.append(run_optax(spec, state))
    json.dump(results, out)


def main(argv: list[str]) -> None:
    """`--worker LIB [--x64]`: worker mode; no arguments: print a summary of `generate()`."""
    if argv[:1] == ["--worker"]:
        answer = os.dup(1)
        os.dup2(2, 1)  # library chatter on fd 1 must not corrupt the JSON answer
        with os.fdopen(answer, "w") as out:
            worker(argv[1], out)
        return
    for kind, cases in sorted(generate().items()):
        print(kind, len(cases), [case["name"] for case in cases])


if __name__ == "__main__":
    main(sys.argv[1:])
