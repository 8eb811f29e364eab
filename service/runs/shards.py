"""A sweep cut into shards: contiguous blocks of grid points, each run through the engine's batched loop on its
own (on a Dask worker) and put back together in grid order.

A shard is the task a Dask worker runs: `run_shard(document, first, last)` rebuilds grid points first..last-1 of
the stored sweep document and returns their result arrays, the same arrays `documents.sweep_arrays` gives for the
whole grid, cut to those points. Every run's numbers are its own (the engine's batched runs equal separate runs
bit for bit), so the assembled arrays equal the one-process sweep's bit for bit. Like `worker`, no Pydantic, no
pyarrow, no web stack, no store: plain values in, NumPy arrays out.
"""

import ctypes
import ctypes.util
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from service import documents
from service.engine import kernels
from service.engine.sweep import run_sweep
from service.specs import build

SHARD_WORK = 1 << 21
"""Run-steps (points x (steps + 1) x dims) of a shard, at least: about 0.1 s of the loop, so a task's overhead
on the cluster (a few ms) stays small."""
MIN_SHARD_POINTS = 256
"""Grid points of a shard, at least, however long each run is: a task is a batch, never a point."""
MAX_SHARDS = 2000
"""Shards of a sweep, at most: beyond, shards grow instead."""
MALLOC_MMAP_THRESHOLD = 64 << 20
"""Below this, glibc serves allocations from its heap instead of fresh mmap'd pages (see `tune_malloc`)."""
MALLOC_TRIM_THRESHOLD = 256 << 20
"""Free memory at the heap's top that glibc keeps instead of returning it to the system."""

Arrays = dict[str, npt.NDArray[Any]]


def spans(points: int, size: int) -> list[tuple[int, int]]:
    """The shards of a grid of `points`: (first, last) blocks of `size` points in grid order (the last one may
    hold fewer)."""
    return [(first, min(first + size, points)) for first in range(0, points, size)]


def shard_points(points: int, steps: int, dims: int) -> int:
    """How many grid points a shard of this sweep holds: at least SHARD_WORK run-steps and MIN_SHARD_POINTS
    points, and large enough that there are at most MAX_SHARDS shards."""
    return max(MIN_SHARD_POINTS, -(-SHARD_WORK // ((steps + 1) * dims)), -(-points // MAX_SHARDS))


def sweep_spans(document: Mapping[str, Any], points: int) -> list[tuple[int, int]]:
    """The shards of a sweep spec document whose grid has `points` points."""
    base = document["base"]
    return spans(points, shard_points(points, int(base["steps"]), build.dims_of(base)))


def run_shard(document: Mapping[str, Any], first: int, last: int) -> tuple[Arrays, int]:
    """Grid points first..last-1 of a sweep spec document (as stored): their result arrays, and the last step
    the loop computed (what the local worker writes as the sweep's progress at its end). Every run of a batch gives
    the numbers it gives alone (tests/engine/test_invariants.py), so a shard's are the one-process sweep's."""
    tune_malloc()
    kernels.warm_in_background()  # a Dask worker's later shards take the compiled path once it is loaded
    grid = build.sweep_grid(document)
    problem = build.build_sweep(document, grid, np.arange(first, last))
    steps = [-1]
    result = run_sweep(problem, document.get("max_points"), steps.append)
    return documents.sweep_arrays(result, build.is_scalar(document["base"])), max(steps)


def assemble(parts: Sequence[Arrays]) -> Arrays:
    """The shards' arrays (in grid order) as the whole sweep's: per-point arrays concatenated along grid points."""
    first = parts[0]
    return {
        name: first[name] if name == "trace.step" else np.concatenate([part[name] for part in parts]) for name in first
    }


@cache
def tune_malloc() -> bool:
    """Undo Dask's malloc setting in this (worker) process, once: a Dask nanny starts its worker with
    MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's adaptive mmap threshold, so every chunk-sized
    temporary of the loop (about CHUNK_VALUES numbers, 512 KiB) is a fresh mmap whose pages fault in again: the
    engine ran 2-2.5x slower on a worker than in a plain process. Raising both thresholds restores its speed.
    Numbers are unaffected (only where memory comes from changes). False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    return bool(mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD) and mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD))
