"""Engine objects from normalised spec documents (what the store keeps), through the engine's registries.

Pure NumPy and plain values, no Pydantic: the edge calls it once to refuse what the engine would refuse (and to
check limits), and a worker calls it again on the stored document, which it trusts. A parameter the engine refuses
becomes an `InvalidSpec` located at that parameter.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from service.engine import landscape, losses, lr_finder, optimizers, schedules
from service.engine.arrays import Array, as_dtype_array
from service.engine.errors import ParameterError
from service.engine.loop import Problem
from service.engine.sweep import grid
from service.errors import FieldError, InvalidSpec, LimitExceeded, Loc
from service.limits import Limits

Document = Mapping[str, Any]


@contextmanager
def located(*prefix: str | int) -> Iterator[None]:
    """Turn an engine `ParameterError` into an `InvalidSpec` on the field at `prefix` + the error's location."""
    try:
        yield
    except ParameterError as exc:
        raise InvalidSpec([([*prefix, *exc.loc], exc.message, exc.code)]) from exc


def dims_of(document: Document) -> int:
    """The run's dimensions: w0's length, or 1 for a number."""
    w0 = document["w0"]
    return len(w0) if isinstance(w0, list) else 1


def is_scalar(document: Document) -> bool:
    """Whether the run's w0 is a bare number (its rows then show w and grad as numbers, not lists)."""
    return not isinstance(document["w0"], list)


def dtype_of(document: Document) -> np.dtype[np.floating]:
    return np.dtype(document.get("dtype", "float32"))


# Runs ------------------------------------------------------------------------------------------------------------


def schedule_document(schedule: Any) -> Any:
    """A bare number is a constant rate: `{"kind": "constant", "learning_rate": number}`."""
    if isinstance(schedule, int | float) and not isinstance(schedule, bool):
        return {"kind": "constant", "learning_rate": float(schedule)}
    return schedule


def build_problem(document: Document) -> Problem:
    """The engine problem of a normalised run spec (a batch of one run)."""
    dtype, dims = dtype_of(document), dims_of(document)
    with located():
        w0 = as_dtype_array("w0", document["w0"], dtype)[None, :]
    with located("loss"):
        loss = losses.build(document["loss"], dims, dtype)
    with located("schedule"):
        schedule = schedules.build(schedule_document(document["schedule"]), dtype)
    with located("optimizer"):
        optimizer = optimizers.build(document["optimizer"], dtype)
    _check_momentum_cycling(schedule, optimizer)
    _check_horizon(schedule, document["steps"])
    stop = document.get("stop") or {}
    record = document.get("record") or {}
    return Problem(
        loss,
        schedule,
        optimizer,
        w0,
        document["steps"],
        stop.get("grad_tol"),
        stop.get("loss_tol"),
        bool(record.get("state", False)),
    )


def check_run_limits(document: Document, problem: Problem, limits: Limits) -> None:
    """Refuse, before any work, a run beyond the server's limits (naming the field and the limit)."""
    errors: list[tuple[Loc, str]] = []
    steps, dims = document["steps"], dims_of(document)
    record = document.get("record") or {}
    every = int(record.get("every", 1))
    slots = len(problem.optimizer.slots(problem.optimizer.init(problem.w0))) if record.get("state") else 0
    if steps > limits.max_steps:
        errors.append(
            (["steps"], f"steps is {steps} but this server runs at most {limits.max_steps}; ask for fewer steps.")
        )
    if dims > limits.max_dims:
        errors.append((["w0"], f"w0 has {dims} dimensions but this server allows at most {limits.max_dims}."))
    per_row = (2 + slots) * dims + 2
    recorded = (steps // every + 2) * per_row
    if not errors and recorded > limits.max_trace_values:
        needed = -(-steps * per_row // limits.max_trace_values) + 1
        errors.append(
            (
                ["record", "every"],
                f"this run would record {recorded:,} numbers, more than this server's "
                f"limit of {limits.max_trace_values:,}; set record.every to {needed} "
                "or more.",
            )
        )
    if errors:
        raise LimitExceeded(errors)


_CONFORMING: dict[tuple[type, type], bool] = {}


def _conforms(value: object, protocol: type) -> bool:
    """`isinstance(value, protocol)` for a runtime protocol, once per class (each check costs tens of microseconds,
    and every instance of a schedule class has the same members)."""
    key = (type(value), protocol)
    found = _CONFORMING.get(key)
    if found is None:
        found = _CONFORMING[key] = isinstance(value, protocol)
    return found


def _check_horizon(schedule: schedules.Schedule, steps: int) -> None:
    """A library that raises past some step (torch's OneCycleLR past total_steps) gives no numbers there: refuse."""
    if not _conforms(schedule, schedules.Bounded):
        return
    bounded = cast(schedules.Bounded, schedule)
    if bounded.max_steps is not None and steps > bounded.max_steps:
        raise InvalidSpec(
            [
                (
                    ["steps"],
                    f"steps is {steps} but this schedule allows at most {bounded.max_steps}: "
                    f"{bounded.horizon[1].rstrip('.')}. Ask for fewer steps or lengthen the schedule.",
                    "beyond_schedule",
                )
            ]
        )


def _check_momentum_cycling(schedule: schedules.Schedule, optimizer: optimizers.Optimizer) -> None:
    """torch's CyclicLR and OneCycleLR refuse an optimizer without momentum or betas when `cycle_momentum`."""
    if _conforms(schedule, schedules.CyclesMomentum) and not optimizer.cycles_momentum:
        raise InvalidSpec(
            [
                (
                    ["schedule", "cycle_momentum"],
                    "optimizer must support momentum or beta1 with `cycle_momentum` option enabled (torch's rule): "
                    "use a torch optimizer with momentum or betas (torch.SGD, torch.RMSprop, torch.Adam, ...), or "
                    "set cycle_momentum to false.",
                    "incompatible",
                )
            ]
        )


# Sweeps ----------------------------------------------------------------------------------------------------------


def axis_values(axis: Document) -> npt.NDArray[np.float64]:
    """An axis's values: its `values`, or its `linspace` or `logspace` as NumPy computes them."""
    if axis.get("values") is not None:
        return np.asarray(axis["values"], dtype=np.float64)
    if axis.get("linspace") is not None:
        space = axis["linspace"]
        return np.linspace(space["start"], space["stop"], space["num"], endpoint=space.get("endpoint", True))
    log = axis["logspace"]
    return np.logspace(
        log["start"], log["stop"], log["num"], endpoint=log.get("endpoint", True), base=log.get("base", 10.0)
    )


@dataclass(frozen=True)
class Grid:
    """A sweep's grid: each axis's path and values; point p of the grid is run p of the batched problem."""

    paths: list[str]
    values: list[npt.NDArray[np.float64]]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(values.size for values in self.values)

    @property
    def points(self) -> int:
        return int(np.prod(self.shape))


def sweep_grid(document: Document) -> Grid:
    """The grid of a sweep spec document, each axis's path checked against the base spec."""
    base = {**document["base"], "schedule": schedule_document(document["base"]["schedule"])}
    errors: list[FieldError] = []
    for index, axis in enumerate(document["axes"]):
        problem = path_problem(base, axis["path"])
        if problem:
            errors.append((["axes", index, "path"], problem, "not_sweepable"))
    if errors:
        raise InvalidSpec(errors)
    return Grid([axis["path"] for axis in document["axes"]], [axis_values(axis) for axis in document["axes"]])


def check_sweep_limits(document: Document, grid_: Grid, limits: Limits) -> None:
    base = document["base"]
    points, dims = grid_.points, dims_of(base)
    work = points * (base["steps"] + 1) * dims
    kept = points * (document.get("max_points") or 0) * (dims + 2)
    errors: list[tuple[Loc, str]] = []
    if points > limits.max_sweep_runs:
        errors.append(
            (["axes"], f"the grid has {points:,} points; this server sweeps at most {limits.max_sweep_runs:,}.")
        )
    elif work > limits.max_sweep_work:
        errors.append(
            (
                ["axes"],
                f"{points:,} points × {base['steps'] + 1:,} rows × {dims} dimensions is {work:,} run-steps; this "
                f"server sweeps at most {limits.max_sweep_work:,}: use fewer points or fewer steps.",
            )
        )
    if kept > limits.max_trace_values:
        errors.append(
            (["max_points"], f"keeping {kept:,} numbers exceeds this server's {limits.max_trace_values:,}; lower it.")
        )
    if errors:
        raise LimitExceeded(errors)


def build_sweep(document: Document, grid_: Grid, take: npt.NDArray[np.intp] | None = None) -> Problem:
    """One batched problem for the whole grid (grid point p = run p), or for the grid points `take` (run r = grid
    point take[r]; a shard of the sweep): per-point parameters are the grid's columns, taken at those points."""
    base = document["base"]
    swept = deepcopy(dict(base))
    swept["schedule"] = schedule_document(swept["schedule"])
    for path, column in zip(grid_.paths, grid(grid_.values), strict=True):
        put(swept, path, column if take is None else column[take])
    dtype, dims = dtype_of(base), dims_of(base)
    points = grid_.points if take is None else take.size
    try:
        w0 = np.ascontiguousarray(np.broadcast_to(columns(swept["w0"], dims, dtype), (points, dims)))
        loss = losses.build(swept["loss"], dims, dtype)
        schedule = schedules.build(swept["schedule"], dtype)
        optimizer = optimizers.build(swept["optimizer"], dtype)
    except ParameterError as exc:  # the axes' corners passed as single runs: this is a combination of them
        raise InvalidSpec([(["axes"], exc.message, exc.code)]) from exc
    except (ValueError, TypeError) as exc:
        raise _not_batched(exc) from exc
    _check_batches(schedule, points)
    stop = base.get("stop") or {}
    return Problem(loss, schedule, optimizer, w0, base["steps"], stop.get("grad_tol"), stop.get("loss_tol"))


def _check_batches(schedule: schedules.Schedule, points: int) -> None:
    """A guard for any schedule parameter the engine cannot vary per run (none is known today; piecewise `values`
    and optax's onecycle `pct_start` / `pct_final` once were): building or evaluating the first steps shows it, and
    the sweep is refused (422) instead of failing in its worker or answering 500."""
    try:
        with np.errstate(all="ignore"):
            rates = np.asarray(schedule(np.arange(2, dtype=np.int64)))
        if rates.ndim != 2 or rates.shape[1] not in (1, points):
            raise ValueError(f"rates shaped {rates.shape}")
    except (ValueError, TypeError) as exc:
        raise _not_batched(exc) from exc


def _not_batched(exc: Exception) -> InvalidSpec:
    return InvalidSpec(
        [
            (
                ["axes"],
                "this parameter cannot take a different value per grid point yet (the engine refused the batch: "
                f"{type(exc).__name__}); sweep another parameter, or send one sweep per value.",
                "not_sweepable",
            )
        ]
    )


def path_problem(document: Document, path: str) -> str | None:
    """Why `path` cannot be swept in `document`, or None: it must lead to a real-valued parameter (or a list of
    them, all varied together)."""
    target: Any = document
    for part in path.split("."):
        if isinstance(target, Mapping) and part in target:
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
    if path.startswith("loss.") and not losses.LOSSES[document["loss"]["kind"]].sweepable:
        sweepable = " and ".join(kind for kind, entry in losses.LOSSES.items() if entry.sweepable)
        return f"sweeping {path!r} is supported for {sweepable} losses; vary w0 or the schedule instead."
    return None


def _fields_of(document: Document) -> str:
    return ", ".join(f"{key}.…" if isinstance(value, Mapping) else key for key, value in document.items())


def put(document: dict[str, Any], path: str, value: Any) -> None:
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


def columns(value: Any, dims: int, dtype: np.dtype[np.floating]) -> Array:
    """A per-dimension parameter (a number for every dimension, or a list; entries may be per-point arrays) as
    (P, D), with P = 1 when nothing in it is swept."""
    items = value if isinstance(value, list) else [value] * dims
    stacked = np.broadcast_arrays(*(np.asarray(item, dtype=dtype) for item in items))
    return np.atleast_2d(np.stack(stacked, axis=-1))


# The learning-rate range test and landscapes ------------------------------------------------------------------


@dataclass(frozen=True)
class RangeTestJob:
    """Everything a range test needs, built from its spec document."""

    loss: losses.Loss
    optimizer: optimizers.Optimizer
    w0: Array
    schedule: lr_finder.RangeSchedule
    smooth_f: float
    diverge_th: float
    num_iter: int


def build_range_test(document: Document, limits: Limits) -> RangeTestJob:
    """The range test of an lr-finder spec document, refusing what the engine refuses (located) and dimensions
    beyond the limit."""
    dtype, dims = dtype_of(document), dims_of(document)
    if dims > limits.max_dims:
        message = f"w0 has {dims} dimensions but this server allows at most {limits.max_dims}."
        raise LimitExceeded([(["w0"], message)])
    with located():
        w0 = as_dtype_array("w0", document["w0"], dtype)
    with located("loss"), np.errstate(over="ignore"):  # a huge coefficient's 2a may overflow: the test ends at row 0
        loss = losses.build(document["loss"], dims, dtype)
    with located("optimizer"):
        optimizer = optimizers.build(document["optimizer"], dtype)
    with located():
        schedule = lr_finder.range_schedule(
            document["start_lr"], document["end_lr"], document["num_iter"], document["step_mode"]
        )
        lr_finder.check_smoothing(document["smooth_f"], document["diverge_th"])
    if loss.dims != dims:
        raise InvalidSpec(
            [
                (
                    ["w0"],
                    f"w0 has {dims} dimensions but the loss has {loss.dims}; give one number per dimension.",
                    "dimension_mismatch",
                )
            ]
        )
    return RangeTestJob(
        loss, optimizer, w0, schedule, document["smooth_f"], document["diverge_th"], document["num_iter"]
    )


@dataclass(frozen=True)
class LandscapeJob:
    loss: losses.Loss
    axes: tuple[Array, ...]


def build_landscape(document: Document) -> LandscapeJob:
    """The loss and grid axes of a landscape spec document; the loss's dimensions must match the bounds."""
    dtype, dims = dtype_of(document), len(document["bounds"])
    mismatch = losses.LOSSES[document["loss"]["kind"]].dims_problem(document["loss"], dims)
    if mismatch:
        _refuse_dims(dims, mismatch)
    with located():
        axes = landscape.grid_axes([(lo, hi) for lo, hi in document["bounds"]], document["resolution"], dtype)
    try:
        with np.errstate(over="ignore"):  # a huge coefficient's 2a may overflow; the values do not use it
            loss = losses.build(document["loss"], dims, dtype)
    except ParameterError as exc:
        where = f" (here the dimensions are the bounds': {dims})"
        raise InvalidSpec([(["loss", *exc.loc], exc.message.rstrip(".") + where, exc.code)]) from exc
    if loss.dims != dims:
        _refuse_dims(dims, f"the loss has {loss.dims}")
    return LandscapeJob(loss, axes)


def _refuse_dims(dims: int, loss_side: str) -> None:
    raise InvalidSpec(
        [
            (
                ["bounds"],
                f"bounds has {dims} [lo, hi] pair{'s' if dims > 1 else ''} but {loss_side}; give one [lo, hi] "
                "per dimension of the loss (a single number coefficient applies to every dimension).",
                "dimension_mismatch",
            )
        ]
    )
