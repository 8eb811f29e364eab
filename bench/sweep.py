"""Engine throughput on sweeps, against PyTorch, JAX and a C floor measured in the same process.

`python -m bench.sweep` times, as medians over repeats after a warm-up, in ns per (run x step):
(i)   SGD on the course's loss (w + 1)² from w0 = 5 in float32, 10,000 rates x 1,000 steps, with the full trace
      kept (every row's w, loss, grad and lr) and with summaries only (final w, final loss, best loss);
(ii)  Adam (the engine's `torch.Adam`) on a 2-D quadratic, 1,000 rates x 1,000 steps, trace kept;
(iii) a single course run of 1,000,000 steps (rate 0.2, which reaches an exact fixed point), with and without the
      engine's cycle shortcut, and a crawling run (rate 1e-7) that never reaches one.
Baselines: the same workloads written the obvious way in NumPy, PyTorch (tensor ops, no autograd) and JAX (`jit` +
`lax.scan`; compile time reported apart), when importable, and a C loop (`bench/c/floor.c`, compiled here with
`gcc -O3`, timed inside C with clock_gettime) as the floor. The script needs only NumPy and the engine, so it runs
in any environment that has NumPy; PyTorch and JAX are used when that environment has them (the engine and the
baselines then share one process): `make bench BENCH_PYTHON=/path/to/python-with-torch-and-jax`.
Before timing, each baseline's final weights are compared with the engine's (bit for bit where the arithmetic is
the same). Results go to stdout as a table and to bench/results/sweep.json.
"""

import argparse
import ctypes
import gc
import importlib
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.report import publish
from service.engine.analysis import Analyzer
from service.engine.execute import run_one
from service.engine.loop import Outcome, Problem, TraceChunk, iterate
from service.engine.losses import quadratic
from service.engine.optimizers import OPTIMIZERS, GradientDescent
from service.engine.schedules import Constant

F32 = np.dtype(np.float32)
Floats = npt.NDArray[np.float32]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "sweep.json"
C_SOURCE = HERE / "c" / "floor.c"

# (i) the course loss a·(w + b)² + c, from w0
A, B, C, W0 = 1.0, 1.0, 0.0, 5.0
SGD_RUNS, SGD_STEPS = 10_000, 1_000
# (ii) a 2-D quadratic for Adam (torch's defaults: betas 0.9, 0.999, eps 1e-8)
ADAM_A, ADAM_B, ADAM_C, ADAM_W0 = (1.0, 10.0), (1.0, -2.0), 0.0, (5.0, 5.0)
ADAM_RUNS, ADAM_STEPS = 1_000, 1_000
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
# (iii) one run
SINGLE_STEPS, SINGLE_RATE, CRAWL_RATE = 1_000_000, 0.2, 1e-7
TORCH_SINGLE_STEPS = 100_000  # PyTorch pays ~µs per tensor op: 10^6 steps would take a minute per repeat


@dataclass(frozen=True)
class Timing:
    """One measured case: wall and CPU samples (ns), medians, and the median wall time per (run x step)."""

    case: str
    workload: str
    implementation: str
    runs: int
    steps: int
    samples_ns: list[int]
    cpu_samples_ns: list[int]
    median_ns: float
    median_cpu_ns: float
    ns_per_run_step: float
    agreement: str


def measure(
    case: str, runs: int, steps: int, body: Callable[[], object], repeats: int, warmup: int, agreement: str
) -> Timing:
    """Time `body` after `warmup` untimed calls, garbage collection off while timing; a body that returns an int
    reports its own elapsed nanoseconds (the C floor times itself)."""
    for _ in range(warmup):
        body()
    walls: list[int] = []
    cpus: list[int] = []
    inner: object = None
    for _ in range(repeats):
        inner = None  # the previous result (a whole trace) is freed before the next is made, as after the warm-up
        gc.collect()
        gc.disable()
        try:
            start, cpu = time.perf_counter_ns(), time.process_time_ns()
            inner = body()
            wall, used = time.perf_counter_ns() - start, time.process_time_ns() - cpu
        finally:
            gc.enable()
        if isinstance(inner, int):  # timed inside: the CPU share is the outer one's
            used, wall = round(used * inner / wall), inner
        walls.append(wall)
        cpus.append(used)
    workload, _, implementation = case.partition(":")
    median = statistics.median(walls)
    return Timing(
        case,
        workload,
        implementation,
        runs,
        steps,
        walls,
        cpus,
        median,
        statistics.median(cpus),
        median / (runs * steps),
        agreement,
    )


# --------------------------------------------------------------------------------------------------------------------
# The engine


def sgd_problem(rates: Floats, steps: int) -> Problem:
    w0 = np.full((rates.size, 1), W0, dtype=F32)
    return Problem(quadratic(A, B, C, 1, F32), Constant(rate=rates), GradientDescent(), w0, steps)


def adam_problem(rates: Floats, steps: int) -> Problem:
    w0 = np.tile(np.asarray(ADAM_W0, F32), (rates.size, 1))
    optimizer = OPTIMIZERS["torch.Adam"](dtype=F32, betas=(BETA1, BETA2), eps=EPS)
    return Problem(quadratic(list(ADAM_A), list(ADAM_B), ADAM_C, 2, F32), Constant(rate=rates), optimizer, w0, steps)


def engine_trace(problem: Problem, skip_cycles: bool = True) -> list[TraceChunk]:
    """The full trace: every chunk `iterate` yields, kept."""
    return list(iterate(problem, skip_cycles=skip_cycles))


def final_w(chunks: list[TraceChunk]) -> Floats:
    """Each run's weights at its last row in the trace (after all steps for a run that completed)."""
    last = chunks[-1]
    return np.asarray(last.w[-1], dtype=F32)


def completed(chunks: list[TraceChunk]) -> npt.NDArray[np.bool_]:
    return np.asarray(chunks[-1].outcome == Outcome.COMPLETED)


def engine_summary(problem: Problem) -> tuple[Floats, Floats, Floats]:
    """Summaries only: chunks are dropped once read; keeps final w, final loss and the best loss of each run."""
    runs = problem.w0.shape[0]
    best = np.full(runs, np.inf, F32)
    final = np.full(runs, np.nan, F32)
    w = problem.w0
    for chunk in iterate(problem):
        valid = np.arange(chunk.step.size)[:, None] < chunk.rows
        best = np.fmin(best, np.where(valid, chunk.loss, np.inf).min(axis=0))
        has = chunk.rows > 0
        last = np.maximum(chunk.rows - 1, 0)
        final = np.where(has, chunk.loss[last, np.arange(runs)], final)
        w = chunk.w[-1]
    return np.asarray(w[:, 0], F32), final, best


def engine_analyzer(problem: Problem) -> object:
    """Summaries by the engine's Analyzer (what run_one and a sweep's summary use), chunks dropped."""
    runs, dims = problem.w0.shape
    analyzer = Analyzer(problem.loss, runs, dims, problem.w0.dtype)
    for chunk in iterate(problem):
        analyzer.add(chunk)
    return analyzer.finish()


# --------------------------------------------------------------------------------------------------------------------
# The obvious NumPy


def numpy_sgd(rates: Floats, steps: int, trace: bool) -> Floats:
    """A (R,) array and one ufunc per operation; the trace as four preallocated (steps + 1, R) arrays."""
    runs = rates.size
    w = np.full(runs, W0, F32)
    b, twice_a, a, c = np.float32(B), np.float32(2 * A), np.float32(A), np.float32(C)
    best = np.full(runs, np.inf, F32)
    rows = (steps + 1) if trace else 1
    kept_w, kept_loss, kept_grad, kept_lr = (np.empty((rows, runs), F32) for _ in range(4))
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            s = w + b
            g = s * twice_a
            loss = s * s * a + c
            if trace:
                kept_w[t], kept_loss[t], kept_grad[t], kept_lr[t] = w, loss, g, rates
            else:
                best = np.fmin(best, loss)
            if t < steps:
                w = w - g * rates
    return w


# --------------------------------------------------------------------------------------------------------------------
# PyTorch and JAX, when importable (typed as Any: neither is a dependency of the service)


def optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def torch_sgd(torch: Any, rates: Floats, steps: int, trace: bool) -> Floats:
    """The obvious PyTorch: tensor expressions per step, the trace written row by row into preallocated tensors."""
    runs = rates.size
    lr = torch.from_numpy(rates)
    w = torch.full((runs,), W0, dtype=torch.float32)
    best = torch.full((runs,), float("inf"), dtype=torch.float32)
    rows = (steps + 1) if trace else 1
    kept_w, kept_loss, kept_grad, kept_lr = (torch.empty((rows, runs), dtype=torch.float32) for _ in range(4))
    with torch.no_grad():
        for t in range(steps + 1):
            s = w + B
            g = s * (2 * A)
            loss = s * s * A + C
            if trace:
                kept_w[t], kept_loss[t], kept_grad[t], kept_lr[t] = w, loss, g, lr
            else:
                best = torch.fmin(best, loss)
            if t < steps:
                w = w - g * lr
    return np.asarray(w.numpy(), F32)


def torch_adam(torch: Any, rates: Floats, steps: int) -> Floats:
    """torch.optim.Adam's single-tensor formulas as tensor ops (lerp_, addcmul_, addcdiv), trace kept."""
    runs = rates.size
    lr = torch.from_numpy(rates.astype(np.float64))[:, None]
    a, b = torch.tensor(ADAM_A, dtype=torch.float32), torch.tensor(ADAM_B, dtype=torch.float32)
    w = torch.tensor(ADAM_W0, dtype=torch.float32).repeat(runs, 1)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    kept_w, kept_grad = torch.empty((steps + 1, runs, 2)), torch.empty((steps + 1, runs, 2))
    kept_loss, kept_lr = torch.empty((steps + 1, runs)), torch.empty((steps + 1, runs))
    with torch.no_grad():
        for t in range(steps + 1):
            s = w + b
            g = s * (2 * a)
            kept_w[t], kept_grad[t], kept_loss[t], kept_lr[t] = w, g, (s * s * a + ADAM_C).sum(dim=-1), lr[:, 0]
            if t == steps:
                break
            m.lerp_(g, 1 - BETA1)
            v.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
            step_size = (lr / (1 - BETA1 ** (t + 1))).float()
            denom = (v.sqrt() / (1 - BETA2 ** (t + 1)) ** 0.5).add_(EPS)
            w = w - step_size * m / denom
    return np.asarray(w.numpy(), F32)


class Jax:
    """The workloads as `jax.jit` of a `lax.scan` over steps (float32, the default without x64)."""

    def __init__(self, jax: Any) -> None:
        self.jax = jax
        self.jnp = jax.numpy
        self.compile_ns: dict[str, int] = {}

    def compiled(self, name: str, function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        """Lower and compile once (timed apart); return a call that blocks until the result is ready."""
        start = time.perf_counter_ns()
        executable = self.jax.jit(function).lower(*args).compile()
        self.compile_ns[name] = time.perf_counter_ns() - start

        def call() -> Any:
            return self.jax.block_until_ready(executable(*args))

        return call

    def sgd(self, rates: Floats, steps: int, trace: bool) -> Callable[[], Any]:
        jnp, lax = self.jnp, self.jax.lax

        def loss_and_grad(w: Any) -> tuple[Any, Any]:
            s = w + B
            return s * s * A + C, s * (2 * A)

        def sweep(w0: Any, lr: Any) -> Any:
            if trace:  # rows 0..steps; the scan's last update is never used

                def row(w: Any, _: Any) -> Any:
                    loss, g = loss_and_grad(w)
                    return w - g * lr, (w, loss, g, lr)

                _, rows = lax.scan(row, w0, None, length=steps + 1)
                return rows[0][-1], rows

            def step(carry: Any, _: Any) -> Any:
                w, best = carry
                loss, g = loss_and_grad(w)
                return (w - g * lr, jnp.fmin(best, loss)), None

            (w, best), _ = lax.scan(step, (w0, jnp.full_like(w0, jnp.inf)), None, length=steps)
            final = loss_and_grad(w)[0]
            return w, final, jnp.fmin(best, final)

        w0 = jnp.full(rates.size, W0, dtype=jnp.float32)
        return self.compiled(
            f"sgd.{rates.size}x{steps}.{'trace' if trace else 'summary'}", sweep, w0, jnp.asarray(rates)
        )

    def adam(self, rates: Floats, steps: int) -> Callable[[], Any]:
        jnp, lax = self.jnp, self.jax.lax
        a, b = jnp.asarray(ADAM_A, jnp.float32), jnp.asarray(ADAM_B, jnp.float32)

        def sweep(w0: Any, lr: Any) -> Any:
            def step(carry: Any, t: Any) -> Any:
                w, m, v = carry
                s = w + b
                g = s * (2 * a)
                row = (w, (s * s * a + ADAM_C).sum(axis=-1), g, lr[:, 0])
                m = BETA1 * m + (1 - BETA1) * g
                v = BETA2 * v + (1 - BETA2) * g * g
                m_hat = m / (1 - BETA1**t)
                v_hat = v / (1 - BETA2**t)
                return (w - lr * m_hat / (jnp.sqrt(v_hat) + EPS), m, v), row

            t = jnp.arange(1, steps + 2, dtype=jnp.float32)
            zeros = jnp.zeros_like(w0)
            (_, _, _), rows = lax.scan(step, (w0, zeros, zeros), t)
            return rows[0][-1], rows

        w0 = jnp.tile(jnp.asarray(ADAM_W0, jnp.float32), (rates.size, 1))
        return self.compiled(f"adam.{rates.size}x{steps}", sweep, w0, jnp.asarray(rates)[:, None])


def jax_final(result: Any) -> Floats:
    return np.asarray(result[0], F32)


# --------------------------------------------------------------------------------------------------------------------
# The C floor


class Floor:
    """bench/c/floor.c, compiled with gcc -O3 into a temporary shared library and called through ctypes."""

    FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-shared", "-fPIC")

    def __init__(self, folder: Path) -> None:
        gcc = shutil.which("gcc")
        if gcc is None:
            raise FileNotFoundError("gcc")
        library = folder / "floor.so"
        subprocess.run([gcc, *self.FLAGS, "-o", str(library), str(C_SOURCE), "-lm"], check=True)
        self.command = " ".join(["gcc", *self.FLAGS, "bench/c/floor.c", "-lm"])
        self.version = subprocess.run([gcc, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        self.lib = ctypes.CDLL(str(library))
        f32p, i64, f32, f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_double
        self.lib.sgd_sweep.restype = f64
        cold = ctypes.c_int
        self.lib.sgd_sweep.argtypes = [f32p, i64, i64, f32, f32, f32, f32, ctypes.c_int, cold, f32p, f32p, f32p]
        self.lib.adam_sweep.restype = f64
        self.lib.adam_sweep.argtypes = [f32p, i64, i64, i64, f32p, f32p, f32p, f32, f64, f64, f64, cold, f32p]

    def sgd(self, rates: Floats, steps: int, trace: bool, cold: bool = False) -> tuple[int, Floats]:
        """`cold`: the trace in fresh memory (first-touch page faults timed), else in memory reused between calls."""
        rates = np.ascontiguousarray(rates, F32)
        w, final, best = (np.empty(rates.size, F32) for _ in range(3))
        ns = self.lib.sgd_sweep(
            rates.ctypes.data, rates.size, steps, W0, A, B, C, int(trace), int(cold), w.ctypes.data,
            final.ctypes.data, best.ctypes.data,
        )  # fmt: skip
        return round(ns), w

    def adam(self, rates: Floats, steps: int, cold: bool = False) -> tuple[int, Floats]:
        rates = np.ascontiguousarray(rates, F32)
        w0, a, b = (np.asarray(values, F32) for values in (ADAM_W0, ADAM_A, ADAM_B))
        w = np.empty((rates.size, 2), F32)
        ns = self.lib.adam_sweep(
            rates.ctypes.data, rates.size, 2, steps, w0.ctypes.data, a.ctypes.data, b.ctypes.data, ADAM_C, BETA1,
            BETA2, EPS, int(cold), w.ctypes.data,
        )  # fmt: skip
        return round(ns), w


# --------------------------------------------------------------------------------------------------------------------
# Checks and the run


def agreement(name: str, engine: Floats, baseline: Floats, mask: npt.NDArray[np.bool_] | None = None) -> str:
    """`bitwise` when the final weights are the same bits (on the runs in `mask`), else the largest difference
    relative to max(|w|, 1); above 1e-2 the baseline would be doing another computation, and the benchmark stops
    (the obvious JAX Adam rounds differently from torch's fused kernels, so a little drift is expected)."""
    ours, theirs = np.asarray(engine, F32).reshape(baseline.shape), np.asarray(baseline, F32)
    if mask is not None:
        keep = np.broadcast_to(mask.reshape(mask.shape + (1,) * (ours.ndim - 1)), ours.shape)
        ours, theirs = ours[keep], theirs[keep]
    if np.array_equal(ours.view(np.uint32), theirs.view(np.uint32)):
        return "bitwise"
    scale = np.maximum(np.abs(ours.astype(np.float64)), 1.0)
    relative = float(np.max(np.abs(ours.astype(np.float64) - theirs) / scale))
    if not relative <= 1e-2:
        raise SystemExit(f"{name}: final weights differ from the engine's by {relative:.3g} (relative)")
    return f"max difference {relative:.2g} (relative to max(|w|, 1))"


Add = Callable[..., None]


def sgd_workloads(add: Add, wanted: Callable[[str], bool], torch: Any, jax: Jax | None, floor: Floor | None) -> None:
    """(i) the SGD sweep, trace kept and summaries only."""
    rates = np.linspace(1e-4, 1.2, SGD_RUNS).astype(F32)
    runs, steps = SGD_RUNS, SGD_STEPS
    problem = sgd_problem(rates, steps)
    chunks = engine_trace(problem)
    reference, done = final_w(chunks)[:, 0], completed(chunks)
    del chunks
    if wanted("sgd.trace"):
        add("sgd.trace:engine", runs, steps, lambda: engine_trace(problem))
        check = agreement("numpy sgd", reference, numpy_sgd(rates, steps, True), done)
        add("sgd.trace:numpy", runs, steps, lambda: numpy_sgd(rates, steps, True), check)
        if torch is not None:
            check = agreement("torch sgd", reference, torch_sgd(torch, rates, steps, True), done)
            add("sgd.trace:torch", runs, steps, lambda: torch_sgd(torch, rates, steps, True), check)
        if jax is not None:
            call = jax.sgd(rates, steps, trace=True)
            add("sgd.trace:jax", runs, steps, call, agreement("jax sgd", reference, jax_final(call()), done))
        if floor is not None:
            check = agreement("C sgd", reference, floor.sgd(rates, steps, True)[1], done)
            add("sgd.trace:c", runs, steps, lambda: floor.sgd(rates, steps, True)[0], check)
            add("sgd.trace:c.cold", runs, steps, lambda: floor.sgd(rates, steps, True, cold=True)[0], check)
    if wanted("sgd.summary"):
        check = agreement("engine summary", reference, engine_summary(problem)[0], done)
        add("sgd.summary:engine", runs, steps, lambda: engine_summary(problem), check)
        add("sgd.summary:engine.analyzer", runs, steps, lambda: engine_analyzer(problem), check)
        check = agreement("numpy sgd summary", reference, numpy_sgd(rates, steps, False), done)
        add("sgd.summary:numpy", runs, steps, lambda: numpy_sgd(rates, steps, False), check)
        if torch is not None:
            check = agreement("torch sgd summary", reference, torch_sgd(torch, rates, steps, False), done)
            add("sgd.summary:torch", runs, steps, lambda: torch_sgd(torch, rates, steps, False), check)
        if jax is not None:
            call = jax.sgd(rates, steps, trace=False)
            add("sgd.summary:jax", runs, steps, call, agreement("jax summary", reference, jax_final(call()), done))
        if floor is not None:
            check = agreement("C sgd summary", reference, floor.sgd(rates, steps, False)[1], done)
            add("sgd.summary:c", runs, steps, lambda: floor.sgd(rates, steps, False)[0], check)


def adam_workload(add: Add, torch: Any, jax: Jax | None, floor: Floor | None) -> None:
    """(ii) the Adam sweep, trace kept."""
    rates = np.logspace(-4, 0, ADAM_RUNS).astype(F32)
    runs, steps = ADAM_RUNS, ADAM_STEPS
    adam = adam_problem(rates, steps)
    chunks = engine_trace(adam)
    reference, done = final_w(chunks), completed(chunks)
    del chunks
    add("adam.trace:engine", runs, steps, lambda: engine_trace(adam))
    if torch is not None:
        check = agreement("torch adam", reference, torch_adam(torch, rates, steps), done)
        add("adam.trace:torch", runs, steps, lambda: torch_adam(torch, rates, steps), check)
    if jax is not None:
        call = jax.adam(rates, steps)
        add("adam.trace:jax", runs, steps, call, agreement("jax adam", reference, jax_final(call()), done))
    if floor is not None:
        check = agreement("C adam", reference, floor.adam(rates, steps)[1], done)
        add("adam.trace:c", runs, steps, lambda: floor.adam(rates, steps)[0], check)


def single_workloads(
    add: Add, wanted: Callable[[str], bool], torch: Any, jax: Jax | None, floor: Floor | None, notes: list[str]
) -> None:
    """(iii) one run of 10^6 steps: the course at 0.2 (reaches a fixed point) and a crawl at 1e-7 (never does)."""
    steps = SINGLE_STEPS
    course_rate, crawl_rate = np.asarray([SINGLE_RATE], F32), np.asarray([CRAWL_RATE], F32)
    if wanted("single.course"):
        single = sgd_problem(course_rate, steps)
        reference = final_w(engine_trace(single, skip_cycles=False))[:, 0]
        check = agreement("engine shortcut", reference, final_w(engine_trace(single))[:, 0])
        add("single.course:engine", 1, steps, lambda: engine_trace(single), check)
        add("single.course:engine.run_one", 1, steps, lambda: run_one(single))
        add("single.course:engine.no_shortcut", 1, steps, lambda: engine_trace(single, skip_cycles=False))
        if jax is not None:
            call = jax.sgd(course_rate, steps, trace=True)
            add("single.course:jax", 1, steps, call, agreement("jax single", reference, jax_final(call())))
        if torch is not None:
            torch_steps = TORCH_SINGLE_STEPS
            add("single.course:torch", 1, torch_steps, lambda: torch_sgd(torch, course_rate, torch_steps, True))
            notes.append(f"single.course:torch runs {torch_steps:,} steps, not {steps:,} (ns per step compare)")
        if floor is not None:
            check = agreement("C single", reference, floor.sgd(course_rate, steps, True)[1])
            add("single.course:c", 1, steps, lambda: floor.sgd(course_rate, steps, True)[0], check)
    if wanted("single.crawl"):
        crawl = sgd_problem(crawl_rate, steps)
        crawled = final_w(engine_trace(crawl))[:, 0]
        add("single.crawl:engine", 1, steps, lambda: engine_trace(crawl))
        if floor is not None:
            check = agreement("C crawl", crawled, floor.sgd(crawl_rate, steps, True)[1])
            add("single.crawl:c", 1, steps, lambda: floor.sgd(crawl_rate, steps, True)[0], check)


def run(repeats: int, warmup: int, only: set[str] | None) -> dict[str, Any]:
    """Check every baseline against the engine, then time every case; return the JSON document."""
    torch, jax_module = optional("torch"), optional("jax")
    jax = Jax(jax_module) if jax_module is not None else None
    timings: list[Timing] = []
    notes: list[str] = []

    def wanted(workload: str) -> bool:
        return only is None or workload in only

    def add(case: str, runs: int, steps: int, body: Callable[[], object], agrees: str = "") -> None:
        timings.append(measure(case, runs, steps, body, repeats, warmup, agrees))
        print(f"  {case}: {timings[-1].median_ns / 1e6:.2f} ms", flush=True)

    with tempfile.TemporaryDirectory(prefix="descent-floor-") as folder:
        try:
            floor: Floor | None = Floor(Path(folder))
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            floor, notes = None, [*notes, f"no C floor: {exc}"]
        if wanted("sgd.trace") or wanted("sgd.summary"):
            sgd_workloads(add, wanted, torch, jax, floor)
        if wanted("adam.trace"):
            adam_workload(add, torch, jax, floor)
        single_workloads(add, wanted, torch, jax, floor, notes)
        c_build = {"command": floor.command, "compiler": floor.version} if floor is not None else None
    if torch is None or jax is None:
        notes.append("PyTorch or JAX not importable here: run with BENCH_PYTHON=<python that has them> for those")
    return {
        "benchmark": "sweep",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(torch, jax_module),
        "repeats": repeats,
        "warmup": warmup,
        "c": c_build,
        "jax_compile_ns": jax.compile_ns if jax is not None else {},
        "cases": [asdict(t) for t in timings],
        "ratios": ratios(timings),
        "notes": notes,
    }


def ratios(timings: list[Timing]) -> dict[str, dict[str, float]]:
    """Per workload, on wall and on CPU medians per (run x step): every implementation over the C floor, and the
    engine over every other baseline (below 1: the engine is faster)."""
    out: dict[str, dict[str, float]] = {}
    for clock in ("wall", "cpu"):
        by = {
            (t.workload, t.implementation): (t.median_ns if clock == "wall" else t.median_cpu_ns) / (t.runs * t.steps)
            for t in timings
        }
        for (workload, implementation), value in by.items():
            floor = by.get((workload, "c"))
            if floor is not None and implementation != "c":
                out.setdefault(f"{workload}: {implementation} / c", {})[clock] = value / floor
        for (workload, implementation), value in by.items():
            engine = by.get((workload, "engine"))
            if engine is not None and implementation in ("numpy", "torch", "jax"):
                out.setdefault(f"{workload}: engine / {implementation}", {})[clock] = engine / value
    return out


def machine(torch: Any, jax: Any) -> dict[str, object]:
    """What the figures depend on."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": getattr(torch, "__version__", None),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "jax": getattr(jax, "__version__", None),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def table(document: dict[str, Any]) -> str:
    """The cases (with CPU/wall: above 1 means more than one core) and the ratios as plain-text tables."""
    header = (
        f"{'case':<36}{'runs x steps':>18}{'median ms':>11}{'ns/(run x step)':>17}{'cpu ns/(r x s)':>16}"
        f"{'cpu/wall':>9}  agreement"
    )
    lines = [header, "-" * (len(header) + 10)]
    for case in document["cases"]:
        size = f"{case['runs']:,} x {case['steps']:,}"
        share = case["median_cpu_ns"] / case["median_ns"]
        lines.append(
            f"{case['case']:<36}{size:>18}{case['median_ns'] / 1e6:>11.2f}{case['ns_per_run_step']:>17.2f}"
            f"{case['median_cpu_ns'] / (case['runs'] * case['steps']):>16.2f}{share:>9.2f}  {case['agreement']}"
        )
    if document["jax_compile_ns"]:
        lines += ["", "JAX compile (lower + compile), ms:"]
        lines += [f"  {name:<34}{ns / 1e6:>10.1f}" for name, ns in document["jax_compile_ns"].items()]
    lines += ["", f"{'ratio of medians (ns per run x step)':<48}{'wall':>8}{'cpu':>8}", "-" * 64]
    lines += [f"{name:<48}{value['wall']:>8.2f}{value['cpu']:>8.2f}" for name, value in document["ratios"].items()]
    lines += [f"note: {note}" for note in document["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep", description="Engine sweeps against PyTorch, JAX and a C floor."
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls before timing (default 1)")
    parser.add_argument("--only", nargs="*", help="workloads to time (sgd.trace sgd.summary adam.trace ...)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    document = run(args.repeats, args.warmup, set(args.only) if args.only else None)
    publish(table(document), document, args.output)


if __name__ == "__main__":
    main()
