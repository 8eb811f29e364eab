"""The compiled step kernels against the NumPy path: every column of every chunk, bit for bit (NaN and inf
included), on random problems; when they are used; and that loading them compiles every specialisation the loop
asks for (no request waits for a compile)."""

import json
import os
import subprocess
import sys
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine import kernels
from service.engine.analysis import Analyzer, RunSummary
from service.engine.execute import run_one
from service.engine.kernels import adam, adamax, adapters, adaptive, compiled, fused, momentum, nadam, sweeps, whole
from service.engine.loop import Problem, TraceChunk, iterate
from service.engine.losses import Loss, QuadraticForm, build, polynomial, quadratic_form
from service.engine.optimizers import GradientDescent, Optimizer
from service.engine.optimizers import keras as keras_optimizers
from service.engine.optimizers import optax as optax_optimizers
from service.engine.optimizers import tf1 as tf1_optimizers
from service.engine.optimizers import torch as torch_optimizers
from service.engine.optimizers.base import build as build_optimizer
from service.engine.schedules import Constant, Schedule, tf1
from service.engine.sweep import SweepResult, SweepTraces, run_sweep, traces_for
from service.specs.build import build_problem
from service.specs.run import RunSpec
from tests.golden.fidelity import deviations, fixtures, tolerance

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
DTYPES: list[np.dtype[np.floating]] = [F32, F64]
COLUMNS = ("step", "w", "loss", "grad", "lr", "rows", "outcome", "diverged_at")

finite = st.floats(-8, 8, allow_nan=False, width=32)
signed_zero_or_finite = st.one_of(st.sampled_from([0.0, -0.0]), finite)


def chunks(problem: Problem, mode: kernels.Mode, chunk_rows: int | None, skip_cycles: bool = True) -> list[TraceChunk]:
    with kernels.use(mode):
        return list(iterate(problem, chunk_rows=chunk_rows, skip_cycles=skip_cycles))


def summary(problem: Problem, found: list[TraceChunk], mode: kernels.Mode) -> RunSummary:
    """The Analyzer's summary of the chunks, on the NumPy path or through the analysis kernel."""
    runs, dims = problem.w0.shape
    with kernels.use(mode), np.errstate(all="ignore"):
        analyzer = Analyzer(problem.loss, runs, dims, problem.w0.dtype)
        assert analyzer.compiled == (mode == "compiled")
        for chunk in found:
            analyzer.add(chunk)
        return analyzer.finish()


def assert_same_summary(expected: RunSummary, got: RunSummary) -> None:
    for field in fields(RunSummary):
        a, b = getattr(expected, field.name), getattr(got, field.name)
        if a.dtype == object:
            assert list(a) == list(b), field.name
        else:
            assert a.dtype == b.dtype, field.name
            assert a.shape == b.shape, field.name
            assert a.tobytes() == b.tobytes(), f"{field.name}: {a!r} != {b!r}"


def assert_same_bits(numpy_path: list[TraceChunk], compiled_path: list[TraceChunk], every_row: bool = True) -> None:
    """Every column of every chunk the same bits; `every_row`: rows past a run's end too (NaN, inf: what the
    steps compute there), else only each run's valid rows (the NumPy loop's cycle shortcut fills the rows of a
    run that ended with copies, where the kernels compute them)."""
    assert len(numpy_path) == len(compiled_path)
    for index, (expected, got) in enumerate(zip(numpy_path, compiled_path, strict=True)):
        for column in COLUMNS:
            a, b = np.asarray(getattr(expected, column)), np.asarray(getattr(got, column))
            if not every_row and column in ("w", "grad", "loss"):
                valid = np.arange(a.shape[0])[:, None] < expected.rows[None, :]
                a, b = a[valid], b[valid]
            assert a.shape == b.shape, (index, column)
            assert a.tobytes() == b.tobytes(), f"chunk {index}, {column}: {a!r} != {b!r}"


@st.composite
def losses(draw: st.DrawFn, dtype: np.dtype[np.floating], runs: int) -> tuple[Loss, int]:
    """A quadratic (maybe swept per run), a polynomial or a quadratic form of 1 or 2 dimensions."""
    kind = draw(st.sampled_from(["quadratic", "polynomial", "quadratic_form"]))
    if kind == "polynomial":
        coefficients = draw(st.lists(finite, min_size=1, max_size=6))
        return polynomial(coefficients, 1, dtype), 1
    if kind == "quadratic_form":
        dims = draw(st.integers(1, 2))
        matrix = [[draw(signed_zero_or_finite) for _ in range(dims)] for _ in range(dims)]
        b = [draw(signed_zero_or_finite) for _ in range(dims)]
        return quadratic_form(matrix, b, draw(finite), dims, dtype), dims
    dims = draw(st.integers(1, 4))
    swept = draw(st.booleans()) and runs > 1
    a: Any = np.array(draw(st.lists(finite, min_size=runs, max_size=runs))) if swept else draw(finite)
    b = [draw(signed_zero_or_finite) for _ in range(dims)]
    return build({"kind": "quadratic", "a": a, "b": b, "c": draw(finite)}, dims, dtype), dims


FUSED = (GradientDescent, torch_optimizers.SGD, torch_optimizers.Adam)
"""The optimizers the fused sweep (`kernels.sweeps`) covers; the loop's kernels cover every one drawn here."""


def swept(draw: st.DrawFn, values: list[Any], runs: int) -> Any:
    """One of `values` for every run, or (in a batch, sometimes) one per run: a hyperparameter column (P, 1)."""
    if runs > 1 and draw(st.booleans()):
        return [draw(st.sampled_from(values)) for _ in range(runs)]
    return draw(st.sampled_from(values))


def maybe(draw: st.DrawFn, value: Any) -> Any:
    return value if draw(st.booleans()) else None


@st.composite
def library_optimizers(
    draw: st.DrawFn, dtype: np.dtype[np.floating], runs: int, kind: str, degenerate: bool = False
) -> Optimizer:
    """An optimizer of `kind` (one of LIBRARY_KINDS, compiled by `kernels.momentum`, `adam` and `adaptive`), its
    options drawn (Nesterov, amsgrad, centered, momentum, weight decays), numeric ones sometimes swept per run;
    `degenerate`: eps 0."""
    momentum = swept(draw, [0.0, 0.5, 0.9, 0.99], runs)
    beta1, beta2 = swept(draw, [0.0, 0.2, 0.8, 0.9], runs), swept(draw, [0.0, 0.5, 0.99, 0.999], runs)
    decay = swept(draw, [0.0, 0.3, 0.6, 0.9, 0.99], runs)
    eps, eps_root = swept(draw, [0.0, 1e-10, 1e-7, 0.1], runs), swept(draw, [0.0, 1e-8], runs)
    eps = 0.0 if degenerate else eps
    weight_decay, start = swept(draw, [0.0, 0.004, 0.2], runs), swept(draw, [0.1, 1.0], runs)
    flag = st.booleans()
    parameters: dict[str, Any] = {
        "tf1.MomentumOptimizer": {"momentum": momentum, "use_nesterov": draw(flag)},
        "keras.SGD": {"momentum": momentum, "nesterov": draw(flag), "weight_decay": maybe(draw, weight_decay)},
        "optax.sgd": {"momentum": maybe(draw, momentum), "nesterov": draw(flag)},
        "tf1.AdamOptimizer": {"beta1": beta1, "beta2": beta2, "epsilon": eps},
        "keras.Adam": {"beta_1": beta1, "beta_2": beta2, "epsilon": eps, "amsgrad": draw(flag),
                       "weight_decay": maybe(draw, weight_decay)},
        "keras.AdamW": {"beta_1": beta1, "beta_2": beta2, "epsilon": eps, "amsgrad": draw(flag),
                        "weight_decay": weight_decay},
        "optax.adam": {"b1": beta1, "b2": beta2, "eps": eps, "eps_root": eps_root, "nesterov": draw(flag)},
        "optax.adamw": {"b1": beta1, "b2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
                        "nesterov": draw(flag)},
        "optax.nadam": {"b1": beta1, "b2": beta2, "eps": eps, "eps_root": eps_root},
        "keras.Adamax": {"beta_1": beta1, "beta_2": beta2, "epsilon": eps, "weight_decay": maybe(draw, weight_decay)},
        "optax.adamax": {"b1": beta1, "b2": beta2, "eps": eps},
        "torch.Adamax": {"betas": [beta1, beta2], "eps": eps, "weight_decay": weight_decay},
        "keras.Nadam": {"beta_1": beta1, "beta_2": beta2, "epsilon": eps, "weight_decay": maybe(draw, weight_decay)},
        "torch.NAdam": {"betas": [beta1, beta2], "eps": eps, "weight_decay": weight_decay,
                        "momentum_decay": swept(draw, [0.0, 4e-3, 0.5], runs),
                        "decoupled_weight_decay": draw(flag)},
        "tf1.AdagradOptimizer": {"initial_accumulator_value": start},
        "tf1.RMSPropOptimizer": {"decay": decay, "momentum": momentum, "epsilon": eps, "centered": draw(flag)},
        "keras.Adagrad": {"initial_accumulator_value": start, "epsilon": eps,
                          "weight_decay": maybe(draw, weight_decay)},
        "keras.RMSprop": {"rho": decay, "momentum": momentum, "epsilon": eps, "centered": draw(flag),
                          "weight_decay": maybe(draw, weight_decay)},
        "torch.RMSprop": {"alpha": decay, "eps": eps, "weight_decay": weight_decay, "momentum": momentum},
        "torch.Adagrad": {"lr_decay": swept(draw, [0.0, 0.01, 0.5], runs), "weight_decay": weight_decay,
                          "initial_accumulator_value": swept(draw, [0.0, 0.1], runs), "eps": eps},
        "optax.adagrad": {"initial_accumulator_value": start, "eps": eps},
        "tf1.AdadeltaOptimizer": {"rho": decay, "epsilon": eps},
        "torch.Adadelta": {"rho": decay, "eps": eps, "weight_decay": weight_decay},
        "optax.adadelta": {"rho": decay, "eps": eps, "weight_decay": weight_decay},
        "optax.rmsprop": {"decay": decay, "eps": eps, "initial_scale": swept(draw, [0.0, 0.1], runs),
                          "eps_in_sqrt": draw(flag), "centered": draw(flag), "momentum": maybe(draw, momentum),
                          "nesterov": draw(flag), "bias_correction": draw(flag)},
    }  # fmt: skip
    return build_optimizer({"kind": kind, **parameters[kind]}, dtype)


LIBRARY_KINDS = [
    "tf1.MomentumOptimizer",
    "keras.SGD",
    "optax.sgd",
    "tf1.AdamOptimizer",
    "keras.Adam",
    "keras.AdamW",
    "optax.adam",
    "optax.adamw",
    "optax.nadam",
    "keras.Adamax",
    "optax.adamax",
    "torch.Adamax",
    "keras.Nadam",
    "torch.NAdam",
    "tf1.AdagradOptimizer",
    "tf1.RMSPropOptimizer",
    "keras.Adagrad",
    "keras.RMSprop",
    "torch.Adagrad",
    "torch.RMSprop",
    "optax.adagrad",
    "optax.rmsprop",
    "tf1.AdadeltaOptimizer",
    "torch.Adadelta",
    "optax.adadelta",
]
"""The optimizer kinds `kernels.momentum`, `kernels.adam`, `kernels.adamax`, `kernels.nadam` and `kernels.adaptive`
compile."""


@st.composite
def optimizers(draw: st.DrawFn, dtype: np.dtype[np.floating], runs: int = 1) -> Optimizer:
    kind = draw(st.sampled_from(["gd", "tf1", "sgd", "adam", "adamw", "library"]))
    if kind == "library":
        return draw(library_optimizers(dtype, runs, draw(st.sampled_from(LIBRARY_KINDS))))
    if kind == "gd":
        return GradientDescent()
    if kind == "tf1":
        return GradientDescent(tensorflow=True)
    if kind == "sgd":
        nesterov = draw(st.booleans())
        momentum = draw(st.floats(0.01, 0.99)) if nesterov else draw(st.sampled_from([0.0, 0.5, 0.9]))
        return torch_optimizers.sgd(
            momentum=momentum,
            dampening=0.0 if nesterov else draw(st.sampled_from([0.0, 0.3])),
            weight_decay=draw(st.sampled_from([0.0, 0.01])),
            nesterov=nesterov,
            dtype=dtype,
        )
    betas = (draw(st.sampled_from([0.0, 0.2, 0.9])), draw(st.sampled_from([0.0, 0.5, 0.999])))
    factory = torch_optimizers.adam if kind == "adam" else torch_optimizers.adamw
    return factory(
        betas=betas,
        eps=draw(st.sampled_from([0.0, 1e-8, 0.1])),
        weight_decay=draw(st.sampled_from([0.0, 0.05])),
        amsgrad=draw(st.booleans()),
        dtype=dtype,
    )


@st.composite
def problems(
    draw: st.DrawFn, kind: str | None = None, dtype: np.dtype[np.floating] | None = None, degenerate: bool = False
) -> tuple[Problem, int | None]:
    """A random problem with a random optimizer, or an optimizer of `kind` (one of LIBRARY_KINDS), in `dtype`
    (else a drawn one). `degenerate`: eps 0 and a quadratic whose gradient is zero at w0 in most runs (0/0, and
    the NaNs it leads to)."""
    dtype = draw(st.sampled_from(DTYPES)) if dtype is None else dtype
    runs = draw(st.sampled_from([1, 2, 3, 40, 70]))  # R × D > kernels' NARROW (64): the row-by-row order too
    loss, dims = draw(losses(dtype, runs))
    at_minimum: Any = None
    if degenerate:
        dims = draw(st.integers(1, 3))
        b = [draw(signed_zero_or_finite) for _ in range(dims)]
        a = draw(st.sampled_from([0.0, -0.0, 0.5, 2.0]))
        loss = build({"kind": "quadratic", "a": a, "b": b, "c": 0.0}, dims, dtype)
        at_minimum = -np.array(b)
    rates = np.array(draw(st.lists(st.floats(1e-6, 3.0), min_size=runs, max_size=runs)))
    schedule: Schedule = Constant(rate=rates.astype(dtype))
    if draw(st.booleans()):  # a decaying schedule: a different rate at every row
        schedule = tf1.exponential_decay(learning_rate=float(rates[0]), decay_steps=3, decay_rate=0.9, dtype=dtype)
    w0 = np.array([[draw(signed_zero_or_finite) for _ in range(dims)] for _ in range(runs)], dtype)
    if at_minimum is not None:
        w0[[draw(st.booleans()) or r == 0 for r in range(runs)]] = at_minimum
    stops: dict[str, Any] = draw(st.sampled_from([{}, {"grad_tol": 1e-3}, {"loss_tol": 0.5}]))
    optimizer = draw(optimizers(dtype, runs) if kind is None else library_optimizers(dtype, runs, kind, degenerate))
    problem = Problem(loss, schedule, optimizer, w0, draw(st.integers(0, 300)), **stops)
    return problem, draw(st.sampled_from([None, 1, 7, 64]))


@settings(max_examples=150)
@given(problems())
def test_the_kernels_give_the_numpy_paths_bits(case: tuple[Problem, int | None]) -> None:
    problem, chunk_rows = case
    assert adapters.runner(problem.loss, problem.optimizer, problem.w0.dtype) is not None
    numpy_path, compiled_path = chunks(problem, "numpy", chunk_rows), chunks(problem, "compiled", chunk_rows)
    assert_same_bits(numpy_path, compiled_path, every_row=False)
    assert_same_bits(chunks(problem, "numpy", chunk_rows, skip_cycles=False), compiled_path)
    assert_same_summary(summary(problem, numpy_path, "numpy"), summary(problem, compiled_path, "compiled"))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", LIBRARY_KINDS)
@settings(max_examples=25)
@given(data=st.data())
def test_each_library_kernel_gives_the_numpy_paths_bits(
    kind: str, dtype: np.dtype[np.floating], data: st.DataObject
) -> None:
    """The same, for every optimizer kind of the other libraries in turn and in each dtype (the random draw above
    reaches each of them only now and then)."""
    case = data.draw(problems(kind, dtype))
    test_the_kernels_give_the_numpy_paths_bits.hypothesis.inner_test(case)  # type: ignore[attr-defined]


NAN_SIGN_KINDS = ["torch.RMSprop"]
"""Kinds whose compiled versions gave NaNs of the other sign bit in degenerate runs (eps 0, zero gradients):
`torch.RMSprop` once (its centered form stays on NumPy: `kernels.adapters`)."""


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("kind", NAN_SIGN_KINDS)
@settings(max_examples=200)
@given(data=st.data())
def test_degenerate_runs_give_the_numpy_paths_nan_bits(
    kind: str, dtype: np.dtype[np.floating], data: st.DataObject
) -> None:
    """eps 0 and gradients that are zero at the start (0/0 in the first update, then NaNs through the state and the
    weights): the same bits as the NumPy path, NaN sign bits included."""
    case = data.draw(problems(kind, dtype, degenerate=True))
    test_the_kernels_give_the_numpy_paths_bits.hypothesis.inner_test(case)  # type: ignore[attr-defined]


def golden_runs() -> list[Any]:
    """The golden runs of LIBRARY_KINDS (test_golden records the optimizer's state, which keeps every stateful
    optimizer on the NumPy path, so they run through the kernels here), but a centered torch.RMSprop's (NumPy)."""
    return [
        pytest.param(case, id=f"{fixture['kind']}:{case['name']}")
        for fixture in fixtures()
        if fixture["kind"] in LIBRARY_KINDS
        for case in fixture["cases"]
        if "w" in case and not (fixture["kind"] == "torch.RMSprop" and case["spec"]["optimizer"].get("centered"))
    ]


@pytest.mark.golden
@pytest.mark.parametrize("case", golden_runs())
def test_the_kernels_give_the_librarys_numbers(case: dict[str, Any]) -> None:
    """Each golden run of a compiled optimizer kind, through its kernel: the real library's weights, rates and
    losses, held to the fidelity rule (bit for bit for TF1 and Keras in float32)."""
    problem = build_problem(RunSpec.model_validate_json(json.dumps(case["spec"])).normalised())
    dtype = problem.w0.dtype
    assert adapters.runner(problem.loss, problem.optimizer, dtype) is not None
    found = chunks(problem, "compiled", None)
    for column in ("w", "lr", "loss"):
        if column not in case:
            continue
        ours = np.concatenate([np.asarray(getattr(chunk, column))[: chunk.rows[0], 0] for chunk in found])
        off = deviations(ours, np.asarray(case[column], dtype))
        assert off.max() <= tolerance(case), f"{column}: row {int(off.argmax())} off by {off.max()}"


def sweep(problem: Problem, mode: kernels.Mode, max_points: int | None) -> tuple[SweepResult, list[int]]:
    """`run_sweep` on one path, and the steps it reported as progress."""
    told: list[int] = []
    with kernels.use(mode):
        return run_sweep(problem, max_points, told.append), told


def assert_same_sweep(expected: SweepResult, got: SweepResult) -> None:
    """Every summary field and every trace column the same bits (NaN past a run's end, inf, -0.0 included)."""
    assert_same_summary(expected.summary, got.summary)
    assert (expected.traces is None) == (got.traces is None)
    if expected.traces is not None and got.traces is not None:
        for column in ("step", "w", "loss", "lr"):
            a, b = getattr(expected.traces, column), getattr(got.traces, column)
            assert a.dtype == b.dtype, column
            assert a.shape == b.shape, column
            assert a.tobytes() == b.tobytes(), f"{column}: {a!r} != {b!r}"


@settings(max_examples=150)
@given(problems(), st.sampled_from([None, 1, 2, 7, 1000]))
def test_the_fused_sweep_gives_the_numpy_paths_summaries_and_traces(
    case: tuple[Problem, int | None], max_points: int | None
) -> None:
    """`run_sweep` through the fused kernel (the loop, its checks, the Analyzer and the kept rows in one pass):
    the same summary and the same kept rows as the NumPy path, bit for bit, on random problems (divergent runs,
    stop tolerances, decaying schedules, every covered optimizer)."""
    problem, _ = case
    by_fused = isinstance(problem.optimizer, FUSED)
    covered = by_fused and problem.w0.shape[1] <= 2 and not isinstance(problem.loss, QuadraticForm)
    assert (sweeps.sweeper(problem) is not None) == covered
    (expected, numpy_told), (got, compiled_told) = (
        sweep(problem, "numpy", max_points),
        sweep(problem, "compiled", max_points),
    )
    assert_same_sweep(expected, got)
    assert compiled_told[-1] == numpy_told[-1]


WIDE_SWEEPS = [
    ("gd", 1, 3.0, lambda dtype: GradientDescent()),
    ("torch.SGD", 1, 4.0, lambda dtype: torch_optimizers.sgd(momentum=0.9, nesterov=True, dtype=dtype)),
    ("torch.Adam", 2, 30.0, lambda dtype: torch_optimizers.adam(dtype=dtype)),
]


def step_major(traces: SweepTraces) -> SweepTraces:
    """Arrays of the same shapes as `traces`' whose memory is step-major (each kept row of every run contiguous)."""
    runs, kept, dims = traces.w.shape
    w = np.empty((kept, runs, dims), traces.w.dtype).transpose(1, 0, 2)
    return SweepTraces(traces.step, w, np.empty((kept, runs), traces.loss.dtype).T, np.empty_like(w[..., 0]))


@pytest.mark.parametrize("layout", ["run-major", "step-major"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "dims", "top", "optimizer"), WIDE_SWEEPS, ids=[case[0] for case in WIDE_SWEEPS])
def test_a_wide_fused_sweep_with_divergent_runs_and_reused_trace_memory(
    dtype: np.dtype[np.floating], name: str, dims: int, top: float, optimizer: Any, layout: str
) -> None:
    """2,500 rates over two blocks of runs (`fused.BLOCK`) and several chunks of rows
    (Adam's step count carried between chunks), some of them diverging at different steps: the same as the NumPy
    path, and into arrays reused from an earlier sweep (whatever the first sweep left in them is overwritten),
    run-major or step-major in memory (the kernel then writes each kept row where it computes it)."""
    loss = build({"kind": "quadratic", "a": 1.0, "b": 1.0, "c": 0.0}, dims, dtype)
    runs, steps = 2500, 1200
    assert runs > fused.BLOCK
    rates = np.linspace(1e-4, top, runs).astype(dtype)
    w0 = np.full((runs, dims), 5.0, dtype)
    problem = Problem(loss, Constant(rate=rates), optimizer(dtype), w0, steps)
    expected, _ = sweep(problem, "numpy", 200)
    assert (expected.summary.outcome == 2).any() or name == "torch.Adam"
    into = traces_for(problem, 200) if layout == "run-major" else step_major(traces_for(problem, 200))
    assert into.loss.flags.c_contiguous == (layout == "run-major")
    with kernels.use("compiled"):
        run_sweep(Problem(loss, Constant(rate=rates[::-1].copy()), optimizer(dtype), w0, steps), 200, None, into)
        got = run_sweep(problem, 200, None, into)
    assert got.traces is into
    assert_same_sweep(expected, got)


@settings(max_examples=60)
@given(problems(), st.integers(3, 12))
def test_the_analysis_kernel_on_many_dimensions(case: tuple[Problem, int | None], dims: int) -> None:
    """3 dimensions or more: the gradient norms come from NumPy, the rest from the kernel."""
    problem, chunk_rows = case
    runs, dtype = problem.w0.shape[0], problem.w0.dtype
    loss = build({"kind": "quadratic", "a": 1.5, "b": -0.5, "c": 0.0}, dims, dtype)
    w0 = np.resize(problem.w0, (runs, dims)).astype(dtype)
    wide = Problem(loss, problem.schedule, problem.optimizer, w0, problem.steps, problem.grad_tol, problem.loss_tol)
    if isinstance(problem.optimizer, GradientDescent | torch_optimizers.SGD | torch_optimizers.Adam):
        found = chunks(wide, "numpy", chunk_rows)
        assert_same_summary(summary(wide, found, "numpy"), summary(wide, found, "compiled"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_run_that_overflows_diverges_at_the_same_row(dtype: np.dtype[np.floating]) -> None:
    loss = build({"kind": "quadratic", "a": 1.0, "b": 1.0, "c": 0.0}, 1, dtype)
    for optimizer in (GradientDescent(), torch_optimizers.sgd(momentum=0.9, dtype=dtype)):
        rates = Constant(rate=np.array([3.0, 0.5], dtype))
        problem = Problem(loss, rates, optimizer, np.full((2, 1), 5.0, dtype), 2000)
        numpy_path = chunks(problem, "numpy", None)
        assert numpy_path[-1].diverged_at[0] > 0
        assert_same_bits(numpy_path, chunks(problem, "compiled", None))


def test_warming_compiles_every_specialisation_the_loop_uses() -> None:
    """After `warm`, running problems of every covered pair in both dtypes adds no specialisation: the loop's
    arrays are all of the types the warm-up compiled, so a request never waits for Numba."""
    kernels.warm()
    kernel_functions: tuple[Any, ...] = (
        compiled.gradient_descent,
        compiled.torch_sgd,
        compiled.torch_adam,
        momentum.tf1_momentum,
        momentum.keras_sgd,
        momentum.optax_sgd,
        adam.tf1_adam,
        adam.keras_adam,
        adam.optax_adam,
        adamax.keras_adamax,
        adamax.optax_adamax,
        adamax.torch_adamax,
        nadam.keras_nadam,
        nadam.torch_nadam,
        adaptive.tf1_adagrad,
        adaptive.tf1_rmsprop,
        adaptive.keras_adagrad,
        adaptive.keras_rmsprop,
        adaptive.torch_adagrad,
        adaptive.torch_rmsprop,
        adaptive.optax_adagrad,
        adaptive.optax_rmsprop,
        adaptive.tf1_adadelta,
        adaptive.torch_adadelta,
        adaptive.optax_adadelta,
        compiled.analyze,
        compiled.loss_values,
        fused.sweep_chunk,
        whole.run_and_analyze,
    )
    before = [len(kernel.signatures) for kernel in kernel_functions]
    assert before == [2] * len(kernel_functions)  # float32 and float64
    for dtype in (F32, F64):
        loss = build({"kind": "quadratic", "a": np.array([1.0, 2.0]), "b": [1.0, -1.0], "c": 0.5}, 2, dtype)
        for optimizer in (
            GradientDescent(tensorflow=True),
            torch_optimizers.sgd(momentum=0.5, weight_decay=0.1, dtype=dtype),
            torch_optimizers.adamw(amsgrad=True, dtype=dtype),
            tf1_optimizers.momentum_optimizer(0.5, dtype=dtype),
            keras_optimizers.sgd(dtype=dtype),
            keras_optimizers.sgd(0.5, nesterov=True, dtype=dtype),
            optax_optimizers.sgd(dtype=dtype),
            optax_optimizers.sgd(0.5, nesterov=True, dtype=dtype),
            tf1_optimizers.adam_optimizer(dtype=dtype),
            keras_optimizers.adam(dtype=dtype),
            keras_optimizers.adamw(amsgrad=True, dtype=dtype),
            optax_optimizers.adam(dtype=dtype),
            optax_optimizers.adamw(nesterov=True, dtype=dtype),
            keras_optimizers.adamax(dtype=dtype),
            optax_optimizers.adamax(dtype=dtype),
            torch_optimizers.adamax(dtype=dtype),
            keras_optimizers.nadam(weight_decay=0.1, dtype=dtype),
            torch_optimizers.nadam(weight_decay=0.1, decoupled_weight_decay=True, dtype=dtype),
            tf1_optimizers.adagrad_optimizer(dtype=dtype),
            tf1_optimizers.rmsprop_optimizer(dtype=dtype),
            keras_optimizers.adagrad(dtype=dtype),
            keras_optimizers.rmsprop(centered=True, weight_decay=0.1, dtype=dtype),
            torch_optimizers.adagrad(weight_decay=0.1, dtype=dtype),
            torch_optimizers.rmsprop(momentum=0.5, dtype=dtype),
            optax_optimizers.adagrad(dtype=dtype),
            optax_optimizers.rmsprop(centered=True, dtype=dtype),
            tf1_optimizers.adadelta_optimizer(dtype=dtype),
            torch_optimizers.adadelta(weight_decay=0.1, dtype=dtype),
            optax_optimizers.adadelta(weight_decay=0.1, dtype=dtype),
        ):
            problem = Problem(loss, Constant(rate=np.array([0.1, 0.2], dtype)), optimizer, np.ones((2, 2), dtype), 50)
            summary(problem, chunks(problem, "compiled", None), "compiled")
            sweep(problem, "compiled", 10)
            decaying = tf1.exponential_decay(learning_rate=0.1, decay_steps=3, decay_rate=0.9, dtype=dtype)
            stopping = Problem(loss, decaying, optimizer, np.ones((2, 2), dtype), 50, grad_tol=1e-3, loss_tol=0.5)
            sweep(stopping, "compiled", None)
            single = Problem(loss, Constant(np.array([0.1], dtype)), optimizer, np.ones((1, 2), dtype), 50)
            with kernels.use("compiled"):
                assert run_one(single).summary.verdict[0]  # the whole-run path, with its own kernel
    assert [len(kernel.signatures) for kernel in kernel_functions] == before


def test_losses_and_optimizers_the_kernels_leave_to_numpy() -> None:
    three = quadratic_form([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], 0.0, 0.0, 3, F32)
    assert adapters.runner(three, GradientDescent(), F32) is None  # einsum sums 3+ products in SIMD lanes
    rosenbrock = build({"kind": "rosenbrock"}, 2, F32)
    assert adapters.runner(rosenbrock, GradientDescent(), F32) is None
    square = build({"kind": "quadratic"}, 1, F32)
    for spec in ({"kind": "keras.Adadelta"}, {"kind": "torch.RMSprop", "centered": True}):  # NaN signs: adapters
        assert adapters.runner(square, build_optimizer(spec, F32), F32) is None, spec


def test_auto_mode_serves_numpy_until_the_kernels_are_loaded() -> None:
    """In a fresh process: the engine imports without Numba, `runner` is None until the background warm-up has
    finished, then the compiled runner."""
    script = """
import sys
import numpy as np
from service.engine import kernels
from service.engine.losses import build
from service.engine.optimizers import GradientDescent
loss = build({"kind": "quadratic"}, 1, np.dtype(np.float32))
assert kernels.mode() == "auto" and not kernels.ready()
assert "numba" not in sys.modules
assert kernels.runner(loss, GradientDescent(), np.dtype(np.float32)) is None
thread = kernels.warm_in_background()
thread.join()
assert kernels.ready()
assert kernels.runner(loss, GradientDescent(), np.dtype(np.float32)) is not None
print("ok")
"""
    environment = {**os.environ, "DESCENT_KERNELS": "auto"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=240)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_process_loads_each_optimizers_kernels_on_its_first_run() -> None:
    """In a fresh process (auto mode): the background warm-up loads only the common kernels; an optimizer's first
    run takes the NumPy path while its kernels load in another thread, then its runs take them; the kernels of
    optimizers never run stay unloaded (a worker's memory holds only what it uses)."""
    script = """
import time
import numpy as np
from service.engine import kernels
from service.engine.losses import build
from service.engine.optimizers import GradientDescent
from service.engine.optimizers import keras as keras_optimizers
f32 = np.dtype(np.float32)
loss = build({"kind": "quadratic"}, 1, f32)
kernels.warm_in_background().join()
from service.engine.kernels import adam, compiled, nadam
assert kernels.runner(loss, GradientDescent(), f32) is not None
assert len(compiled.gradient_descent.signatures) == 2
assert len(adam.keras_adam.signatures) == 0
assert kernels.runner(loss, keras_optimizers.adam(dtype=f32), f32) is None  # the NumPy path, while they load
deadline = time.monotonic() + 200
while kernels.runner(loss, keras_optimizers.adam(dtype=f32), f32) is None:
    assert time.monotonic() < deadline, "keras.Adam's kernels never loaded"
    time.sleep(0.05)
assert len(adam.keras_adam.signatures) == 2
assert len(nadam.keras_nadam.signatures) == 0 and len(compiled.torch_adam.signatures) == 0
print("ok")
"""
    environment = {**os.environ, "DESCENT_KERNELS": "auto"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_numpy_mode_never_loads_numba() -> None:
    script = """
import sys
from service.engine import kernels
assert kernels.mode() == "numpy"
assert kernels.warm_in_background() is None
assert "numba" not in sys.modules
print("ok")
"""
    environment = {**os.environ, "DESCENT_KERNELS": "numpy"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
