"""The compiled CSV writer (Numba): a table's lines written straight into one buffer from orjson's text of each
column, each number laid out as NumPy's `str` writes it, in one pass over the rows.

`service.numbers_text` does the same with whole-matrix NumPy operations (cut orjson's tokens into NUL-padded byte
matrices, re-lay out the scientific ones, stack the matrices, drop the NULs): several passes over a matrix as wide as
the longest token. Here each token is read where orjson wrote it (a cursor per column, moved past each comma) and
written once, re-laid out on the way when its value's kind says so (`classify`). Tokens are found and copied 8 bytes
at a time (unaligned little-endian words; a delimiter is found with the zero-byte trick): x86-64 and ARM64 are
little-endian, and `csv_kernel.warm` checks the output against the NumPy writer before it is used.

Compiled eagerly for the listed signatures only, with `cache=True` (Numba's `NUMBA_CACHE_DIR`, or `__pycache__`):
importing this module loads the machine code from the cache (or compiles it, once), and Numba compiles nothing
afterwards (an argument of another type raises TypeError instead). `nogil=True`: encodings run in threads beside
the event loop.
"""

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.cpython.unsafe import numbers
from numba.extending import intrinsic

Function = TypeVar("Function", bound=Callable[..., Any])
jit: Callable[..., Callable[[Function], Function]] = njit
"""Numba's `njit`, typed for mypy: the decorated function keeps its signature."""
lowered: Callable[[Callable[..., Any]], Any] = intrinsic
"""Numba's `intrinsic` (a function written in LLVM IR, inlined where it is called), typed for mypy."""
trailing_zeros: Any = numbers.trailing_zeros
OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "fastmath": False, "boundscheck": False}

COPY, SCIENTIFIC, NAN, INF, NEG_INF = 0, 1, 2, 3, 4
"""What `write_lines` does with a value's token: write it as orjson wrote it, re-lay it out in NumPy's scientific
notation, or write `nan`, `inf`, `-inf` (orjson wrote `null`)."""
COMMA, CLOSE, NEWLINE = ord(","), ord("]"), ord("\n")
DOT, MINUS, PLUS, E, ZERO = ord("."), ord("-"), ord("+"), ord("e"), ord("0")
NAN_TEXT, INF_TEXT = (ord("n"), ord("a"), ord("n")), (ord("i"), ord("n"), ord("f"))
TEXT = types.Array(types.uint8, 1, "C", readonly=True)
"""orjson's text, read in place (`np.frombuffer` of its bytes)."""
ONES, HIGHS = np.uint64(0x0101010101010101), np.uint64(0x8080808080808080)
COMMAS, CLOSES = ONES * np.uint64(COMMA), ONES * np.uint64(CLOSE)
WORD, BYTE_BITS = 8, np.uint64(3)
SLACK = 64
"""Bytes `out` has past the room its tokens need: a token is copied 8 bytes at a time, and `write_lines` stops (-1)
before a token could write past the end (a layout longer than expected)."""


def _compiled(*signatures: Any) -> Callable[[Function], Function]:
    """Numba's `njit` for exactly these signatures, typed for mypy (the function keeps its signature)."""
    return jit(list(signatures), **OPTIONS)


def _inlined(function: Function) -> Function:
    """A helper compiled into each kernel that calls it (Numba inlines it before typing: no call per token)."""
    return jit(inline="always", **OPTIONS)(function)


@lowered
def _load_word(typing: Any, array: Any, at: Any) -> Any:
    """The 8 bytes array[at:at + 8] as one little-endian uint64 (an unaligned load; no bounds check)."""

    def generate(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, arguments[0]).data
        pointer = builder.bitcast(builder.gep(data, [arguments[1]]), ir.IntType(64).as_pointer())
        return builder.load(pointer, align=1)

    return types.uint64(array, types.int64), generate


@lowered
def _store_word(typing: Any, array: Any, at: Any, word: Any) -> Any:
    """array[at:at + 8] = the 8 bytes of `word` (an unaligned store; no bounds check)."""

    def generate(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, arguments[0]).data
        pointer = builder.bitcast(builder.gep(data, [arguments[1]]), ir.IntType(64).as_pointer())
        builder.store(arguments[2], pointer, align=1)
        return context.get_dummy_value()

    return types.void(array, types.int64, types.uint64), generate


@_inlined
def _word(text: Any, at: int) -> Any:
    """text[at:at + 8] as a little-endian uint64, zero bytes past the text's end."""
    if at + WORD <= text.size:
        return _load_word(text, at)
    word = np.uint64(0)
    for k in range(text.size - 1, at - 1, -1):
        word = (word << np.uint64(8)) | np.uint64(text[k])
    return word


@_inlined
def _closes(word: Any) -> Any:
    """The bytes of `word` that are `]`, flagged by their high bit (as `_delimiters`)."""
    closes = word ^ CLOSES
    return (closes - ONES) & ~closes & HIGHS


@_inlined
def _delimiters(word: Any) -> Any:
    """The bytes of `word` that are a comma or `]`, flagged by their high bit; the lowest flagged byte is exact (a
    byte equal to the delimiter is a zero byte of word ^ delimiters; a borrow can only flag bytes above it)."""
    commas, closes = word ^ COMMAS, word ^ CLOSES
    return ((commas - ONES) & ~commas & HIGHS) | ((closes - ONES) & ~closes & HIGHS)


@_inlined
def _first_flagged(hits: Any) -> int:
    """The index of the lowest byte of `hits` with its high bit set (`hits` is not zero)."""
    return int(trailing_zeros(hits) >> BYTE_BITS)


@_inlined
def _token_end(text: Any, at: int) -> int:
    """Where the token starting at text[at] ends: the first comma or `]` from there, found 8 bytes at a time."""
    while True:
        hits = _delimiters(_word(text, at))
        if hits:
            return at + _first_flagged(hits)
        at += WORD


@_compiled(
    "void(float32[::1], float32, float32, uint8[::1])",
    "void(float64[::1], float64, float64, uint8[::1])",
)
def classify(values: Any, low: Any, high: Any, kinds: Any) -> None:
    """kinds[i] = how values[i] is written: NAN, INF, NEG_INF; SCIENTIFIC when nonzero and |value| < low or
    |value| >= high (`numbers_text.BOUNDS`, in the values' dtype); else COPY."""
    for i in range(values.size):
        value = values[i]
        if value != value:
            kinds[i] = NAN
        elif value == math.inf:
            kinds[i] = INF
        elif value == -math.inf:
            kinds[i] = NEG_INF
        else:
            size = abs(value)
            kinds[i] = SCIENTIFIC if (size < low and size != 0) or size >= high else COPY


@_compiled(types.int64(TEXT, types.int64, types.int64, types.uint8[::1], types.int64))
def _scientific(text: Any, start: int, end: int, out: Any, at: int) -> int:
    """The nonzero number orjson wrote in text[start:end] (positional `0.0000123`, `1500000.0`, or scientific
    `1.5e-7`, `1e+16`) written at out[at:] in NumPy's scientific notation: `-`, the first significant digit, `.` and
    the others if there are any (trailing zeros dropped), `e`, the exponent's sign and at least two digits
    (`1.23e-05`, `1.5e+06`, `1e+16`, `5e-324`); where the text ends (`numbers_text._scientific`, a token at a time)."""
    negative = text[start] == MINUS
    e_at = end
    for k in range(start, end):
        if text[k] == E:
            e_at = k
            break
    first, last, dot = -1, -1, e_at
    for k in range(start + negative, e_at):
        byte = text[k]
        if byte == DOT:
            dot = k
        elif byte != ZERO:
            if first < 0:
                first = k
            last = k
    exponent = dot - first - 1 if first < dot else dot - first
    if e_at < end:  # the written exponent: a sign, then digits
        k = e_at + 1
        sign = 1
        if text[k] == MINUS:
            sign = -1
            k += 1
        elif text[k] == PLUS:
            k += 1
        written = 0
        while k < end:
            written = written * 10 + (text[k] - ZERO)
            k += 1
        exponent += sign * written
    if negative:
        out[at] = MINUS
        at += 1
    out[at] = text[first]
    at += 1
    if last > first:
        out[at] = DOT
        at += 1
        for k in range(first + 1, last + 1):
            if text[k] != DOT:
                out[at] = text[k]
                at += 1
    out[at] = E
    out[at + 1] = MINUS if exponent < 0 else PLUS
    at += 2
    size = abs(exponent)
    if size >= 100:
        out[at] = ZERO + size // 100
        at += 1
    out[at] = ZERO + (size // 10) % 10
    out[at + 1] = ZERO + size % 10
    return at + 2


@_compiled(types.int64(TEXT, types.boolean[::1], types.uint8[:, ::1], types.uint8[::1]))
def write_lines(text: Any, repeat: Any, kinds: Any, out: Any) -> int:
    """The rows of a table as CSV lines in `out` (cells joined by commas, each line ended by a newline); the number
    of bytes written.

    `text` is orjson's JSON array of the columns' arrays (`[[1,2],[0.5,0.25]]`); tokens end at a comma or `]`. A
    column with `repeat[c]` holds one token, written on every row (a constant column). `kinds[c, i]` says how the
    token of row i is written (`classify`). `out` must be long enough: each token's bytes plus 3 and its separator,
    and SLACK bytes more; -1 if it was not (nothing past its end is written)."""
    columns, rows = kinds.shape
    limit = out.size - SLACK
    cursor = np.empty(columns, np.int64)  # where each column's next token starts
    at = 2  # after `[[`
    for c in range(columns):
        cursor[c] = at
        while not _closes(_word(text, at)):
            at += WORD
        at += _first_flagged(_closes(_word(text, at))) + 3  # past `],[`
    at = 0
    for i in range(rows):
        for c in range(columns):
            start = cursor[c]
            kind = kinds[c, i]
            if kind <= SCIENTIFIC:  # COPY or SCIENTIFIC: the token is read and copied
                first = at
                end = start  # 8 bytes at a time, up to the delimiter: the bytes past the token are overwritten next
                while True:
                    word = _word(text, end)
                    _store_word(out, at, word)
                    hits = _delimiters(word)
                    if hits:
                        length = _first_flagged(hits)
                        end += length
                        at += length
                        break
                    end += WORD
                    at += WORD
                if kind == SCIENTIFIC:
                    if text[end - 3] == E:  # orjson's `1.5e-7`: NumPy writes two exponent digits, `1.5e-07`
                        out[at - 1] = ZERO
                        out[at] = text[end - 1]
                        at += 1
                    elif not (text[end - 4] == E or (end - 5 >= start and text[end - 5] == E)):  # positional
                        at = _scientific(text, start, end, out, first)
            else:
                end = _token_end(text, start)
                if kind == NEG_INF:
                    out[at] = MINUS
                    at += 1
                word = NAN_TEXT if kind == NAN else INF_TEXT
                out[at], out[at + 1], out[at + 2] = word
                at += 3
            if at > limit:  # the next token might not fit
                return -1
            out[at] = COMMA if c + 1 < columns else NEWLINE
            at += 1
            cursor[c] = start if repeat[c] else end + 1
    return at
