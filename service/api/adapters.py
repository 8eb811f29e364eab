"""The one place that knows both the schemas and the engine: specs in, engine objects; results out, documents."""

from typing import Any

import numpy as np

from service.api import schemas
from service.api.errors import LIMIT_EXCEEDED, Loc, invalid
from service.api.kinds.base import Kind
from service.api.kinds.losses import QuadraticLoss
from service.config import Settings
from service.engine import losses, optimizers, schedules
from service.engine.analysis import RunSummary, explain, loss_facts
from service.engine.arrays import as_dtype_array
from service.engine.errors import ParameterError
from service.engine.loop import Outcome, Problem
from service.engine.trace import Trace


def dims_of(spec: schemas.RunSpec) -> int:
    return len(spec.w0) if isinstance(spec.w0, list) else 1


def check_limits(spec: schemas.RunSpec, problem: Problem, settings: Settings) -> None:
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


def build_problem(spec: schemas.RunSpec) -> Problem:
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
    stop = spec.stop or schemas.Stop()
    return Problem(loss, schedule, optimizer, w0, spec.steps, stop.grad_tol, stop.loss_tol, spec.record.state)


def _loss(spec: schemas.LossSpec, dims: int, dtype: np.dtype[np.floating]) -> losses.Loss:
    if isinstance(spec, QuadraticLoss):
        return losses.quadratic(spec.a, spec.b, spec.c, dims, dtype)
    return losses.polynomial(spec.coefficients, dims, dtype)


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
