"""glibc's float32 cosf/logf/expf/powf in NumPy: the values where glibc is not correctly rounded (so a double
computation rounded once would differ from TensorFlow), C99's special cases, flush-to-zero, and, where the host
C library is a glibc with the same algorithms, agreement with it on random inputs."""

import ctypes
import ctypes.util
import platform

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine.schedules import libm

F = np.float32
INF, NAN = float("inf"), float("nan")

MISROUNDED = [
    # (function, arguments, glibc's result, the correctly rounded result), measured with glibc 2.36
    (libm.cosf, (1.8725214004516602,), -0.2971678078174591, -0.2971677780151367),
    (libm.cosf, (2.2622883319854736,), -0.6376872062683105, -0.6376871466636658),
    (libm.logf, (1.2762821912765503,), 0.24395130574703217, 0.24395132064819336),
    (libm.logf, (1.0240607261657715,), 0.023775829002261162, 0.023775827139616013),
    (libm.expf, (1.789879322052002,), 5.988729953765869, 5.988729476928711),
    (libm.expf, (-4.468723773956299,), 0.011461935006082058, 0.011461934074759483),
    (libm.powf, (1.5414648056030273, -13.08160400390625), 0.0034795806277543306, 0.003479580394923687),
    (libm.powf, (0.9315580725669861, 14.917218208312988), 0.34729447960853577, 0.3472944498062134),
]


@pytest.mark.parametrize(("function", "arguments", "glibc", "correct"), MISROUNDED)
def test_reproduces_glibc_where_it_is_not_correctly_rounded(
    function: object, arguments: tuple[float, ...], glibc: float, correct: float
) -> None:
    result = function(*(np.array([a], F) for a in arguments))  # type: ignore[operator]
    assert result.dtype == np.float32
    assert float(result[0]) == glibc != correct


@settings(max_examples=200)
@given(st.lists(st.floats(-1e4, 1e4, width=32), min_size=1, max_size=50))
def test_cosf_is_within_one_ulp(xs: list[float]) -> None:
    x = np.array(xs, F)
    assert_within_one_ulp(libm.cosf(x), np.cos(x.astype(np.float64)))


@settings(max_examples=200)
@given(st.lists(st.floats(2.0**-140, 2.0**127, width=32), min_size=1, max_size=50))
def test_logf_is_within_one_ulp(xs: list[float]) -> None:
    x = np.array(xs, F)
    assert_within_one_ulp(libm.logf(x), np.log(x.astype(np.float64)))


@settings(max_examples=200)
@given(st.lists(st.floats(-87, 88, width=32), min_size=1, max_size=50))
def test_expf_is_within_one_ulp(xs: list[float]) -> None:
    x = np.array(xs, F)
    assert_within_one_ulp(libm.expf(x), np.exp(x.astype(np.float64)))


@settings(max_examples=200)
@given(st.floats(2.0**-10, 2.0**10, width=32), st.floats(-12, 12, width=32))
def test_powf_is_within_one_ulp(x: float, y: float) -> None:
    result = libm.powf(np.array([x], F), np.array([y], F))
    assert_within_one_ulp(result, np.power(np.float64(F(x)), np.float64(F(y))))


def assert_within_one_ulp(ours: np.ndarray, exact: np.ndarray) -> None:
    rounded = exact.astype(F)
    ulp = np.spacing(np.abs(rounded))
    assert (np.abs(ours.astype(np.float64) - exact) <= np.maximum(ulp, np.finfo(F).tiny)).all()


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [
        (2.0, 0.0, 1.0),
        (NAN, 0.0, 1.0),
        (1.0, NAN, 1.0),
        (1.0, INF, 1.0),
        (-1.0, INF, 1.0),
        (0.5, INF, 0.0),
        (2.0, -INF, 0.0),
        (2.0, INF, INF),
        (0.0, 3.0, 0.0),
        (-0.0, 3.0, -0.0),
        (-0.0, -3.0, -INF),
        (0.0, -2.0, INF),
        (INF, -1.0, 0.0),
        (-INF, 3.0, -INF),
        (-2.0, 3.0, -8.0),
        (-2.0, 2.0, 4.0),
        (-2.0, 0.5, NAN),
        (NAN, 1.0, NAN),
        (2.0, NAN, NAN),
        (10.0, 40.0, INF),
        (0.1, 50.0, 0.0),
        (2.0, -149.0, 0.0),  # 2^-149 is subnormal: flushed, as on TensorFlow's threads
        (2.0, -126.0, 2.0**-126),
    ],
)
def test_powf_special_cases(x: float, y: float, expected: float) -> None:
    result = float(libm.powf(np.array([x], F), np.array([y], F))[0])
    if np.isnan(expected):
        assert np.isnan(result)
    else:
        assert result == expected
        assert np.signbit(result) == np.signbit(expected)


@pytest.mark.parametrize(
    ("function", "x", "expected"),
    [
        (libm.logf, 1.0, 0.0),
        (libm.logf, 0.0, -INF),
        (libm.logf, -1.0, NAN),
        (libm.logf, INF, INF),
        (libm.logf, 1e-45, float(F(np.log(1.401298464324817e-45)))),
        (libm.expf, 0.0, 1.0),
        (libm.expf, 89.0, INF),
        (libm.expf, -104.0, 0.0),
        (libm.expf, -100.0, 0.0),  # subnormal, flushed
        (libm.expf, -INF, 0.0),
        (libm.cosf, 0.0, 1.0),
        (libm.cosf, INF, NAN),
        (libm.cosf, float(F(np.pi)), -1.0),
    ],
)
def test_one_argument_special_cases(function: object, x: float, expected: float) -> None:
    result = float(function(np.array([x], F))[0])  # type: ignore[operator]
    assert (np.isnan(result) and np.isnan(expected)) or result == expected


def test_flush_keeps_the_sign_and_the_normal_numbers() -> None:
    values = np.array([1e-40, -1e-40, 2.0**-126, -(2.0**-126), 0.5], F)
    flushed = libm.flush(values)
    np.testing.assert_array_equal(flushed, [0.0, -0.0, 2.0**-126, -(2.0**-126), 0.5])
    assert np.signbit(flushed[1])


def host_glibc() -> ctypes.CDLL | None:
    """The host's libm when it is a glibc with these algorithms (2.28 to 2.40; newer ones are correctly rounded)."""
    name, version = platform.libc_ver()
    if name != "glibc" or not version:
        return None
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) < (2, 28) or (major, minor) > (2, 40):
        return None
    path = ctypes.util.find_library("m")
    return ctypes.CDLL(path) if path else None


@pytest.mark.skipif(host_glibc() is None, reason="the host C library is not a glibc 2.28-2.40")
def test_agrees_with_the_host_glibc() -> None:
    glibc = host_glibc()
    assert glibc is not None
    for name in ("cosf", "logf", "expf"):
        getattr(glibc, name).restype = ctypes.c_float
        getattr(glibc, name).argtypes = [ctypes.c_float]
    glibc.powf.restype = ctypes.c_float
    glibc.powf.argtypes = [ctypes.c_float, ctypes.c_float]
    rng = np.random.default_rng(0)
    x = rng.uniform(-200, 200, 20000).astype(F)
    small = x / F(3)
    positive = np.exp(rng.uniform(-80, 80, 20000)).astype(F)
    base, exponent = positive[:5000], rng.uniform(-20, 20, 5000).astype(F)
    checks = [
        (libm.cosf(x), [glibc.cosf(float(v)) for v in x]),
        (libm.logf(positive), [glibc.logf(float(v)) for v in positive]),
        (libm.expf(small), [glibc.expf(float(v)) for v in small]),
        (libm.powf(base, exponent), [glibc.powf(float(a), float(b)) for a, b in zip(base, exponent, strict=True)]),
    ]
    for ours, theirs in checks:
        np.testing.assert_array_equal(ours, libm.flush(np.array(theirs, F)))
