"""Compiled step kernels (Numba) for the loop's fast branch, and when they are used.

The kernels (`compiled`) run a chunk's whole step loop, gradient and update, bit for bit as the NumPy path does
(`adapters` says which loss and optimizer kinds they cover). A process never waits for a compile:

- `mode()` is `auto` (the default; `DESCENT_KERNELS` in the environment sets another): the compiled path is used
  once the kernels are loaded, the NumPy path until then; `numpy`: never compiled; `compiled`: always, loading
  (or compiling) them first, in the caller (tests and benchmarks force a path with `use`).
- `warm_in_background()` loads the kernels in a daemon thread (a worker process calls it when it starts):
  with a warm `NUMBA_CACHE_DIR` (the container image fills it at build time, `python -m service.engine.kernels
  --warm`) that is Numba's import and a cache read; a cold cache compiles, in that thread.
- `ready()` says whether they are loaded.

Numba is imported only by `warm` (in that thread, or in the caller in `compiled` mode), so importing the engine
stays as quick as it was.
"""

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from service.engine.arrays import Array
from service.engine.losses import Loss
from service.engine.optimizers import Optimizer

Mode = Literal["auto", "numpy", "compiled"]
MODES: tuple[Mode, ...] = ("auto", "numpy", "compiled")
Runner = Callable[[Array, Array, Array, int, Any], Any]

_ready = threading.Event()
_warming = threading.Lock()
_mode: Mode = "auto"


def from_environment() -> Mode:
    """`DESCENT_KERNELS` (auto by default); the CSV writer's kernel follows it too."""
    value = os.environ.get("DESCENT_KERNELS", "auto")
    for mode in MODES:
        if value == mode:
            return mode
    raise ValueError(f"DESCENT_KERNELS is {value!r}; give one of {', '.join(MODES)}.")


_mode = from_environment()


def mode() -> Mode:
    return _mode


@contextmanager
def use(chosen: Mode) -> Iterator[None]:
    """Force a path in this process while the block runs (every thread: a worker thread runs the loop)."""
    global _mode
    previous, _mode = _mode, chosen
    try:
        yield
    finally:
        _mode = previous


def writable(array: Array) -> Array:
    """`array` C-contiguous and writable: the one array type the kernels are compiled for (a read-only or strided
    view would make Numba compile another specialisation, at request time)."""
    if array.flags.c_contiguous and array.flags.writeable:
        return array
    return np.array(array, order="C", copy=True)


def ready() -> bool:
    return _ready.is_set()


def warm() -> None:
    """Load (or compile) every kernel for float32 and float64 by running tiny problems through them; idempotent."""
    with _warming:
        if _ready.is_set():
            return
        from service.engine.kernels import warmup

        warmup.run_all()
        _ready.set()


def warm_in_background() -> threading.Thread | None:
    """Start `warm` in a daemon thread, unless the kernels are loaded or the mode is `numpy`."""
    if _ready.is_set() or _mode == "numpy":
        return None
    thread = threading.Thread(target=warm, name="kernels-warm", daemon=True)
    thread.start()
    return thread


def enabled() -> bool:
    """Whether the compiled path is taken now (in `compiled` mode, after loading the kernels)."""
    if _mode == "numpy" or (_mode == "auto" and not _ready.is_set()):
        return False
    if not _ready.is_set():
        warm()
    return True


def analyze(analyzer: Any, chunk: Any) -> bool:
    """`Analyzer.add(chunk)` by the compiled kernel; False (nothing done) when the chunk's arrays are not of the
    types the kernel was compiled for (the caller then takes the NumPy path)."""
    from service.engine.kernels import adapters

    return adapters.analyze(analyzer, chunk)


def values(loss: Loss, dtype: np.dtype[np.floating]) -> Callable[[Array], Array] | None:
    """`loss.value` compiled (for the losses `adapters.values` covers), or None."""
    if not enabled():
        return None
    from service.engine.kernels import adapters

    return adapters.values(loss, dtype)


def sweeper(problem: Any) -> Callable[..., int] | None:
    """The fused sweep (`sweeps.sweeper`: the loop, its checks, the Analyzer and the kept rows in one compiled pass
    per chunk) for this problem, or None for the loop."""
    if not enabled():
        return None
    from service.engine.kernels import sweeps

    return sweeps.sweeper(problem)


def runner(loss: Loss, optimizer: Optimizer, dtype: np.dtype[np.floating]) -> Runner | None:
    """The compiled chunk runner for this problem, or None for the NumPy path (kernels not loaded yet in `auto`
    mode, `numpy` mode, or a loss or optimizer the kernels do not cover)."""
    if not enabled():
        return None
    from service.engine.kernels import adapters

    return adapters.runner(loss, optimizer, dtype)
