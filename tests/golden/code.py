"""The run as code, proven against the real libraries: every generated program of `SPECS` is run in the golden
virtualenv (TF, Keras, torch, JAX/Optax), and its printed CSV is recorded beside its spec and its text in
`tests/golden/code.json`. `test_code.py` replays that file without the libraries: each program must be what the
generator writes today, and each recorded output must match the engine's trace at the fidelity tolerances.

    .venv/bin/python -m tests.golden.code --python .venv-golden/bin/python [--only tf1] [--case course]

Runs in the service's virtualenv (it generates the programs); only the programs run in the golden one.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from service.codegen import program
from service.codegen.counterparts import LIBRARIES, counterpart, library_of
from service.specs.run import RunSpec

FIXTURE = Path(__file__).parent / "code.json"
Json = dict[str, Any]

COURSE: Json = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "steps": 40}
TWO_D: Json = {"loss": {"kind": "quadratic", "a": [1.0, 0.25], "b": [1.0, -2.0], "c": 0.0}, "w0": [5.0, 3.0]}
COURSE_DECAY = {
    "kind": "tf1.exponential_decay",
    "learning_rate": 0.1,
    "decay_steps": 1,
    "decay_rate": 0.99,
    "staircase": True,
}


def spec(schedule: Any, optimizer: Json | None = None, steps: int = 30, base: Json | None = None, **extra: Any) -> Json:
    """A run spec on the 2-D quadratic (or `base`)."""
    return {**(base or TWO_D), "schedule": schedule, "optimizer": optimizer or {"kind": "sgd"}, "steps": steps, **extra}


def case(name: str, library: str, run: Json) -> Json:
    return {"name": name, "library": library, "spec": run}


def cases() -> list[Json]:
    """At least one program per kind of each library (schedules and optimizers paired), the course's two runs,
    other losses, float64, thinning, early stops, and schedules written as another library's counterpart."""
    tf1 = [
        case("course_constant_0_2", "tf1", {**COURSE, "schedule": 0.2}),
        case("course_exponential_decay", "tf1", {**COURSE, "schedule": COURSE_DECAY}),
        case(
            "natural_exp_momentum",
            "tf1",
            spec(
                {"kind": "tf1.natural_exp_decay", "learning_rate": 0.05, "decay_steps": 10, "decay_rate": 0.5},
                {"kind": "tf1.MomentumOptimizer", "momentum": 0.9},
            ),
        ),
        case(
            "inverse_time_adagrad",
            "tf1",
            spec(
                {
                    "kind": "tf1.inverse_time_decay",
                    "learning_rate": 0.5,
                    "decay_steps": 5,
                    "decay_rate": 0.5,
                    "staircase": True,
                },
                {"kind": "tf1.AdagradOptimizer"},
            ),
        ),
        case(
            "polynomial_cycle_rmsprop",
            "tf1",
            spec(
                {
                    "kind": "tf1.polynomial_decay",
                    "learning_rate": 0.02,
                    "decay_steps": 10,
                    "end_learning_rate": 0.001,
                    "power": 2.0,
                    "cycle": True,
                },
                {"kind": "tf1.RMSPropOptimizer", "momentum": 0.5, "centered": True},
            ),
        ),
        case(
            "piecewise_adam",
            "tf1",
            spec(
                {"kind": "tf1.piecewise_constant", "boundaries": [10, 20], "values": [0.1, 0.05, 0.01]},
                {"kind": "tf1.AdamOptimizer"},
            ),
        ),
        case(
            "cosine_adadelta",
            "tf1",
            spec(
                {"kind": "tf1.cosine_decay", "learning_rate": 1.0, "decay_steps": 20, "alpha": 0.1},
                {"kind": "tf1.AdadeltaOptimizer"},
            ),
        ),
        case(
            "cosine_restarts_gd",
            "tf1",
            spec(
                {"kind": "tf1.cosine_decay_restarts", "learning_rate": 0.1, "first_decay_steps": 8},
                {"kind": "tf1.GradientDescentOptimizer"},
            ),
        ),
        case(
            "linear_cosine_float64",
            "tf1",
            spec({"kind": "tf1.linear_cosine_decay", "learning_rate": 0.1, "decay_steps": 20}, dtype="float64"),
        ),
        case(
            "noisy_without_noise",
            "tf1",
            spec(
                {
                    "kind": "tf1.noisy_linear_cosine_decay",
                    "learning_rate": 0.1,
                    "decay_steps": 20,
                    "initial_variance": 0.0,
                }
            ),
        ),
        case("rate_1_oscillates_every_7", "tf1", {**COURSE, "schedule": 1.0, "record": {"every": 7}}),
        case("rate_1_5_diverges_every_10", "tf1", {**COURSE, "schedule": 1.5, "steps": 200, "record": {"every": 10}}),
        case(
            "polynomial_loss_stop",
            "tf1",
            {
                "loss": {"kind": "polynomial", "coefficients": [1.0, -2.0, 0.0, 0.5]},
                "w0": 3.0,
                "schedule": 0.05,
                "steps": 60,
                "stop": {"grad_tol": 1e-3},
            },
        ),
    ]
    keras = [
        case(
            "exponential_sgd_momentum",
            "keras",
            spec(
                {"kind": "keras.ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5},
                {"kind": "keras.SGD", "momentum": 0.9, "nesterov": True},
            ),
        ),
        case(
            "piecewise_adagrad",
            "keras",
            spec(
                {"kind": "keras.PiecewiseConstantDecay", "boundaries": [10, 20], "values": [0.5, 0.2, 0.1]},
                {"kind": "keras.Adagrad"},
            ),
        ),
        case(
            "polynomial_rmsprop",
            "keras",
            spec(
                {"kind": "keras.PolynomialDecay", "initial_learning_rate": 0.02, "decay_steps": 20, "power": 2.0},
                {"kind": "keras.RMSprop", "momentum": 0.5},
            ),
        ),
        case(
            "inverse_time_adam",
            "keras",
            spec(
                {"kind": "keras.InverseTimeDecay", "initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
                {"kind": "keras.Adam", "amsgrad": True},
            ),
        ),
        case(
            "cosine_warmup_adamw",
            "keras",
            spec(
                {
                    "kind": "keras.CosineDecay",
                    "initial_learning_rate": 0.0,
                    "decay_steps": 20,
                    "warmup_target": 0.1,
                    "warmup_steps": 5,
                },
                {"kind": "keras.AdamW", "weight_decay": 0.1},
            ),
        ),
        case(
            "restarts_adamax",
            "keras",
            spec(
                {
                    "kind": "keras.CosineDecayRestarts",
                    "initial_learning_rate": 0.1,
                    "first_decay_steps": 6,
                    "m_mul": 0.5,
                },
                {"kind": "keras.Adamax"},
            ),
        ),
        case("constant_nadam", "keras", spec(0.1, {"kind": "keras.Nadam"})),
        case("constant_adadelta_float64", "keras", spec(1.0, {"kind": "keras.Adadelta"}, dtype="float64")),
        case("course_decay_from_tf1", "keras", {**COURSE, "schedule": COURSE_DECAY}),
        case(
            "himmelblau_every_3",
            "keras",
            {"loss": {"kind": "himmelblau"}, "w0": [1.0, 1.0], "schedule": 0.01, "steps": 30, "record": {"every": 3}},
        ),
    ]
    torch = [
        case(
            "step_sgd_momentum",
            "torch",
            spec(
                {"kind": "torch.StepLR", "lr": 0.1, "step_size": 10, "gamma": 0.5},
                {"kind": "torch.SGD", "momentum": 0.9},
            ),
        ),
        case(
            "multistep_adagrad",
            "torch",
            spec(
                {"kind": "torch.MultiStepLR", "lr": 0.5, "milestones": [5, 15], "gamma": 0.5}, {"kind": "torch.Adagrad"}
            ),
        ),
        case(
            "constantlr_rmsprop",
            "torch",
            spec(
                {"kind": "torch.ConstantLR", "lr": 0.02, "factor": 0.5, "total_iters": 10},
                {"kind": "torch.RMSprop", "centered": True},
            ),
        ),
        case(
            "linear_adam",
            "torch",
            spec(
                {"kind": "torch.LinearLR", "lr": 0.1, "start_factor": 0.25, "total_iters": 10},
                {"kind": "torch.Adam", "betas": [0.8, 0.99]},
            ),
        ),
        case(
            "exponential_adamw",
            "torch",
            spec({"kind": "torch.ExponentialLR", "lr": 0.1, "gamma": 0.95}, {"kind": "torch.AdamW"}),
        ),
        case(
            "polynomial_adamax",
            "torch",
            spec({"kind": "torch.PolynomialLR", "lr": 0.1, "total_iters": 20, "power": 2.0}, {"kind": "torch.Adamax"}),
        ),
        case(
            "cosine_nadam",
            "torch",
            spec({"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 10}, {"kind": "torch.NAdam"}),
        ),
        case(
            "warm_restarts_adadelta",
            "torch",
            spec(
                {"kind": "torch.CosineAnnealingWarmRestarts", "lr": 1.0, "T_0": 5, "T_mult": 2},
                {"kind": "torch.Adadelta"},
            ),
        ),
        case(
            "cyclic_sgd_momentum",
            "torch",
            spec(
                {"kind": "torch.CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5},
                {"kind": "torch.SGD", "momentum": 0.9},
            ),
        ),
        case(
            "onecycle_adam",
            "torch",
            spec({"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 30}, {"kind": "torch.Adam"}),
        ),
        case(
            "plateau_course_rate_1",
            "torch",
            {**COURSE, "schedule": {"kind": "torch.ReduceLROnPlateau", "lr": 1.0}, "optimizer": {"kind": "torch.SGD"}},
        ),
        case(
            "sequential_float64",
            "torch",
            spec(
                {
                    "kind": "torch.SequentialLR",
                    "lr": 0.1,
                    "schedulers": [
                        {"kind": "torch.LinearLR", "start_factor": 0.1, "total_iters": 5},
                        {"kind": "torch.ExponentialLR", "gamma": 0.9},
                    ],
                    "milestones": [5],
                },
                dtype="float64",
            ),
        ),
        case(
            "chained",
            "torch",
            spec(
                {
                    "kind": "torch.ChainedScheduler",
                    "lr": 0.1,
                    "schedulers": [
                        {"kind": "torch.ConstantLR", "factor": 0.5, "total_iters": 4},
                        {"kind": "torch.ExponentialLR", "gamma": 0.9},
                    ],
                }
            ),
        ),
        case(
            "cosine_from_keras",
            "torch",
            spec({"kind": "keras.CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 10}),
        ),
        case("adam_diverges", "torch", {**COURSE, "schedule": 1e30, "optimizer": {"kind": "torch.Adam"}, "steps": 50}),
        case(
            "rosenbrock_float64",
            "torch",
            {"loss": {"kind": "rosenbrock"}, "w0": [-1.0, 1.0], "schedule": 0.001, "steps": 40, "dtype": "float64"},
        ),
    ]
    optax = [
        case(
            "constant_schedule_sgd",
            "optax",
            spec({"kind": "optax.constant_schedule", "value": 0.1}, {"kind": "optax.sgd", "momentum": 0.9}),
        ),
        case(
            "linear_adam",
            "optax",
            spec(
                {"kind": "optax.linear_schedule", "init_value": 0.1, "end_value": 0.01, "transition_steps": 20},
                {"kind": "optax.adam"},
            ),
        ),
        case(
            "polynomial_adamw",
            "optax",
            spec(
                {
                    "kind": "optax.polynomial_schedule",
                    "init_value": 0.1,
                    "end_value": 0.0,
                    "power": 2,
                    "transition_steps": 20,
                },
                {"kind": "optax.adamw", "weight_decay": 0.1},
            ),
        ),
        case(
            "exponential_rmsprop",
            "optax",
            spec(
                {
                    "kind": "optax.exponential_decay",
                    "init_value": 0.02,
                    "transition_steps": 5,
                    "decay_rate": 0.5,
                    "staircase": True,
                },
                {"kind": "optax.rmsprop", "momentum": 0.5},
            ),
        ),
        case(
            "piecewise_adagrad",
            "optax",
            spec(
                {
                    "kind": "optax.piecewise_constant_schedule",
                    "init_value": 0.5,
                    "boundaries_and_scales": {"10": 0.5, "20": 0.2},
                },
                {"kind": "optax.adagrad"},
            ),
        ),
        case(
            "interpolate_adamax",
            "optax",
            spec(
                {
                    "kind": "optax.piecewise_interpolate_schedule",
                    "interpolate_type": "cosine",
                    "init_value": 0.1,
                    "boundaries_and_scales": {"10": 0.5, "20": 0.2},
                },
                {"kind": "optax.adamax"},
            ),
        ),
        case(
            "cosine_nadam",
            "optax",
            spec(
                {"kind": "optax.cosine_decay_schedule", "init_value": 0.1, "decay_steps": 20, "alpha": 0.1},
                {"kind": "optax.nadam"},
            ),
        ),
        case(
            "warmup_cosine_adadelta",
            "optax",
            spec(
                {
                    "kind": "optax.warmup_cosine_decay_schedule",
                    "init_value": 0.0,
                    "peak_value": 1.0,
                    "warmup_steps": 5,
                    "decay_steps": 25,
                },
                {"kind": "optax.adadelta"},
            ),
        ),
        case(
            "warmup_exponential",
            "optax",
            spec(
                {
                    "kind": "optax.warmup_exponential_decay_schedule",
                    "init_value": 0.0,
                    "peak_value": 0.1,
                    "warmup_steps": 5,
                    "transition_steps": 5,
                    "decay_rate": 0.5,
                }
            ),
        ),
        case(
            "warmup_constant",
            "optax",
            spec({"kind": "optax.warmup_constant_schedule", "init_value": 0.0, "peak_value": 0.1, "warmup_steps": 5}),
        ),
        case(
            "linear_onecycle",
            "optax",
            spec({"kind": "optax.linear_onecycle_schedule", "transition_steps": 30, "peak_value": 0.1}),
        ),
        case(
            "cosine_onecycle_float64",
            "optax",
            spec(
                {"kind": "optax.cosine_onecycle_schedule", "transition_steps": 30, "peak_value": 0.1}, dtype="float64"
            ),
        ),
        case(
            "sgdr",
            "optax",
            spec(
                {
                    "kind": "optax.sgdr_schedule",
                    "cosine_kwargs": [
                        {"init_value": 0.0, "peak_value": 0.1, "warmup_steps": 2, "decay_steps": 10},
                        {"init_value": 0.0, "peak_value": 0.05, "warmup_steps": 2, "decay_steps": 20},
                    ],
                }
            ),
        ),
        case(
            "join",
            "optax",
            spec(
                {
                    "kind": "optax.join_schedules",
                    "schedules": [
                        {"kind": "optax.linear_schedule", "init_value": 0.0, "end_value": 0.1, "transition_steps": 5},
                        {
                            "kind": "optax.exponential_decay",
                            "init_value": 0.1,
                            "transition_steps": 5,
                            "decay_rate": 0.5,
                        },
                    ],
                    "boundaries": [5],
                }
            ),
        ),
        case("course_decay_from_tf1", "optax", {**COURSE, "schedule": COURSE_DECAY}),
        case(
            "onecycle_from_torch",
            "optax",
            spec({"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 30, "cycle_momentum": False}),
        ),
        case(
            "expression_loss_loss_stop",
            "optax",
            {
                "loss": {"kind": "expression", "formula": "(x - 1)**2 + 2*sin(y)**2"},
                "w0": [3.0, 1.0],
                "schedule": 0.1,
                "steps": 60,
                "stop": {"loss_tol": 1e-4},
            },
        ),
    ]
    return [*tf1, *keras, *torch, *optax, *foreign_cases()]


FOREIGN: list[Json] = [
    {"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": True},
    {"kind": "tf1.inverse_time_decay", "learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5},
    {"kind": "tf1.polynomial_decay", "learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.0, "power": 2.0},
    {"kind": "tf1.piecewise_constant", "boundaries": [10, 20], "values": [0.1, 0.05, 0.025]},
    {"kind": "tf1.cosine_decay", "learning_rate": 0.1, "decay_steps": 20, "alpha": 0.1},
    {"kind": "tf1.cosine_decay_restarts", "learning_rate": 0.1, "first_decay_steps": 8},
    {"kind": "keras.ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.95},
    {
        "kind": "keras.InverseTimeDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 5,
        "decay_rate": 0.5,
        "staircase": True,
    },
    {"kind": "keras.PolynomialDecay", "initial_learning_rate": 0.1, "decay_steps": 20, "end_learning_rate": 0.01},
    {"kind": "keras.PiecewiseConstantDecay", "boundaries": [5, 15], "values": [0.1, 0.05, 0.025]},
    {"kind": "keras.CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 20},
    {
        "kind": "keras.CosineDecay",
        "initial_learning_rate": 0.0,
        "decay_steps": 20,
        "warmup_target": 0.1,
        "warmup_steps": 5,
    },
    {"kind": "keras.CosineDecayRestarts", "initial_learning_rate": 0.1, "first_decay_steps": 6, "t_mul": 1.0},
    {"kind": "torch.StepLR", "lr": 0.1, "step_size": 10, "gamma": 0.5},
    {"kind": "torch.MultiStepLR", "lr": 0.1, "milestones": [5, 15], "gamma": 0.5},
    {"kind": "torch.LinearLR", "lr": 0.1, "start_factor": 0.25, "total_iters": 10},
    {"kind": "torch.ExponentialLR", "lr": 0.1, "gamma": 0.95},
    {"kind": "torch.PolynomialLR", "lr": 0.1, "total_iters": 20, "power": 2.0},
    {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 10},
    {"kind": "torch.CosineAnnealingWarmRestarts", "lr": 0.1, "T_0": 5, "T_mult": 2},
    {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 30, "cycle_momentum": False},
    {"kind": "optax.constant_schedule", "value": 0.1},
    {"kind": "optax.linear_schedule", "init_value": 0.1, "end_value": 0.01, "transition_steps": 20},
    {"kind": "optax.polynomial_schedule", "init_value": 0.1, "end_value": 0.0, "power": 2, "transition_steps": 20},
    {"kind": "optax.exponential_decay", "init_value": 0.1, "transition_steps": 5, "decay_rate": 0.5, "staircase": True},
    {"kind": "optax.piecewise_constant_schedule", "init_value": 0.1, "boundaries_and_scales": {"10": 0.5, "20": 0.5}},
    {"kind": "optax.cosine_decay_schedule", "init_value": 0.1, "decay_steps": 20, "alpha": 0.1},
    {
        "kind": "optax.warmup_cosine_decay_schedule",
        "init_value": 0.0,
        "peak_value": 0.1,
        "warmup_steps": 5,
        "decay_steps": 25,
    },
    {"kind": "optax.cosine_onecycle_schedule", "transition_steps": 30, "peak_value": 0.1},
]
"""A schedule of each kind that other libraries have counterparts of, with parameters that every library able to
write it can: each is written, and run, in every library other than its own that has its counterpart."""


def foreign_cases() -> list[Json]:
    """Every schedule of FOREIGN in every other library that has its counterpart (plain SGD, the 2-D quadratic)."""
    written = []
    for schedule in FOREIGN:
        own = library_of(schedule["kind"])
        for library in LIBRARIES:
            document = normalised(spec(schedule))["schedule"]
            if library == own or counterpart(document, library).schedule is None:
                continue
            warmup = "_warmup" if schedule.get("warmup_target") is not None else ""
            written.append(case(f"from_{schedule['kind']}{warmup}", library, spec(schedule)))
    return written


def normalised(run: Json) -> Json:
    """The spec as the service stores it (defaults filled in)."""
    return RunSpec.model_validate_json(json.dumps(run)).normalised()


def program_of(entry: Json) -> str:
    return program(normalised(entry["spec"]), entry["library"], f"golden-{entry['name']}")


def execute(python: str, source: str) -> str:
    """The program's standard output, run by `python` (the golden virtualenv) in a fresh process."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([python, "-c", source], capture_output=True, text=True, env=env, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the program failed:\n{source}\n{done.stderr[-3000:]}")
    return done.stdout


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=".venv-golden/bin/python", help="the golden virtualenv's python")
    parser.add_argument("--only", default="", help="only the cases of this library (the others are kept)")
    parser.add_argument("--case", default="", help="only the cases whose name contains this (the others are kept)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    kept = {(c["library"], c["name"]): c for c in json.loads(FIXTURE.read_text())["cases"]} if FIXTURE.exists() else {}
    todo = [e for e in cases() if e["library"].startswith(args.only) and args.case in e["name"]]
    started = time.perf_counter()

    def one(entry: Json) -> Json:
        source = program_of(entry)
        output = execute(args.python, source)
        print(f"{entry['library']:6} {entry['name']:40} {len(output.splitlines()) - 1:4} rows", flush=True)
        return {**entry, "program": source, "output": output}

    with ThreadPoolExecutor(args.jobs) as pool:
        done = list(pool.map(one, todo))
    for entry in done:
        kept[(entry["library"], entry["name"])] = entry
    order = [(c["library"], c["name"]) for c in cases()]
    versions = execute(
        args.python,
        "import importlib.metadata as m\nfor p in ('tensorflow-cpu', 'keras', 'torch', 'jax', 'optax', 'numpy'):\n"
        "    print(p, m.version(p))",
    )
    document = {"versions": versions.split("\n")[:-1], "cases": [kept[key] for key in order if key in kept]}
    FIXTURE.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {FIXTURE} ({len(document['cases'])} cases) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
