"""Per-row `step` events framed a block at a time (`step_frames`) are byte for byte the events framed one by one
(`row_document` -> `json_bytes` -> FastAPI's `format_sse_event`), for scalar and vector runs, float32 and float64,
with optimizer state, NaN, infinities, -0.0 and subnormals; and the event stream yields blocks lazily."""

import numpy as np
import pytest
from fastapi.sse import format_sse_event
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service.api.sse import server_sent, step_frames
from service.engine.trace import Trace
from service.runs.events import BLOCK, FIRST_BLOCK, step_events


def one_by_one(rows: Trace, scalar: bool) -> bytes:
    framed = (server_sent(event) for event in step_events(rows, scalar, None, one_by_one=True))
    return b"".join(format_sse_event(data_str=f.raw_data, event=f.event, id=f.id, comment=f.comment) for f in framed)


def trace(values: np.ndarray, dims: int, state: bool) -> Trace:
    n = values.size
    column = np.stack([np.roll(values, d) for d in range(dims)], axis=1)
    extra = {"exp_avg": np.roll(column, 1, axis=0), "exp_avg_sq": np.roll(column, 2, axis=0)} if state else {}
    return Trace(np.arange(n, dtype=np.int64) * 5, column, np.roll(values, 3), np.roll(values, 4), -column, extra)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("dims", "state"), [(1, False), (1, True), (4, True)])
def test_a_block_is_the_events_framed_one_by_one(dtype: type[np.floating], dims: int, state: bool) -> None:
    rng = np.random.default_rng(dims)
    values = (rng.standard_normal(3_000) * 10.0 ** rng.uniform(-30, 30, 3_000)).astype(dtype)
    info = np.finfo(dtype)
    values[:6] = [np.nan, np.inf, -np.inf, -0.0, info.smallest_subnormal, info.max]
    rows = trace(values, dims, state)
    assert step_frames(rows, dims == 1) == one_by_one(rows, dims == 1)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dtype: arrays(dtype, st.integers(1, 40), elements=st.floats(width=32 if dtype == np.float32 else 64))
    ),
    st.integers(1, 3),
)
def test_any_numbers_frame_like_one_by_one(values: np.ndarray, dims: int) -> None:
    rows = trace(values, dims, state=dims == 2)
    assert step_frames(rows, dims == 1) == one_by_one(rows, dims == 1)


def test_rows_come_in_blocks_small_first_and_lazily() -> None:
    rows = trace(np.arange(20_000, dtype=np.float32), 1, state=False)
    events = step_events(rows, True, None)
    first = next(events)
    assert first.rows is not None
    assert len(first.rows) == FIRST_BLOCK
    sizes = [len(event.rows) for event in events if event.rows is not None]
    assert sizes[0] == BLOCK
    assert sum(sizes) + FIRST_BLOCK == 20_000
    assert [event.id for event in first.each()] == list(range(0, 5 * FIRST_BLOCK, 5))
