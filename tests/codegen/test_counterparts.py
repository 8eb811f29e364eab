"""The counterpart table: what it writes is a valid schedule of that library, with the same numbers where the
libraries agree, and the differences users do not expect where they do not."""

from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from service.codegen.counterparts import LIBRARIES, counterpart, counterparts, kinds_without_counterpart, library_of
from service.engine import schedules
from service.specs.catalog import KIND_MODELS
from service.specs.kinds.base import kind_of
from service.specs.kinds.schedules import ScheduleSpec

SCHEDULE = TypeAdapter(ScheduleSpec)
F32 = np.dtype(np.float32)
SAME: list[dict[str, Any]] = [
    {"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 10.0, "decay_rate": 0.5, "staircase": True},
    {"kind": "keras.ExponentialDecay", "initial_learning_rate": 0.1, "decay_steps": 1.0, "decay_rate": 0.99},
    {"kind": "torch.StepLR", "lr": 0.1, "step_size": 30, "gamma": 0.1},
    {"kind": "tf1.inverse_time_decay", "learning_rate": 0.1, "decay_steps": 10.0, "decay_rate": 0.5},
    {
        "kind": "keras.PolynomialDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 100.0,
        "end_learning_rate": 0.0,
        "power": 2.0,
    },
    {"kind": "torch.LinearLR", "lr": 0.1, "start_factor": 0.1, "total_iters": 100},
    {"kind": "optax.linear_schedule", "init_value": 0.1, "end_value": 0.01, "transition_steps": 100},
    {"kind": "tf1.piecewise_constant", "boundaries": [100, 200], "values": [0.1, 0.01, 0.001]},
    {"kind": "optax.piecewise_constant_schedule", "init_value": 0.1, "boundaries_and_scales": {"100": 0.5}},
    {"kind": "torch.MultiStepLR", "lr": 0.1, "milestones": [50, 150], "gamma": 0.5},
    {"kind": "keras.CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 300.0, "alpha": 0.1},
    {"kind": "tf1.cosine_decay_restarts", "learning_rate": 0.1, "first_decay_steps": 50.0, "t_mul": 2.0},
    {
        "kind": "keras.CosineDecay",
        "initial_learning_rate": 0.0,
        "decay_steps": 200.0,
        "warmup_target": 0.1,
        "warmup_steps": 100,
    },
    {"kind": "optax.cosine_onecycle_schedule", "transition_steps": 300, "peak_value": 0.1},
]
"""Schedules whose counterparts agree within float32 rounding over 0..300; the one-cycles within 1.5% of the peak
(torch ends the warmup a step before optax: about 3/total_steps of the peak)."""


def rates(schedule: dict[str, Any], steps: int = 300) -> Any:
    return schedules.build(schedule, F32)(np.arange(steps + 1))[:, 0].astype(np.float64)


@pytest.mark.parametrize("schedule", SAME, ids=lambda s: s["kind"])
def test_counterparts_are_valid_kinds_with_the_same_rates(schedule: dict[str, Any]) -> None:
    ours = rates(schedule)
    written = [other for other in counterparts(schedule) if other.schedule is not None]
    assert written, "a schedule of this table has a counterpart somewhere"
    for other in written:
        assert other.schedule is not None
        assert library_of(other.schedule["kind"]) in (other.library, None)
        SCHEDULE.validate_python(other.schedule)  # the library's own rules hold
        theirs = rates(other.schedule)
        held = 1.5e-2 if "onecycle" in schedule["kind"] or "OneCycle" in other.schedule["kind"] else 1e-5
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=held * np.abs(ours).max(), err_msg=str(other))


def test_torch_cosine_is_periodic_where_the_others_stay_flat() -> None:
    torch = {"kind": "torch.CosineAnnealingLR", "lr": 0.1, "T_max": 100, "eta_min": 0.0}
    keras = counterpart(torch, "keras").schedule
    assert keras == {
        "kind": "keras.CosineDecay",
        "initial_learning_rate": 0.1,
        "decay_steps": 100.0,
        "alpha": 0.0,
        "warmup_target": None,
        "warmup_steps": 0,
    }
    ours, theirs = rates(torch), rates(keras)
    np.testing.assert_allclose(theirs[:101], ours[:101], atol=1e-8)
    assert ours[200] == pytest.approx(0.1)
    assert theirs[200] == 0.0


def test_tf1_graph_mode_staircase_fires_a_step_late() -> None:
    tf1 = {
        "kind": "tf1.exponential_decay",
        "learning_rate": 0.1,
        "decay_steps": 41.0,
        "decay_rate": 0.5,
        "staircase": True,
    }
    keras = counterpart(tf1, "keras").schedule
    assert keras is not None
    assert rates(tf1)[41] == pytest.approx(0.1)
    assert rates(keras)[41] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("schedule", "library", "reason"),
    [
        ({"kind": "torch.OneCycleLR", "max_lr": 0.1, "total_steps": 100}, "keras", "Keras has no one-cycle"),
        (
            {"kind": "keras.InverseTimeDecay", "initial_learning_rate": 0.1, "decay_steps": 1.0, "decay_rate": 0.5},
            "torch",
            "torch has no inverse-time",
        ),
        (
            {"kind": "tf1.exponential_decay", "learning_rate": 0.1, "decay_steps": 10.0, "decay_rate": 0.5},
            "torch",
            "ExponentialLR decays once per step",
        ),
        ({"kind": "tf1.piecewise_constant", "boundaries": [10, 20], "values": [0.1, 0.05, 0.04]}, "torch", "one gamma"),
    ],
)
def test_no_counterpart_says_why(schedule: dict[str, Any], library: str, reason: str) -> None:
    other = counterpart(schedule, library)
    assert other.schedule is None
    assert f"{schedule['kind']} has no {library} counterpart" in other.reason
    assert reason in other.reason


def test_kinds_without_any_counterpart() -> None:
    kinds = [kind_of(model) for model in KIND_MODELS["schedules"]]
    missing = kinds_without_counterpart(kinds)
    assert set(missing) == set(LIBRARIES)
    assert "torch.OneCycleLR" in missing["keras"]
    assert "torch.OneCycleLR" not in missing["optax"]
    assert "torch.CosineAnnealingLR" not in missing["keras"]
    for library, listed in missing.items():
        assert all(kind in kinds and library_of(kind) != library for kind in listed)
