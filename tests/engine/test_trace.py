"""Recording and thinning keep the first and the last row, and only rows that exist."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from service.engine.execute import run_one
from service.engine.trace import thinned_rows
from tests.engine.test_loop import course


@given(length=st.integers(1, 500), every=st.none() | st.integers(1, 50), max_points=st.none() | st.integers(2, 60))
def test_thinning_keeps_ends_and_order(length: int, every: int | None, max_points: int | None) -> None:
    rows = thinned_rows(length, every, max_points)
    assert rows[0] == 0
    assert rows[-1] == length - 1
    assert (np.diff(rows) > 0).all()
    if max_points is not None:
        assert rows.size <= max_points
    if every is not None and max_points is None:
        assert set(range(0, length, every)) <= set(rows.tolist())


def test_record_every_keeps_multiples_and_the_last_row() -> None:
    trace = run_one(course(0.2, 25), every=10).trace
    assert trace.step.tolist() == [0, 10, 20, 25]


def test_record_every_keeps_the_last_row_of_an_early_stop() -> None:
    trace = run_one(course(0.2, 1000, grad_tol=1e-2), every=7).trace
    full = run_one(course(0.2, 1000, grad_tol=1e-2)).trace
    assert trace.step[-1] == full.step[-1]
    np.testing.assert_array_equal(trace.w, full.w[np.isin(full.step, trace.step)])
