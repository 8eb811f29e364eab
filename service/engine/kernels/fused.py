"""The fused sweep kernel (Numba): a chunk of a sweep's steps with the loop's checks and the Analyzer's running
values folded into the step loop, so no row of any run is written to memory unless it is kept.

For each row i of the chunk (step s = start + i) and each run r, in one pass over a block of runs (their running
values stay in the first-level cache): the loss value and the gradient (the same operations as
`compiled.loss_values` and the step kernels), the row's finiteness (weights, loss, gradient and rate), the end of
the run (`loop._close_chunk`: diverged at the first row that is not finite, stopped at the first finite row
within `grad_tol`/`loss_tol`, completed at step `steps`), the Analyzer's running values for a valid row (`loss0`,
`grad0` and the first rate at step 0; the first smallest loss; the last step whose gradient norm is above
`CONVERGED_RATIO·grad0`; the last step where w moved; the last step and rate; the lowest and highest rate; the
last `WINDOW` rows in a ring indexed by `step % WINDOW`), the kept trace rows (NaN past a run's end), and the
update. Everything is a select, not a branch, so LLVM vectorises the pass over the runs; the 1-dimensional
gradient-descent case is written out on its own, as that is the one a wide sweep spends its time in.

The arithmetic is the step kernels' (`compiled`), element by element, so it is bit for bit the NumPy path's; the
chunking differs from `iterate`'s, which no summary value depends on. Same options as `compiled` (no fastmath, no
contraction into fused multiply-adds).
"""

from typing import Any

import numpy as np
from numba import types
from numba.extending import overload

from service.engine.kernels.compiled import (
    OPTIONS,
    POLYNOMIAL,
    QUADRATIC,
    _adam_element,
    _element_gradient,
    _row,
    _sgd_element,
    jit,
    narrow,
)
from service.engine.kernels.whole import _verdict

GRADIENT_DESCENT, TORCH_SGD, TORCH_ADAM = 0, 1, 2
RUNNING, COMPLETED, DIVERGED, STOPPED = 0, 1, 2, 3
TILE = 16
"""Kept rows held step-major per block before they are written out run-major, 16 at a time (a 64-byte line of a
run's float32 row)."""
SUMMARY_TILE = 64
"""Rows per tile of the tiled case (`_tile_quadratic`) where none is kept: its once-per-tile passes paid over more
rows (measured: 4% less time in the kernel than 16-row tiles). A tile with kept rows reads them back from the ring,
so it stops at `TILE` rows."""
BLOCK = 2048
"""Runs per block: the passes over a block's runs are short loops over a handful of arrays each; a block's running
values (about 100 bytes a run) stay in the second-level cache, and a longer block pays each pass's fixed cost
(LLVM's overlap checks between the arrays) over more runs (measured: 256 runs a block cost about 15% more)."""
WIDE_BLOCK = 8192
"""Runs per block of a sweep at least this wide: still within the second-level cache (about 0.8 MB), fewer passes
(the 10,000-run SGD sweep, interleaved A/B against 2,048-run blocks: 4,096 runs 4% less time, 8,192 runs 5-9%
less; 1,024 runs 14% more)."""


def norm_1d(g: Any) -> Any:
    """√(g²) in float64 for one float32 or float64 gradient component, as NumPy computes the norm."""
    raise NotImplementedError("only inside compiled kernels")


@overload(norm_1d)
def _norm_1d(g: Any) -> Any:
    def single(g: Any) -> Any:  # a float32's square is exact in float64, and so is the root of an exact square
        return abs(np.float64(g))

    def double(g: Any) -> Any:
        return np.sqrt(g * g)

    return single if isinstance(g, types.Float) and g.bitwidth == 32 else double


def magnitude(g: Any) -> Any:
    """|g| in g's own type for a float32 g (`norm_1d`'s value, exactly), else `norm_1d(g)`: a float32 row's
    comparisons with float64 bounds stay float32 (see `at_most`)."""
    raise NotImplementedError("only inside compiled kernels")


@overload(magnitude)
def _magnitude(g: Any) -> Any:
    def single(g: Any) -> Any:
        return abs(g)

    def double(g: Any) -> Any:
        return np.sqrt(g * g)

    return single if isinstance(g, types.Float) and g.bitwidth == 32 else double


def at_most(bound: Any, like: Any) -> Any:
    """The bound `magnitude` is compared with in place of the float64 `bound`: for a float32 `like`, the largest
    float32 at most `bound` (for every float32 v, v > bound ⟺ v > at_most(bound) and v ≤ bound ⟺ v ≤
    at_most(bound): no float32 lies strictly between them; NaN stays NaN); for a float64 `like`, `bound`."""
    raise NotImplementedError("only inside compiled kernels")


@overload(at_most)
def _at_most(bound: Any, like: Any) -> Any:
    def single(bound: Any, like: Any) -> Any:
        near = np.float32(bound)
        return np.nextafter(near, np.float32(-np.inf)) if np.float64(near) > bound else near

    def double(bound: Any, like: Any) -> Any:
        return np.float64(bound)

    return single if isinstance(like, types.Float) and like.bitwidth == 32 else double


@jit(inline="always", **OPTIONS)
def _runs(r0: int, r1: int) -> Any:
    """range(r0, r1) as unsigned indices: NumPy-style indexing wraps a signed index that may be negative, which
    turns every access into a gather; an unsigned one is used as it is, and the loop vectorises."""
    return range(np.uint64(r0), np.uint64(r1))


@jit(inline="always", **OPTIONS)
def _finite(v: Any) -> Any:
    """Whether v is finite, as a comparison LLVM vectorises (inf − inf and NaN − NaN are NaN)."""
    return v - v == 0


@jit(inline="always", **OPTIONS)
def _col(table: Any, r: int) -> int:
    """The column of run r in a (rows, Q) table whose Q is 1 (shared) or the number of runs."""
    return r if table.shape[1] > 1 else 0


@jit(inline="always", **OPTIONS)
def _value(kind: int, v1: Any, v2: Any, v3: Any, x: Any, r: int) -> Any:
    """The loss at run r's weights x[r] (QUADRATIC of 1 or 2 dimensions: v1 = b, v2 = a, v3 = c as (P, D, 1);
    POLYNOMIAL: v1 = the coefficients), as `compiled.loss_values` computes it."""
    if kind == POLYNOMIAL:
        pc = _row(v1, r)
        top = v1.shape[1] - 1
        result = v1[pc, top]
        w = x[r, 0]
        for k in range(top - 1, -1, -1):
            result = result * w
            result = result + v1[pc, k]
        return result
    pb, pa, pc = _row(v1, r), _row(v2, r), _row(v3, r)
    shifted = x[r, 0] + v1[pb, 0]
    total = shifted * shifted * v2[pa, 0] + v3[pc, 0, 0]
    if x.shape[1] == 2:
        shifted = x[r, 1] + v1[pb, 1]
        total = total + (shifted * shifted * v2[pa, 1] + v3[pc, 1, 0])
    return total


@jit(**OPTIONS)
def tiled(optimizer: int, kind: int, p1: Any, p2: Any, v2: Any, v3: Any, dims: int) -> bool:
    """Whether `sweep_chunk` runs the sweep a tile of rows at a time (`_tile_quadratic`: plain gradient descent on
    a shared 1-dimensional quadratic), leaving the ring's loss and gradient norm unfilled (`summarize` computes
    the two it needs from the weights)."""
    shared = p1.shape[0] == 1 and p2.shape[0] == 1 and v2.shape[0] == 1 and v3.shape[0] == 1
    return optimizer == GRADIENT_DESCENT and kind == QUADRATIC and dims == 1 and shared


@jit(**OPTIONS)
def sweep_chunk(
    optimizer: int,
    kind: int,
    p1: Any,
    p2: Any,
    p3: Any,
    v1: Any,
    v2: Any,
    v3: Any,
    x: Any,
    prev: Any,
    lr: Any,
    apply: Any,
    start: int,
    n: int,
    steps: int,
    grad_tol: float,
    loss_tol: float,
    converged_ratio: float,
    keep_at: Any,
    out_w: Any,
    out_loss: Any,
    out_lr: Any,
    step_major: bool,
    track: Any,
    ring: Any,
    scratch: Any,
    sgd: Any,
    nesterov: bool,
    adam: Any,
    amsgrad: bool,
) -> None:
    """Rows start .. start + n − 1 of every run. `x` (R, D) holds each run's weights at row `start` and is left at
    row start + n; `prev` (R, D) the weights of the row before (at step 0: the weights themselves). `lr` (T, Q)
    is the schedule's table (T = 1: the same every row), `apply` the rates the update uses (TF1's round trip
    through float32), same shape. `grad_tol`, `loss_tol`: NaN for none. `keep_at` (n,): the kept trace row of
    each row, or −1; `out_w` (R, K, D), `out_loss`, `out_lr` (R, K) the kept rows, or with `step_major` (K, R,
    D) and (K, R), each kept row written where it is computed (the caller's arrays are step-major in memory).
    `track`: the loop's and the Analyzer's per-run arrays (`sweeps._run` lists them); `ring`: the Analyzer's
    window arrays, holding the row of step s at s % WINDOW; `scratch`: the current row's gradient (R, D), norm,
    finiteness and move (R,). `sgd`, `adam`: the optimizer's hyperparameter columns, per-update tables and state
    (`sweeps`)."""
    runs, dims = x.shape
    fast = tiled(optimizer, kind, p1, p2, v2, v3, dims)
    shared = p1.shape[0] == 1 and p2.shape[0] == 1 and v2.shape[0] == 1 and v3.shape[0] == 1
    plane = kind == QUADRATIC and dims == 2 and shared
    weight1, decay2, weight2, eps = adam[3], adam[4], adam[5], adam[6]
    plain_adam = (
        optimizer == TORCH_ADAM
        and not amsgrad
        and adam[2].shape[0] == 0  # no decoupled decay
        and adam[7].shape[0] == 0  # no L2 decay
        and adam[1].shape[1] == 1  # one β2 for every run
        and weight1.shape[0] == 1
        and decay2.shape[0] == 1
        and weight2.shape[0] == 1
        and eps.shape[0] == 1
        and abs(weight1[0, 0]) < 0.5  # lerp's near branch
    )
    grad, norm, good, moved = scratch
    ring_w, ring_loss, ring_grad = ring
    # 1-dimensional views (unit stride, which LLVM vectorises; an (R, 1) array's row stride is a runtime value)
    x1, prev1, grad1 = x.reshape(x.size), prev.reshape(prev.size), grad.reshape(grad.size)
    block = WIDE_BLOCK if runs >= WIDE_BLOCK else BLOCK
    tile = (np.empty((TILE, block, dims), x.dtype), np.empty((TILE, block), x.dtype), np.empty((TILE, block), x.dtype))
    tile_k = np.empty(TILE, np.int64)
    index = np.empty((4, block), np.int8)  # `_tile_quadratic`'s rows within the tile (< SUMMARY_TILE: int8)
    rows = (np.empty(block, x.dtype), index[0], index[1], index[2], index[3])
    for r0 in range(0, runs, block):
        r1 = min(r0 + block, runs)
        held = 0  # kept rows of this block in the tile, not yet written out
        first = True  # the block's first tile in this chunk (`_tile_quadratic`)
        i = 0
        while i < n:
            s = start + i
            if fast and s > 0:  # a tile of rows, each in one pass (step 0 sets the first values: the loop below)
                m = min(TILE, n - i)
                if _unkept(keep_at, i, min(SUMMARY_TILE, n - i)):  # no kept row: a longer tile (the ring holds
                    m = min(SUMMARY_TILE, n - i)  # the last 16 valid rows as the tile's rows overwrite it)
                held = _tile_quadratic(p1, p2, v2, v3, x1, lr, apply, i, m, s, steps, grad_tol, loss_tol,
                                       converged_ratio, keep_at, track, ring, rows, tile, tile_k, held, out_w,
                                       out_loss, out_lr, step_major, first, r0, r1)  # fmt: skip
                first = False
                i += m
                continue
            li = i if lr.shape[0] > 1 else 0
            rates, applied = lr[li], apply[li]
            slot = s % ring_loss.shape[0]
            if fast:
                _evaluate_quadratic(p1, p2, v2, v3, x1, prev1, rates, track[15], grad1, norm, good, moved, r0, r1)
            elif plane:
                _evaluate_plane(p1, p2, v2, v3, x, prev, rates, track[15], grad, norm, good, moved, r0, r1)
            else:
                _evaluate(kind, p1, p2, v1, v2, v3, x, prev, rates, track[15], scratch, r0, r1)
            every = _observe(rates, s, steps, grad_tol, loss_tol, converged_ratio, track, ring_loss[slot],
                             ring_grad[slot], norm, good, moved, ring_loss.shape[0], r0, r1)  # fmt: skip
            if dims == 1:
                _store_1d(x1, ring_w[slot].reshape(runs), track[2], every, r0, r1)
            elif dims == 2:
                _store_plane(x1, ring_w[slot].reshape(x1.size), track[2], r0, r1)
            else:
                _store(x, ring_w[slot], track[2], r0, r1)
            k = keep_at[i]
            if k >= 0 and step_major:
                _write(x, rates, track, out_w[k], out_loss[k], out_lr[k], r0, r1)
            elif k >= 0:
                if dims == 1:
                    _hold_1d(x1, rates, track, held, tile, r0, r1)
                else:
                    _hold(x, rates, track, held, tile, r0, r1)
                tile_k[held] = k
                held += 1
                if held == TILE:
                    _flush(tile, tile_k, held, out_w, out_loss, out_lr, r0, r1)
                    held = 0
            if s < steps:
                _step(fast, plain_adam, optimizer, x, prev, x1, prev1, grad1, applied, i, scratch, sgd, nesterov, adam,
                      amsgrad, r0, r1)  # fmt: skip
            i += 1
        if held:
            _flush(tile, tile_k, held, out_w, out_loss, out_lr, r0, r1)


@jit(inline="always", **OPTIONS)
def _step(
    fast: bool,
    plain_adam: bool,
    optimizer: int,
    x: Any,
    prev: Any,
    x1: Any,
    prev1: Any,
    grad1: Any,
    applied: Any,
    i: int,
    scratch: Any,
    sgd: Any,
    nesterov: bool,
    adam: Any,
    amsgrad: bool,
    r0: int,
    r1: int,
) -> None:
    """The update of runs r0 .. r1 − 1 after row i, on the path the sweep takes (see `sweep_chunk`)."""
    if fast:
        _update_quadratic(x1, prev1, grad1, applied, r0, r1)
    elif plain_adam and x.shape[1] == 2:
        _update_adam_plane(x, prev, scratch[0], i, adam, r0, r1)
    elif plain_adam:
        _update_adam(x, prev, scratch[0], i, adam, r0, r1)
    else:
        _update(optimizer, x, prev, applied, i, scratch, sgd, nesterov, adam, amsgrad, r0, r1)


@jit(inline="always", **OPTIONS)
def _unkept(keep_at: Any, i: int, m: int) -> bool:
    """Whether none of rows i .. i + m − 1 is kept."""
    for k in range(i, i + m):  # noqa: SIM110 (a plain loop, which Numba compiles as it is)
        if keep_at[k] >= 0:
            return False
    return True


@jit(inline="always", **OPTIONS)
def _tile_quadratic(
    p1: Any,
    p2: Any,
    v2: Any,
    v3: Any,
    x: Any,
    lr: Any,
    apply: Any,
    i: int,
    m: int,
    s0: int,
    steps: int,
    grad_tol: float,
    loss_tol: float,
    converged_ratio: float,
    keep_at: Any,
    track: Any,
    ring: Any,
    rows: Any,
    tile: Any,
    tile_k: Any,
    held: int,
    out_w: Any,
    out_loss: Any,
    out_lr: Any,
    step_major: bool,
    first: bool,
    r0: int,
    r1: int,
) -> int:
    """Rows i .. i + m − 1 (steps s0 ..; m ≤ `TILE` if a row is kept, else ≤ `SUMMARY_TILE`) of runs r0 .. r1 − 1 of
    a shared 1-dimensional quadratic under plain gradient descent (1-D `x`), each row in one pass over the runs:
    loss, gradient, the end of the run, the first smallest loss, the row's weights into the ring (where the row is
    valid), and the rows (within the tile) of the last gradient above the threshold, the last move and the last
    valid row. Once per tile, from those: the steps, the rate's range and the kept trace rows (their loss computed
    again from the ring's weights: the same operations, so the same bits). The ring's loss and gradient norm are
    left unfilled (`summarize` computes the window's first and last from the weights). A run's valid rows are a
    prefix of the tile (a run never restarts), so its last valid row says which rows count. The threshold (as
    `at_most`) is computed at the block's `first` tile of a chunk only: grad0 is set at step 0, before any tile.
    Returns the kept rows now held in `tile` (see `_flush`)."""
    (outcome, diverged_at, _, _, grad0, _, best_loss, best_step, last_above, last_moved, last_step, lr_last, lr_min,
     lr_max, count, _) = track  # fmt: skip
    ring_w = ring[0]
    threshold, best_row, above_row, moved_row, last_row = rows
    window, runs = ring_w.shape[0], ring_w.shape[1]
    width = r1 - r0
    b, twice_a, a, c = p1[0, 0], p2[0, 0], v2[0, 0], v3[0, 0, 0]
    loss_limit = narrow(loss_tol, b)  # NumPy compares the loss with a Python float in its dtype
    grad_limit = at_most(grad_tol, b)
    xb, ob, lb, gb = x[r0:r1], outcome[r0:r1], best_loss[r0:r1], grad0[r0:r1]
    if first:  # grad0 is set at step 0, before any tile
        for j in _runs(0, width):
            threshold[j] = at_most(converged_ratio * gb[j], b)
    for j in _runs(0, width):
        best_row[j], above_row[j], moved_row[j], last_row[j] = -1, -1, -1, -1
    for t in range(m):
        s = s0 + t
        li = i + t if lr.shape[0] > 1 else 0
        rates, applied = lr[li, r0:r1], apply[li, r0:r1]
        before = ring_w[(s - 1) % window].reshape(runs)[r0:r1]  # the row before (s0 ≥ 1): valid if this one is
        row = ring_w[s % window].reshape(runs)[r0:r1]
        _tile_row(xb, ob, lb, rates, applied, before, row, threshold, best_row, above_row, moved_row, last_row, b,
                  twice_a, a, c, grad_limit, loss_limit, t, s == steps, s < steps)  # fmt: skip
    start = np.uint64(r0)
    for j in _runs(0, width):
        r = start + j
        k = last_row[j]
        best_step[r] = s0 + best_row[j] if best_row[j] >= 0 else best_step[r]
        last_above[r] = s0 + above_row[j] if above_row[j] >= 0 else last_above[r]
        last_moved[r] = s0 + moved_row[j] if moved_row[j] >= 0 else last_moved[r]
        last_step[r] = s0 + k if k >= 0 else last_step[r]
        count[r] = min(count[r] + k + 1, window)
        diverged_at[r] = s0 + k + 1 if (outcome[r] == DIVERGED) & (diverged_at[r] < 0) else diverged_at[r]
    for t in range(m if lr.shape[0] > 1 else 1):  # the same rates every row: the first valid row says it all
        rates, here = lr[i + t if lr.shape[0] > 1 else 0, r0:r1], np.int8(t)
        for j in _runs(0, width):
            r = start + j
            ok, rate = here <= last_row[j], rates[j]
            lr_last[r] = rate if ok else lr_last[r]
            lr_min[r] = rate if ok & (rate < lr_min[r]) else lr_min[r]
            lr_max[r] = rate if ok & (rate > lr_max[r]) else lr_max[r]
    tile_w, tile_loss, tile_lr = tile
    nan = narrow(np.nan, b)
    for t in range(m):
        k = keep_at[i + t]
        if k < 0:
            continue
        row, here = ring_w[(s0 + t) % window].reshape(runs)[r0:r1], np.int8(t)
        rates = lr[i + t if lr.shape[0] > 1 else 0, r0:r1]
        if step_major:  # straight into the caller's row
            kept_w, kept_loss, kept_lr = out_w[k].reshape(runs)[r0:r1], out_loss[k, r0:r1], out_lr[k, r0:r1]
            for j in _runs(0, width):
                ok, w = here <= last_row[j], row[j]
                shifted = w + b
                kept_w[j] = w if ok else nan
                kept_loss[j] = shifted * shifted * a + c if ok else nan
                kept_lr[j] = rates[j] if ok else nan
            continue
        for j in _runs(0, width):
            ok, w = here <= last_row[j], row[j]
            shifted = w + b
            tile_w[held, j, 0] = w if ok else nan
            tile_loss[held, j] = shifted * shifted * a + c if ok else nan
            tile_lr[held, j] = rates[j] if ok else nan
        tile_k[held] = k
        held += 1
        if held == TILE:
            _flush(tile, tile_k, held, out_w, out_loss, out_lr, r0, r1)
            held = 0
    return held


@jit(**OPTIONS)
def _tile_row(
    xb: Any,
    ob: Any,
    lb: Any,
    rates: Any,
    applied: Any,
    before: Any,
    row: Any,
    threshold: Any,
    best_row: Any,
    above_row: Any,
    moved_row: Any,
    last_row: Any,
    b: Any,
    twice_a: Any,
    a: Any,
    c: Any,
    grad_limit: Any,
    loss_limit: Any,
    t: int,
    final: bool,
    update: bool,
) -> None:
    """Row t of `_tile_quadratic`'s tile, one pass over the block's runs (arrays indexed within the block). Not
    inlined: compiled on its own, the pass is vectorised (inlined into the sweep's loop it was not)."""
    here = np.int8(t)
    for j in _runs(0, xb.size):
        w = xb[j]
        shifted = w + b
        g = shifted * twice_a
        value = shifted * shifted * a + c
        norm = magnitude(g)
        run = ob[j] == RUNNING
        good = _finite(value) & _finite(rates[j]) & _finite(w) & _finite(g)
        valid = run & good
        hit = valid & ((norm <= grad_limit) | (value <= loss_limit))
        ob[j] = DIVERGED if run & (not good) else (STOPPED if hit else (COMPLETED if valid & final else ob[j]))
        lower = valid & (value < lb[j])
        if lower:  # conditional stores, not selects: no loads of what they replace (masked stores)
            lb[j] = value
            best_row[j] = here
        if valid & (norm > threshold[j]):
            above_row[j] = here
        if valid & (w - before[j] != 0):
            moved_row[j] = here
        if valid:
            last_row[j] = here
            row[j] = w
        if update:
            xb[j] = w - g * applied[j]


@jit(inline="always", **OPTIONS)
def _store_1d(x: Any, ring_row: Any, valid: Any, every: bool, r0: int, r1: int) -> None:
    """The ring's row for this step: the weights of the runs whose row is valid (1 dimension; `every`: all)."""
    if every:
        for r in _runs(r0, r1):
            ring_row[r] = x[r]
        return
    for r in _runs(r0, r1):
        ring_row[r] = x[r] if valid[r] else ring_row[r]


@jit(inline="always", **OPTIONS)
def _store_plane(x: Any, ring_row: Any, valid: Any, r0: int, r1: int) -> None:
    """`_store` for 2 dimensions, on the flat (2R,) views of the weights and the ring's row (vectorised)."""
    for r in _runs(r0, r1):
        ok, k = valid[r], r + r
        ring_row[k] = x[k] if ok else ring_row[k]
        ring_row[k + 1] = x[k + 1] if ok else ring_row[k + 1]


@jit(inline="always", **OPTIONS)
def _store(x: Any, ring_row: Any, valid: Any, r0: int, r1: int) -> None:
    """The ring's row for this step: the weights of the runs whose row is valid."""
    for r in _runs(r0, r1):
        for d in range(x.shape[1]):
            ring_row[r, d] = x[r, d] if valid[r] else ring_row[r, d]


@jit(inline="always", **OPTIONS)
def _evaluate_quadratic(
    p1: Any,
    p2: Any,
    v2: Any,
    v3: Any,
    x: Any,
    prev: Any,
    rates: Any,
    row_loss: Any,
    grad: Any,
    norm: Any,
    good: Any,
    moved: Any,
    r0: int,
    r1: int,
) -> None:
    """Loss, gradient, norm, finiteness and move of one row of a shared 1-dimensional quadratic (1-D arrays)."""
    b, twice_a, a, c = p1[0, 0], p2[0, 0], v2[0, 0], v3[0, 0, 0]
    for r in _runs(r0, r1):
        w = x[r]
        shifted = w + b
        g = shifted * twice_a
        value = shifted * shifted * a + c
        grad[r] = g
        row_loss[r] = value
        norm[r] = norm_1d(g)
        good[r] = _finite(value) & _finite(rates[r]) & _finite(w) & _finite(g)
        moved[r] = w - prev[r] != 0


@jit(inline="always", **OPTIONS)
def _evaluate_plane(
    p1: Any,
    p2: Any,
    v2: Any,
    v3: Any,
    x: Any,
    prev: Any,
    rates: Any,
    row_loss: Any,
    grad: Any,
    norm: Any,
    good: Any,
    moved: Any,
    r0: int,
    r1: int,
) -> None:
    """Loss, gradient, norm, finiteness and move of one row of a shared 2-dimensional quadratic: `_evaluate`'s
    operations written out (the general loop over dimensions and parameter rows runs several times slower)."""
    b0, b1, t0, t1 = p1[0, 0], p1[0, 1], p2[0, 0], p2[0, 1]
    a0, a1, c0, c1 = v2[0, 0], v2[0, 1], v3[0, 0, 0], v3[0, 1, 0]
    for r in _runs(r0, r1):
        w0, w1 = x[r, 0], x[r, 1]
        s0, s1 = w0 + b0, w1 + b1
        g0, g1 = s0 * t0, s1 * t1
        value = s0 * s0 * a0 + c0 + (s1 * s1 * a1 + c1)
        grad[r, 0], grad[r, 1] = g0, g1
        row_loss[r] = value
        wide0, wide1 = np.float64(g0), np.float64(g1)
        norm[r] = np.sqrt(wide0 * wide0 + wide1 * wide1)
        good[r] = _finite(value) & _finite(rates[r]) & _finite(w0) & _finite(w1) & _finite(g0) & _finite(g1)
        moved[r] = (w0 - prev[r, 0] != 0) | (w1 - prev[r, 1] != 0)


@jit(**OPTIONS)
def _update_adam_plane(x: Any, prev: Any, grad: Any, i: int, adam: Any, r0: int, r1: int) -> None:
    """`_update_adam` for 2 dimensions written out (the loop over the dimensions kept the pass over the runs
    from being vectorised), compiled on its own."""
    negative_step, correction2_sqrt = adam[0], adam[1]
    w1_wide, b2, w2, epsilon = np.float64(adam[3][0, 0]), adam[4][0, 0], adam[5][0, 0], adam[6][0, 0]
    exp_avg, exp_avg_sq = adam[8], adam[9]
    c2 = correction2_sqrt[i, 0]
    steps = negative_step[i]
    wide = negative_step.shape[1] > 1
    for r in _runs(r0, r1):
        value = steps[r if wide else np.uint64(0)]
        w, g, m = x[r, 0], grad[r, 0], exp_avg[r, 0]
        prev[r, 0] = w
        m = narrow(w1_wide * np.float64(g - m) + np.float64(m), w)
        exp_avg[r, 0] = m
        v = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(exp_avg_sq[r, 0] * b2), w)
        exp_avg_sq[r, 0] = v
        x[r, 0] = w + (value * m) / (np.sqrt(v) / c2 + epsilon)
        w, g, m = x[r, 1], grad[r, 1], exp_avg[r, 1]
        prev[r, 1] = w
        m = narrow(w1_wide * np.float64(g - m) + np.float64(m), w)
        exp_avg[r, 1] = m
        v = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(exp_avg_sq[r, 1] * b2), w)
        exp_avg_sq[r, 1] = v
        x[r, 1] = w + (value * m) / (np.sqrt(v) / c2 + epsilon)


@jit(inline="always", **OPTIONS)
def _update_adam(x: Any, prev: Any, grad: Any, i: int, adam: Any, r0: int, r1: int) -> None:
    """torch.Adam's update with shared hyperparameters, lerp's near branch, no decay and no amsgrad: the same
    operations as `compiled._adam_row`."""
    negative_step, correction2_sqrt = adam[0], adam[1]
    w1_wide, b2, w2, epsilon = np.float64(adam[3][0, 0]), adam[4][0, 0], adam[5][0, 0], adam[6][0, 0]
    exp_avg, exp_avg_sq = adam[8], adam[9]
    c2 = correction2_sqrt[i, 0]
    wide = negative_step.shape[1] > 1
    for r in range(r0, r1):
        value = negative_step[i, r if wide else 0]
        for d in range(x.shape[1]):
            w, g, m = x[r, d], grad[r, d], exp_avg[r, d]
            prev[r, d] = w
            m = narrow(w1_wide * np.float64(g - m) + np.float64(m), w)
            exp_avg[r, d] = m
            v = narrow(np.float64(w2 * g) * np.float64(g) + np.float64(exp_avg_sq[r, d] * b2), w)
            exp_avg_sq[r, d] = v
            x[r, d] = w + (value * m) / (np.sqrt(v) / c2 + epsilon)


@jit(inline="always", **OPTIONS)
def _evaluate(
    kind: int,
    p1: Any,
    p2: Any,
    v1: Any,
    v2: Any,
    v3: Any,
    x: Any,
    prev: Any,
    rates: Any,
    row_loss: Any,
    scratch: Any,
    r0: int,
    r1: int,
) -> None:
    """Loss, gradient, norm, finiteness and move of one row, any covered loss of 1 or 2 dimensions."""
    grad, norm, good, moved = scratch
    dims = x.shape[1]
    for r in range(r0, r1):
        value = _value(kind, v1, v2, v3, x, r)
        finite = _finite(value) & _finite(rates[r])
        move = False
        total = np.float64(0.0)
        for d in range(dims):
            w = x[r, d]
            g = _element_gradient(kind, p1, p2, r, d, w)
            grad[r, d] = g
            wide = np.float64(g)
            total = wide * wide if d == 0 else total + wide * wide
            finite = finite & _finite(w) & _finite(g)
            move = move | (w - prev[r, d] != 0)
        row_loss[r] = value
        norm[r] = np.sqrt(total)
        good[r] = finite
        moved[r] = move


@jit(inline="always", **OPTIONS)
def _observe(
    rates: Any,
    s: int,
    steps: int,
    grad_tol: float,
    loss_tol: float,
    converged_ratio: float,
    track: Any,
    ring_loss: Any,
    ring_grad: Any,
    norm: Any,
    good: Any,
    moved: Any,
    window: int,
    r0: int,
    r1: int,
) -> bool:
    """The loop's end-of-run checks and the Analyzer's running values for one row, in passes of a few arrays
    each (selects, no branches: LLVM vectorises a loop over a handful of arrays, not over twenty); `ring_loss`
    and `ring_grad` are the ring's rows for this step. Whether every run's row was valid (no masks needed)."""
    (outcome, diverged_at, valid, loss0, grad0, lr_first, best_loss, best_step, last_above, last_moved, last_step,
     lr_last, lr_min, lr_max, count, row_loss) = track  # fmt: skip
    events, idle = 0, 0
    for r in _runs(r0, r1):
        running = outcome[r] == RUNNING
        valid[r] = running & good[r]
        events += running & ~good[r]
        idle += ~running
    every = events == 0 and idle == 0  # every run's row is valid: no masks
    if s == 0:
        for r in _runs(r0, r1):
            ok = valid[r]
            loss0[r] = row_loss[r] if ok else loss0[r]
            grad0[r] = norm[r] if ok else grad0[r]
            lr_first[r] = rates[r] if ok else lr_first[r]
    for r in _runs(r0, r1):
        lower = valid[r] & (row_loss[r] < best_loss[r])
        best_loss[r] = row_loss[r] if lower else best_loss[r]
        best_step[r] = s if lower else best_step[r]
    for r in _runs(r0, r1):
        last_above[r] = s if valid[r] & (norm[r] > converged_ratio * grad0[r]) else last_above[r]
    for r in _runs(r0, r1):
        last_moved[r] = s if valid[r] & moved[r] else last_moved[r]
    if every:
        for r in _runs(r0, r1):
            last_step[r] = s
            count[r] = min(count[r] + 1, window)
        for r in _runs(r0, r1):
            rate = rates[r]
            lr_last[r] = rate
            lr_min[r] = rate if rate < lr_min[r] else lr_min[r]
            lr_max[r] = rate if rate > lr_max[r] else lr_max[r]
        for r in _runs(r0, r1):
            ring_loss[r] = row_loss[r]
            ring_grad[r] = norm[r]
    else:
        for r in _runs(r0, r1):
            ok = valid[r]
            last_step[r] = s if ok else last_step[r]
            count[r] = min(count[r] + 1, window) if ok else count[r]
        for r in _runs(r0, r1):
            ok, rate = valid[r], rates[r]
            lr_last[r] = rate if ok else lr_last[r]
            lr_min[r] = rate if ok & (rate < lr_min[r]) else lr_min[r]
            lr_max[r] = rate if ok & (rate > lr_max[r]) else lr_max[r]
        for r in _runs(r0, r1):
            ok = valid[r]
            ring_loss[r] = row_loss[r] if ok else ring_loss[r]
            ring_grad[r] = norm[r] if ok else ring_grad[r]
    if grad_tol == grad_tol or loss_tol == loss_tol:  # a stop condition: is any valid row within it?
        loss_limit = narrow(loss_tol, row_loss[r0])  # NumPy compares the loss with a Python float in its dtype
        for r in _runs(r0, r1):
            events += valid[r] & ((norm[r] <= grad_tol) | (row_loss[r] <= loss_limit))
    if events == 0 and s != steps:
        return every
    loss_limit = narrow(loss_tol, row_loss[r0])
    for r in range(r0, r1):  # the rows where a run ends: few, so a plain loop
        if outcome[r] != RUNNING:
            continue
        if not good[r]:
            outcome[r], diverged_at[r] = DIVERGED, s
        elif norm[r] <= grad_tol or row_loss[r] <= loss_limit:
            outcome[r] = STOPPED
        elif s == steps:
            outcome[r] = COMPLETED
    return every


@jit(inline="always", **OPTIONS)
def _update_quadratic(x: Any, prev: Any, grad: Any, applied: Any, r0: int, r1: int) -> None:
    """Plain gradient descent on 1 dimension (1-D arrays): `w ← w − g·lr`."""
    for r in _runs(r0, r1):
        w = x[r]
        prev[r] = w
        x[r] = w - grad[r] * applied[r]


@jit(inline="always", **OPTIONS)
def _update(
    optimizer: int,
    x: Any,
    prev: Any,
    applied: Any,
    i: int,
    scratch: Any,
    sgd: Any,
    nesterov: bool,
    adam: Any,
    amsgrad: bool,
    r0: int,
    r1: int,
) -> None:
    """One update of runs r0..r1 − 1 by any covered optimizer, element by element as the step kernels do."""
    grad = scratch[0]
    momentum, keep, weight_decay, buf, started = sgd
    (negative_step, correction2_sqrt, decay_factor, weight1, decay2, weight2, eps, l2, exp_avg, exp_avg_sq,
     max_exp_avg_sq) = adam  # fmt: skip
    dims = x.shape[1]
    for r in range(r0, r1):
        for d in range(dims):
            prev[r, d] = x[r, d]
        if optimizer == GRADIENT_DESCENT:
            step_rate = applied[r]
            for d in range(dims):
                x[r, d] = x[r, d] - grad[r, d] * step_rate
        elif optimizer == TORCH_SGD:
            mu, kept = momentum[_row(momentum, r), 0], keep[_row(keep, r), 0]
            decays = weight_decay.shape[0] > 0
            wd = weight_decay[_row(weight_decay, r), 0] if decays else mu
            negative_rate = -applied[r]
            for d in range(dims):
                x[r, d], buf[r, d] = _sgd_element(
                    x[r, d], grad[r, d], buf[r, d], started[r, 0], mu, kept, wd, decays, nesterov, negative_rate
                )
            if mu != 0:
                started[r, 0] = True
        else:
            w1 = weight1[_row(weight1, r), 0]
            near = abs(w1) < 0.5
            w1_wide, far1 = np.float64(w1), np.float64(narrow(1 - w1, w1))
            b2, w2, epsilon = decay2[_row(decay2, r), 0], weight2[_row(weight2, r), 0], eps[_row(eps, r), 0]
            decays = l2.shape[0] > 0
            decay = l2[_row(l2, r), 0] if decays else w1
            decoupled = decay_factor.shape[0] > 0
            factor = decay_factor[i, _col(decay_factor, r)] if decoupled else w1
            c2, step_value = correction2_sqrt[i, _col(correction2_sqrt, r)], negative_step[i, _col(negative_step, r)]
            for d in range(dims):
                x[r, d], exp_avg[r, d], exp_avg_sq[r, d], max_exp_avg_sq[r, d] = _adam_element(
                    x[r, d],
                    grad[r, d],
                    exp_avg[r, d],
                    exp_avg_sq[r, d],
                    max_exp_avg_sq[r, d],
                    near,
                    w1_wide,
                    far1,
                    b2,
                    w2,
                    epsilon,
                    c2,
                    step_value,
                    factor,
                    decoupled,
                    decay,
                    decays,
                    amsgrad,
                )


@jit(inline="always", **OPTIONS)
def _write(x: Any, rates: Any, track: Any, out_w: Any, out_loss: Any, out_lr: Any, r0: int, r1: int) -> None:
    """This row's weights, loss and rate of runs r0 .. r1 − 1 straight into a step-major kept row (`out_w` (R,
    D), `out_loss`, `out_lr` (R,)), NaN where the row is not valid (the run ended before it)."""
    valid, row_loss = track[2], track[15]
    nan = narrow(np.nan, row_loss[r0])
    for r in _runs(r0, r1):
        ok = valid[r]
        for d in range(x.shape[1]):
            out_w[r, d] = x[r, d] if ok else nan
        out_loss[r] = row_loss[r] if ok else nan
        out_lr[r] = rates[r] if ok else nan


@jit(inline="always", **OPTIONS)
def _hold_1d(x: Any, rates: Any, track: Any, t: int, tile: Any, r0: int, r1: int) -> None:
    """`_hold` for 1 dimension, `x` as a 1-D array (unit stride: vectorised)."""
    tile_w, tile_loss, tile_lr = tile
    valid, row_loss = track[2], track[15]
    nan = narrow(np.nan, row_loss[r0])
    start = np.uint64(r0)
    for j in _runs(0, r1 - r0):
        r = start + j
        ok = valid[r]
        tile_w[t, j, 0] = x[r] if ok else nan
        tile_loss[t, j] = row_loss[r] if ok else nan
        tile_lr[t, j] = rates[r] if ok else nan


@jit(inline="always", **OPTIONS)
def _hold(x: Any, rates: Any, track: Any, t: int, tile: Any, r0: int, r1: int) -> None:
    """Row t of the tile (step-major, contiguous over the block's runs): this row's weights, loss and rate of runs
    r0..r1 − 1, NaN where the row is not valid (the run ended before it)."""
    tile_w, tile_loss, tile_lr = tile
    valid, row_loss = track[2], track[15]
    nan = narrow(np.nan, row_loss[r0])
    start = np.uint64(r0)
    for j in _runs(0, r1 - r0):
        r = start + j
        ok = valid[r]
        for d in range(x.shape[1]):
            tile_w[t, j, d] = x[r, d] if ok else nan
        tile_loss[t, j] = row_loss[r] if ok else nan
        tile_lr[t, j] = rates[r] if ok else nan


@jit(inline="always", **OPTIONS)
def _flush(tile: Any, tile_k: Any, held: int, out_w: Any, out_loss: Any, out_lr: Any, r0: int, r1: int) -> None:
    """The tile's `held` rows into the run-major results, run by run: each run's kept rows are consecutive there,
    so a run's stores fill whole cache lines (a store per run per row, straight from the step loop, would scatter
    over every run's row of the result)."""
    tile_w, tile_loss, tile_lr = tile
    start, first = np.uint64(r0), np.uint64(tile_k[0])
    if tile_k[held - 1] - tile_k[0] == held - 1 and tile_w.shape[2] == 1:  # consecutive rows (a full trace)
        for j in _runs(0, r1 - r0):
            r = start + j
            for t in _runs(0, held):
                out_w[r, first + t, 0] = tile_w[t, j, 0]
                out_loss[r, first + t] = tile_loss[t, j]
                out_lr[r, first + t] = tile_lr[t, j]
        return
    for j in _runs(0, r1 - r0):
        r = start + j
        for t in _runs(0, held):
            k = np.uint64(tile_k[t])
            for d in range(tile_w.shape[2]):
                out_w[r, k, d] = tile_w[t, j, d]
            out_loss[r, k] = tile_loss[t, j]
            out_lr[r, k] = tile_lr[t, j]


@jit(**OPTIONS)
def summarize(
    optimizer: int,
    kind: int,
    p1: Any,
    p2: Any,
    v2: Any,
    v3: Any,
    ring: Any,
    track: Any,
    bounded: Any,
    converged_ratio: float,
    fixed_point_ratio: float,
    final_loss: Any,
    grad_final: Any,
    ratio: Any,
    exponent: Any,
    power: Any,
    converged_at: Any,
    alternating: Any,
    best_loss: Any,
    codes: Any,
) -> None:
    """`Analyzer.finish` for a fused sweep, in one pass over the runs, from the ring (W, R, ...), which holds the
    row of step s at s % W, and the running values (`track`): the ring's weights (W, R, D) turned in place into
    each run's window, its last `count` rows oldest first (the last at `last_step`), the slots before them zero
    (as a fresh Analyzer's window leaves them); the final loss and gradient norm (the window's last row: zero for
    a run without rows); whether w alternates; the converged step (−1: not converged); the best loss (NaN
    without a row); the verdict codes (`kernels.layout`) if the growth turns out growing, steady or neither
    (`codes` (3, R)). The growth itself is a power, NumPy's to take (see `kernels.whole`): `ratio ** exponent`
    where `power`, else 1.

    A `tiled` sweep left the ring's loss and gradient norm unfilled: the window's first and last are computed from
    its weights here (the row pass's operations, so the same bits). The arithmetic and comparisons are
    `Analyzer.finish`'s, element by element: the window's steps, their products and sums in the run's dtype, norms
    and ratios in float64."""
    window_w = ring[0]
    window, runs, dims = window_w.shape
    fast = tiled(optimizer, kind, p1, p2, v2, v3, dims)
    outcome, loss0, grad0, best, best_step = track[0], track[3], track[4], track[6], track[7]
    last_above, last_moved, last_step, count = track[8], track[9], track[10], track[14]
    zero, nan = window_w.dtype.type(0), narrow(np.nan, window_w.dtype.type(0))
    _unroll(window_w, last_step, count)
    for r in _runs(0, runs):
        alternating[r] = count[r] >= 3
    for j in range(window - 2):  # the pairs of steps inside the window: each must turn back
        w0, w1, w2 = window_w[j], window_w[j + 1], window_w[j + 2]
        for r in _runs(0, runs):
            total = (w2[r, 0] - w1[r, 0]) * (w1[r, 0] - w0[r, 0])
            for d in range(1, dims):
                total = total + (w2[r, d] - w1[r, d]) * (w1[r, d] - w0[r, d])
            alternating[r] = alternating[r] & ((total < 0) | (j < window - count[r]))
    latest = last_step.max() if runs else -1
    latest_slot = latest % window
    for r in range(runs):
        n = count[r]
        l_last, l_first, g_last, g_first = zero, zero, 0.0, 0.0
        if n > 0:  # the window's last row is at step last_step, its first at last_step − n + 1 (slots s % W)
            last = latest_slot if last_step[r] == latest else last_step[r] % window
            first = last - n + 1 if last >= n - 1 else last - n + 1 + window
            l_last, g_last = _window_values(fast, p1, p2, v2, v3, ring, last, window - 1, r)
            l_first, g_first = _window_values(fast, p1, p2, v2, v3, ring, first, window - n, r)
        final_loss[r], grad_final[r] = l_last, g_last
        power[r] = (n > 1) & (g_first > 0)
        ratio[r] = g_last / g_first
        exponent[r] = 1 / max(n - 1, 1)
        turns = alternating[r]
        fixed = (last_step[r] - last_moved[r] >= 3) & (n >= 3)
        tol_converged = g_last <= converged_ratio * grad0[r]
        diverged = outcome[r] == DIVERGED
        converged = (tol_converged | (fixed & (g_last <= fixed_point_ratio * grad0[r]))) & (n > 0) & (not diverged)
        converged_at[r] = (last_above[r] + 1 if tol_converged else last_moved[r]) if converged else -1
        best_loss[r] = best[r] if best_step[r] >= 0 else nan
        below_start, rising, falling = l_last < loss0[r], l_last > loss0[r], l_last < l_first
        if diverged or converged:  # decided before the growth is read
            code = _verdict(diverged, below_start, bounded[r], converged, False, rising, falling, turns, False, fixed)
            codes[0, r], codes[1, r], codes[2, r] = code, code, code
        else:
            codes[0, r] = _verdict(False, below_start, bounded[r], False, True, rising, falling, turns, False, fixed)
            codes[1, r] = _verdict(False, below_start, bounded[r], False, False, rising, falling, turns, True, fixed)
            codes[2, r] = _verdict(False, below_start, bounded[r], False, False, rising, falling, turns, False, fixed)


@jit(inline="always", **OPTIONS)
def _unroll(ring: Any, last_step: Any, count: Any) -> None:
    """The ring (W, R, D), holding the row of step s at s % W, turned in place into the Analyzer's window: each
    run's last `count` rows oldest first (the last at `last_step`), zeros before them. The runs with a full window
    ending at the latest step (every run that completed) by rotating whole rows (cycle by cycle through one row's
    buffer); the others, gathered first, one by one."""
    window, runs, dims = ring.shape
    latest = last_step.max() if runs else -1
    zero = ring.dtype.type(0)
    others = 0
    for r in range(runs):
        others += (last_step[r] != latest) | (count[r] != window)
    held, which = np.empty((others, window, dims), ring.dtype), np.empty(others, np.int64)
    index = 0
    for r in range(runs):
        if last_step[r] == latest and count[r] == window:
            continue
        first = window - count[r]
        for k in range(window):
            slot = (last_step[r] + 1 + k) % window  # slot k of the window holds step last − (W − 1) + k
            for d in range(dims):
                held[index, k, d] = ring[slot, r, d] if k >= first else zero
        which[index] = r
        index += 1
    shift = (latest + 1) % window
    if shift:  # slot k ← slot (k + shift) mod W
        flat, row = ring.reshape(window, runs * dims), np.empty(runs * dims, ring.dtype)
        for start in range(np.gcd(shift, window)):
            _copy(flat[start], row)
            slot = start
            while True:
                source = (slot + shift) % window
                if source == start:
                    _copy(row, flat[slot])
                    break
                _copy(flat[source], flat[slot])
                slot = source
    for index in range(others):
        r = which[index]
        for k in range(window):
            for d in range(dims):
                ring[k, r, d] = held[index, k, d]


@jit(inline="always", **OPTIONS)
def _copy(source: Any, target: Any) -> None:
    """One flat row into another, element by element (vectorised)."""
    for i in _runs(0, source.size):
        target[i] = source[i]


@jit(inline="always", **OPTIONS)
def _window_values(fast: bool, p1: Any, p2: Any, v2: Any, v3: Any, ring: Any, slot: Any, k: int, r: int) -> Any:
    """(loss, gradient norm) of run r's row in the ring's `slot`, now row k of its window (`_unroll`): read from
    the ring's loss and norm, or for a `tiled` sweep computed from the weight (the row pass's operations,
    `_tile_row`)."""
    if fast:
        shifted = ring[0][k, r, 0] + p1[0, 0]
        return shifted * shifted * v2[0, 0] + v3[0, 0, 0], norm_1d(shifted * p2[0, 0])
    return ring[1][slot, r], ring[2][slot, r]
