"""The recorded trace of one run: columnar arrays, and the choice of which rows to keep."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from service.engine.arrays import Array, IntArray
from service.engine.loop import Outcome, TraceChunk


@dataclass(frozen=True)
class Trace:
    """Rows of one run: `step` (N,), `w` (N, D), `loss` (N,), `lr` (N,), `grad` (N, D), and the optimizer's
    `state` by name, each (N, D), when it is recorded."""

    step: IntArray
    w: Array
    loss: Array
    lr: Array
    grad: Array
    state: dict[str, Array] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.step.size)

    def take(self, rows: IntArray) -> "Trace":
        state = {name: values[rows] for name, values in self.state.items()}
        return Trace(self.step[rows], self.w[rows], self.loss[rows], self.lr[rows], self.grad[rows], state)

    def thin(self, every: int | None = None, max_points: int | None = None) -> "Trace":
        """Keep every `every`-th row and/or at most `max_points` evenly spaced rows; first and last always stay."""
        return self.take(thinned_rows(len(self), every, max_points))

    @staticmethod
    def concat(parts: Sequence["Trace"], dtype: np.dtype[np.floating], dims: int) -> "Trace":
        if not parts:
            return Trace.empty(dtype, dims)

        def joined(name: str) -> npt.NDArray[Any]:
            return np.concatenate([getattr(p, name) for p in parts])

        state = {name: np.concatenate([p.state[name] for p in parts]) for name in parts[0].state}
        return Trace(joined("step"), joined("w"), joined("loss"), joined("lr"), joined("grad"), state)

    @staticmethod
    def empty(dtype: np.dtype[np.floating], dims: int) -> "Trace":
        return Trace(
            np.empty(0, np.int64),
            np.empty((0, dims), dtype),
            np.empty(0, dtype),
            np.empty(0, dtype),
            np.empty((0, dims), dtype),
        )


COLUMNS = ("step", "w", "loss", "lr", "grad")


def thinned_rows(length: int, every: int | None, max_points: int | None) -> IntArray:
    """Row indices kept by `every` and `max_points`; the first and the last row are always kept."""
    rows = np.arange(length, dtype=np.int64)
    if length == 0:
        return rows
    if every is not None and every > 1:
        rows = np.union1d(rows[::every], [length - 1])
    if max_points is not None and rows.size > max_points:
        picks = np.unique(np.round(np.linspace(0, rows.size - 1, max(max_points, 2))).astype(np.int64))
        rows = rows[picks]
    return rows


def record(chunk: TraceChunk, run: int, every: int, last: bool = False) -> Trace:
    """The rows of `run` in `chunk` that a run recording every `every` steps keeps, plus its last row when the
    run ended in this chunk (or when `last`: the run is being stopped here)."""
    valid = int(chunk.rows[run])
    steps = chunk.step[:valid]
    keep = steps % every == 0
    if valid and (last or int(chunk.outcome[run]) != Outcome.RUNNING):
        keep[-1] = True
    rows = np.flatnonzero(keep)
    state = {name: values[rows, run] for name, values in chunk.state.items()}
    return Trace(
        steps[rows], chunk.w[rows, run], chunk.loss[rows, run], chunk.lr[rows, run], chunk.grad[rows, run], state
    )
