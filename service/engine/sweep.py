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
    w = np.empty((kept.size, runs, dims), dtype)
    loss = np.empty((kept.size, runs), dtype)
    lr = np.empty((kept.size, runs), dtype)
    written = 0  # kept rows written so far (in step order)
    for chunk in iterate(problem):
        with np.errstate(all="ignore"):  # rows past a run's end (divergence) may hold anything
            analyzer.add(chunk)
        if kept.size:
            written = _keep(chunk.step, chunk.rows, kept, (chunk.w, chunk.loss, chunk.lr), (w, loss, lr), written)
        if progress is not None:
            progress(int(chunk.step[-1]))
    for rows in (w, loss, lr):
        rows[written:] = np.nan  # every run ended before these steps
    traces = SweepTraces(kept, *(_run_major(rows) for rows in (w, loss, lr))) if max_points else None
    with np.errstate(all="ignore"):  # diverged runs' last rows are huge: their products overflow
        summary = analyzer.finish()
    return SweepResult(summary, traces)


def _run_major(rows: Array, block: int = 256) -> Array:
    """(K, R, ...) step-major rows as (R, K, ...), copied in blocks of runs (a plain transposed copy of a wide array
    reads memory a cache line per value; a block's rows are contiguous runs of `block` values)."""
    out = np.empty((rows.shape[1], rows.shape[0], *rows.shape[2:]), rows.dtype)
    for first in range(0, rows.shape[1], block):
        out[first : first + block] = np.swapaxes(rows[:, first : first + block], 0, 1)
    return out


def _keep(
    steps: IntArray,
    rows: IntArray,
    kept: IntArray,
    sources: tuple[Array, ...],
    targets: tuple[Array, ...],
    written: int,
) -> int:
    """Copy the chunk's rows at the kept steps into the step-major arrays (K, R, ...), NaN past a run's end;
    return how many kept rows are written now."""
    first, last = (int(index) for index in np.searchsorted(kept, [steps[0], steps[-1] + 1]))
    if first == last:
        return written
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
    return last
