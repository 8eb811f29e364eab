"""The engine code this round changed, timed against the code before it (a git revision) in the same run.

`python -m bench.engine_changes [--base REV] [--repeats 7]` runs each case in a fresh subprocess, once with this
checkout's `service` and once with REV's (checked out in a temporary git worktree), interleaved, and reports the
medians and their ratio (this / base):
- a formula's `value` on a 1000 x 1000 grid (what a landscape computes): time and peak resident memory (VmHWM
  growth from a reset), for a short formula and a 39-factor product, in float32 and float64;
- the schedules whose batching was fixed (piecewise, optax onecycle and exponential_decay, torch CyclicLR), as a
  single run evaluates them: 1,000,000 steps in one call, the path every run takes.
Results go to stdout as a table and to bench/results/engine_changes.json.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import publish
from tests.live import ROOT

RESULTS = Path(__file__).resolve().parent / "results" / "engine_changes.json"
PRODUCT = "*".join(f"(x + {i})" for i in range(1, 40)) + " + y"
FORMULAS = {"short formula": "(x + 1)**2 + 10*(y - 2)**2", "39-factor product": PRODUCT}
SCHEDULES: dict[str, dict[str, Any]] = {
    "tf1.piecewise_constant": {"boundaries": [1000, 500000], "values": [0.1, 0.01, 0.001]},
    "keras.PiecewiseConstantDecay": {"boundaries": [1000, 500000], "values": [0.1, 0.01, 0.001]},
    "optax.linear_onecycle_schedule": {"transition_steps": 1_000_000, "peak_value": 0.1},
    "optax.cosine_onecycle_schedule": {"transition_steps": 1_000_000, "peak_value": 0.1},
    "optax.exponential_decay": {"init_value": 0.1, "transition_steps": 1000, "decay_rate": 0.9},
    "torch.CyclicLR": {"base_lr": 0.001, "max_lr": 0.1, "step_size_up": 2000, "mode": "triangular2"},
}

PROBE = """
import json, sys, time
import numpy as np
case = json.loads(sys.stdin.read())

def status(field):
    return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1]) * 1024

if case["kind"] == "formula":
    from service.engine.expressions import expression
    from service.engine.landscape import grid_axes, evaluate
    dtype = np.dtype(case["dtype"])
    loss = expression(case["formula"], 2, dtype)
    axes = grid_axes([(-3.0, 3.0), (-3.0, 3.0)], 1000, dtype)
    evaluate(loss, tuple(a[:10] for a in axes))  # warm
    open("/proc/self/clear_refs", "w").write("5")
    before = status("VmRSS:")
    started = time.perf_counter()
    evaluate(loss, axes)
    print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": (status("VmHWM:") - before) / 2**20}))
else:
    from service.engine import schedules
    schedule = schedules.build({"kind": case["schedule"], **case["parameters"]}, np.dtype("float32"))
    steps = np.arange(1_000_000, dtype=np.int64)
    schedule(steps[:10])
    started = time.perf_counter()
    schedule(steps)
    print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def measure(root: Path, case: dict[str, Any]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        input=json.dumps(case),
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="descent-base-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=ROOT, check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)


def cases() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, formula in FORMULAS.items():
        for dtype in ("float32", "float64"):
            found[f"value, {name}, {dtype}"] = {"kind": "formula", "formula": formula, "dtype": dtype}
    for kind, parameters in SCHEDULES.items():
        found[f"{kind}, 10^6 steps"] = {"kind": "schedule", "schedule": kind, "parameters": parameters}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="2f13777")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    samples: dict[str, dict[str, list[dict[str, float]]]] = {}
    with checkout(args.base) as base:
        for _ in range(args.repeats):
            for name, case in cases().items():
                for label, root in (("this", ROOT), ("base", base)):
                    samples.setdefault(name, {}).setdefault(label, []).append(measure(root, case))
    rows, document = [], {}
    for name, by_root in samples.items():
        medians = {
            label: {key: statistics.median(s[key] for s in runs) for key in runs[0]} for label, runs in by_root.items()
        }
        document[name] = medians
        ratio = medians["this"]["seconds"] / medians["base"]["seconds"]
        memory = ""
        if "peak_mb" in medians["this"]:
            memory = f"; peak {medians['this']['peak_mb']:.0f} MB vs {medians['base']['peak_mb']:.0f} MB"
        rows.append(
            f"{name}: {1000 * medians['this']['seconds']:.1f} ms vs {1000 * medians['base']['seconds']:.1f} ms "
            f"(x{ratio:.2f}){memory}"
        )
    header = f"medians of {args.repeats} interleaved repeats, this checkout vs {args.base}"
    publish("\n".join([header, "", *rows]), {"when": datetime.now(UTC).isoformat(), "medians": document}, RESULTS)


if __name__ == "__main__":
    main()
