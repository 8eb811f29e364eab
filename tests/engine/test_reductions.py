"""`tensorflow_sum`, vectorised, against the order NUMERICS.md describes written out one float32 addition at a
time. The order itself is held to TensorFlow's real numbers by the golden `loss_d*` cases."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from service.engine.reductions import tensorflow_sum

F32 = np.float32


def eigen_order(row: list[float]) -> np.float32:
    """Eigen's AVX inner-most sum of one row, one scalar float32 addition at a time."""
    values = [F32(x) for x in row]
    packets = len(values) // 8
    blocks = len(values) // 32
    acc = [[F32(0)] * 8 for _ in range(4)]
    for block in range(blocks):
        for i in range(4):
            for lane in range(8):
                acc[i][lane] = F32(acc[i][lane] + values[32 * block + 8 * i + lane])
    p = [F32(F32(F32(acc[0][j] + acc[1][j]) + acc[2][j]) + acc[3][j]) for j in range(8)]
    for packet in range(4 * blocks, packets):
        p = [F32(p[j] + values[8 * packet + j]) for j in range(8)]
    tail = F32(0)
    for x in values[8 * packets :]:
        tail = F32(tail + x)
    low = F32(F32(p[0] + p[4]) + F32(p[2] + p[6]))
    high = F32(F32(p[1] + p[5]) + F32(p[3] + p[7]))
    return F32(tail + F32(low + high))


finite32 = st.floats(-1e6, 1e6, width=32)


@settings(max_examples=60, deadline=None)
@given(arrays(F32, st.tuples(st.integers(1, 5), st.integers(1, 110)), elements=finite32))
def test_matches_the_order_added_one_value_at_a_time(values: np.ndarray) -> None:
    ours = tensorflow_sum(values)
    expected = np.array([eigen_order(row) for row in values.tolist()], dtype=F32)
    np.testing.assert_array_equal(ours.view(np.int32), expected.view(np.int32))


def test_rows_of_fewer_than_eight_add_left_to_right() -> None:
    rng = np.random.default_rng(7)
    values = (rng.standard_normal((1000, 7)) * 10.0 ** rng.uniform(-4, 4, (1000, 7))).astype(F32)
    left_to_right = np.zeros(1000, F32)
    for column in values.T:
        left_to_right = left_to_right + column
    np.testing.assert_array_equal(tensorflow_sum(values), left_to_right)


def test_batched_rows_are_summed_like_single_ones() -> None:
    values = np.random.default_rng(3).standard_normal((6, 4, 45)).astype(F32)
    single = np.array([[tensorflow_sum(row[None])[0] for row in runs] for runs in values])
    np.testing.assert_array_equal(tensorflow_sum(values), single)
