"""The CSV lines of a table written by a compiled kernel (`compiled`), and when it is used.

`lines(columns)` gives the same bytes as `numbers_text.lines` of the columns' `text_matrix` (NumPy's `str` of every
value, cells joined by commas, one line per row), in one pass over the rows instead of several over byte matrices.
It answers None when the kernel is not to be used (yet): the caller then takes the NumPy path. A request never
waits for a compile:

- `mode()` follows `DESCENT_KERNELS` like the engine's kernels (`service.engine.kernels`): `auto` (the default)
  uses the kernel once it is loaded; `numpy` never; `compiled` always, loading (or compiling) it first, in the
  caller (tests and benchmarks force a path with `use`).
- `warm_in_background()` loads it in a daemon thread (the server calls it when it starts; the first `lines` call
  does too): with a warm `NUMBA_CACHE_DIR` (`python -m service.csv_kernel --warm`, run by `make install` and the
  container build) that is Numba's import and a cache read; a cold cache compiles, in that thread. Loading ends
  with a check: a table with every kind of number, written by both paths, must come out the same.

Numba is imported only by `warm`, so importing the encodings stays quick.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from service.engine.kernels import Mode, from_environment
from service.numbers_text import BOUNDS, JSON, constant, text_matrix
from service.numbers_text import lines as numpy_lines

_ready = threading.Event()
_warming = threading.Lock()
_started = threading.Event()
_compiled: ModuleType | None = None


_mode: Mode = from_environment()


def mode() -> Mode:
    return _mode


@contextmanager
def use(chosen: Mode) -> Iterator[None]:
    """Force a path in this process while the block runs (every thread: encodings run in threads)."""
    global _mode
    previous, _mode = _mode, chosen
    try:
        yield
    finally:
        _mode = previous


def ready() -> bool:
    return _ready.is_set()


def warm() -> None:
    """Load (or compile) the kernel, then check it against the NumPy path on a table of every kind of number;
    idempotent. Raises RuntimeError (and the kernel stays unused) if they differ."""
    global _compiled
    with _warming:
        if _ready.is_set():
            return
        from service.csv_kernel import compiled

        table = _check_table()
        if _write(compiled, table) != numpy_lines([text_matrix(column) for column in table]):
            raise RuntimeError("the compiled CSV writer differs from the NumPy one; the NumPy one stays in use")
        _compiled = compiled
        _ready.set()


def warm_in_background() -> threading.Thread | None:
    """Start `warm` in a daemon thread, unless it was started before or the mode is `numpy`."""
    if _started.is_set() or _mode == "numpy":
        return None
    _started.set()
    thread = threading.Thread(target=warm, name="csv-kernel-warm", daemon=True)
    thread.start()
    return thread


def lines(columns: list[npt.NDArray[Any]]) -> bytes | None:
    """The columns' rows as CSV lines by the compiled kernel, or None: the NumPy path is to be taken (`numpy`
    mode, the kernel not loaded yet in `auto` mode, or a column that is neither integers, float32 nor float64)."""
    if _mode == "numpy" or not all(column.dtype.kind in "iu" or column.dtype in BOUNDS for column in columns):
        return None
    if _mode == "compiled":
        warm()
    elif not _ready.is_set():
        warm_in_background()
        return None
    return _write(_compiled, columns)


def _write(compiled: Any, columns: list[npt.NDArray[Any]]) -> bytes:
    """The lines, by `compiled.write_lines` over orjson's text of the columns (one token for a constant column)."""
    rows = columns[0].shape[0]
    kinds = np.zeros((len(columns), rows), np.uint8)
    repeat = np.zeros(len(columns), np.bool_)
    arrays: list[npt.NDArray[Any] | orjson.Fragment] = []
    size = 0
    for c, column in enumerate(columns):
        values = np.ascontiguousarray(column)
        if values.dtype in BOUNDS and constant(values):  # one token, already in NumPy's layout
            repeat[c] = True
            token = _write(compiled, [values[:1]])[:-1]
            arrays.append(orjson.Fragment(b"[" + token + b"]"))
            size += rows * (len(token) + 1)
            continue
        if values.dtype in BOUNDS:
            low, high = BOUNDS[values.dtype]
            compiled.classify(values, low, high, kinds[c])
        arrays.append(values)
        size += 4 * rows  # each token's bytes are in the text; up to 3 more, and its separator
    text = orjson.dumps(arrays, option=JSON)
    out = _take(len(text) + size + compiled.SLACK)
    try:
        written = compiled.write_lines(np.frombuffer(text, np.uint8), repeat, kinds, out)
        if written < 0:  # a layout longer than NumPy's can be: never seen; the NumPy writer answers
            return numpy_lines([text_matrix(column) for column in columns])
        return out[:written].tobytes()
    finally:
        _give(out)


SPARE_BYTES, SPARES = 4 << 20, 4
"""The kernel writes into buffers of SPARE_BYTES (a piece of CSV_ROWS rows needs 1 to 3 MB), of which up to SPARES
are kept for the next pieces: a new buffer per piece would be fresh memory each time (a page fault every 4 kB cost a
third more CPU than the writing itself in `bench.delivery`)."""
_spares: list[npt.NDArray[np.uint8]] = []
_spares_lock = threading.Lock()


def _take(size: int) -> npt.NDArray[np.uint8]:
    """A buffer of at least `size` bytes: a kept one (or a new one of SPARE_BYTES) when it fits in SPARE_BYTES."""
    if size > SPARE_BYTES:
        return np.empty(size, np.uint8)
    with _spares_lock:
        if _spares:
            return _spares.pop()
    return np.empty(SPARE_BYTES, np.uint8)


def _give(buffer: npt.NDArray[np.uint8]) -> None:
    """Keep a buffer from `_take` for the next piece (up to SPARES of them)."""
    with _spares_lock:
        if buffer.size == SPARE_BYTES and len(_spares) < SPARES:
            _spares.append(buffer)


def _check_table() -> list[npt.NDArray[Any]]:
    """Columns with every kind of number the writer lays out: both ends of NumPy's positional range in each dtype,
    NaN, infinities, -0.0, subnormals, the largest values; a constant column; integers."""
    values = [0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -0.1, 1e-4, 9.999e-5, -1.5e-7, 1e-5, 1e6, 999999.94, -1.5e6]
    values += [1e15, 1e16, 9.9e15, 123456.7, 16777216.0, 3.4e38, 1e-45, 1.7e308, 5e-324, 1e-300, 2.5e-310]
    with np.errstate(over="ignore"):
        single, double = np.array(values, np.float32), np.array(values, np.float64)
    count = len(values)
    return [np.arange(count, dtype=np.int64) - 3, single, double, np.full(count, 1e-7, np.float32), double[::-1]]
