"""Verdicts in the cases a student meets, and the analytic facts of a quadratic."""

import numpy as np
import pytest

from service.engine.analysis import Verdict, loss_facts
from service.engine.execute import run_one
from service.engine.loop import Problem
from service.engine.losses import polynomial, quadratic
from service.engine.optimizers import GradientDescent, build
from service.engine.schedules import constant
from tests.engine.test_loop import course

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


@pytest.mark.parametrize(
    ("rate", "steps", "verdict"),
    [
        (0.2, 40, Verdict.CONVERGED),
        (0.5, 40, Verdict.CONVERGED),  # the one-step rate
        (0.9, 100, Verdict.CONVERGED),  # bouncing, but shrinking fast
        (1.0, 40, Verdict.OSCILLATING),
        (0.0001, 40, Verdict.SLOW),
        (0.99, 40, Verdict.SLOW),  # bouncing, shrinking slowly
        (1.1, 40, Verdict.DIVERGED),  # finite, growing
        (3.0, 400, Verdict.DIVERGED),  # overflows
        (0.0, 40, Verdict.STALLED),
        (1e-9, 40, Verdict.STALLED),  # float32 w cannot move by such a step
    ],
)
def test_course_loss_verdicts(rate: float, steps: int, verdict: Verdict) -> None:
    assert run_one(course(rate, steps)).summary.verdict[0] is verdict


def test_converged_at_is_where_the_run_stays_converged() -> None:
    summary = run_one(course(0.2, 40)).summary
    grad = np.abs(run_one(course(0.2, 40)).trace.grad[:, 0])
    at = int(summary.converged_at[0])
    assert (grad[at:] <= 1e-3 * grad[0]).all()
    assert grad[at - 1] > 1e-3 * grad[0]


def test_unbounded_loss_falls_forever() -> None:
    problem = Problem(polynomial([0, 1, 0, -1], 1, F64), constant(0.01, F64), GradientDescent(), np.array([[2.0]]), 100)
    assert run_one(problem).summary.verdict[0] is Verdict.UNBOUNDED


def test_polynomial_local_minimum_converges() -> None:
    problem = Problem(
        polynomial([0, -3, 0, 1], 1, F64), constant(0.05, F64), GradientDescent(), np.array([[2.0]]), 200
    )  # w³ - 3w: a local minimum at w = 1
    result = run_one(problem)
    assert result.summary.verdict[0] is Verdict.CONVERGED
    assert result.trace.w[-1, 0] == pytest.approx(1.0, abs=1e-6)


def test_quadratic_facts() -> None:
    facts = loss_facts(quadratic(2, -3, 1, 1, F32))
    assert facts == {
        "kind": "quadratic",
        "bounded_below": True,
        "minimum": {"w": [3.0], "loss": 1.0},
        "curvature": [4.0],
        "max_stable_lr": 0.5,
        "one_step_lr": 0.25,
    }


def test_quadratic_facts_with_unequal_curvatures_have_no_one_step_rate() -> None:
    facts = loss_facts(quadratic([1, 4], 0, 0, 2, F64))
    assert facts is not None
    assert facts["max_stable_lr"] == 0.25
    assert facts["one_step_lr"] is None


def test_polynomial_facts_are_local_to_the_minimum() -> None:
    facts = loss_facts(polynomial([1, 0, 1], 1, F64))  # 1 + w²
    assert facts is not None
    assert facts["minimum"] == {"w": [0.0], "loss": 1.0}
    assert facts["max_stable_lr"] == 1.0
    assert facts["one_step_lr"] == 0.5


def test_momentum_ringing_towards_the_minimum_is_slow_not_stalled() -> None:
    """Heavy-ball momentum 0.9 at rate 0.01 circles in on the minimum: the loss rises and falls within the last
    rows, but w keeps moving, so it is not stalled."""
    problem = Problem(
        quadratic(1, 1, 0, 1, F32),
        constant(0.01, F32),
        build({"kind": "torch.SGD", "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}, F32),
        np.array([[5.0]], np.float32),
        100,
    )
    assert run_one(problem).summary.verdict[0] == Verdict.SLOW
