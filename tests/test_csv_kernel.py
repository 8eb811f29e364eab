"""The compiled CSV writer (`service.csv_kernel`) writes exactly the bytes of the NumPy writer it speeds up
(`numbers_text.lines` of each column's `text_matrix`, kept as the reference), on any float32/float64 columns, and
no request waits for it to load."""

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service import csv_kernel
from service.numbers_text import lines, text_matrix
from tests.test_encodings import corners, random_values

DTYPES: tuple[type[np.floating[Any]], ...] = (np.float32, np.float64)


@pytest.fixture(autouse=True)
def compiled() -> Iterator[None]:
    with csv_kernel.use("compiled"):
        yield


def reference(columns: list[npt.NDArray[np.generic]]) -> bytes:
    return lines([text_matrix(column) for column in columns])


def boundaries(dtype: type[np.floating]) -> list[float]:
    """Where NumPy switches between positional and scientific notation (1e-4; 1e6 in float32, 1e16 in float64),
    with their neighbours in the dtype, 1e-5, subnormals and the ends of the range."""
    info = np.finfo(dtype)
    values: list[float] = []
    for edge in (1e-4, 1e-5, 1e6, 1e16, info.smallest_normal, info.smallest_subnormal, info.max):
        at = dtype(edge)
        with np.errstate(over="ignore"):  # past float32's max: inf
            neighbours = (np.nextafter(at, dtype(0)), at, np.nextafter(at, dtype(np.inf)))
        values += [float(value) for value in neighbours] + [-float(value) for value in neighbours]
    return [*values, 0.0, -0.0, float("nan"), float("inf"), float("-inf")]


@st.composite
def table(draw: st.DrawFn) -> list[npt.NDArray[np.generic]]:
    """An int64 column, then 1 to 6 float32/float64 columns of the same length, some of them constant."""
    rows = draw(st.integers(1, 40))
    columns: list[npt.NDArray[np.generic]] = [np.arange(rows, dtype=np.int64) * draw(st.integers(-(2**40), 2**40))]
    for _ in range(draw(st.integers(1, 6))):
        dtype = draw(st.sampled_from(DTYPES))
        width: Literal[32, 64] = 32 if dtype == np.float32 else 64
        elements = st.one_of(st.floats(width=width), st.sampled_from(boundaries(dtype)))
        if draw(st.booleans()):
            columns.append(draw(arrays(dtype, rows, elements=elements)))
        else:
            columns.append(np.full(rows, draw(elements), dtype))
    return columns


@settings(max_examples=300, deadline=None)
@given(table())
def test_any_columns_give_the_numpy_writers_bytes(columns: list[npt.NDArray[np.generic]]) -> None:
    assert csv_kernel.lines(columns) == reference(columns)


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_exponent_gives_the_numpy_writers_bytes(dtype: type[np.floating]) -> None:
    values = np.concatenate([corners(dtype), np.array(boundaries(dtype), dtype), random_values(dtype, 200_000, 7)])
    columns = [np.arange(values.size, dtype=np.int64), values, np.roll(values, 1), values[::-1]]
    written = csv_kernel.lines(columns)
    assert written == reference(columns)
    assert written is not None
    assert written.split(b"\n")[1].decode() == ",".join(["1", str(values[1]), str(values[0]), str(values[-2])])


def test_strided_and_constant_columns() -> None:
    wide = random_values(np.float64, 3_000, 2).reshape(1_000, 3)
    narrow = random_values(np.float32, 2_000, 3).reshape(1_000, 2)
    columns = [wide[:, 1], np.full(1_000, 1e-7, np.float32), np.full(1_000, np.nan), narrow[:, 1], np.full(1_000, -0.0)]
    assert csv_kernel.lines(columns) == reference(columns)


def test_threads_writing_at_once_each_get_their_own_lines() -> None:
    """Pieces are encoded in threads beside each other; each writes into its own buffer (kept ones are reused)."""
    tables = [[random_values(np.float32, 20_000, seed), random_values(np.float64, 20_000, seed)] for seed in range(12)]
    with ThreadPoolExecutor(4) as pool:
        written = list(pool.map(csv_kernel.lines, tables * 3))
    assert written == [reference(columns) for columns in tables] * 3


def test_the_writer_stops_before_the_end_of_a_short_buffer() -> None:
    from service.csv_kernel import compiled

    text = np.frombuffer(b"[[1.5,2.5,3.5],[10,20,30]]", np.uint8)
    kinds, repeat = np.zeros((2, 3), np.uint8), np.zeros(2, np.bool_)
    roomy = np.zeros(compiled.SLACK + 64, np.uint8)
    written = compiled.write_lines(text, repeat, kinds, roomy)
    assert bytes(roomy[:written]) == b"1.5,10\n2.5,20\n3.5,30\n"
    short = np.zeros(compiled.SLACK + 8, np.uint8)
    assert compiled.write_lines(text, repeat, kinds, short) == -1


def test_other_dtypes_are_left_to_numpy() -> None:
    assert csv_kernel.lines([np.ones(3, np.float16)]) is None


def test_numba_compiles_nothing_after_loading() -> None:
    from service.csv_kernel import compiled

    classify: Any = compiled.classify  # Numba dispatchers
    write_lines: Any = compiled.write_lines
    assert len(classify.signatures) == 2
    assert len(write_lines.signatures) == 1
    with pytest.raises(TypeError, match="No matching definition"):  # instead of compiling a float16 version
        classify(np.ones(2, np.float16), np.float16(1e-4), np.float16(1e4), np.zeros(2, np.uint8))


def run_script(script: str, mode: str) -> str:
    environment = {**os.environ, "DESCENT_KERNELS": mode}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=240)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_auto_mode_serves_numpy_until_the_writer_is_loaded() -> None:
    """In a fresh process: the encodings import without Numba; the first CSV is NumPy's and starts loading the
    writer in the background; once it is loaded, the compiled writer answers, with the same bytes."""
    script = """
import sys
import threading
import numpy as np
from service import csv_kernel
from service.encodings import csv_bytes
from service.engine.trace import Trace
assert csv_kernel.mode() == "auto" and not csv_kernel.ready()
assert "numba" not in sys.modules
w = np.linspace(-3, 3e7, 1000, dtype=np.float32)[:, None]
trace = Trace(np.arange(1000), w, w[:, 0] ** 2, np.full(1000, 1e-7, np.float32), 2 * w, {})
before = csv_bytes(trace, scalar=True)
warming = [thread for thread in threading.enumerate() if thread.name == "csv-kernel-warm"]
assert len(warming) == 1 and csv_kernel.lines([w[:, 0]]) is None
warming[0].join()
assert csv_kernel.ready() and csv_kernel.lines([w[:, 0]]) is not None
assert csv_bytes(trace, scalar=True) == before
print("ok")
"""
    assert run_script(script, "auto") == "ok"


def test_numpy_mode_never_loads_numba() -> None:
    script = """
import sys
import numpy as np
from service import csv_kernel
assert csv_kernel.lines([np.ones(3)]) is None and csv_kernel.warm_in_background() is None
assert "numba" not in sys.modules
print("ok")
"""
    assert run_script(script, "numpy") == "ok"
