"""The CSV of a trace, written a column at a time, is byte for byte the CSV the service wrote before (NumPy's `str`
of each value through `csv.writer`, kept here as `row_by_row_csv`), for float32 and float64 traces with every kind
of number: NaN, infinities, -0.0, subnormals, both ends of NumPy's positional range, recorded optimizer state; on
both paths: the NumPy writer (`numbers_text`) and the compiled one (`csv_kernel`)."""

import csv
import io
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service import csv_kernel
from service.encodings import CSV_ROWS, csv_bytes, csv_pieces, csv_text, trace_columns
from service.engine.trace import Trace
from service.numbers_text import text_matrix

DTYPES = (np.float32, np.float64)


@pytest.fixture(params=["numpy", "compiled"])
def csv_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """The test once with the NumPy CSV writer and once with the compiled one (loaded first)."""
    with csv_kernel.use(request.param):
        yield request.param


def row_by_row_csv(trace: Trace, scalar: bool, header: bool = True) -> str:
    """The encoder this one replaced: `astype(str)` per column, `csv.writer` per row."""
    columns = trace_columns(trace, scalar)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(columns)
    writer.writerows(zip(*(column.astype(str) for column in columns.values()), strict=True))
    return buffer.getvalue()


def corners(dtype: type[np.floating]) -> np.ndarray:
    info = np.finfo(dtype)
    values = [0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, 0.1, 1e-4, 9.999e-5, 1e-5, 1.5e-7, 1e6, 999999.94]
    values += [1e15, 1e16, 9.9e15, 123456.7, 2.5, 100.0]
    values += [float(info.smallest_subnormal), float(info.smallest_normal), float(info.max), float(-info.max)]
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype)


def random_values(dtype: type[np.floating], count: int, seed: int) -> np.ndarray:
    """Every exponent the dtype has (random bit patterns), plus decimal magnitudes across its whole range."""
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        bits = rng.integers(0, 2**32, count, dtype=np.uint64).astype(np.uint32).view(np.float32)
        exponents = rng.uniform(-45, 38.5, count)
    else:
        bits = rng.integers(0, 2**64, count, dtype=np.uint64).view(np.float64)
        exponents = rng.uniform(-323, 308, count)
    with np.errstate(over="ignore"):
        decimal = (rng.choice([-1.0, 1.0], count) * 10.0**exponents).astype(dtype)
    return np.concatenate([bits[: count // 2], decimal[: count // 2]])


def trace_of(values: np.ndarray, dims: int, state: bool) -> Trace:
    """A trace whose float columns cycle through `values` (rolled differently in each column)."""
    n = values.size

    def column(shift: int) -> np.ndarray:
        return np.roll(values, shift)

    w = np.stack([column(d) for d in range(dims)], axis=1)
    grad = np.stack([column(7 + d) for d in range(dims)], axis=1)
    extra = {"momentum": np.stack([column(11 + d) for d in range(dims)], axis=1)} if state else {}
    return Trace(np.arange(n, dtype=np.int64) * 3, w, column(3), column(5), grad, extra)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("dims", "state"), [(1, False), (3, True)])
def test_csv_is_the_row_by_row_csv(dtype: type[np.floating], dims: int, state: bool, csv_path: str) -> None:
    values = np.concatenate([corners(dtype), random_values(dtype, 40_000, seed=dims)])
    trace = trace_of(values, dims, state)
    assert csv_text(trace, scalar=dims == 1) == row_by_row_csv(trace, scalar=dims == 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_each_number_is_numpy_str(dtype: type[np.floating]) -> None:
    values = np.concatenate([corners(dtype), random_values(dtype, 100_000, seed=1)])
    written = text_matrix(values)
    assert [bytes(row).replace(b"\0", b"").decode() for row in written] == values.astype(str).tolist()


def test_streamed_pieces_make_the_same_csv(csv_path: str) -> None:
    values = random_values(np.float32, 2 * CSV_ROWS + 5, seed=4)
    trace = trace_of(values, 2, state=False)
    pieces = [piece() for piece in csv_pieces(trace, scalar=False)]
    assert len(pieces) == 3
    assert b"".join(pieces).decode() == row_by_row_csv(trace, scalar=False)


def test_an_empty_trace_is_its_header(csv_path: str) -> None:
    empty = Trace.empty(np.dtype(np.float64), 1)
    assert csv_bytes(empty, scalar=True) == row_by_row_csv(empty, scalar=True).encode() == b"step,w,loss,lr,grad\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(DTYPES).flatmap(
        lambda dtype: arrays(dtype, st.integers(1, 60), elements=st.floats(width=32 if dtype == np.float32 else 64))
    ),
    st.integers(1, 3),
)
def test_any_numbers_give_the_row_by_row_csv(csv_path: str, values: np.ndarray, dims: int) -> None:
    trace = trace_of(values, dims, state=dims == 2)
    assert csv_text(trace, scalar=dims == 1) == row_by_row_csv(trace, scalar=dims == 1)
