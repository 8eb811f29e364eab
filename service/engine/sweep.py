"""Sweeps: a grid of runs that differ only in numeric parameters, executed as one batch through the loop.

The grid is the cartesian product of the axes (C order: the last axis varies fastest); grid point p is run p of
one `Problem` whose parameters are arrays over the runs. The analyzer summarises every run as the chunks pass, and
only the rows asked for are kept, so a sweep of 10⁴ runs × 10³ steps needs no full trace in memory.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from service.engine import kernels
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
    problem: Problem,
    max_points: int | None = None,
    progress: Callable[[int], None] | None = None,
    into: SweepTraces | None = None,
) -> SweepResult:
    """Run every grid point to its end; keep at most `max_points` rows per run (None: no traces), evenly spaced
    with the first and last; `progress(step)` is told the last step computed after each chunk. `into`: arrays
    for the traces, reused from an earlier sweep of the same shape (`traces_for`), else they are allocated."""
    runs, dims = problem.w0.shape
    dtype = problem.w0.dtype
    analyzer = Analyzer(problem.loss, runs, dims, dtype)
    kept = thinned_rows(problem.steps + 1, None, max_points) if max_points else np.empty(0, np.int64)
    fused = kernels.sweeper(problem)
    if fused is not None:  # the compiled path: no chunk in memory, the kept rows written run-major
        targets = into if into is not None else _traces_for(kept, runs, dims, dtype)
        columns = (targets.w, targets.loss, targets.lr)
        written = fused(analyzer, kept, columns, progress)
        for rows in columns:
            rows[:, written:] = np.nan  # every run ended before these steps
        with np.errstate(all="ignore"):
            summary = analyzer.finish()
        return SweepResult(summary, targets if max_points else None)
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
    traces = None
    if max_points:
        traces = into if into is not None else _traces_for(kept, runs, dims, dtype)
        for source, target in zip((w, loss, lr), (traces.w, traces.loss, traces.lr), strict=True):
            _run_major(source, target)
    with np.errstate(all="ignore"):  # diverged runs' last rows are huge: their products overflow
        summary = analyzer.finish()
    return SweepResult(summary, traces)


def traces_for(problem: Problem, max_points: int) -> SweepTraces:
    """Arrays for the traces of a sweep of `problem` keeping `max_points` rows (to pass as `into`)."""
    runs, dims = problem.w0.shape
    return _traces_for(thinned_rows(problem.steps + 1, None, max_points), runs, dims, problem.w0.dtype)


def _traces_for(kept: IntArray, runs: int, dims: int, dtype: np.dtype[np.floating]) -> SweepTraces:
    shape = (runs, kept.size)
    return SweepTraces(kept, np.empty((*shape, dims), dtype), np.empty(shape, dtype), np.empty(shape, dtype))


def _run_major(rows: Array, out: Array, block: int = 256) -> None:
    """(K, R, ...) step-major rows into `out` as (R, K, ...), copied in blocks of runs (a plain transposed copy of a
    wide array reads memory a cache line per value; a block's rows are contiguous runs of `block` values)."""
    for first in range(0, rows.shape[1], block):
        out[first : first + block] = np.swapaxes(rows[:, first : first + block], 0, 1)


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
