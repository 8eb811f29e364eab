"""Landscapes: grid axes, one vectorised `Loss.value` call for the whole grid, the grid's minimum."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from service.engine import losses
from service.engine.arrays import Array
from service.engine.errors import ParameterError
from service.engine.landscape import evaluate, grid_axes
from service.engine.losses import BoolArray, Loss

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@dataclass
class Counting:
    """A loss that counts its `value` calls and the rows they carry."""

    inner: Loss
    calls: int = 0
    shapes: tuple[tuple[int, ...], ...] = ()

    @property
    def dims(self) -> int:
        return self.inner.dims

    def value(self, w: Array) -> Array:
        self.calls += 1
        self.shapes += (w.shape,)
        return self.inner.value(w)

    def gradient(self, w: Array, out: Array) -> None:
        self.inner.gradient(w, out)

    def bounded_below(self) -> BoolArray:
        return self.inner.bounded_below()

    def facts(self, run: int) -> dict[str, Any] | None:
        return self.inner.facts(run)


def test_whole_grid_is_one_value_call() -> None:
    loss = Counting(losses.quadratic([1.0, 10.0], 0.0, 0.0, 2, F64))
    grid = evaluate(loss, grid_axes([(-1, 1), (-2, 2)], 300, F64))
    assert loss.calls == 1
    assert loss.shapes == ((300 * 300, 1, 2),)
    assert grid.values.shape == (300, 300)


def test_rows_are_y_and_columns_x() -> None:
    axes = grid_axes([(0, 1), (10, 30)], 3, F64)
    grid = evaluate(losses.quadratic([1.0, 1.0], 0.0, 0.0, 2, F64), axes)
    x, y = axes
    assert grid.values.tolist() == [[xi**2 + yj**2 for xi in x] for yj in y]
    assert grid.minimum == (0, 0)


def test_axes_are_linspace_in_the_dtype() -> None:
    (x,) = grid_axes([(-6, 4)], 11, F32)
    assert x.dtype == F32
    assert x.tolist() == np.linspace(-6, 4, 11).astype(F32).tolist()


def test_minimum_skips_overflows_and_none_when_nothing_is_finite() -> None:
    with np.errstate(over="ignore"):  # the loss's 2a overflows; its values do not use it
        loss = losses.quadratic(3e38, 0.0, 0.0, 1, F32)
    grid = evaluate(loss, grid_axes([(-3e38, 3e38)], 5, F32))
    assert np.isinf(grid.values).sum() == 4
    assert grid.minimum == (2,)
    everywhere = evaluate(loss, grid_axes([(1e30, 2e30)], 5, F32))
    assert everywhere.minimum is None


@pytest.mark.parametrize(
    ("bounds", "resolution", "loc"),
    [
        ([(1, 1)], 5, ("bounds", 0)),
        ([(0, 1), (2, -2)], 5, ("bounds", 1)),
        ([(1.0, 1.0 + 1e-12)], 5, ("bounds", 0)),  # equal in float32
        ([(0, 1)] * 3, 5, ("bounds",)),
        ([(0, 1)], 1, ("resolution",)),
    ],
)
def test_bad_grids_are_refused(bounds: list[tuple[float, float]], resolution: int, loc: tuple[str | int, ...]) -> None:
    with pytest.raises(ParameterError) as caught:
        grid_axes(bounds, resolution, F32)
    assert caught.value.loc == loc
