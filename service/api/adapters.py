"""The one place that knows both the schemas and the engine: specs in, engine objects; results out, documents."""

import dataclasses
from collections.abc import Callable
from copy import deepcopy
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from service.api.errors import LIMIT_EXCEEDED, Loc, ProblemError, invalid, validation_errors
from service.config import Settings
from service.engine import expressions, landscape, losses, lr_finder, optimizers, schedules, testfunctions
from service.engine.analysis import RunSummary, explain, loss_facts
from service.engine.arrays import as_dtype_array
from service.engine.errors import ParameterError
from service.engine.loop import Outcome, Problem
from service.engine.sweep import SweepResult, grid
from service.engine.trace import Trace
from service.specs.kinds.base import Kind
from service.specs.kinds.losses import (
    ExpressionLoss,
    LossSpec,
    PolynomialLoss,
    QuadraticFormLoss,
    QuadraticLoss,
    RosenbrockLoss,
)
from service.specs.landscape import LandscapeSpec
from service.specs.lr_finder import LRFinderSpec
from service.specs.run import RunSpec, Stop
from service.specs.sweep import Axis, SweepSpec


def dims_of(spec: RunSpec) -> int:
    return len(spec.w0) if isinstance(spec.w0, list) else 1


def check_limits(spec: RunSpec, problem: Problem, settings: Settings) -> None:
    """Refuse, before any work, a run beyond the server's limits (422 naming the field and the limit)."""
    errors: list[tuple[Loc, str]] = []
    dims = dims_of(spec)
    slots = len(problem.optimizer.slots(problem.optimizer.init(problem.w0))) if spec.record.state else 0
    if spec.steps > settings.max_steps:
        errors.append(
            (
                ["steps"],
                f"steps is {spec.steps} but this server runs at most {settings.max_steps}; ask for fewer steps.",
            )
        )
    if dims > settings.max_dims:
        errors.append((["w0"], f"w0 has {dims} dimensions but this server allows at most {settings.max_dims}."))
    per_row = (2 + slots) * dims + 2
    recorded = (spec.steps // spec.record.every + 2) * per_row
    if not errors and recorded > settings.max_trace_values:
        every = -(-spec.steps * per_row // settings.max_trace_values) + 1
        errors.append(
            (
                ["record", "every"],
                f"this run would record {recorded:,} numbers, more than this server's "
                f"limit of {settings.max_trace_values:,}; set record.every to {every} "
                "or more.",
            )
        )
    if errors:
        raise invalid(errors, type_=LIMIT_EXCEEDED)


def build_problem(spec: RunSpec) -> Problem:
    """The engine problem for a validated spec; a parameter the engine refuses becomes a 422 on that field."""
    dtype = np.dtype(spec.dtype)
    dims = dims_of(spec)
    prefix: Loc = []
    try:
        prefix = []
        w0 = as_dtype_array("w0", spec.w0, dtype)[None, :]
        prefix = ["loss"]
        loss = _loss(spec.loss, dims, dtype)
        prefix = ["schedule"]
        schedule = build_schedule(spec.schedule, dtype)
        prefix = ["optimizer"]
        optimizer = optimizers.build(spec.optimizer.model_dump(), dtype)
    except ParameterError as exc:
        raise invalid([([*prefix, *exc.loc], exc.message)]) from exc
    _check_momentum_cycling(schedule, optimizer)
    _check_horizon(schedule, spec.steps)
    stop = spec.stop or Stop()
    return Problem(loss, schedule, optimizer, w0, spec.steps, stop.grad_tol, stop.loss_tol, spec.record.state)


def _loss(spec: LossSpec, dims: int, dtype: np.dtype[np.floating]) -> losses.Loss:
    match spec:
        case QuadraticLoss():
            return losses.quadratic(spec.a, spec.b, spec.c, dims, dtype)
        case PolynomialLoss():
            return losses.polynomial(spec.coefficients, dims, dtype)
        case ExpressionLoss():
            return expressions.expression(spec.formula, dims, dtype)
        case QuadraticFormLoss():
            return losses.quadratic_form(spec.A, spec.b, spec.c, dims, dtype)
        case RosenbrockLoss():
            return testfunctions.rosenbrock(spec.a, spec.b, dims, dtype)
    return testfunctions.two_dimensional(spec.kind, dims)  # himmelblau, beale, booth: no parameters


def build_schedule(spec: float | Kind, dtype: np.dtype[np.floating]) -> schedules.Schedule:
    """The engine schedule of a validated `schedule` (a number is a constant rate)."""
    document = {"kind": "constant", "learning_rate": spec} if isinstance(spec, float) else spec.model_dump()
    return schedules.build(document, dtype)


def _check_horizon(schedule: schedules.Schedule, steps: int) -> None:
    """A library that raises past some step (torch's OneCycleLR past total_steps) gives no numbers there: refuse."""
    if isinstance(schedule, schedules.Bounded) and schedule.max_steps is not None and steps > schedule.max_steps:
        raise invalid(
            [
                (
                    ["steps"],
                    f"steps is {steps} but this schedule allows at most {schedule.max_steps}: "
                    f"{schedule.horizon[1].rstrip('.')}. Ask for fewer steps or lengthen the schedule.",
                )
            ]
        )


def _check_momentum_cycling(schedule: schedules.Schedule, optimizer: optimizers.Optimizer) -> None:
    """torch's CyclicLR and OneCycleLR refuse an optimizer without momentum or betas when `cycle_momentum`."""
    if isinstance(schedule, schedules.CyclesMomentum) and not optimizer.cycles_momentum:
        raise invalid(
            [
                (
                    ["schedule", "cycle_momentum"],
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled (torch's rule): "
                    "use a torch optimizer with momentum or betas (torch.SGD, torch.RMSprop, torch.Adam, ...), or "
                    "set cycle_momentum to false.",
                )
            ]
        )


def status_of(summary: RunSummary, run: int = 0) -> str:
    return "diverged" if summary.outcome[run] == Outcome.DIVERGED else "finished"


def summary_document(summary: RunSummary, problem: Problem, scalar: bool, run: int = 0) -> dict[str, Any]:
    """The contract's `summary`, numbers in the run's dtype (written as the shortest decimal of that dtype)."""
    final_step = int(summary.final_step[run])
    has_rows = final_step >= 0
    facts = loss_facts(problem.loss, run)
    w = summary.final_w[run]
    return {
        "steps_run": max(final_step, 0),
        "final": {"step": final_step, "w": w[0] if scalar else w, "loss": summary.final_loss[run]}
        if has_rows
        else None,
        "best": {"step": int(summary.best_step[run]), "loss": summary.best_loss[run]} if has_rows else None,
        "converged_at": _step_or_none(summary.converged_at[run]),
        "diverged_at": _step_or_none(summary.diverged_at[run]),
        "verdict": summary.verdict[run].value,
        "explanation": explain(summary, run, facts),
        "analysis": facts,
    }


def trace_document(trace: Trace, scalar: bool) -> dict[str, Any]:
    """The contract's columnar `trace`; NumPy arrays, serialised by orjson in their own dtype."""
    document: dict[str, Any] = {
        "step": trace.step,
        "w": trace.w[:, 0] if scalar else trace.w,
        "loss": trace.loss,
        "lr": trace.lr,
        "grad": trace.grad[:, 0] if scalar else trace.grad,
    }
    if trace.state:
        document["state"] = {name: values[:, 0] if scalar else values for name, values in trace.state.items()}
    return document


def row_document(columns: dict[str, Any], row: int) -> dict[str, Any]:
    """Row `row` of a `trace_document`."""
    return {
        name: {slot: values[row] for slot, values in column.items()} if name == "state" else column[row]
        for name, column in columns.items()
    }


def _step_or_none(step: np.integer) -> int | None:
    return int(step) if step >= 0 else None


# Sweeps ----------------------------------------------------------------------------------------------------------

HEAVY_BALL: dict[str, Callable[[dict[str, Any]], float | None]] = {
    "sgd": lambda o: 0.0,
    "tf1.GradientDescentOptimizer": lambda o: 0.0,
    "tf1.MomentumOptimizer": lambda o: None if o["use_nesterov"] else o["momentum"],
    "torch.SGD": lambda o: None if o["nesterov"] or o["dampening"] or o["weight_decay"] else o["momentum"],
    "keras.SGD": lambda o: None if o["nesterov"] or o.get("weight_decay") else o["momentum"],
    "optax.sgd": lambda o: None if o["nesterov"] else (o["momentum"] or 0.0),
}
"""Per kind, the momentum β of the heavy-ball update `w ← w − lr·g + β(w − w_prev)`, or None when the optimizer's
options leave that form (nesterov, dampening, weight decay)."""


def axis_values(axis: Axis) -> npt.NDArray[np.float64]:
    if axis.values is not None:
        return np.asarray(axis.values, dtype=np.float64)
    if axis.linspace is not None:
        space = axis.linspace
        return np.linspace(space.start, space.stop, space.num, endpoint=space.endpoint)
    assert axis.logspace is not None
    log = axis.logspace
    return np.logspace(log.start, log.stop, log.num, endpoint=log.endpoint, base=log.base)


def build_sweep(spec: SweepSpec, settings: Settings) -> tuple[Problem, list[npt.NDArray[np.float64]]]:
    """One batched problem for the whole grid (grid point p = run p), refusing what a run would refuse: each
    axis's smallest and largest value are checked as a single run (the limits of every parameter are ranges)."""
    base = spec.base.normalised()
    axes = [axis_values(axis) for axis in spec.axes]
    errors: list[tuple[Loc, str]] = []
    for index, axis in enumerate(spec.axes):
        problem = _path_problem(base, axis.path)
        if problem:
            errors.append((["axes", index, "path"], problem))
    if errors:
        raise invalid(errors)
    points = int(np.prod([values.size for values in axes]))
    dims = dims_of(spec.base)
    _check_sweep_limits(spec, points, dims, settings)
    for index, (axis, values) in enumerate(zip(spec.axes, axes, strict=True)):
        for value in sorted({float(values.min()), float(values.max())}):
            errors += _corner_errors(base, axis.path, value, index)
    if errors:
        raise invalid(errors)
    swept = deepcopy(base)
    for axis, column in zip(spec.axes, grid(axes), strict=True):
        _put(swept, axis.path, column)
    dtype = np.dtype(spec.base.dtype)
    try:
        w0 = np.ascontiguousarray(np.broadcast_to(_columns(swept["w0"], dims, dtype), (points, dims)))
        loss = _swept_loss(spec.base, swept["loss"], dims, dtype)
        schedule = schedules.build(swept["schedule"], dtype)
        optimizer = optimizers.build(swept["optimizer"], dtype)
    except ParameterError as exc:
        raise invalid([(["axes"], exc.message)]) from exc
    stop = spec.base.stop or Stop()
    return Problem(loss, schedule, optimizer, w0, spec.base.steps, stop.grad_tol, stop.loss_tol), axes


def _path_problem(document: dict[str, Any], path: str) -> str | None:
    """Why `path` cannot be swept in `document`, or None: it must lead to a real-valued parameter (or a list of
    them, all varied together)."""
    target: Any = document
    for part in path.split("."):
        if isinstance(target, dict) and part in target:
            target = target[part]
        elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
            target = target[int(part)]
        else:
            return f"{path!r} is not in the base spec (its fields: {_fields_of(document)}); check the spelling."
    values = target if isinstance(target, list) else [target]
    if not values or not all(isinstance(v, float) for v in values):
        return (
            f"{path!r} is {target!r}, not a real-valued parameter; a sweep varies real-valued parameters in one "
            "batch (whole numbers such as steps change the loop itself)."
        )
    if path.startswith("loss.") and document["loss"]["kind"] not in ("quadratic", "polynomial"):
        return f"sweeping {path!r} is supported for quadratic and polynomial losses; vary w0 or the schedule instead."
    return None


def _fields_of(document: dict[str, Any]) -> str:
    return ", ".join(f"{key}.…" if isinstance(value, dict) else key for key, value in document.items())


def _put(document: dict[str, Any], path: str, value: Any) -> None:
    """Set the parameter at `path`; a list-valued one (per-dimension coefficients, w0) gets `value` everywhere."""
    *parents, last = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if isinstance(target[key], list):
        target[key] = [value] * len(target[key])
    else:
        target[key] = value


def _corner_errors(base: dict[str, Any], path: str, value: float, index: int) -> list[tuple[Loc, str]]:
    """What a single run with `value` at `path` would be refused for, located on the axis."""
    document = deepcopy(base)
    _put(document, path, value)
    try:
        build_problem(RunSpec.model_validate(document))
    except ValidationError as exc:
        return [
            (["axes", index, "values"], f"{value:g} at {path}: {msg}") for _, msg in validation_errors(exc.errors())
        ]
    except ProblemError as exc:
        return [(["axes", index, "values"], f"{value:g} at {path}: {msg}") for _, msg in exc.errors or []]
    return []


def _check_sweep_limits(spec: SweepSpec, points: int, dims: int, settings: Settings) -> None:
    work = points * (spec.base.steps + 1) * dims
    kept = points * (spec.max_points or 0) * (dims + 2)
    errors: list[tuple[Loc, str]] = []
    if points > settings.max_sweep_runs:
        errors.append(
            (["axes"], f"the grid has {points:,} points; this server sweeps at most {settings.max_sweep_runs:,}.")
        )
    elif work > settings.max_sweep_work:
        errors.append(
            (
                ["axes"],
                f"{points:,} points × {spec.base.steps + 1:,} rows × {dims} dimensions is {work:,} run-steps; this "
                f"server sweeps at most {settings.max_sweep_work:,}: use fewer points or fewer steps.",
            )
        )
    if kept > settings.max_trace_values:
        errors.append(
            (["max_points"], f"keeping {kept:,} numbers exceeds this server's {settings.max_trace_values:,}; lower it.")
        )
    if errors:
        raise invalid(errors, type_=LIMIT_EXCEEDED)


def _columns(value: Any, dims: int, dtype: np.dtype[np.floating]) -> npt.NDArray[np.floating]:
    """A per-dimension parameter (a number for every dimension, or a list; entries may be per-point arrays) as
    (P, D), with P = 1 when nothing in it is swept."""
    items = value if isinstance(value, list) else [value] * dims
    columns = np.broadcast_arrays(*(np.asarray(item, dtype=dtype) for item in items))
    return np.atleast_2d(np.stack(columns, axis=-1))


def _swept_loss(spec: RunSpec, loss: dict[str, Any], dims: int, dtype: np.dtype[np.floating]) -> losses.Loss:
    if loss["kind"] == "quadratic":
        return losses.Quadratic(*(_columns(loss[name], dims, dtype) for name in ("a", "b", "c")))
    if loss["kind"] == "polynomial":
        coefficients = loss["coefficients"]
        return losses.Polynomial(_columns(coefficients, len(coefficients), dtype))
    return _loss(spec.loss, dims, dtype)


def sweep_document(spec: SweepSpec, axes: list[npt.NDArray[np.float64]], result: SweepResult) -> dict[str, Any]:
    """The finished sweep's `summary` (and `traces`): arrays shaped like the grid."""
    shape = tuple(values.size for values in axes)
    summary = result.summary
    verdicts = np.asarray([str(v) for v in summary.verdict.tolist()], dtype=object)
    names, counts = np.unique(verdicts.astype(str), return_counts=True)
    document: dict[str, Any] = {
        "summary": {
            "final_loss": summary.final_loss.reshape(shape),
            "best_loss": summary.best_loss.reshape(shape),
            "verdict": verdicts.reshape(shape).tolist(),
            "converged_at": _steps_or_null(summary.converged_at, shape),
            "diverged_at": _steps_or_null(summary.diverged_at, shape),
            "counts": dict(zip(names.tolist(), counts.tolist(), strict=True)),
            "stability": _stability(spec, axes, verdicts.reshape(shape)),
        }
    }
    if result.traces is not None:
        traces = result.traces
        scalar = not isinstance(spec.base.w0, list)
        w = traces.w[..., 0] if scalar else traces.w
        document["traces"] = {
            "step": traces.step,
            "w": w.reshape(shape + w.shape[1:]),
            "loss": traces.loss.reshape(shape + traces.loss.shape[1:]),
            "lr": traces.lr.reshape(shape + traces.lr.shape[1:]),
        }
    return document


def _steps_or_null(steps: npt.NDArray[np.int64], shape: tuple[int, ...]) -> Any:
    listed = steps.astype(object)
    listed[steps < 0] = None
    return listed.reshape(shape).tolist()


def _stability(spec: SweepSpec, axes: list[npt.NDArray[np.float64]], verdicts: npt.NDArray[np.object_]) -> Any:
    """The closed-form boundary next to the measured one, when a constant rate is swept on a quadratic with plain
    GD or heavy-ball momentum: per curvature 2a, stable for 0 < lr < 2(1 + β)/(2a) (β = 0 for plain GD)."""
    base = spec.base.normalised()
    paths = [axis.path for axis in spec.axes]
    beta_of = HEAVY_BALL.get(base["optimizer"]["kind"])
    momentum = beta_of(base["optimizer"]) if beta_of is not None else None
    if (
        "schedule.learning_rate" not in paths
        or base["schedule"]["kind"] != "constant"
        or base["loss"]["kind"] != "quadratic"
        or momentum is None
    ):
        return None
    columns = {path: column.reshape(verdicts.shape) for path, column in zip(paths, grid(axes), strict=True)}
    dims = dims_of(spec.base)
    a = _columns(base["loss"]["a"], dims, np.dtype(np.float64))
    for path, column in columns.items():  # a swept curvature or momentum varies the prediction per point
        if path.startswith("loss.a"):
            a = np.broadcast_to(a, (column.size, dims)).copy()
            part = path.split(".")[2:]
            a[:, int(part[0]) if part else slice(None)] = column.reshape(-1, 1) if not part else column.ravel()
    beta = columns.get("optimizer.momentum", np.asarray(momentum, dtype=np.float64))
    curvature = np.broadcast_to(a.max(axis=-1).reshape(-1) if a.shape[0] > 1 else a.max(), verdicts.size)
    if (curvature <= 0).any():
        return None
    predicted = np.broadcast_to((1 + beta) / curvature.reshape(verdicts.shape), verdicts.shape)
    k = paths.index("schedule.learning_rate")
    rates = columns["schedule.learning_rate"]
    unstable = (verdicts == "diverged") | (verdicts == "unbounded")
    largest_stable = np.where(~unstable, rates, -np.inf).max(axis=k)
    smallest_diverged = np.where(unstable, rates, np.inf).min(axis=k)
    prediction = predicted.take(0, axis=k)
    slack = 1e-6 * np.abs(prediction)  # the rate is rounded to float32 in a float32 run
    agrees = bool(((largest_stable <= prediction + slack) & (prediction <= smallest_diverged + slack)).all())
    return {
        "axis": "schedule.learning_rate",
        "rule": "plain GD on a·(w+b)² is stable for 0 < lr < 2/(2a); heavy-ball momentum β for 0 < lr < 2(1+β)/(2a), "
        "with a the largest curvature/2 over the dimensions",
        "predicted_max_lr": _finite_or_null(prediction),
        "largest_stable_lr": _finite_or_null(largest_stable),
        "smallest_diverged_lr": _finite_or_null(smallest_diverged),
        "agrees": agrees,
    }


def _finite_or_null(values: npt.NDArray[np.float64]) -> Any:
    listed = np.asarray(values, dtype=np.float64).astype(object)
    listed[~np.isfinite(np.asarray(values, dtype=np.float64))] = None
    return listed.tolist() if listed.ndim else listed.item()


# Learning-rate finder and landscapes -----------------------------------------------------------------------------


def lr_finder_job(spec: LRFinderSpec, settings: Settings) -> Callable[[], dict[str, Any]]:
    """Check a range test (422 naming the field) and return its work, to run off the event loop: the test, its
    suggestions, and the answer's document (arrays in their dtype, written shortest by orjson)."""
    dtype = np.dtype(spec.dtype)
    dims = len(spec.w0) if isinstance(spec.w0, list) else 1
    if dims > settings.max_dims:
        message = f"w0 has {dims} dimensions but this server allows at most {settings.max_dims}."
        raise invalid([(["w0"], message)], type_=LIMIT_EXCEEDED)
    prefix: Loc = []
    try:
        w0 = as_dtype_array("w0", spec.w0, dtype)
        prefix = ["loss"]
        with np.errstate(over="ignore"):  # a huge coefficient's 2a may overflow: the test then ends at row 0
            loss = _loss(spec.loss, dims, dtype)
        prefix = ["optimizer"]
        optimizer = optimizers.build(spec.optimizer.model_dump(), dtype)
        prefix = []
        schedule = lr_finder.range_schedule(spec.start_lr, spec.end_lr, spec.num_iter, spec.step_mode)
        lr_finder.check_smoothing(spec.smooth_f, spec.diverge_th)
    except ParameterError as exc:
        raise invalid([([*prefix, *exc.loc], exc.message)]) from exc
    if loss.dims != dims:
        raise invalid(
            [(["w0"], f"w0 has {dims} dimensions but the loss has {loss.dims}; give one number per dimension.")]
        )

    def run() -> dict[str, Any]:
        curve = lr_finder.range_test(loss, optimizer, w0, schedule, spec.smooth_f, spec.diverge_th)
        suggestions = lr_finder.suggest(curve, spec.num_iter)
        return {
            "lr": curve.lr,
            "loss": curve.loss,
            "smoothed_loss": curve.smoothed,
            "stopped_early": curve.stopped_early,
            "stop_reason": curve.stop_reason,
            "suggestions": [dataclasses.asdict(suggestion) for suggestion in suggestions],
        }

    return run


def landscape_job(spec: LandscapeSpec) -> Callable[[], dict[str, Any]]:
    """Check a landscape (422 naming the field: the loss's dimensions must match the bounds) and return its work:
    the loss on the grid in one vectorised call, and the answer's document (non-finite values become null)."""
    dtype = np.dtype(spec.dtype)
    dims = len(spec.bounds)
    mismatch = _landscape_dims_problem(spec.loss, dims)
    if mismatch:
        _refuse_dims(dims, mismatch)
    prefix: Loc = []
    try:
        axes = landscape.grid_axes([(lo, hi) for lo, hi in spec.bounds], spec.resolution, dtype)
        prefix = ["loss"]
        with np.errstate(over="ignore"):  # a huge coefficient's 2a may overflow; the values do not use it
            loss = _loss(spec.loss, dims, dtype)
    except ParameterError as exc:
        where = f" (here the dimensions are the bounds': {dims})" if prefix else ""
        raise invalid([([*prefix, *exc.loc], exc.message.rstrip(".") + where)]) from exc
    if loss.dims != dims:
        _refuse_dims(dims, f"the loss has {loss.dims}")

    def run() -> dict[str, Any]:
        grid = landscape.evaluate(loss, axes)
        minimum = None
        if grid.minimum is not None:
            at = grid.minimum[::-1]  # (x index, y index): a 2-D grid's rows are y
            minimum = {
                "w": [axis[i] for axis, i in zip(axes, at, strict=True)],
                "loss": grid.values[grid.minimum],
                "index": list(grid.minimum),
            }
        return {"x": axes[0], "y": axes[1] if dims == 2 else None, "loss": grid.values, "minimum": minimum}

    return run


def _landscape_dims_problem(spec: LossSpec, dims: int) -> str | None:
    """Why a loss cannot be drawn over `dims` dimensions (one [lo, hi] each), or None. An expression's
    dimensions are checked by its factory, whose message names the formula's offending variable."""
    if isinstance(spec, QuadraticLoss | QuadraticFormLoss):
        for name in ("a", "b", "c"):
            value = getattr(spec, name, None)
            if isinstance(value, list) and len(value) not in (1, dims):
                return f"loss.{name} has {len(value)} values, one per dimension"
    if isinstance(spec, QuadraticFormLoss) and len(spec.A) != dims:
        return f"loss.A has {len(spec.A)} rows, one per dimension"
    if spec.kind == "polynomial" and dims != 1:
        return "a polynomial loss has 1"
    if spec.kind == "rosenbrock" and dims < 2:
        return "a rosenbrock loss needs at least 2"
    if spec.kind in ("himmelblau", "beale", "booth") and dims != 2:
        return f"a {spec.kind} loss has 2 (x and y)"
    return None


def _refuse_dims(dims: int, loss_side: str) -> NoReturn:
    raise invalid(
        [
            (
                ["bounds"],
                f"bounds has {dims} [lo, hi] pair{'s' if dims > 1 else ''} but {loss_side}; give one [lo, hi] "
                "per dimension of the loss (a single number coefficient applies to every dimension).",
            )
        ]
    )
