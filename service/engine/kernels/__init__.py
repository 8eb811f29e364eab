"""Compiled step kernels (Numba) for the loop's fast branch, and when they are used.

The kernels (`compiled`) run a chunk's whole step loop, gradient and update, bit for bit as the NumPy path does
(`adapters` says which loss and optimizer kinds they cover). A process never waits for a compile:

- `mode()` is `auto` (the default; `DESCENT_KERNELS` in the environment sets another): the compiled path is used
  once the kernels are loaded, the NumPy path until then; `numpy`: never compiled; `compiled`: always, loading
  (or compiling) them first, in the caller (tests and benchmarks force a path with `use`).
- `warm_in_background()` loads, in a daemon thread, the kernels every process uses (a worker process calls it when
  it starts): plain gradient descent's, the loss values, the analysis, the whole-run and the fused sweep kernels.
  Each other optimizer's kernels load on its first run, in another daemon thread, while that run takes the NumPy
  path: a worker holds only the kernels of the optimizers it has run (`RssAnon` of a worker running a formula
  run: 89 MB, against 141 MB with every kernel loaded). In `compiled` mode it loads every kernel. With a warm
  `NUMBA_CACHE_DIR` (the container image fills it at build time, `python -m service.engine.kernels --warm`) that
  is Numba's import and a cache read; a cold cache compiles, in that thread.
- `ready()` says whether the common kernels are loaded (`compiled` mode: every kernel); `warm()` loads every
  kernel, in the caller.

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
_everything = threading.Event()
_warming = threading.Lock()
_mode: Mode = "auto"
_loaded: set[type] = set()
"""The optimizer classes whose kernels are loaded (plain gradient descent's with the common ones)."""
_loading: set[type] = set()
_classes = threading.Lock()


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
        if _everything.is_set():
            return
        from service.engine.kernels import warmup

        warmup.run_all()
        with _classes:
            _loaded.update(warmup.optimizer_classes())
        _everything.set()
        _ready.set()


def warm_common() -> None:
    """Load the kernels every process uses (`warmup.run_core`); idempotent."""
    with _warming:
        if _ready.is_set():
            return
        from service.engine.kernels import warmup
        from service.engine.optimizers import GradientDescent

        warmup.run_core()
        with _classes:
            _loaded.add(GradientDescent)
        _ready.set()


def warm_in_background() -> threading.Thread | None:
    """Start `warm_common` (`compiled` mode: `warm`, so that `ready()` means every kernel is loaded) in a daemon
    thread, unless the kernels are loaded or the mode is `numpy`."""
    if _ready.is_set() or _mode == "numpy":
        return None
    target = warm if _mode == "compiled" else warm_common
    thread = threading.Thread(target=target, name="kernels-warm", daemon=True)
    thread.start()
    return thread


def _load_optimizer(kind: type) -> None:
    from service.engine.kernels import warmup

    with _warming:
        warmup.run_optimizer(kind)
    with _classes:
        _loaded.add(kind)
        _loading.discard(kind)


def loaded(kind: type) -> bool:
    """Whether this optimizer class's kernels are loaded; if not, start loading them in a daemon thread (once)."""
    with _classes:
        if kind in _loaded:
            return True
        if kind in _loading:
            return False
        _loading.add(kind)
    threading.Thread(target=_load_optimizer, args=(kind,), name=f"kernels-{kind.__name__}", daemon=True).start()
    return False


def enabled() -> bool:
    """Whether the compiled path is taken now (in `compiled` mode, after loading the kernels)."""
    if _mode == "numpy" or (_mode == "auto" and not _ready.is_set()):
        return False
    if _mode == "compiled" and not _everything.is_set():
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
    mode, this optimizer's not yet either: they start loading now; `numpy` mode; or a loss or optimizer the kernels
    do not cover)."""
    if not enabled():
        return None
    from service.engine.kernels import adapters

    if adapters.encode(loss, dtype) is None or not loaded(type(optimizer)):
        return None
    return adapters.runner(loss, optimizer, dtype)
