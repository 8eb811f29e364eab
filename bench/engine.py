"""Engine throughput against a plain-NumPy baseline doing the same float32 SGD arithmetic with no trace.

`python -m bench.engine` times, as medians over repeats after a warm-up:
(a) one course run (quadratic a=1, b=1, c=0, w0=5, constant rate 0.2) for 100,000 steps, through `iterate`
    and through `run_one` (which also records the trace and analyses it);
(b) 10,000 course runs x 1,000 steps with rates `linspace(1e-4, 1.2, 10_000)`, through `iterate`.
Each baseline runs in the same process, so the ratio engine/baseline is what the engine's structure costs.
Results go to stdout as a table and to bench/results/engine.json.
"""

import argparse
import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.report import publish
from service.engine.execute import run_one
from service.engine.loop import Problem, iterate
from service.engine.losses import quadratic
from service.engine.optimizers import GradientDescent
from service.engine.schedules import Constant, constant

F32 = np.dtype(np.float32)
Weights = npt.NDArray[np.float32]
RESULTS = Path(__file__).resolve().parent / "results" / "engine.json"

# The course problem: a·(w + b)² + c with a=1, b=1, c=0 from w0=5, in float32.
A, B, C, W0 = 1.0, 1.0, 0.0, 5.0
SINGLE_RATE, SINGLE_STEPS = 0.2, 100_000
BATCH_RUNS, BATCH_STEPS = 10_000, 1_000


@dataclass(frozen=True)
class Timing:
    """One measured case: every sample (ns), its median, and the median per (run x step)."""

    case: str
    runs: int
    steps: int
    samples_ns: list[int]
    median_ns: float
    ns_per_run_step: float


def measure(case: str, runs: int, steps: int, body: Callable[[], object], repeats: int, warmup: int) -> Timing:
    """Time `body` `repeats` times after `warmup` untimed calls; garbage collection is off while timing (as timeit)."""
    for _ in range(warmup):
        body()
    samples: list[int] = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter_ns()
            body()
            samples.append(time.perf_counter_ns() - start)
        finally:
            gc.enable()
    median = statistics.median(samples)
    return Timing(case, runs, steps, samples, median, median / (runs * steps))


def course_problem(rates: npt.NDArray[np.float32], steps: int) -> Problem:
    """The course loss from w0=5 for one run per rate, with plain gradient descent."""
    w0 = np.full((rates.size, 1), W0, dtype=F32)
    schedule = constant(float(rates[0]), F32) if rates.size == 1 else Constant(rate=rates)
    return Problem(quadratic(A, B, C, 1, F32), schedule, GradientDescent(), w0, steps)


def engine_last_w(problem: Problem) -> Weights:
    """Consume every chunk `iterate` yields; return the last row of weights (w after all steps), shaped (R, D)."""
    last: Weights | None = None
    for chunk in iterate(problem):
        last = np.asarray(chunk.w[-1], dtype=F32)
    assert last is not None
    return last


def baseline_arrays(rate: float, steps: int) -> Weights:
    """One run as a Python loop over 1-element float32 arrays with in-place ufuncs: the engine's four ops per step.

    Every operand is an array, as in the engine: a NumPy scalar operand would cost a conversion on each call.
    """
    w = np.full(1, W0, dtype=F32)
    g = np.empty(1, dtype=F32)
    b, twice_a, lr = (np.full(1, value, dtype=F32) for value in (B, 2 * A, rate))
    for _ in range(steps):
        np.add(w, b, out=g)
        np.multiply(g, twice_a, out=g)
        np.multiply(g, lr, out=g)
        np.subtract(w, g, out=w)
    return w.reshape(1, 1)


def baseline_scalars(rate: float, steps: int) -> Weights:
    """One run as a Python loop over float32 scalars: the cheapest NumPy spelling of the same rounding."""
    w, b, twice_a, lr = np.float32(W0), np.float32(B), np.float32(2 * A), np.float32(rate)
    for _ in range(steps):
        w = w - lr * (twice_a * (w + b))
    return np.full((1, 1), w, dtype=F32)


def baseline_batch(rates: npt.NDArray[np.float32], steps: int) -> Weights:
    """All runs at once on a (R, 1) array with in-place ufuncs, no trace, no per-chunk checks."""
    w = np.full((rates.size, 1), W0, dtype=F32)
    g = np.empty_like(w)
    lr = rates.reshape(-1, 1)
    b, twice_a = np.float32(B), np.float32(2 * A)
    with np.errstate(all="ignore"):  # the steepest rates diverge to inf/nan, as in the engine
        for _ in range(steps):
            np.add(w, b, out=g)
            np.multiply(g, twice_a, out=g)
            np.multiply(g, lr, out=g)
            np.subtract(w, g, out=w)
    return w


def check_same(name: str, engine: Weights, baseline: Weights) -> None:
    """The baselines must do the engine's arithmetic: final weights equal bit for bit (nan included)."""
    if not np.array_equal(engine, baseline, equal_nan=True):
        raise SystemExit(f"{name}: baseline final weights differ from the engine's; the comparison would be unfair.")


def run(repeats: int, warmup: int) -> dict[str, object]:
    """Check the baselines against the engine, then time every case; return the JSON document."""
    single_rates = np.asarray([SINGLE_RATE], dtype=F32)
    batch_rates = np.linspace(1e-4, 1.2, BATCH_RUNS).astype(F32)
    single = course_problem(single_rates, SINGLE_STEPS)
    batch = course_problem(batch_rates, BATCH_STEPS)

    check_same("(a) arrays", engine_last_w(single), baseline_arrays(SINGLE_RATE, SINGLE_STEPS))
    check_same("(a) scalars", engine_last_w(single), baseline_scalars(SINGLE_RATE, SINGLE_STEPS))
    check_same("(b) batch", engine_last_w(batch), baseline_batch(batch_rates, BATCH_STEPS))

    cases: list[tuple[str, int, int, Callable[[], object]]] = [
        ("a.engine.iterate", 1, SINGLE_STEPS, lambda: engine_last_w(single)),
        ("a.engine.run_one", 1, SINGLE_STEPS, lambda: run_one(single)),
        ("a.baseline.arrays", 1, SINGLE_STEPS, lambda: baseline_arrays(SINGLE_RATE, SINGLE_STEPS)),
        ("a.baseline.scalars", 1, SINGLE_STEPS, lambda: baseline_scalars(SINGLE_RATE, SINGLE_STEPS)),
        ("b.engine.iterate", BATCH_RUNS, BATCH_STEPS, lambda: engine_last_w(batch)),
        ("b.baseline.vectorised", BATCH_RUNS, BATCH_STEPS, lambda: baseline_batch(batch_rates, BATCH_STEPS)),
    ]
    timings = {name: measure(name, runs, steps, body, repeats, warmup) for name, runs, steps, body in cases}

    def ratio(engine: str, baseline: str) -> float:
        return timings[engine].median_ns / timings[baseline].median_ns

    return {
        "benchmark": "engine",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "repeats": repeats,
        "warmup": warmup,
        "cases": [asdict(t) for t in timings.values()],
        "ratios": {
            "a.iterate/arrays": ratio("a.engine.iterate", "a.baseline.arrays"),
            "a.run_one/arrays": ratio("a.engine.run_one", "a.baseline.arrays"),
            "a.iterate/scalars": ratio("a.engine.iterate", "a.baseline.scalars"),
            "a.run_one/scalars": ratio("a.engine.run_one", "a.baseline.scalars"),
            "b.iterate/vectorised": ratio("b.engine.iterate", "b.baseline.vectorised"),
        },
    }


def machine() -> dict[str, object]:
    """What the figures depend on: cores, Python, NumPy, platform."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }


def table(document: dict[str, object]) -> str:
    """The cases and ratios as an aligned plain-text table."""
    cases = document["cases"]
    ratios = document["ratios"]
    assert isinstance(cases, list)
    assert isinstance(ratios, dict)
    lines = [f"{'case':<24}{'runs x steps':>16}{'median ms':>12}{'ns/(run x step)':>18}", "-" * 70]
    for case in cases:
        size = f"{case['runs']:,} x {case['steps']:,}"
        lines.append(f"{case['case']:<24}{size:>16}{case['median_ns'] / 1e6:>12.2f}{case['ns_per_run_step']:>18.1f}")
    lines += ["", f"{'ratio (medians)':<32}{'engine/baseline':>16}", "-" * 48]
    lines += [f"{name:<32}{value:>16.2f}" for name, value in ratios.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description="Engine throughput against a plain-NumPy baseline."
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before timing (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.repeats, args.warmup)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
