"""Conversion of user numbers into engine arrays of a given dtype, with the checks that belong there."""

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from service.engine.errors import ParameterError

Array = npt.NDArray[np.floating]
IntArray = npt.NDArray[np.int64]
Numbers = float | Sequence[float]
PerPoint = npt.NDArray[np.float64]
"""A sweep's grid column: one value per grid point, shaped (P,), in float64."""
Swept = float | PerPoint | Sequence[float | PerPoint]
"""A numeric parameter of a sweepable loss: a number or a list of numbers, where any number may be per-point values."""


def as_dtype_array(name: str, value: Numbers, dtype: np.dtype[np.floating]) -> Array:
    """`value` as a 1-D array of `dtype`; refuses values that overflow the dtype."""
    with np.errstate(over="ignore"):
        array = np.atleast_1d(np.asarray(value, dtype=dtype))
    if array.ndim != 1 or array.size == 0:
        raise ParameterError(name, f"{name} must be a number or a non-empty list of numbers.")
    if not np.isfinite(array).all():
        raise _too_large(name, dtype)
    return array


def _too_large(name: str, dtype: np.dtype[np.floating]) -> ParameterError:
    return ParameterError(
        name,
        f"{name} does not fit in {dtype.name} (largest magnitude {np.finfo(dtype).max:.8g}); "
        "use smaller values or dtype float64.",
    )


def broadcast_dims(name: str, array: Array, dims: int) -> Array:
    """A per-dimension parameter broadcast to `dims` entries; a scalar applies to every dimension."""
    if array.size == 1:
        return np.full(dims, array[0], dtype=array.dtype)
    if array.size != dims:
        raise _not_per_dimension(name, array.size, dims)
    return array


def _not_per_dimension(name: str, size: int, dims: int) -> ParameterError:
    return ParameterError(
        name,
        f"{name} has {size} values but w0 has {dims} dimensions; "
        f"give one value per dimension, or a single number for all of them.",
        "dimension_mismatch",
    )


def columns(name: str, value: Swept, dims: int | None, dtype: np.dtype[np.floating]) -> Array:
    """A parameter as (P, n) of `dtype`: n = `dims` for a per-dimension parameter (a single number, or a list of
    one, applies to every dimension), or the list's length when `dims` is None. P = 1 unless some entry is a
    sweep's per-point values (P,); the other entries are then the same at every point."""
    if isinstance(value, float | int):  # the common case, without the list's machinery (a course run has five)
        with np.errstate(over="ignore"):
            row = np.full((1, 1 if dims is None else dims), value, dtype)
        if not math.isfinite(row[0, 0]):
            raise _too_large(name, dtype)
        return row
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not any(isinstance(item, np.ndarray) for item in items):
        array = as_dtype_array(name, cast(Numbers, value), dtype)
        return (array if dims is None else broadcast_dims(name, array, dims))[None, :]
    count = len(items) if dims is None else dims
    if len(items) == 1:
        items *= count
    elif len(items) != count:
        raise _not_per_dimension(name, len(items), count)
    with np.errstate(over="ignore"):
        cast_items = [np.asarray(item, dtype=dtype) for item in items]
    sizes = {item.size for item in cast_items if item.ndim}
    if any(item.ndim > 1 for item in cast_items) or len(sizes) > 1:
        raise ParameterError(name, f"{name} must have one value, or one value per point, for every dimension.")
    if not all(np.isfinite(item).all() for item in cast_items):
        raise _too_large(name, dtype)
    return np.atleast_2d(np.stack(np.broadcast_arrays(*cast_items), axis=-1))
