"""A sweep cut into shards: contiguous blocks of grid points, each run through the engine's batched loop on its
own (on a Dask worker) and put back together in grid order.

A shard is the task a Dask worker runs: `run_shard(document, first, last)` rebuilds grid points first..last-1 of
the stored sweep document and returns their result arrays, the same arrays `documents.sweep_arrays` gives for the
whole grid, cut to those points. Every run's numbers are its own (the engine's batched runs equal separate runs
bit for bit), so the assembled arrays equal the one-process sweep's bit for bit. Like `worker`, no Pydantic, no
pyarrow, no web stack, no store: plain values in, NumPy arrays out.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from service import documents
from service.engine.sweep import run_sweep
from service.specs import build

SHARD_POINTS = 1024
"""Grid points of a shard, at least: each computes for a while, so a task's overhead stays small."""
MAX_SHARDS = 2000
"""Shards of a sweep, at most: beyond SHARD_POINTS × MAX_SHARDS points, shards grow instead."""

Arrays = dict[str, npt.NDArray[Any]]


def spans(points: int, size: int | None = None) -> list[tuple[int, int]]:
    """The shards of a grid of `points`: (first, last) blocks in grid order, `size` points each (the last one
    may hold fewer); by default SHARD_POINTS, or more so that there are at most MAX_SHARDS."""
    size = size or max(SHARD_POINTS, -(-points // MAX_SHARDS))
    return [(first, min(first + size, points)) for first in range(0, points, size)]


def run_shard(document: Mapping[str, Any], first: int, last: int) -> tuple[Arrays, int]:
    """Grid points first..last-1 of a sweep spec document (as stored): their result arrays, and the last step
    the loop computed (what the local worker writes as the sweep's progress at its end)."""
    grid = build.sweep_grid(document)
    problem = build.build_sweep(document, grid, first, last)
    steps = [-1]
    result = run_sweep(problem, document.get("max_points"), steps.append)
    return documents.sweep_arrays(result, build.is_scalar(document["base"])), max(steps)


def assemble(parts: Sequence[Arrays]) -> Arrays:
    """The shards' arrays (in grid order) as the whole sweep's: per-point arrays concatenated along grid points."""
    first = parts[0]
    return {
        name: first[name] if name == "trace.step" else np.concatenate([part[name] for part in parts]) for name in first
    }
