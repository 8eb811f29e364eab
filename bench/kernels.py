"""The compiled step kernels (issue 16, items 1 and 3) against the NumPy path and the C floor, in one process.

`python -m bench.kernels` times the issue's workloads, each case once per round, rounds interleaved (so a load
spike on the shared machine hits every case alike), and reports medians over the rounds:

- `crawl`: 1 run × 1,000,000 steps of SGD at rate 1e-7 on the course's loss (it never settles, every row is
  computed): `iterate` with every chunk kept (the trace), on the compiled and the NumPy path, `run_one` (trace
  recorded and analysed), and C (`sgd_sweep` of one run, trace kept).
- `adam`: torch.Adam, 1 run × 100,000 steps, 2-D (bench.sweep's Adam problem at rate 1e-2): `iterate`, `run_one`,
  C (`adam_sweep` of one run, trace kept).
- `course`: the course run (40 steps at 0.2) in-process as the worker runs it: `run_one` (the whole-run path once
  the kernels are loaded, else `iterate`, the Analyzer and the recorded rows); `course.built` also builds the problem
  from the stored document; `course.decay` is the chapter's second listing (TF1's staircase exponential decay, a
  rate table computed by NumPy). Before timing, each is checked against the NumPy path: every trace column and
  summary field, bit for bit.
- `sgd_sweep`: 10,000 rates × 1,000 steps through `run_sweep`, summaries only and with the full trace kept
  (`max_points` = every row: into fresh arrays, and `.reused` into the arrays an earlier `run_sweep` allocated,
  reused between calls with `run_sweep(into=)`: the step-major arrays the service's sweeps keep, as C's trace is
  laid out), against C's summary loop and C's trace loop (into reused memory).
- `adam_sweep`: 1,000 rates × 1,000 steps, 2-D, torch.Adam through `run_sweep`, summaries, against C (which keeps
  the trace: its floor for Adam) and warm optax (`jit(lax.scan)` of `optax.adam`, summaries, in a subprocess under
  `--optax-python`, the golden virtualenv's by default: `bench/optax_adam.py`; its compile time is reported apart
  and added in the ratio `optax+compile`). Before timing, optax's final weights are compared with the engine's
  own `optax.adam` (bit for bit, or the largest difference) and with the engine's torch.Adam (the timed workload).

The NumPy path of the slow cases runs fewer rounds (`--numpy-rounds`). Before timing, each engine case's final
weights are compared with C's (bit for bit). Results: a table on stdout, JSON in bench/results/kernels.json.
"""

import argparse
import gc
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from bench.report import publish
from bench.sweep import ADAM_A, ADAM_B, ADAM_C, ADAM_STEPS, ADAM_W0, BETA1, BETA2, EPS, Floor, adam_problem, sgd_problem
from service.engine import kernels, whole
from service.engine.analysis import RunSummary
from service.engine.execute import run_one
from service.engine.loop import Problem, iterate
from service.engine.losses import quadratic
from service.engine.optimizers import OPTIMIZERS
from service.engine.schedules import Constant
from service.engine.sweep import run_sweep
from service.engine.trace import COLUMNS
from service.specs import build
from service.specs.run import RunSpec

F32 = np.dtype(np.float32)
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "kernels.json"
OPTAX_PYTHON = Path("/work/venv-golden/bin/python")
CRAWL_STEPS, CRAWL_RATE = 1_000_000, 1e-7
ADAM_SINGLE_STEPS, ADAM_SINGLE_RATE = 100_000, 1e-2
SWEEP_RUNS, SWEEP_STEPS = 10_000, 1_000
ADAM_SWEEP_RUNS = 1_000
COURSE = {"loss": {"kind": "quadratic", "a": 1, "b": 1, "c": 0}, "w0": 5, "schedule": 0.2, "steps": 40}
COURSE_DECAY = {
    **COURSE,
    "schedule": {
        "kind": "tf1.exponential_decay",
        "learning_rate": 0.1,
        "decay_steps": 1,
        "decay_rate": 0.99,
        "staircase": True,
    },
}
"""The chapter's second listing: TF1's staircase decay (a rate table from NumPy, TF1's GradientDescentOptimizer)."""


def on(mode: kernels.Mode, body: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        with kernels.use(mode):
            return body()

    return call


def trace_of(problem: Problem) -> Callable[[], object]:
    return lambda: list(iterate(problem))


COURSE_CALLS = 200
"""A course case's sample is this many calls in a row (one call, right after a sweep's hundreds of megabytes, would
time cold caches); its figures are per call."""


def worker_like(document: dict[str, Any], built: Problem | None = None) -> Callable[[], object]:
    """The engine's part of `service.runs.worker.compute_run` for a run recording every row (`run_one`: the whole-run
    path for a run that fits one chunk, when the kernels are loaded); the problem built from the stored document in
    the call (`course.built`), or given (`course`: the loop, analysis and recording only). `COURSE_CALLS` calls."""

    def calls() -> object:
        for _ in range(COURSE_CALLS):
            run_one(built or build.build_problem(document))
        return None

    return calls


class Optax:
    """`bench/optax_adam.py` in a subprocess: compiled once at start, then one warm sweep per `time()` call."""

    def __init__(self, python: Path, runs: int, steps: int) -> None:
        command = [str(python), str(HERE / "optax_adam.py"), str(runs), str(steps)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self._read()
        self.compile_ns: int = first["compile_ns"]
        self.w = np.asarray(first["w"], F32)

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"bench/optax_adam.py ended (exit code {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def time(self) -> tuple[int, int]:
        """(wall ns, CPU ns) of one warm sweep, measured in the subprocess."""
        assert self.process.stdin is not None
        self.process.stdin.write("time\n")
        self.process.stdin.flush()
        answer = self._read()
        return answer["wall_ns"], answer["cpu_ns"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


def optax_problem(rates: np.ndarray, steps: int) -> Problem:
    """The Adam sweep with the engine's own `optax.adam` (what the optax baseline computes)."""
    w0 = np.tile(np.asarray(ADAM_W0, F32), (rates.size, 1))
    optimizer = OPTIMIZERS["optax.adam"](dtype=F32, b1=BETA1, b2=BETA2, eps=EPS)
    loss = quadratic(list(ADAM_A), list(ADAM_B), ADAM_C, 2, F32)
    return Problem(loss, Constant(rate=rates), optimizer, w0, steps)


def difference(ours: np.ndarray, theirs: np.ndarray) -> str:
    """`bitwise`, or the largest difference relative to max(|w|, 1)."""
    ours, theirs = np.asarray(ours, F32), np.asarray(theirs, F32).reshape(ours.shape)
    if ours.tobytes() == theirs.tobytes():
        return "bitwise"
    scale = np.maximum(np.abs(ours.astype(np.float64)), 1.0)
    return f"max relative difference {float(np.max(np.abs(ours.astype(np.float64) - theirs) / scale)):.2g}"


def check_final_w(name: str, chunks: list[Any], floor_w: np.ndarray) -> str:
    ours = np.asarray(chunks[-1].w[-1], F32).ravel()
    same = ours.tobytes() == np.asarray(floor_w, F32).ravel().tobytes()
    if not same:
        raise AssertionError(f"{name}: final weights differ from C's: {ours[:4]} against {floor_w.ravel()[:4]}")
    return "bitwise"


def check_course(name: str, problem: Problem) -> None:
    """The course run on the whole-run path (the timed `compiled` case) gives the NumPy path's rows and summary,
    bit for bit."""
    with kernels.use("compiled"):
        if whole.compute(problem, 1) is None:
            raise AssertionError(f"{name}: the whole-run path refused the course run")
        fast = run_one(problem)
    with kernels.use("numpy"):
        general = run_one(problem)
    pairs = [(f"trace.{column}", getattr(fast.trace, column), getattr(general.trace, column)) for column in COLUMNS]
    pairs += [
        (f"summary.{f.name}", getattr(fast.summary, f.name), getattr(general.summary, f.name))
        for f in fields(RunSummary)
    ]
    for label, ours, theirs in pairs:
        same = (
            list(ours) == list(theirs)
            if ours.dtype == object
            else ours.dtype == theirs.dtype and ours.shape == theirs.shape and ours.tobytes() == theirs.tobytes()
        )
        if not same:
            raise AssertionError(f"{name}: {label} differs from the NumPy path's: {ours!r} against {theirs!r}")


def cases(
    floor: Floor, optax: Optax | None, notes: list[str]
) -> dict[str, tuple[int, int, Callable[[], object], bool]]:
    """name -> (runs, steps, body, slow): slow cases run `--numpy-rounds` rounds."""
    crawl = sgd_problem(np.array([CRAWL_RATE], F32), CRAWL_STEPS)
    adam = adam_problem(np.array([ADAM_SINGLE_RATE], F32), ADAM_SINGLE_STEPS)
    sweep_rates = np.linspace(1e-4, 1.2, SWEEP_RUNS, dtype=F32)
    sgd_sweep = sgd_problem(sweep_rates, SWEEP_STEPS)
    adam_rates = np.logspace(-4, 0, ADAM_SWEEP_RUNS, dtype=F32)
    adam_sweep = adam_problem(adam_rates, ADAM_STEPS)
    course = RunSpec.model_validate(COURSE).normalised()
    built = build.build_problem(course)
    decay = RunSpec.model_validate(COURSE_DECAY).normalised()
    decay_built = build.build_problem(decay)
    crawl_rate, adam_rate = np.array([CRAWL_RATE], F32), np.array([ADAM_SINGLE_RATE], F32)

    def c_sgd(rates: np.ndarray, steps: int, trace: bool) -> Callable[[], object]:
        return lambda: floor.sgd(rates, steps, trace=trace)[0]

    def c_adam(rates: np.ndarray, steps: int) -> Callable[[], object]:
        return lambda: floor.adam(rates, steps)[0]

    def sweep(problem: Problem, max_points: int | None = None) -> Callable[[], object]:
        return lambda: run_sweep(problem, max_points=max_points)

    full = SWEEP_STEPS + 1
    reused = run_sweep(sgd_sweep, max_points=full).traces  # the arrays the service's sweeps keep (step-major)

    def sweep_into() -> object:
        return run_sweep(sgd_sweep, max_points=full, into=reused)

    table: dict[str, tuple[int, int, Callable[[], object], bool]] = {
        "crawl:compiled": (1, CRAWL_STEPS, on("compiled", trace_of(crawl)), False),
        "crawl:compiled.run_one": (1, CRAWL_STEPS, on("compiled", lambda: run_one(crawl)), False),
        "crawl:numpy": (1, CRAWL_STEPS, on("numpy", trace_of(crawl)), True),
        "crawl:c": (1, CRAWL_STEPS, c_sgd(crawl_rate, CRAWL_STEPS, True), False),
        "adam:compiled": (1, ADAM_SINGLE_STEPS, on("compiled", trace_of(adam)), False),
        "adam:compiled.run_one": (1, ADAM_SINGLE_STEPS, on("compiled", lambda: run_one(adam)), False),
        "adam:numpy": (1, ADAM_SINGLE_STEPS, on("numpy", trace_of(adam)), True),
        "adam:c": (1, ADAM_SINGLE_STEPS, c_adam(adam_rate, ADAM_SINGLE_STEPS), False),
        "course:compiled": (1, 40, on("compiled", worker_like(course, built)), False),
        "course:numpy": (1, 40, on("numpy", worker_like(course, built)), False),
        "course.built:compiled": (1, 40, on("compiled", worker_like(course)), False),
        "course.built:numpy": (1, 40, on("numpy", worker_like(course)), False),
        "course.decay:compiled": (1, 40, on("compiled", worker_like(decay, decay_built)), False),
        "course.decay:numpy": (1, 40, on("numpy", worker_like(decay, decay_built)), False),
        "sgd_sweep.summary:compiled": (SWEEP_RUNS, SWEEP_STEPS, on("compiled", sweep(sgd_sweep)), False),
        "sgd_sweep.summary:numpy": (SWEEP_RUNS, SWEEP_STEPS, on("numpy", sweep(sgd_sweep)), True),
        "sgd_sweep.summary:c": (SWEEP_RUNS, SWEEP_STEPS, c_sgd(sweep_rates, SWEEP_STEPS, False), False),
        "sgd_sweep.trace:compiled": (SWEEP_RUNS, SWEEP_STEPS, on("compiled", sweep(sgd_sweep, full)), False),
        "sgd_sweep.trace:compiled.reused": (SWEEP_RUNS, SWEEP_STEPS, on("compiled", sweep_into), False),
        "sgd_sweep.trace:numpy": (SWEEP_RUNS, SWEEP_STEPS, on("numpy", sweep(sgd_sweep, full)), True),
        "sgd_sweep.trace:c": (SWEEP_RUNS, SWEEP_STEPS, c_sgd(sweep_rates, SWEEP_STEPS, True), False),
        "adam_sweep.summary:compiled": (ADAM_SWEEP_RUNS, ADAM_STEPS, on("compiled", sweep(adam_sweep)), False),
        "adam_sweep.summary:numpy": (ADAM_SWEEP_RUNS, ADAM_STEPS, on("numpy", sweep(adam_sweep)), True),
        "adam_sweep.summary:c": (ADAM_SWEEP_RUNS, ADAM_STEPS, c_adam(adam_rates, ADAM_STEPS), False),
    }
    check_course("course", built)
    check_course("course.decay", decay_built)
    with kernels.use("compiled"):
        check_final_w("crawl", list(iterate(crawl)), floor.sgd(crawl_rate, CRAWL_STEPS, trace=True)[1])
        check_final_w("adam", list(iterate(adam)), floor.adam(adam_rate, ADAM_SINGLE_STEPS)[1])
        if optax is not None:
            engine_optax = run_sweep(optax_problem(adam_rates, ADAM_STEPS)).summary.final_w
            engine_torch = run_sweep(adam_sweep).summary.final_w
            notes.append(f"optax's final weights against the engine's optax.adam: {difference(engine_optax, optax.w)}")
            notes.append(f"optax's final weights against the engine's torch.Adam: {difference(engine_torch, optax.w)}")
            notes.append(f"optax compile (lower + compile, once): {optax.compile_ns / 1e6:,.0f} ms")
            table["adam_sweep.summary:optax"] = (ADAM_SWEEP_RUNS, ADAM_STEPS, optax.time, False)
    return table


def timed(body: Callable[[], object]) -> tuple[int, int]:
    """(wall ns, CPU ns) of one call, garbage collection off; a body returning an int timed itself (the C floor,
    in this process), one returning a pair timed itself in another process (wall and CPU)."""
    gc.collect()
    gc.disable()
    try:
        start, cpu = time.perf_counter_ns(), time.process_time_ns()
        inner = body()
        wall, used = time.perf_counter_ns() - start, time.process_time_ns() - cpu
    finally:
        gc.enable()
    if isinstance(inner, int):
        used, wall = round(used * inner / wall), inner
    if isinstance(inner, tuple):
        wall, used = inner
    return wall, used


def run(rounds: int, numpy_rounds: int, only: set[str] | None, optax_python: Path | None) -> dict[str, Any]:
    kernels.warm()
    notes: list[str] = []
    adam_sweep = only is None or any(name.startswith("adam_sweep") for name in only)
    wanted_optax = optax_python is not None and optax_python.exists() and adam_sweep
    optax = Optax(optax_python, ADAM_SWEEP_RUNS, ADAM_STEPS) if wanted_optax and optax_python else None
    with tempfile.TemporaryDirectory() as folder:
        floor = Floor(Path(folder))
        every = cases(floor, optax, notes)
        table = {name: case for name, case in every.items() if only is None or _chosen(name, only)}
        samples: dict[str, list[tuple[int, int]]] = {name: [] for name in table}
        for _, _, body, _ in table.values():  # warm-up round
            body()
        for index in range(rounds):
            for name, (_, _, body, slow) in table.items():
                if slow and index >= numpy_rounds:
                    continue
                samples[name].append(timed(body))
    if optax is not None:
        optax.close()
    timings: dict[str, dict[str, Any]] = {}
    for name, (runs, steps, _, _) in table.items():
        calls = COURSE_CALLS if name.startswith("course") else 1
        walls, cpus = [s[0] // calls for s in samples[name]], [s[1] // calls for s in samples[name]]
        timings[name] = {
            "runs": runs,
            "steps": steps,
            "rounds": len(walls),
            "median_ns": statistics.median(walls),
            "median_cpu_ns": statistics.median(cpus),
            "samples_ns": walls,
        }
    found = ratios(timings)
    if optax is not None and "adam_sweep.summary:optax" in timings:
        warm = timings["adam_sweep.summary:optax"]
        for name in ("adam_sweep.summary:compiled", "adam_sweep.summary:numpy"):
            if name in timings:
                found[f"{name} / optax+compile"] = (
                    timings[name]["median_ns"] / (warm["median_ns"] + optax.compile_ns),
                    timings[name]["median_cpu_ns"] / (warm["median_cpu_ns"] + optax.compile_ns),
                )
    compile_ns = optax.compile_ns if optax is not None else None
    return {
        "floor": floor.command,
        "gcc": floor.version,
        "optax_compile_ns": compile_ns,
        "notes": notes,
        "timings": timings,
        "ratios": found,
    }


def _chosen(name: str, only: set[str]) -> bool:
    """Whether case `name` (`workload.variant:implementation`) is among `only`: its workload, or the workload's
    family before the first dot (`sgd_sweep` takes `sgd_sweep.summary` and `sgd_sweep.trace`)."""
    workload = name.split(":")[0]
    return workload in only or workload.split(".")[0] in only


def ratios(timings: dict[str, dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Each engine case's medians over the C floor's (and the NumPy path's) of the same workload: (wall, CPU)."""
    found = {}
    for name, timing in timings.items():
        workload, _, implementation = name.partition(":")
        for baseline in ("c", "numpy", "optax"):
            other = timings.get(f"{workload}:{baseline}")
            if other is not None and implementation not in ("c", baseline):
                found[f"{name} / {baseline}"] = (
                    timing["median_ns"] / other["median_ns"],
                    timing["median_cpu_ns"] / other["median_cpu_ns"],
                )
    return found


def show(document: dict[str, Any]) -> str:
    lines = ["| case | runs × steps | rounds | median (wall) | median (CPU) |", "|---|---:|---:|---:|---:|"]
    for name, t in document["timings"].items():
        lines.append(
            f"| `{name}` | {t['runs']:,} × {t['steps']:,} | {t['rounds']} | {_ms(t['median_ns'])} | "
            f"{_ms(t['median_cpu_ns'])} |"
        )
    lines += ["", "| ratio of medians | wall | CPU |", "|---|---:|---:|"]
    lines += [f"| {name} | {wall:.3g} | {cpu:.3g} |" for name, (wall, cpu) in document["ratios"].items()]
    lines += ["", *document["notes"]]
    return "\n".join(lines)


def _ms(ns: float) -> str:
    return f"{ns / 1e3:,.1f} µs" if ns < 1e6 else f"{ns / 1e6:,.2f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kernels", description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--numpy-rounds", type=int, default=2, help="rounds for the NumPy path's slow cases")
    parser.add_argument(
        "--only", nargs="*", help="workloads to run (crawl, adam, course, sgd_sweep, sgd_sweep.summary, ...)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--optax-python", type=Path, default=OPTAX_PYTHON, help="a Python with JAX and optax (skipped if missing)"
    )
    arguments = parser.parse_args(argv)
    only = set(arguments.only) if arguments.only else None
    document = run(arguments.rounds, arguments.numpy_rounds, only, arguments.optax_python)
    publish(show(document), document, arguments.output)


if __name__ == "__main__":
    main()
