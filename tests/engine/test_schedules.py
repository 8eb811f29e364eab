"""Schedules: values at boundary steps, and TF1 graph mode's float32 arithmetic."""

import numpy as np
import numpy.typing as npt
import pytest

from service.engine.errors import ParameterError
from service.engine.schedules.base import constant
from service.engine.schedules.tf1 import exponential_decay

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def steps(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def test_constant_is_the_same_at_every_step() -> None:
    np.testing.assert_array_equal(constant(0.2, F32)(steps(0, 1, 10**6))[:, 0], np.float32(0.2))


def test_staircase_changes_at_multiples_of_decay_steps() -> None:
    values = exponential_decay(1.0, 10, 0.5, True, dtype=F64)(steps(0, 9, 10, 19, 20))[:, 0]
    np.testing.assert_array_equal(values, [1, 1, 0.5, 0.5, 0.25])


def test_graph_mode_staircase_fires_one_step_late_where_tensorflow_does() -> None:
    """NUMERICS.md §2 trap 1: TF1 Session gives 0.1 at global_step 41 for decay_steps 41 (x/41 → x·f32(1/41))."""
    values = exponential_decay(0.1, 41, 0.5, True, dtype=F32)(steps(40, 41, 42))[:, 0]
    np.testing.assert_array_equal(values, np.array([0.1, 0.1, 0.05], np.float32))


def test_course_schedule_values_are_float32_pow_rounded_once() -> None:
    values = exponential_decay(0.1, 1, 0.99, True, dtype=F32)(steps(*range(41)))[:, 0]
    expected = [np.float32(np.float32(0.1) * np.float32(float(np.float32(0.99)) ** k)) for k in range(41)]
    np.testing.assert_array_equal(values, expected)
    assert "%f" % values[1] == "0.099000"
    assert "%f" % values[40] == "0.066897"


def test_decay_steps_must_be_positive() -> None:
    with pytest.raises(ParameterError, match="decay_steps must be greater than 0"):
        exponential_decay(0.1, 0, 0.9, False, dtype=F32)
