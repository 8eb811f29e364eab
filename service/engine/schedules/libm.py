"""glibc's float32 `cosf`, `logf`, `expf` and `powf`, vectorised in NumPy, bit for bit.

TensorFlow (TF1 graph mode and Keras 3 eager alike) evaluates a scalar schedule with Eigen's scalar path, which
calls the C library's float functions. glibc's (2.27 to 2.40, the ARM optimized-routines algorithms) are not
correctly rounded: cosf misrounds about 1.4% of inputs, logf 0.3%, expf and powf 0.03%, so "compute in double
and round once" is not TensorFlow's result. These functions replay glibc's algorithms (same tables, same double
operations in the same order, x86-64 without TOINT intrinsics). glibc's FMA variants contract some multiply-adds;
that changes the double result by an ulp of a double, which moves the float result only when it lies within
~2^-52 of a rounding midpoint (about 1 input in 10^8).

TensorFlow and XLA run their CPU kernels in flush-to-zero mode, so a subnormal float32 result becomes a zero of
the same sign; these functions return what such a caller gets (`flush` does the same for other results).
"""

import numpy as np

from service.engine.arrays import Array

F32 = np.float32
F64 = np.float64
U32 = np.uint32
U64 = np.uint64


def flush(x: Array) -> Array:
    """Flush-to-zero: subnormal float32 values become zeros of the same sign, as on TensorFlow's CPU threads."""
    x = np.asarray(x)
    tiny = np.abs(x) < np.finfo(F32).tiny
    if not tiny.any():
        return x
    return np.where(tiny, np.copysign(F32(0), x), x).astype(x.dtype)


def _bits32(x: Array) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=F32).view(U32)


def _from_bits64(bits: np.ndarray) -> Array:
    return np.ascontiguousarray(bits, dtype=U64).view(F64)


def _hex(text: str) -> float:
    return float.fromhex(text)


# ----------------------------------------------------------------------------------------------------------- cosf

_SINCOS_COS = tuple(
    map(
        _hex,
        ("0x1p0", "-0x1.ffffffd0c621cp-2", "0x1.55553e1068f19p-5", "-0x1.6c087e89a359dp-10", "0x1.99343027bf8c3p-16"),
    )
)
_SINCOS_SIN = tuple(map(_hex, ("-0x1.555545995a603p-3", "0x1.1107605230bc4p-7", "-0x1.994eb3774cf24p-13")))
_HPI_INV_SCALED = _hex("0x1.45F306DC9C883p+23")
_HPI = _hex("0x1.921FB54442D18p0")
_PI63 = _hex("0x1.921FB54442D18p-62")
_INV_PIO4 = np.array(
    [
        0xA2,
        0xA2F9,
        0xA2F983,
        0xA2F9836E,
        0xF9836E4E,
        0x836E4E44,
        0x6E4E4415,
        0x4E441529,
        0x441529FC,
        0x1529FC27,
        0x29FC2757,
        0xFC2757D1,
        0x2757D1F5,
        0x57D1F534,
        0xD1F534DD,
        0xF534DDC0,
        0x34DDC0DB,
        0xDDC0DB62,
        0xC0DB6295,
        0xDB629599,
        0x6295993C,
        0x95993C43,
        0x993C4390,
        0x3C439041,
    ],
    dtype=U64,
)
_SIGN = np.array([1.0, -1.0, -1.0, 1.0])


def _abstop12(bits: np.ndarray) -> np.ndarray:
    return (bits >> U32(20)) & U32(0x7FF)


def _sinf_poly(x: Array, x2: Array, negate_cos: np.ndarray, odd: np.ndarray) -> Array:
    """glibc's `sinf_poly`: the sine polynomial for an even quadrant, the (possibly negated) cosine one for odd."""
    c0, c1, c2, c3, c4 = _SINCOS_COS
    s1, s2, s3 = _SINCOS_SIN
    sign = np.where(negate_cos, -1.0, 1.0)  # table 1 negates every cosine coefficient (exact)
    x4 = x2 * x2
    cos_c2 = sign * c3 + x2 * (sign * c4)
    cos_c1 = sign * c0 + x2 * (sign * c1)
    x6 = x4 * x2
    cosine = (cos_c1 + x4 * (sign * c2)) + x6 * cos_c2
    x3 = x * x2
    sin_s1 = s2 + x2 * s3
    x7 = x3 * x2
    sine = (x + x3 * s1) + x7 * sin_s1
    return np.where(odd, cosine, sine)


def _reduce_large(bits: np.ndarray) -> tuple[Array, np.ndarray]:
    """glibc's `reduce_large`: |x| mod pi/2 with a 192-bit 4/pi, for |x| >= 120."""
    xi = bits.astype(U64)
    index = (xi >> U64(26)) & U64(15)
    shift = (xi >> U64(23)) & U64(7)
    mantissa = ((xi & U64(0xFFFFFF)) | U64(0x800000)) << shift
    with np.errstate(over="ignore"):
        res0 = (mantissa * _INV_PIO4[index]) & U64(0xFFFFFFFF)  # a 32-bit multiply in C
        res1 = mantissa * _INV_PIO4[index + U64(4)]
        res2 = mantissa * _INV_PIO4[index + U64(8)]
        res0 = (res2 >> U64(32)) | (res0 << U64(32))
        res0 = res0 + res1
        n = (res0 + (U64(1) << U64(61))) >> U64(62)
        res0 = res0 - (n << U64(62))
    return res0.view(np.int64).astype(F64) * _PI63, n.astype(np.int64)


def cosf(y: Array) -> Array:
    """glibc `cosf` of float32 inputs, as float32."""
    y = np.asarray(y, dtype=F32)
    shape = y.shape
    y = y.ravel()
    bits = _bits32(y)
    top = _abstop12(bits)
    x = y.astype(F64)
    out = np.empty(y.shape, dtype=F32)

    tiny = top < _abstop12(_bits32(np.array([2.0**-12], F32)))[0]
    small = (top < _abstop12(_bits32(np.array([np.pi / 4], F32)))[0]) & ~tiny
    fast = (top >= _abstop12(_bits32(np.array([np.pi / 4], F32)))[0]) & (
        top < _abstop12(_bits32(np.array([120.0], F32)))[0]
    )
    finite = top < 0x7F8
    large = finite & ~tiny & ~small & ~fast
    out[tiny] = 1.0
    out[~finite] = np.nan

    xs = x[small]
    out[small] = _sinf_poly(xs, xs * xs, np.zeros(xs.shape, bool), np.ones(xs.shape, bool)).astype(F32)

    xf = x[fast]
    r = xf * _HPI_INV_SCALED
    n = (r.astype(np.int64).astype(np.int32) + np.int32(0x800000)) >> np.int32(24)  # C (int32_t) truncation
    xr = xf - n * _HPI
    quadrant = n & 3
    out[fast] = _sinf_poly(xr * _SIGN[quadrant], xr * xr, (n & 2) != 0, ((n ^ 1) & 1) != 0).astype(F32)

    if large.any():
        xl, nl = _reduce_large(bits[large])
        sign = (bits[large] >> U32(31)).astype(np.int64)
        turn = (nl + sign) & 3
        out[large] = _sinf_poly(xl * _SIGN[turn], xl * xl, (turn & 2) != 0, ((nl ^ 1) & 1) != 0).astype(F32)
    return flush(out.reshape(shape))


# ----------------------------------------------------------------------------------------------------------- logf

_LOGF_TABLE = np.array(
    [
        [_hex(a), _hex(b)]
        for a, b in (
            ("0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"),
            ("0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"),
            ("0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"),
            ("0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"),
            ("0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"),
            ("0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"),
            ("0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"),
            ("0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"),
            ("0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"),
            ("0x1p+0", "0x0p+0"),
            ("0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"),
            ("0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"),
            ("0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"),
            ("0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"),
            ("0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"),
            ("0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2"),
        )
    ]
)
_LN2 = _hex("0x1.62e42fefa39efp-1")
_LOGF_POLY = tuple(map(_hex, ("-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2")))
_OFF = U32(0x3F330000)


def _normalised_bits(x: Array) -> np.ndarray:
    """Float bits with subnormals normalised the glibc way (exponent field goes negative, wrapping)."""
    bits = _bits32(x).copy()
    subnormal = (bits > 0) & (bits < U32(0x00800000))
    if subnormal.any():
        scaled = _bits32((x[subnormal] * F32(2.0**23)).astype(F32))
        bits[subnormal] = scaled - U32(23 << 23)
    return bits


def logf(x: Array) -> Array:
    """glibc `logf` of float32 inputs, as float32 (-inf at 0, NaN below)."""
    x = np.asarray(x, dtype=F32)
    shape = x.shape
    x = x.ravel()
    bits = _normalised_bits(x)
    tmp = bits - _OFF
    i = (tmp >> U32(19)) % U32(16)
    k = tmp.view(np.int32) >> np.int32(23)
    iz = bits - (tmp & U32(0xFF800000))
    invc, logc = _LOGF_TABLE[i, 0], _LOGF_TABLE[i, 1]
    z = iz.view(F32).astype(F64)
    a0, a1, a2 = _LOGF_POLY
    r = z * invc - 1
    y0 = logc + k.astype(F64) * _LN2
    r2 = r * r
    y = a1 * r + a2
    y = a0 * r2 + y
    y = y * r2 + (y0 + r)
    out = y.astype(F32)
    raw = _bits32(x)
    out[raw == U32(0x3F800000)] = 0.0
    out[(raw & U32(0x7FFFFFFF)) == 0] = -np.inf
    out[raw == U32(0x7F800000)] = np.inf
    out[(raw >> U32(31)).astype(bool) & ((raw & U32(0x7FFFFFFF)) != 0)] = np.nan
    out[np.isnan(x)] = np.nan
    return flush(out.reshape(shape))


# ------------------------------------------------------------------------------------------------- expf and powf

_EXP2F_TABLE = np.array(
    [
        0x3FF0000000000000,
        0x3FEFD9B0D3158574,
        0x3FEFB5586CF9890F,
        0x3FEF9301D0125B51,
        0x3FEF72B83C7D517B,
        0x3FEF54873168B9AA,
        0x3FEF387A6E756238,
        0x3FEF1E9DF51FDEE1,
        0x3FEF06FE0A31B715,
        0x3FEEF1A7373AA9CB,
        0x3FEEDEA64C123422,
        0x3FEECE086061892D,
        0x3FEEBFDAD5362A27,
        0x3FEEB42B569D4F82,
        0x3FEEAB07DD485429,
        0x3FEEA47EB03A5585,
        0x3FEEA09E667F3BCD,
        0x3FEE9F75E8EC5F74,
        0x3FEEA11473EB0187,
        0x3FEEA589994CCE13,
        0x3FEEACE5422AA0DB,
        0x3FEEB737B0CDC5E5,
        0x3FEEC49182A3F090,
        0x3FEED503B23E255D,
        0x3FEEE89F995AD3AD,
        0x3FEEFF76F2FB5E47,
        0x3FEF199BDD85529C,
        0x3FEF3720DCEF9069,
        0x3FEF5818DCFBA487,
        0x3FEF7C97337B9B5F,
        0x3FEFA4AFA2A490DA,
        0x3FEFD0765B6E4540,
    ],
    dtype=U64,
)
_EXP2F_POLY = (_hex("0x1.c6af84b912394p-5"), _hex("0x1.ebfce50fac4f3p-3"), _hex("0x1.62e42ff0c52d6p-1"))
_EXP2F_POLY_SCALED = (_EXP2F_POLY[0] / 32 / 32 / 32, _EXP2F_POLY[1] / 32 / 32, _EXP2F_POLY[2] / 32)
_SHIFT = _hex("0x1.8p+52")
_SHIFT_SCALED = _SHIFT / 32
_INVLN2_SCALED = _hex("0x1.71547652b82fep+0") * 32


def _exp2_table(xd: Array, shift: float, poly: tuple[float, float, float], sign_bias: np.ndarray | int = 0) -> Array:
    """The shared tail of glibc's expf / exp2_inline: 2^(k/32) from the table times a cubic in the remainder."""
    kd = xd + shift
    ki = kd.view(U64)
    kd = kd - shift
    r = xd - kd
    with np.errstate(over="ignore"):
        t = _EXP2F_TABLE[ki % U64(32)] + ((ki + U64(sign_bias)) << U64(47))
    s = _from_bits64(t)
    z = poly[0] * r + poly[1]
    r2 = r * r
    y = poly[2] * r + 1
    y = z * r2 + y
    result: Array = y * s
    return result


def expf(x: Array) -> Array:
    """glibc `expf` of float32 inputs, as float32 (overflow to inf, underflow to 0)."""
    x = np.asarray(x, dtype=F32)
    shape = x.shape
    x = x.ravel()
    xd = x.astype(F64)
    inside = np.abs(xd) < 88.0
    out = np.empty(x.shape, dtype=F32)
    z = _INVLN2_SCALED * xd[inside]
    out[inside] = _exp2_table(z, _SHIFT, _EXP2F_POLY_SCALED).astype(F32)
    edge = ~inside & np.isfinite(x) & (x <= F32(_hex("0x1.62e42ep6"))) & (x >= F32(-_hex("0x1.9d1d9ep6")))
    z = _INVLN2_SCALED * xd[edge]
    out[edge] = _exp2_table(z, _SHIFT, _EXP2F_POLY_SCALED).astype(F32)
    out[x > F32(_hex("0x1.62e42ep6"))] = np.inf
    out[x < F32(-_hex("0x1.9fe368p6"))] = 0.0
    may_underflow = (x < F32(-_hex("0x1.9d1d9ep6"))) & (x >= F32(-_hex("0x1.9fe368p6")))
    out[may_underflow] = F32(2.0**-149)
    out[np.isnan(x)] = np.nan
    return flush(out.reshape(shape))


_POWF_TABLE = np.array(
    [
        [_hex(a), _hex(b)]
        for a, b in (
            ("0x1.661ec79f8f3bep+0", "-0x1.efec65b963019p-2"),
            ("0x1.571ed4aaf883dp+0", "-0x1.b0b6832d4fca4p-2"),
            ("0x1.49539f0f010bp+0", "-0x1.7418b0a1fb77bp-2"),
            ("0x1.3c995b0b80385p+0", "-0x1.39de91a6dcf7bp-2"),
            ("0x1.30d190c8864a5p+0", "-0x1.01d9bf3f2b631p-2"),
            ("0x1.25e227b0b8eap+0", "-0x1.97c1d1b3b7afp-3"),
            ("0x1.1bb4a4a1a343fp+0", "-0x1.2f9e393af3c9fp-3"),
            ("0x1.12358f08ae5bap+0", "-0x1.960cbbf788d5cp-4"),
            ("0x1.0953f419900a7p+0", "-0x1.a6f9db6475fcep-5"),
            ("0x1p+0", "0x0p+0"),
            ("0x1.e608cfd9a47acp-1", "0x1.338ca9f24f53dp-4"),
            ("0x1.ca4b31f026aap-1", "0x1.476a9543891bap-3"),
            ("0x1.b2036576afce6p-1", "0x1.e840b4ac4e4d2p-3"),
            ("0x1.9c2d163a1aa2dp-1", "0x1.40645f0c6651cp-2"),
            ("0x1.886e6037841edp-1", "0x1.88e9c2c1b9ff8p-2"),
            ("0x1.767dcf5534862p-1", "0x1.ce0a44eb17bccp-2"),
        )
    ]
)
_POWF_POLY = tuple(
    map(
        _hex,
        (
            "0x1.27616c9496e0bp-2",
            "-0x1.71969a075c67ap-2",
            "0x1.ec70a6ca7baddp-2",
            "-0x1.7154748bef6c8p-1",
            "0x1.71547652ab82bp0",
        ),
    )
)


def _log2_inline(bits: np.ndarray) -> Array:
    tmp = bits - _OFF
    i = (tmp >> U32(19)) % U32(16)
    top = tmp & U32(0xFF800000)
    iz = bits - top
    k = top.view(np.int32) >> np.int32(23)
    invc, logc = _POWF_TABLE[i, 0], _POWF_TABLE[i, 1]
    z = iz.view(F32).astype(F64)
    a0, a1, a2, a3, a4 = _POWF_POLY
    r = z * invc - 1
    y0 = logc + k.astype(F64)
    r2 = r * r
    y = a0 * r + a1
    p = a2 * r + a3
    r4 = r2 * r2
    q = a4 * r + y0
    q = p * r2 + q
    result: Array = y * r4 + q
    return result


def _integer_kind(y: Array) -> np.ndarray:
    """glibc's `checkint`: 0 if y is not an integer, 1 if odd, 2 if even."""
    whole = np.floor(y) == y
    odd = whole & (np.abs(y) < 2.0**24) & (np.fmod(np.abs(y), 2.0) == 1.0)
    return np.where(whole, np.where(odd, 1, 2), 0)


def powf(x: Array, y: Array) -> Array:
    """glibc `powf(x, y)` of float32 inputs (broadcast), as float32, including its special cases."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=F32), np.asarray(y, dtype=F32))
    shape = x.shape
    x = x.ravel().copy()
    y = y.ravel().copy()
    out = np.full(x.shape, np.nan, dtype=F32)
    with np.errstate(all="ignore"):
        yint = _integer_kind(y.astype(F64))
        negative = np.signbit(x) & ~np.isnan(x)
        odd_sign = negative & (yint == 1)
        general = np.isfinite(x) & np.isfinite(y) & (x != 0) & (y != 0) & ~(negative & (yint == 0))
        ax = np.abs(x)
        bits = _normalised_bits(ax[general])
        ylogx = y[general].astype(F64) * _log2_inline(bits)
        sign_bias = np.where(odd_sign[general], U64(1 << 16), U64(0))
        value = _exp2_table(ylogx, _SHIFT_SCALED, _EXP2F_POLY, sign_bias).astype(F32)
        sign = np.where(odd_sign[general], F32(-1), F32(1))
        big = np.abs(ylogx) >= 126.0
        value = np.where(big & (ylogx > _hex("0x1.fffffffd1d571p+6")), sign * F32(np.inf), value)
        value = np.where(big & (ylogx <= -150.0), sign * F32(0), value)
        value = np.where(big & (ylogx > -150.0) & (ylogx < -149.0), sign * F32(2.0**-149), value)
        out[general] = value
        if general.all():
            return flush(out.reshape(shape))

        # y is 0, inf or NaN
        out[y == 0] = 1.0
        one = x == F32(1)
        out[one] = 1.0
        infinite_y = np.isinf(y) & ~np.isnan(x) & ~one
        magnitude_one = ax == F32(1)
        out[infinite_y & magnitude_one] = 1.0
        below = infinite_y & ~magnitude_one & ((ax < 1) == (y > 0))
        out[below] = 0.0
        out[infinite_y & ~magnitude_one & ~((ax < 1) == (y > 0))] = np.inf
        # x is 0 or inf (y finite, non-zero)
        special_x = ((x == 0) | np.isinf(x)) & np.isfinite(y) & (y != 0)
        x2 = (x[special_x] * x[special_x]).astype(F32)
        x2 = np.where(odd_sign[special_x] | (np.signbit(x[special_x]) & (yint[special_x] == 1)), -x2, x2)
        out[special_x] = np.where(y[special_x] < 0, F32(1) / x2, x2)
        out[np.isnan(x) & (y != 0)] = np.nan
        out[np.isnan(y) & ~one] = np.nan
    return flush(out.reshape(shape))
