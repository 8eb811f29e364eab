"""Numbers as text, many at a time: NumPy's `str` of every value of a column, byte for byte, without formatting
values one by one.

NumPy's `astype(str)` runs Dragon4 per value (2 to 5 s for a million floats). orjson writes the same shortest
round-trip digits (Ryu) for a whole array in ~30 ms, but lays some of them out differently: NumPy writes
`1e-05`, `1.5e+06` (float32 from 1e6 on, float64 from 1e16 on), `nan` and `inf`, where orjson writes `0.00001`,
`1500000.0`, `null`. So a column is encoded by orjson, cut into a fixed-width byte matrix (one row per value,
padded with NUL bytes), and the rows NumPy writes in scientific notation are re-laid out from their digits and
exponent with whole-matrix operations. A NUL byte anywhere in a row means "nothing": the caller drops every NUL
once, when the matrices of a table's columns are joined into lines (`lines`)."""

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

Bytes = npt.NDArray[np.uint8]
NUL, COMMA, NEWLINE = 0, ord(","), ord("\n")
DOT, MINUS, PLUS, E, ZERO = ord("."), ord("-"), ord("+"), ord("e"), ord("0")

JSON = orjson.OPT_SERIALIZE_NUMPY
POSITIONAL_BELOW = {np.dtype(np.float32): 1e6, np.dtype(np.float64): 1e16}
"""NumPy writes a nonzero value positionally when 1e-4 <= |value| < this (compared in float64), else in scientific
notation; zero is always `0.0` or `-0.0`."""
BOUNDS = {
    np.dtype(np.float32): (np.nextafter(np.float32(1e-4), np.float32(1)), np.float32(1e6)),
    np.dtype(np.float64): (np.float64(1e-4), np.float64(1e16)),
}
"""The same limits in the column's own dtype: a float32 below the first is below 1e-4 as a float64 (float32(1e-4)
itself is 9.99999974e-05), and 1e6 is a float32."""


def text_matrix(values: npt.NDArray[Any]) -> Bytes:
    """`values.astype(str)` (1-D, int64, float32 or float64) as a (n, width) byte matrix, NUL-padded."""
    values = np.ascontiguousarray(values)
    if values.dtype.kind in "iu":
        return _cut(orjson.dumps(values, option=JSON), values.size)
    if values.dtype not in POSITIONAL_BELOW:
        return _cut(",".join(values.astype(str).tolist()).join("[]").encode(), values.size)
    if constant(values):
        return np.repeat(text_matrix(values[:1]), values.size, axis=0)  # a constant column (a constant rate)
    matrix = _cut(orjson.dumps(values, option=JSON), values.size)
    low, high = BOUNDS[values.dtype]
    size = np.abs(values)
    with np.errstate(invalid="ignore"):  # NaN is neither
        scientific = ((size < low) & (size != 0)) | ((size >= high) & (size != np.inf))
    finite = np.isfinite(values)
    if not scientific.any() and finite.all():
        return matrix  # orjson's layout is NumPy's
    written_e = (matrix == E).any(axis=1)
    padded = np.flatnonzero(scientific & written_e)  # orjson's `1.5e-7`: only the exponent needs two digits
    if padded.size:
        matrix = _place(matrix, padded, _two_digit_exponent(matrix[padded]))
    small = scientific & ~written_e & (size < low)
    if small.any():  # orjson's `0.0000123`
        rows = np.flatnonzero(small)
        cells, exact = _small_positional(matrix[rows])
        matrix = _place(matrix, rows[exact], cells[exact])
        scientific[rows[exact]] = False
    relaid = np.flatnonzero(scientific & ~written_e)  # other positional numbers (`1500000.0`): re-laid out
    if relaid.size:
        distinct, which = np.unique(values[relaid], return_inverse=True)  # a constant rate is laid out once
        matrix = _place(matrix, relaid, _scientific(_cut(orjson.dumps(distinct, option=JSON), distinct.size))[which])
    if not finite.all():
        if matrix.shape[1] < 4:
            matrix = np.pad(matrix, ((0, 0), (0, 4 - matrix.shape[1])))
        for word, where in (
            (b"nan", np.isnan(values)),
            (b"inf", np.isposinf(values)),
            (b"-inf", np.isneginf(values)),
        ):
            matrix[where] = 0
            matrix[where, : len(word)] = np.frombuffer(word, np.uint8)
    return matrix


def constant(values: npt.NDArray[Any]) -> bool:
    """Whether every value has the same bits as the first (a few samples are checked before all of them)."""
    if values.size < 2:
        return False
    bits = values.view(np.uint32 if values.itemsize == 4 else np.uint64)
    if bits[-1] != bits[0] or bits[values.size // 2] != bits[0]:
        return False
    return bool((bits == bits[0]).all())


def json_matrix(values: npt.NDArray[Any]) -> Bytes:
    """Each value as orjson writes it in a document (`json_bytes`: shortest digits, NaN and infinities as
    `null`), as a (n, width) NUL-padded byte matrix."""
    return _cut(orjson.dumps(np.ascontiguousarray(values), option=JSON), values.size)


def joined(parts: list[Bytes | bytes], rows: int) -> bytes:
    """Row by row, the parts side by side (a matrix gives each row its own cells, bytes are the same in every row),
    every NUL dropped: `rows` lines of text made in one pass."""
    blocks = [
        np.broadcast_to(np.frombuffer(part, np.uint8), (rows, len(part))) if isinstance(part, bytes) else part
        for part in parts
    ]
    table = np.hstack(blocks)
    return bytes(table[table != NUL].tobytes())


def lines(columns: list[Bytes]) -> bytes:
    """The columns' rows as text lines: the cells of a row joined by commas, each line ended by a newline, every
    NUL dropped."""
    rows = columns[0].shape[0]
    separator = np.full((rows, 1), COMMA, np.uint8)
    parts: list[Bytes] = []
    for column in columns:
        parts += [column, separator]
    parts[-1] = np.full((rows, 1), NEWLINE, np.uint8)
    table = np.hstack(parts)
    return bytes(table[table != NUL].tobytes())


def _place(matrix: Bytes, rows: npt.NDArray[np.intp], cells: Bytes) -> Bytes:
    """`matrix` with `rows` replaced by `cells` (NUL-padded), widened if the cells are wider."""
    if cells.shape[1] > matrix.shape[1]:
        matrix = np.pad(matrix, ((0, 0), (0, cells.shape[1] - matrix.shape[1])))
    matrix[rows] = NUL
    matrix[rows, : cells.shape[1]] = cells
    return matrix


def _small_positional(tokens: Bytes) -> tuple[Bytes, npt.NDArray[np.bool_]]:
    """orjson's positional `0.0000ddd` (or `-0.00000ddd`, ...: below 1e-4) as NumPy's `d.dde-05`, by moving
    columns; and which rows have that shape (`0.` and zeros, then the significant digits)."""
    count, width = tokens.shape
    negative = tokens[:, 0] == MINUS
    unsigned = np.where(negative[:, None], np.roll(tokens, -1, axis=1), tokens)
    unsigned[negative, width - 1] = NUL
    digit = (unsigned >= ZERO + 1) & (unsigned <= ZERO + 9)
    first = np.argmax(digit, axis=1)
    shaped = (unsigned[:, 0] == ZERO) & (unsigned[:, 1] == DOT) & digit.any(axis=1) & (first >= 6)
    out = np.zeros((count, width + 4), np.uint8)
    for at in np.unique(first[shaped]).tolist():
        rows = np.flatnonzero(shaped & (first == at))
        rest = unsigned[rows, at + 1 :]
        cells = out[rows]
        cells[:, 0] = np.where(negative[rows], MINUS, NUL)
        cells[:, 1] = unsigned[rows, at]
        cells[:, 2] = np.where(rest[:, 0] if rest.shape[1] else NUL, DOT, NUL)
        cells[:, 3 : 3 + rest.shape[1]] = rest
        cells[:, -4:] = np.frombuffer(f"e-{at - 1:02d}".encode(), np.uint8)
        out[rows] = cells
    return out, shaped


def _two_digit_exponent(tokens: Bytes) -> Bytes:
    """orjson's scientific numbers (`1.5e-7`, `1e+16`, `5e-324`: the exponent always signed) with NumPy's
    exponent of at least two digits (`1.5e-07`): a `0` inserted after the sign of a one-digit exponent."""
    count, width = tokens.shape
    e_at = np.argmax(tokens == E, axis=1)
    one_digit = (tokens != NUL).sum(axis=1) - e_at - 2 == 1
    insert_at = np.where(one_digit, e_at + 2, width + 1)[:, None]
    spots = np.arange(width + 1)
    wide = np.zeros((count, width + 1), np.uint8)
    wide[:, :width] = tokens
    shifted = np.zeros((count, width + 1), np.uint8)
    shifted[:, 1:] = tokens
    return np.where(spots < insert_at, wide, np.where(spots == insert_at, np.uint8(ZERO), shifted))


def _cut(encoded: bytes, count: int) -> Bytes:
    """A JSON array of `count` numbers (no spaces, no nesting) as a (count, width) NUL-padded byte matrix: rows of
    `width` bytes taken at each token's start from a sliding-window view of the text (a copy per row, no Python
    object per value), then blanked past each token's end."""
    if count == 0:
        return np.zeros((0, 1), np.uint8)
    text = np.frombuffer(encoded, np.uint8)
    ends = np.flatnonzero(text == COMMA)
    starts = np.empty(count, np.intp)
    starts[0] = 1
    starts[1:] = ends + 1
    lengths = np.empty(count, np.intp)
    lengths[:-1] = ends - starts[:-1]
    lengths[-1] = text.size - 1 - starts[-1]
    width = int(lengths.max())
    padded = np.concatenate([text, np.zeros(width, np.uint8)])
    matrix = np.lib.stride_tricks.sliding_window_view(padded, width)[starts]
    matrix[np.arange(width) >= lengths[:, None]] = NUL
    return matrix


def _scientific(tokens: Bytes) -> Bytes:
    """Numbers written by orjson (positional `0.0000123`, `1500000.0`, or scientific `1.5e-7`, `1e+16`) re-laid
    out as NumPy's scientific notation: `-`, the first significant digit, `.` and the others if there are any
    (trailing zeros dropped), `e`, the exponent's sign and at least two digits (`1.5e-07`, `1e+16`, `5e-324`)."""
    count, width = tokens.shape
    spots = np.arange(width)
    present = tokens != NUL
    length = present.sum(axis=1)
    negative = tokens[:, 0] == MINUS
    has_e = (tokens == E).any(axis=1)
    e_at = np.where(has_e, np.argmax(tokens == E, axis=1), length)
    mantissa = (spots >= negative[:, None]) & (spots < e_at[:, None])
    digit = mantissa & (tokens >= ZERO) & (tokens <= ZERO + 9)
    significant = digit & (tokens != ZERO)
    first = np.argmax(significant, axis=1)  # every value here is nonzero
    last = width - 1 - np.argmax(significant[:, ::-1], axis=1)
    has_dot = (mantissa & (tokens == DOT)).any(axis=1)
    dot = np.where(has_dot, np.argmax(mantissa & (tokens == DOT), axis=1), e_at)
    exponent = np.where(first < dot, dot - first - 1, dot - first)
    # the written exponent after `e`: an optional sign and up to three digits
    after_e = tokens[np.arange(count)[:, None], np.minimum(e_at[:, None] + 1 + spots, width - 1)]
    tail = np.where(spots < (length - e_at - 1)[:, None], after_e, NUL)
    tail_negative = tail[:, 0] == MINUS
    tail_digits = (tail >= ZERO) & (tail <= ZERO + 9)
    written = np.zeros(count, np.int64)
    for column in range(width):
        written = np.where(tail_digits[:, column], written * 10 + (tail[:, column].astype(np.int64) - ZERO), written)
    exponent = exponent + np.where(has_e, np.where(tail_negative, -written, written), 0)
    # the other significant digits: after the first, up to the last nonzero one, without the dot
    others = digit & (spots > first[:, None]) & (spots <= last[:, None])
    out = np.zeros((count, width + 8), np.uint8)
    out[:, 0] = np.where(negative, MINUS, NUL)
    out[:, 1] = tokens[np.arange(count), first]
    out[:, 2] = np.where(last > first, DOT, NUL)
    out[:, 3 : 3 + width] = np.where(others, tokens, NUL)
    out[:, 3 + width] = E
    out[:, 4 + width] = np.where(exponent < 0, MINUS, PLUS)
    size = np.abs(exponent)
    out[:, 5 + width] = np.where(size >= 100, ZERO + size // 100, NUL)
    out[:, 6 + width] = ZERO + (size // 10) % 10
    out[:, 7 + width] = ZERO + size % 10
    return out
