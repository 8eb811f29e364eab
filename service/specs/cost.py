"""What a job will cost in memory, estimated before any work from its normalised spec document and the engine
objects the edge built anyway; a job beyond `Limits.max_job_bytes` is refused with a 422 naming the setting.

The estimates follow the arrays the engine holds at its peak (a chunk of rows over every run, the analyzer's
per-run state, kept rows) and the answer the server writes (about 24 bytes per number as JSON). They are meant to
be generous, not exact: `tests/specs/test_cost.py` holds them above the peak memory measured for each kind.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np

from service.engine.expressions import Expression
from service.engine.loop import Problem, chunk_length
from service.errors import LimitExceeded, Loc
from service.limits import Limits

JSON_BYTES = 24
"""A number written as JSON (shortest decimal, separator), with the array it is encoded from."""
COPIES = 3
"""A recorded number's copies in memory at once: the worker's rows, the store's read, the answer's array."""
ANALYZER_ARRAYS = 16
"""Per run and dimension, the analyzer's running state (best, last, sliding windows)."""


def _slots(problem: Problem) -> int:
    """How many state arrays the optimizer keeps (an initial state built to count them)."""
    return len(problem.optimizer.slots(problem.optimizer.init(problem.w0)))


def _loop_bytes(problem: Problem, slots: int) -> int:
    """A chunk of rows over every run (w, grad, state slots per dimension; loss, lr per run) and the per-run state."""
    runs, dims = problem.w0.shape
    itemsize = problem.w0.dtype.itemsize
    per_row = runs * (dims * (3 + slots) + 3)
    return int(2 * chunk_length(runs, dims, compiled=True) * per_row * itemsize + runs * dims * ANALYZER_ARRAYS * 8)


def run_bytes(document: Mapping[str, Any], problem: Problem) -> int:
    dims, itemsize = problem.w0.shape[1], problem.w0.dtype.itemsize
    every = int(document["record"]["every"])
    slots = _slots(problem)
    recorded = (document["steps"] // every + 2) * ((2 + (slots if document["record"]["state"] else 0)) * dims + 2)
    return int(_loop_bytes(problem, slots) + recorded * (COPIES * itemsize + JSON_BYTES))


def trace_answer_bytes(spec: Mapping[str, Any], last_step: int, dims: int) -> int:
    """A stored run's answer: its whole trace read from the store (the thinning comes after), its rows as JSON or
    CSV. An optimizer's recorded state is counted as three slots per dimension (Adam's: step, exp_avg, exp_avg_sq)."""
    record = spec.get("record") or {}
    rows = max(last_step, 0) // int(record.get("every", 1)) + 2
    per_row = (2 + (3 if record.get("state") else 0)) * max(dims, 1) + 2
    itemsize = np.dtype(spec.get("dtype", "float32")).itemsize
    return int(rows * per_row * (COPIES * itemsize + JSON_BYTES))


def sweep_bytes(document: Mapping[str, Any], problem: Problem) -> int:
    runs, dims = problem.w0.shape
    kept = (document.get("max_points") or 0) * runs * (dims + 2)
    summary = runs * 8
    return int(
        _loop_bytes(problem, _slots(problem)) + (kept + summary) * (COPIES * problem.w0.dtype.itemsize + JSON_BYTES)
    )


def landscape_bytes(points: int, width: int, itemsize: int) -> int:
    """The grid's coordinates, the values the loss holds at once, and the answer."""
    return points * (2 * itemsize + (width + 2) * itemsize + JSON_BYTES)


def loss_width(loss: object) -> int:
    """How many arrays the size of the grid a loss's `value` holds at once (a formula: its tape's width)."""
    return loss.width if isinstance(loss, Expression) else 4


def check(estimate: int, limits: Limits, what: str, loc: Loc) -> None:
    """Refuse a job whose estimated memory exceeds the server's per-job limit, on the field that drives it."""
    if estimate > limits.max_job_bytes:
        mb, limit = estimate / 2**20, limits.max_job_bytes / 2**20
        raise LimitExceeded(
            [
                (
                    loc,
                    f"this {what} would need about {mb:,.0f} MB, more than this server's limit of {limit:,.0f} MB "
                    "per job (DESCENT_MAX_JOB_MEMORY_MB); ask for fewer points, steps or recorded rows.",
                )
            ]
        )
