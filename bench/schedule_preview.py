"""`POST /v1/schedules/preview` at its limits: 16 schedules x 100,000 steps.

`python -m bench.schedule_preview [--repeats 15]` times, interleaved, medians over the repeats:
- `evaluate`: `service.specs.preview.preview` alone (the engine's vectorised schedules, one call per schedule);
- `evaluate + equivalents`: the same with each schedule's counterparts in the other libraries and the differences;
- `HTTP, every step`: the whole request through the app in-process (validation, evaluation, JSON of 1.6 million
  rates), and `HTTP, max_points=1000`: what a dashboard asks for to draw it.
The 16 schedules span the four libraries, torch's recursive CosineAnnealingLR and the optax schedules that are
slowest per step (`bench/README.md`, engine_changes) included. Results go to bench/results/schedule_preview.json.
"""

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench.report import publish
from service.config import Settings
from service.main import create_app
from service.specs.preview import MAX_SCHEDULES, MAX_STEPS, SchedulePreviewSpec, preview

RESULTS = Path(__file__).resolve().parent / "results" / "schedule_preview.json"
SCHEDULES: list[Any] = [
    0.1,
    {"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 1000, "decay_rate": 0.5, "staircase": True},
    {"kind": "tf1.polynomial_decay", "learning_rate": 0.1, "decay_steps": 30000, "power": 2.0, "cycle": True},
    {"kind": "tf1.cosine_decay_restarts", "learning_rate": 0.1, "first_decay_steps": 1000},
    {
        "kind": "keras.CosineDecay",
        "initial_learning_rate": 0.0,
        "decay_steps": 90000,
        "warmup_target": 0.1,
        "warmup_steps": 10000,
    },
    {"kind": "keras.PiecewiseConstantDecay", "boundaries": [20000, 50000, 80000], "values": [0.1, 0.05, 0.01, 0.001]},
    {"kind": "keras.InverseTimeDecay", "initial_learning_rate": 0.1, "decay_steps": 100, "decay_rate": 0.5},
    {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 10000},
    {"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 100000, "cycle_momentum": False},
    {
        "kind": "torch.CyclicLR",
        "base_lr": 0.01,
        "max_lr": 0.1,
        "step_size_up": 2000,
        "mode": "triangular2",
        "cycle_momentum": False,
    },
    {"kind": "torch.StepLR", "lr": 0.1, "step_size": 10000, "gamma": 0.5},
    {"kind": "torch.LinearLR", "lr": 0.1, "start_factor": 0.01, "total_iters": 5000},
    {
        "kind": "optax.warmup_cosine_decay_schedule",
        "init_value": 0.0,
        "peak_value": 0.1,
        "warmup_steps": 10000,
        "decay_steps": 100000,
    },
    {"kind": "optax.cosine_onecycle_schedule", "transition_steps": 100000, "peak_value": 0.1},
    {"kind": "optax.exponential_decay", "init_value": 0.1, "transition_steps": 1000, "decay_rate": 0.9},
    {
        "kind": "optax.piecewise_interpolate_schedule",
        "interpolate_type": "cosine",
        "init_value": 0.1,
        "boundaries_and_scales": {"10000": 0.5, "50000": 0.1},
    },
]


def timed(body: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        body()
        return time.perf_counter() - start
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    assert len(SCHEDULES) == MAX_SCHEDULES
    body: dict[str, Any] = {"schedules": SCHEDULES, "steps": MAX_STEPS}
    plain = SchedulePreviewSpec.model_validate(body)
    compared = SchedulePreviewSpec.model_validate({**body, "equivalents": True})
    with TestClient(create_app(Settings(store_path=":memory:"))) as client:

        def http(extra: dict[str, Any]) -> Callable[[], object]:
            def call() -> object:
                response = client.post("/v1/schedules/preview", json={**body, **extra})
                assert response.status_code == 200, response.text
                return response.content

            return call

        cases: dict[str, Callable[[], object]] = {
            "evaluate": lambda: preview(plain),
            "evaluate + equivalents": lambda: preview(compared),
            "HTTP, every step": http({}),
            "HTTP, max_points=1000": http({"max_points": 1000}),
            "HTTP + equivalents, max_points=1000": http({"equivalents": True, "max_points": 1000}),
        }
        for case in cases.values():  # warm-up
            case()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeats):  # interleaved: each repeat times every case once
            for name, case in cases.items():
                times[name].append(timed(case))
        size = len(http({})())  # type: ignore[arg-type]
        each: dict[str, float] = {}
        for schedule in SCHEDULES:  # where the time goes: each schedule alone at every step, median of the repeats
            one = SchedulePreviewSpec.model_validate({"schedules": [schedule], "steps": MAX_STEPS})
            kind = one.model_dump()["schedules"][0]
            name = kind["kind"] if isinstance(kind, dict) else "constant"
            each[name] = statistics.median(timed(partial(preview, one)) for _ in range(args.repeats))
    rows = [
        f"| {name} | {statistics.median(values) * 1e3:.1f} ms | {min(values) * 1e3:.1f} ms |"
        for name, values in times.items()
    ]
    table = "\n".join(
        [
            f"16 schedules x {MAX_STEPS:,} steps, median and best of {args.repeats} interleaved repeats, load average "
            f"{os.getloadavg()[0]:.1f} "
            f"(answer with every step: {size / 1e6:.1f} MB of JSON)",
            "",
            "| case | median | best |",
            "|---|---:|---:|",
            *rows,
            "",
            "| schedule alone, every step | median |",
            "|---|---:|",
            *(f"| `{name}` | {seconds * 1e3:.1f} ms |" for name, seconds in each.items()),
        ]
    )
    document = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "repeats": args.repeats,
        "seconds": times,
        "each_schedule_seconds": each,
        "answer_bytes": size,
    }
    publish(table, document, RESULTS)


if __name__ == "__main__":
    main()
