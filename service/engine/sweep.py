"""Sweeps: a grid of runs that differ only in numeric parameters, executed as one batch through the loop.

The grid is the cartesian product of the axes (C order: the last axis varies fastest); grid point p is run p of
one `Problem` whose parameters are arrays over the runs. The analyzer summarises every run as the chunks pass, and
only the rows asked for are kept, so a sweep of 10⁴ runs × 10³ steps needs no full trace in memory.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from service.engine.analysis import Analyzer, RunSummary
from service.engine.arrays import Array, IntArray
from service.engine.loop import Problem, iterate
from service.engine.trace import thinned_rows


def grid(axes: Sequence[Array]) -> list[Array]:
    """Per axis, its value at every grid point (each (P,), P = the product of the axes' lengths)."""
    return [values.ravel() for values in np.meshgrid(*axes, indexing="ij")]


@dataclass(frozen=True)
class SweepTraces:
    """Rows `step` (K,) of every run: `w` (P, K, D), `loss` and `lr` (P, K); NaN after a run ended."""

    step: IntArray
    w: Array
    loss: Array
    lr: Array


@dataclass(frozen=True)
class SweepResult:
    summary: RunSummary
    traces: SweepTraces | None


def run_sweep(
    problem: Problem, max_points: int | None = None, progress: Callable[[int], None] | None = None
) -> SweepResult:
    """Run every grid point to its end; keep at most `max_points` rows per run (None: no traces), evenly spaced
    with the first and last; `progress(step)` is told the last step computed after each chunk."""
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    analyzer = Analyzer(problem.loss, runs, dims, dtype)
    kept = thinned_rows(problem.steps + 1, None, max_points) if max_points else np.empty(0, np.int64)
    # step-major while the chunks arrive (each kept row one contiguous copy), transposed to run-major once at the end
    w = np.full((kept.size, runs, dims), np.nan, dtype)
    loss = np.full((kept.size, runs), np.nan, dtype)
    lr = np.full((kept.size, runs), np.nan, dtype)
    for chunk in iterate(problem):
        with np.errstate(all="ignore"):  # rows past a run's end (divergence) may hold anything
            analyzer.add(chunk)
        if kept.size:
            _keep(chunk.step, chunk.rows, kept, (chunk.w, chunk.loss, chunk.lr), (w, loss, lr))
        if progress is not None:
            progress(int(chunk.step[-1]))
    traces = (
        SweepTraces(kept, *(np.ascontiguousarray(np.swapaxes(rows, 0, 1)) for rows in (w, loss, lr)))
        if max_points
        else None
    )
    with np.errstate(all="ignore"):  # diverged runs' last rows are huge: their products overflow
        summary = analyzer.finish()
    return SweepResult(summary, traces)


def _keep(
    steps: IntArray, rows: IntArray, kept: IntArray, sources: tuple[Array, ...], targets: tuple[Array, ...]
) -> None:
    """Copy the chunk's rows at the kept steps into the step-major arrays (K, R, ...); rows past a run's end stay
    NaN."""
    first, last = np.searchsorted(kept, [steps[0], steps[-1] + 1])
    if first == last:
        return
    local = kept[first:last] - steps[0]
    every = bool(local.size == steps.size)  # every row of the chunk is kept: slices, no gather
    ended = rows < steps.size
    for source, target in zip(sources, targets, strict=True):
        picked = source if every else source[local]
        target[first:last] = picked
        if ended.any():  # rows past a run's end go back to NaN
            valid = local[:, None] < rows[None, :]  # (k, R): the run still had this row
            mask = valid.reshape(valid.shape + (1,) * (picked.ndim - 2))
            np.copyto(target[first:last], np.nan, where=~mask)
