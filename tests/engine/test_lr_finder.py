"""The range test against literal transcriptions of torch-lr-finder's and fastai's code, on the course's loss."""

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.engine import losses, optimizers
from service.engine.errors import ParameterError
from service.engine.lr_finder import RangeTest, range_schedule, range_test, steepest, suggest, valley

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def course_test(dtype: np.dtype[np.floating], **options: Any) -> RangeTest:
    """The course's loss (w + 1)² from w0 = 5 with plain SGD."""
    rates = {name: options.pop(name) for name in ("start_lr", "end_lr", "num_iter", "step_mode") if name in options}
    schedule = range_schedule(
        rates.get("start_lr", 1e-7),
        rates.get("end_lr", 10.0),
        rates.get("num_iter", 100),
        rates.get("step_mode", "exp"),
    )
    loss = losses.quadratic(1.0, 1.0, 0.0, 1, dtype)
    return range_test(loss, optimizers.build({"kind": "sgd"}, dtype), np.array([5.0], dtype), schedule, **options)


# Literal transcriptions of the libraries (the reference) ---------------------------------------------------------


def torch_lr_finder_range_test(
    start_lr: float, end_lr: float, num_iter: int, step_mode: str, smooth_f: float, diverge_th: float
) -> tuple[list[float], list[float]]:
    """torch-lr-finder's `range_test` loop with its ExponentialLR/LinearLR, training (w + 1)² from 5 by SGD."""
    history: dict[str, list[float]] = {"lr": [], "loss": []}
    best_loss = 0.0
    w = 5.0
    for iteration in range(num_iter):
        r = iteration / (num_iter - 1)  # the scheduler's last_epoch is the iteration (PyTorch >= 1.1)
        lr = start_lr * (end_lr / start_lr) ** r if step_mode == "exp" else start_lr + r * (end_lr - start_lr)
        loss = (w + 1.0) * (w + 1.0)  # forward pass, then optimizer.step() with this iteration's lr
        w = w - lr * (2.0 * (w + 1.0))
        history["lr"].append(lr)
        if iteration == 0:
            best_loss = loss
        else:
            if smooth_f > 0:
                loss = smooth_f * loss + (1 - smooth_f) * history["loss"][-1]
            if loss < best_loss:
                best_loss = loss
        history["loss"].append(loss)
        if loss > diverge_th * best_loss:
            break
    return history["lr"], history["loss"]


def fastai_valley(losses: list[float]) -> int:
    """fastai/callback/schedule.py `valley`, verbatim but for returning the index."""
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):  # noqa: PIE808 (verbatim)
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return idx  # noqa: RET504 (verbatim)


# The rate ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step_mode", ["exp", "linear"])
@pytest.mark.parametrize(("start_lr", "end_lr", "num_iter"), [(1e-7, 10, 100), (1e-5, 1, 337), (3e-4, 7.5, 10_000)])
def test_rates_are_torch_lr_finders_bit_for_bit(step_mode: str, start_lr: float, end_lr: float, num_iter: int) -> None:
    rates = range_schedule(start_lr, end_lr, num_iter, step_mode)(np.arange(num_iter, dtype=np.int64))[:, 0]
    expected = [
        start_lr * (end_lr / start_lr) ** (k / (num_iter - 1))
        if step_mode == "exp"
        else start_lr + k / (num_iter - 1) * (end_lr - start_lr)
        for k in range(num_iter)
    ]
    assert rates.tolist() == expected
    assert rates[0] == start_lr
    assert rates[-1] == pytest.approx(end_lr, rel=1e-15)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((0.0, 10.0, 100, "exp"), "start_lr"),
        ((-1.0, 10.0, 100, "linear"), "start_lr"),
        ((1.0, 1.0, 100, "exp"), "end_lr"),
        ((1.0, 0.5, 100, "linear"), "end_lr"),
        ((1e-7, 10.0, 1, "exp"), "num_iter"),
        ((1e-7, 10.0, 100, "cos"), "step_mode"),
    ],
)
def test_schedule_parameters_are_checked(arguments: tuple[float, float, int, str], field: str) -> None:
    with pytest.raises(ParameterError) as caught:
        range_schedule(*arguments)
    assert caught.value.loc == (field,)


@pytest.mark.parametrize(
    ("smooth_f", "diverge_th", "field"), [(1.0, 5.0, "smooth_f"), (-0.1, 5.0, "smooth_f"), (0.05, 0.5, "diverge_th")]
)
def test_smoothing_parameters_are_checked(smooth_f: float, diverge_th: float, field: str) -> None:
    with pytest.raises(ParameterError) as caught:
        course_test(F64, smooth_f=smooth_f, diverge_th=diverge_th)
    assert caught.value.loc == (field,)


# The curve -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"step_mode": "linear", "start_lr": 1e-3, "end_lr": 2.0, "num_iter": 200},
        {"smooth_f": 0.0},
        {"smooth_f": 0.5, "diverge_th": 2.0},
        {"num_iter": 1000, "end_lr": 1.5},
    ],
)
def test_float64_curve_is_torch_lr_finders(options: dict[str, Any]) -> None:
    settings_: dict[str, Any] = {
        "start_lr": 1e-7,
        "end_lr": 10.0,
        "num_iter": 100,
        "step_mode": "exp",
        "smooth_f": 0.05,
        "diverge_th": 5.0,
    }
    settings_.update(options)
    lrs, smoothed = torch_lr_finder_range_test(**settings_)
    curve = course_test(F64, **options)
    assert curve.lr.tolist() == lrs
    assert curve.smoothed.tolist() == smoothed
    assert curve.stopped_early == (len(lrs) < settings_["num_iter"])


def test_smoothing_starts_at_the_loss_and_stops_past_the_threshold() -> None:
    curve = course_test(F32)
    raw = curve.loss.astype(np.float64).tolist()
    smoothed = [raw[0]]
    for value in raw[1:]:
        smoothed.append(0.05 * value + 0.95 * smoothed[-1])
    assert curve.smoothed.tolist() == smoothed
    best = np.minimum.accumulate(curve.smoothed)
    assert (curve.smoothed[:-1] <= 5 * best[:-1]).all()
    assert curve.smoothed[-1] > 5 * best[-1]


@pytest.mark.parametrize("dtype", [F32, F64])
def test_course_curve_stops_early_once_rates_pass_the_stable_limit(dtype: np.dtype[np.floating]) -> None:
    curve = course_test(dtype)
    assert curve.stop_reason == "diverged"
    assert curve.stopped_early
    assert curve.lr.size == curve.loss.size == curve.smoothed.size < 100
    assert curve.lr[-1] > 1  # only rates above 2/(2a) = 1 make (w + 1)² grow
    assert curve.lr.dtype == curve.loss.dtype == dtype
    growing = np.flatnonzero(np.diff(curve.loss) > 0)
    assert curve.lr[growing[0]] > 1  # the raw loss first grows after an update with a rate above 1


def test_smoothing_off_keeps_the_loss() -> None:
    curve = course_test(F64, smooth_f=0.0)
    assert curve.smoothed.tolist() == curve.loss.tolist()


def test_no_divergence_within_the_rates_completes() -> None:
    curve = course_test(F64, end_lr=0.9)
    assert curve.stop_reason == "completed"
    assert not curve.stopped_early
    assert curve.lr.size == 100


def test_an_overflow_ends_the_curve_before_it() -> None:
    loss = losses.quadratic(1.0, 1.0, 0.0, 1, F32)
    schedule = range_schedule(10.0, 100.0, 50, "exp")
    curve = range_test(loss, optimizers.build({"kind": "sgd"}, F32), np.array([1e18], F32), schedule)
    assert curve.stop_reason == "non_finite"
    assert curve.loss.size == 1
    assert np.isfinite(curve.loss).all()
    assert [s.lr for s in suggest(curve, 50)] == [None, None, None]


def test_curve_is_deterministic() -> None:
    first, second = course_test(F32), course_test(F32)
    assert first.lr.tobytes() == second.lr.tobytes()
    assert first.smoothed.tobytes() == second.smoothed.tobytes()


# Suggestions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F32, F64])
def test_course_suggestions_fall_in_the_stable_region(dtype: np.dtype[np.floating]) -> None:
    found = {s.name: s for s in suggest(course_test(dtype), 100)}
    assert list(found) == ["steepest", "valley", "minimum"]
    for suggestion in found.values():
        assert suggestion.lr is not None
        assert 0 < suggestion.lr < 1, suggestion
        assert suggestion.rule


def test_suggestions_are_the_libraries_own() -> None:
    curve = course_test(F64)
    lrs, losses_ = curve.lr.tolist(), curve.smoothed.tolist()
    steep, valley_, minimum = suggest(curve, 100)
    # torch-lr-finder's LRFinder.plot: lrs[skip_start:-skip_end], np.gradient(np.array(losses)).argmin()
    assert steep.lr == lrs[10:-5][int(np.gradient(np.array(losses_[10:-5])).argmin())]
    # fastai's lr_find: lrs[num_it//10:-5], losses[num_it//10:-5]; valley; minimum = lrs[losses.argmin()] / 10
    fast_lrs, fast_losses = lrs[100 // 10 : -5], losses_[100 // 10 : -5]
    assert valley_.lr == fast_lrs[fastai_valley(fast_losses)]
    assert minimum.lr == fast_lrs[int(np.argmin(fast_losses))] / 10
    assert curve.lr[minimum.index] == fast_lrs[int(np.argmin(fast_losses))]


@settings(max_examples=300)
@given(st.lists(st.integers(0, 6) | st.floats(-5, 5), min_size=1, max_size=60))
def test_valley_is_fastais_loop(values: list[float]) -> None:
    assert valley(values) == fastai_valley(values)


def test_valley_may_pick_the_last_point_as_fastai() -> None:
    assert valley([3.0, 2.0]) == fastai_valley([3.0, 2.0]) == -1


def test_steepest_needs_two_points_after_trimming() -> None:
    rates = np.geomspace(1e-3, 1, 17)
    assert steepest(rates, np.linspace(5, 1, 16)) is None
    assert steepest(rates, np.linspace(5, 1, 17)) == 10


def test_short_curve_has_no_suggestions_but_says_why() -> None:
    curve = course_test(F64, start_lr=2.0, end_lr=10.0, num_iter=100)
    assert curve.lr.size < 17
    for suggestion in suggest(curve, 100):
        assert suggestion.lr is None
        assert suggestion.index is None
        assert suggestion.note is not None
        assert "needs at least" in suggestion.note


def test_a_negative_loss_stops_at_once_as_in_torch_lr_finder() -> None:
    loss = losses.quadratic(1.0, 1.0, -100.0, 1, F64)  # (w + 1)² - 100 starts at -64 from w0 = 5
    curve = range_test(
        loss, optimizers.build({"kind": "sgd"}, F64), np.array([5.0]), range_schedule(1e-7, 10, 100, "exp")
    )
    assert curve.loss.tolist() == [-64.0]  # -64 > 5 x -64: torch-lr-finder's rule trips on its first point
    assert curve.stop_reason == "diverged"
