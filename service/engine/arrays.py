"""Conversion of user numbers into engine arrays of a given dtype, with the checks that belong there."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from service.engine.errors import ParameterError

Array = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.int64]
Numbers = float | Sequence[float]


def as_dtype_array(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """`value` as a 1-D array of `dtype`; refuses values that overflow the dtype."""
    with np.errstate(over="ignore"):
        array = np.atleast_1d(np.asarray(value, dtype=dtype))
    if array.ndim != 1 or array.size == 0:
        raise ParameterError(name, f"{name} must be a number or a non-empty list of numbers.")
    if not np.isfinite(array).all():
        limit = np.finfo(dtype).max
        raise ParameterError(
            name,
            f"{name} does not fit in {dtype.name} (largest magnitude {limit:.8g}); "
            "use smaller values or dtype float64.",
        )
    return array


def broadcast_dims(name: str, array: Array, dims: int) -> Array:
    """A per-dimension parameter broadcast to `dims` entries; a scalar applies to every dimension."""
    if array.size == 1:
        return np.full(dims, array[0], dtype=array.dtype)
    if array.size != dims:
        raise ParameterError(
            name,
            f"{name} has {array.size} values but w0 has {dims} dimensions; "
            f"give one value per dimension, or a single number for all of them.",
        )
    return array
