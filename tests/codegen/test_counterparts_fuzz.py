"""Whatever parameters a schedule has, the preview's equivalents answer: a counterpart the library accepts with its
difference, or no counterpart and why; never an error of ours (hypothesis over every kind the table reads)."""

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from service.codegen.counterparts import FAMILIES
from service.errors import InvalidSpec
from service.specs.preview import SchedulePreviewSpec, preview

rate = st.floats(1e-4, 1.0)
period = st.integers(1, 60)
factor = st.floats(0.05, 1.0)
flag = st.booleans()

PIECEWISE = st.integers(1, 4).flatmap(
    lambda n: st.fixed_dictionaries(
        {
            "boundaries": st.lists(period, min_size=n, max_size=n, unique=True).map(sorted),
            "values": st.lists(st.sampled_from([0.0, 0.01, 0.1, 0.05]), min_size=n + 1, max_size=n + 1),
        }
    )
)
TEMPLATES: dict[str, Any] = {
    "tf1.cosine_decay": st.fixed_dictionaries({"learning_rate": rate, "decay_steps": period, "alpha": factor}),
    "keras.CosineDecayRestarts": st.fixed_dictionaries(
        {
            "initial_learning_rate": rate,
            "first_decay_steps": period,
            "t_mul": st.sampled_from([1.0, 2.0]),
            "alpha": factor,
        }
    ),
    "optax.constant_schedule": st.fixed_dictionaries({"value": rate}),
    "keras.PiecewiseConstantDecay": PIECEWISE,
    "tf1.exponential_decay": st.fixed_dictionaries(
        {"learning_rate": rate, "decay_steps": period, "decay_rate": factor, "staircase": flag}
    ),
    "keras.ExponentialDecay": st.fixed_dictionaries(
        {"initial_learning_rate": rate, "decay_steps": period, "decay_rate": factor, "staircase": flag}
    ),
    "optax.exponential_decay": st.fixed_dictionaries(
        {"init_value": rate, "transition_steps": period, "decay_rate": factor, "staircase": flag}
    ),
    "torch.ExponentialLR": st.fixed_dictionaries({"lr": rate, "gamma": factor}),
    "torch.StepLR": st.fixed_dictionaries({"lr": rate, "step_size": period, "gamma": factor}),
    "tf1.inverse_time_decay": st.fixed_dictionaries(
        {"learning_rate": rate, "decay_steps": period, "decay_rate": factor}
    ),
    "keras.InverseTimeDecay": st.fixed_dictionaries(
        {"initial_learning_rate": rate, "decay_steps": period, "decay_rate": factor}
    ),
    "tf1.polynomial_decay": st.fixed_dictionaries(
        {"learning_rate": rate, "decay_steps": period, "end_learning_rate": rate, "power": factor, "cycle": flag}
    ),
    "keras.PolynomialDecay": st.fixed_dictionaries(
        {"initial_learning_rate": rate, "decay_steps": period, "end_learning_rate": st.sampled_from([0.0, 1e-3])}
    ),
    "optax.polynomial_schedule": st.fixed_dictionaries(
        {"init_value": rate, "end_value": rate, "power": st.sampled_from([1, 2, 0.5]), "transition_steps": period}
    ),
    "optax.linear_schedule": st.fixed_dictionaries({"init_value": rate, "end_value": rate, "transition_steps": period}),
    "torch.PolynomialLR": st.fixed_dictionaries({"lr": rate, "total_iters": period, "power": factor}),
    "torch.LinearLR": st.fixed_dictionaries(
        {"lr": rate, "start_factor": factor, "end_factor": factor, "total_iters": period}
    ),
    "tf1.piecewise_constant": PIECEWISE,
    "torch.MultiStepLR": st.fixed_dictionaries(
        {"lr": rate, "milestones": st.lists(period, min_size=1, max_size=4, unique=True), "gamma": factor}
    ),
    "optax.piecewise_constant_schedule": st.fixed_dictionaries(
        {"init_value": rate, "boundaries_and_scales": st.dictionaries(period.map(str), factor, min_size=1, max_size=3)}
    ),
    "keras.CosineDecay": st.fixed_dictionaries(
        {
            "initial_learning_rate": rate,
            "decay_steps": period,
            "alpha": factor,
            "warmup_target": st.none() | rate,
            "warmup_steps": st.integers(0, 20),
        }
    ),
    "torch.CosineAnnealingLR": st.fixed_dictionaries({"lr": rate, "T_max": period, "eta_min": st.floats(0, 1e-3)}),
    "optax.cosine_decay_schedule": st.fixed_dictionaries({"init_value": rate, "decay_steps": period, "alpha": factor}),
    "optax.warmup_cosine_decay_schedule": st.fixed_dictionaries(
        {"init_value": rate, "peak_value": rate, "warmup_steps": st.integers(0, 10), "decay_steps": st.integers(11, 80)}
    ),
    "tf1.cosine_decay_restarts": st.fixed_dictionaries(
        {"learning_rate": rate, "first_decay_steps": period, "t_mul": st.sampled_from([1.0, 2.0, 1.5]), "m_mul": factor}
    ),
    "torch.CosineAnnealingWarmRestarts": st.fixed_dictionaries(
        {"lr": rate, "T_0": period, "T_mult": st.integers(1, 3), "eta_min": st.floats(0, 1e-3)}
    ),
    "torch.OneCycleLR": st.fixed_dictionaries(
        {"max_lr": rate, "total_steps": st.integers(100, 300), "cycle_momentum": st.just(False), "pct_start": factor}
    ),
    "optax.cosine_onecycle_schedule": st.fixed_dictionaries(
        {"transition_steps": st.integers(1, 300), "peak_value": rate, "pct_start": factor}
    ),
}


def test_the_templates_cover_every_kind_the_table_reads() -> None:
    read = {kind for family in FAMILIES for kind in family.readers}
    assert read == set(TEMPLATES)


@settings(max_examples=300)
@given(st.sampled_from(sorted(TEMPLATES)).flatmap(lambda kind: TEMPLATES[kind].map(lambda p: {"kind": kind, **p})))
def test_equivalents_always_answer(schedule: dict[str, Any]) -> None:
    refused: InvalidSpec | None = None
    try:
        spec = SchedulePreviewSpec.model_validate({"schedules": [schedule], "steps": 100, "equivalents": True})
        answer = preview(spec)
    except InvalidSpec as error:  # the schedule itself breaks its library's rule: refused at the schedule
        refused = error
    except ValueError:  # pydantic's ValidationError: the schedule breaks a rule the schema states
        return
    if refused is not None:
        assert refused.errors[0][0][0] in ("schedules", "steps")
        return
    for other in answer["schedules"][0]["equivalents"]:
        if other["schedule"] is None:
            assert other["reason"]
            continue
        assert other["reason"] is None
        assert len(other["lr"]) == 101
        assert other["max_abs_diff"] >= 0
        assert 0 <= other["at_step"] <= 100
        assert np.isfinite(other["max_abs_diff"]) or not np.isfinite(answer["schedules"][0]["lr"]).all()
