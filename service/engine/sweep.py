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
    """Rows `step` (K,) of every run: `w` (P, K, D), `loss` and `lr` (P, K); NaN after a run ended. The arrays
    `run_sweep` allocates are views of step-major memory (each kept row of every run contiguous, written where
    it is computed); `run_major` copies them run-major."""

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
    fused = kernels.sweeper(problem)
    analyzer = Analyzer(problem.loss, runs, dims, dtype, window=fused is None)  # the fused sweep keeps its own
    kept = thinned_rows(problem.steps + 1, None, max_points) if max_points else np.empty(0, np.int64)
    targets = into if into is not None else _traces_for(kept, runs, dims, dtype)
    if fused is not None:  # the compiled path: no chunk in memory, each kept row written where it is computed
        columns = (targets.w, targets.loss, targets.lr)
        written = fused(analyzer, kept, columns, progress)
        for rows in columns:
            rows[:, written:] = np.nan  # every run ended before these steps
        with np.errstate(all="ignore"):
            summary = analyzer.finish()
        return SweepResult(summary, targets if max_points else None)
    # kept rows step-major as the chunks arrive (each one contiguous copy): into the targets when their memory is
    # step-major (as `traces_for` gives them), else into step-major arrays transposed into them once at the end
    steps = _step_major(targets)
    if steps is None:
        w, loss, lr = (
            np.empty((kept.size, runs, dims), dtype),
            np.empty((kept.size, runs), dtype),
            np.empty((kept.size, runs), dtype),
        )
    else:
        w, loss, lr = steps
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
    if max_points and steps is None:
        for source, target in zip((w, loss, lr), (targets.w, targets.loss, targets.lr), strict=True):
            _run_major(source, target)
    with np.errstate(all="ignore"):  # diverged runs' last rows are huge: their products overflow
        summary = analyzer.finish()
    return SweepResult(summary, targets if max_points else None)


def traces_for(problem: Problem, max_points: int) -> SweepTraces:
    """Run-major arrays (C-contiguous) for the traces of a sweep of `problem` keeping `max_points` rows, to pass
    as `into` by a caller that wants each run's rows consecutive (the kept rows are then gathered per run as they
    are computed). The arrays `run_sweep` allocates itself are step-major (`_traces_for`), and can be passed
    again as `into`: the fastest layout to write."""
    runs, dims = problem.w0.shape
    kept = thinned_rows(problem.steps + 1, None, max_points)
    shape = (runs, kept.size)
    dtype = problem.w0.dtype
    return SweepTraces(kept, np.empty((*shape, dims), dtype), np.empty(shape, dtype), np.empty(shape, dtype))


def _traces_for(kept: IntArray, runs: int, dims: int, dtype: np.dtype[np.floating]) -> SweepTraces:
    """(R, K, D) and (R, K) views of step-major memory (K, R, D) and (K, R): a kept row of every run is contiguous
    where the sweep computes it; `run_major` gives the run-major copies a store keeps."""
    w = np.empty((kept.size, runs, dims), dtype).transpose(1, 0, 2)
    return SweepTraces(kept, w, np.empty((kept.size, runs), dtype).T, np.empty((kept.size, runs), dtype).T)


def _step_major(traces: SweepTraces) -> tuple[Array, Array, Array] | None:
    """The (K, R, D), (K, R), (K, R) arrays whose views `traces` holds, when their memory is step-major, else
    None."""
    w, loss, lr = traces.w.transpose(1, 0, 2), traces.loss.T, traces.lr.T
    if w.flags.c_contiguous and loss.flags.c_contiguous and lr.flags.c_contiguous:
        return w, loss, lr
    return None


def run_major(traces: SweepTraces) -> SweepTraces:
    """`traces` with C-contiguous (run-major) arrays: the same values, each run's rows consecutive (the layout a
    store writes out); transposed once, in blocks of runs, when the memory is step-major, else as they are."""
    steps = _step_major(traces)
    if steps is None or traces.step.size <= 1 or traces.w.shape[0] <= 1:
        return SweepTraces(traces.step, *(np.ascontiguousarray(rows) for rows in (traces.w, traces.loss, traces.lr)))
    out = SweepTraces(traces.step, *(np.empty(rows.shape, rows.dtype) for rows in (traces.w, traces.loss, traces.lr)))
    for source, target in zip(steps, (out.w, out.loss, out.lr), strict=True):
        _run_major(source, target)
    return out


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
