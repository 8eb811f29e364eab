"""The answer documents (run, summary, trace, sweep, range test, landscape), built from plain values: store records,
engine results and NumPy arrays in their own dtype. `service.encodings` writes them as JSON, CSV or Arrow.

No Pydantic here (worker processes build summaries with it); `service.api.schemas` describes these documents for
OpenAPI. Arrays stay arrays: orjson writes each in its dtype's shortest decimal, and non-finite numbers as null.
"""

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from service.engine.analysis import RunSummary, Verdict, explain, loss_facts
from service.engine.landscape import Landscape
from service.engine.loop import Outcome, Problem
from service.engine.lr_finder import RangeTest, Suggestion
from service.engine.sweep import SweepResult, grid, run_major
from service.engine.trace import Trace
from service.store.base import JobRecord, RunRecord, Status

Arrays = Mapping[str, npt.NDArray[Any]]

# Runs ------------------------------------------------------------------------------------------------------------


def run_document(record: RunRecord, trace: Trace | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "spec": record.spec,
        "summary": record.summary,
        "error": record.error,
    }
    if trace is not None:
        document["trace"] = trace_document(trace, scalar=record.dims == 0)
    return document


def status_of(summary: RunSummary, run: int = 0) -> Status:
    """How a run that computed to its end ended: diverged, or finished."""
    return Status.DIVERGED if int(summary.outcome[run]) == Outcome.DIVERGED else Status.FINISHED


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


def sweep_arrays(result: SweepResult, scalar: bool) -> dict[str, npt.NDArray[Any]]:
    """A finished sweep as the flat arrays the store keeps, one entry per grid point (C order): `final_loss` and
    `best_loss` in the run's dtype, `verdict` as text, `converged_at` and `diverged_at` (-1: never), and with
    kept traces `trace.step` (K,), `trace.w` (P, K) or (P, K, D), `trace.loss` and `trace.lr` (P, K), C-contiguous."""
    summary = result.summary
    arrays: dict[str, npt.NDArray[Any]] = {
        "final_loss": summary.final_loss,
        "best_loss": summary.best_loss,
        "verdict": np.asarray([str(verdict) for verdict in summary.verdict.tolist()], dtype=str),
        "converged_at": summary.converged_at.astype(np.int64),
        "diverged_at": summary.diverged_at.astype(np.int64),
    }
    if result.traces is not None:
        traces = run_major(result.traces)  # the sweep keeps its rows step-major: transposed once, here
        arrays |= {
            "trace.step": traces.step,
            "trace.w": traces.w[..., 0] if scalar else traces.w,
            "trace.loss": traces.loss,
            "trace.lr": traces.lr,
        }
    return arrays


def sweep_document(record: JobRecord, arrays: Arrays | None) -> dict[str, Any]:
    """The sweep: its axes and progress, and once finished the summary arrays shaped like the grid (and traces)."""
    shape = tuple(record.meta["shape"])
    document: dict[str, Any] = {
        "id": record.id,
        "name": record.name,
        "status": record.status,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "spec": record.spec,
        "shape": list(shape),
        "axes": record.meta["axes"],
        "progress": {"step": record.progress, "steps": record.steps},
        "error": record.error,
        "summary": None,
    }
    if not arrays:
        return document
    verdicts = arrays["verdict"].astype(object).reshape(shape)
    names, counts = np.unique(arrays["verdict"], return_counts=True)
    document["summary"] = {
        "final_loss": arrays["final_loss"].reshape(shape),
        "best_loss": arrays["best_loss"].reshape(shape),
        "verdict": verdicts.tolist(),
        "converged_at": _steps_or_null(arrays["converged_at"], shape),
        "diverged_at": _steps_or_null(arrays["diverged_at"], shape),
        "counts": dict(zip(names.tolist(), counts.tolist(), strict=True)),
        "stability": _stability(record, verdicts),
    }
    if "trace.step" in arrays:
        document["traces"] = {
            "step": arrays["trace.step"],
            **{
                name: arrays[f"trace.{name}"].reshape(shape + arrays[f"trace.{name}"].shape[1:])
                for name in ("w", "loss", "lr")
            },
        }
    return document


def _steps_or_null(steps: npt.NDArray[np.int64], shape: tuple[int, ...]) -> Any:
    listed = steps.astype(object)
    listed[steps < 0] = None
    return listed.reshape(shape).tolist()


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


def _stability(record: JobRecord, verdicts: npt.NDArray[np.object_]) -> Any:
    """The closed-form boundary next to the measured one, when a constant rate is swept on a quadratic with plain
    GD or heavy-ball momentum: per curvature 2a, stable for 0 < lr < 2(1 + β)/(2a) (β = 0 for plain GD)."""
    base = record.spec["base"]
    paths = [axis["path"] for axis in record.meta["axes"]]
    axes = [np.asarray(axis["values"], dtype=np.float64) for axis in record.meta["axes"]]
    schedule = base["schedule"]
    constant = not isinstance(schedule, dict) or schedule["kind"] == "constant"
    beta_of = HEAVY_BALL.get(base["optimizer"]["kind"])
    momentum = beta_of(base["optimizer"]) if beta_of is not None else None
    if "schedule.learning_rate" not in paths or not constant or base["loss"]["kind"] != "quadratic" or momentum is None:
        return None
    columns = {path: column.reshape(verdicts.shape) for path, column in zip(paths, grid(axes), strict=True)}
    dims = len(base["w0"]) if isinstance(base["w0"], list) else 1
    a = _per_dimension(base["loss"]["a"], dims)
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
    unstable = (verdicts == Verdict.DIVERGED.value) | (verdicts == Verdict.UNBOUNDED.value)
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


def _per_dimension(value: Any, dims: int) -> npt.NDArray[np.float64]:
    """A coefficient given as one number or one per dimension, as (1, D) float64."""
    items = value if isinstance(value, list) else [value] * dims
    return np.atleast_2d(np.asarray(items, dtype=np.float64))


def _finite_or_null(values: npt.NDArray[np.float64]) -> Any:
    listed = np.asarray(values, dtype=np.float64).astype(object)
    listed[~np.isfinite(np.asarray(values, dtype=np.float64))] = None
    return listed.tolist() if listed.ndim else listed.item()


# The learning-rate range test and landscapes ------------------------------------------------------------------


def range_test_result(curve: RangeTest, suggestions: list[Suggestion]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A finished range test as (arrays, facts) for the store."""
    arrays = {"lr": curve.lr, "loss": curve.loss, "smoothed_loss": curve.smoothed}
    facts = {
        "stopped_early": curve.stopped_early,
        "stop_reason": curve.stop_reason,
        "suggestions": [dataclasses.asdict(suggestion) for suggestion in suggestions],
    }
    return arrays, facts


def range_test_document(record: JobRecord, arrays: Arrays) -> dict[str, Any]:
    """The range test's curve and suggestions."""
    return {
        "lr": arrays["lr"],
        "loss": arrays["loss"],
        "smoothed_loss": arrays["smoothed_loss"],
        "stopped_early": record.meta["stopped_early"],
        "stop_reason": record.meta["stop_reason"],
        "suggestions": record.meta["suggestions"],
    }


def landscape_result(landscape: Landscape) -> tuple[dict[str, Any], dict[str, Any]]:
    """An evaluated landscape as (arrays, facts) for the store: the axes, the values and the lowest point."""
    axes, values = landscape.axes, landscape.values
    arrays = {"x": axes[0], "loss": values} | ({"y": axes[1]} if len(axes) == 2 else {})
    minimum = None
    if landscape.minimum is not None:
        at = landscape.minimum[::-1]  # (x index, y index): a 2-D grid's rows are y
        minimum = {
            "w": [axis[i] for axis, i in zip(axes, at, strict=True)],
            "loss": values[landscape.minimum],
            "index": list(landscape.minimum),
        }
    return arrays, {"minimum": minimum}


def landscape_document(record: JobRecord, arrays: Arrays) -> dict[str, Any]:
    return {"x": arrays["x"], "y": arrays.get("y"), "loss": arrays["loss"], "minimum": record.meta["minimum"]}
