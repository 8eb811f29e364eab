"""Every schedule and optimizer kind model against its engine factory: the same parameter names, the same required
ones, equal defaults.

A kind is declared twice: the Pydantic model validates a spec (service/specs/kinds) and the factory registered
under the kind builds it (service/engine, called as `factory(dtype=..., **spec_without_kind)`). Both copy the
library's keyword arguments and defaults; this holds them together. Whatever legitimately differs is listed below,
with its reason, and checked to still be so. (Losses are not covered here.)
"""

import inspect
from collections.abc import Callable, Iterator
from typing import Any, get_args

import numpy as np
import pytest
from pydantic import BaseModel

from service.engine.errors import ParameterError
from service.engine.optimizers import OPTIMIZERS
from service.engine.schedules import SCHEDULES
from service.specs.kinds import optimizers, schedules
from service.specs.kinds.base import Kind, kind_of
from service.specs.kinds.schedules import optax as optax_schedules
from service.specs.kinds.schedules import torch as torch_schedules

F64 = np.dtype(np.float64)
REGISTRIES: dict[str, dict[str, Callable[..., Any]]] = {"schedules": SCHEDULES, "optimizers": OPTIMIZERS}
MODELS: dict[str, tuple[type[Kind], ...]] = {"schedules": schedules.MODELS, "optimizers": optimizers.MODELS}

FACTORY_ONLY = frozenset({"dtype"})
"""The run's dtype, which `build` passes to every factory; it is not part of a spec."""
MODEL_ONLY = frozenset({"kind"})
"""The tag that picks the factory; `build` strips it."""

UNSERVED = {
    "torch.LambdaLR": "takes lr_lambda, a Python function",
    "torch.MultiplicativeLR": "takes lr_lambda, a Python function",
}
"""Library kinds deliberately neither modelled nor registered (the torch module's docstring says so)."""

LR_REFUSED_BY_THE_ENGINE: dict[str, dict[str, Any]] = {
    "torch.StepLR": {"step_size": 3},
    "torch.MultiStepLR": {"milestones": [2]},
    "torch.ConstantLR": {},
    "torch.LinearLR": {},
    "torch.ExponentialLR": {"gamma": 0.9},
    "torch.PolynomialLR": {},
    "torch.CosineAnnealingLR": {"T_max": 10},
    "torch.CosineAnnealingWarmRestarts": {"T_0": 5},
    "torch.ReduceLROnPlateau": {},
    "torch.SequentialLR": {"schedulers": [{"kind": "torch.StepLR", "step_size": 3}], "milestones": []},
    "torch.ChainedScheduler": {"schedulers": [{"kind": "torch.StepLR", "step_size": 3}]},
}
"""The one exception to "required <=> no default": these torch factories declare `lr: ... | None = None`, yet lr is
required, as in the model. None is a sentinel their `_base_rate` refuses with a located ParameterError ("lr is
required", tests/engine/schedules/test_torch.py) rather than a TypeError; a SequentialLR or ChainedScheduler child
gets its parent's lr through `build(..., lr=...)`. Each entry gives the other required arguments, to check that the
factory does refuse a missing lr."""


def kind_models() -> Iterator[Any]:
    for group, models in MODELS.items():
        for model in models:
            yield pytest.param(group, model, id=kind_of(model))


def nested_models() -> Iterator[Any]:
    """Models of specs nested in another spec, each with its factory and the parameters it does not take."""
    for model in union_members(torch_schedules.SequenceChild):
        yield pytest.param(model, SCHEDULES[kind_of(model)], frozenset({"lr"}), id=f"{kind_of(model)} child")
    yield pytest.param(
        optax_schedules.NestedJoinSchedules,
        SCHEDULES["optax.join_schedules"],
        frozenset[str](),
        id="optax.join_schedules nested",
    )
    yield pytest.param(
        optax_schedules.WarmupCosineKwargs,
        SCHEDULES["optax.warmup_cosine_decay_schedule"],
        frozenset[str](),
        id="optax.sgdr_schedule cosine_kwargs",
    )


def union_members(union: Any) -> list[type[Kind]]:
    """The models of a `tagged_union`: Annotated[Union[Annotated[model, Tag], ...], Discriminator]."""
    (members, _discriminator) = get_args(union)
    return [get_args(member)[0] for member in get_args(members)]


class Missing:
    """No default: the parameter or field is required."""

    def __repr__(self) -> str:
        return "<required>"


REQUIRED = Missing()


def factory_parameters(factory: Callable[..., Any]) -> dict[str, Any]:
    """The factory's parameters and their defaults (REQUIRED when none); refuses *args, **kwargs and
    positional-only parameters, which `factory(dtype=..., **parameters)` could not match by name."""
    parameters = inspect.signature(factory).parameters
    odd = [p.name for p in parameters.values() if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    assert not odd, f"{factory.__qualname__} takes {odd}, which a spec cannot name"
    return {
        name: REQUIRED if p.default is inspect.Parameter.empty else p.default
        for name, p in parameters.items()
        if name not in FACTORY_ONLY
    }


def model_fields(model: type[BaseModel]) -> dict[str, Any]:
    """The model's fields and their defaults (REQUIRED when none; a default factory is called)."""
    return {
        name: REQUIRED if info.is_required() else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if name not in MODEL_ONLY
    }


def comparable(value: Any) -> Any:
    """A default in a form that compares by value and by type: tuples and lists alike (torch's betas are a tuple,
    JSON has lists), but 1 and 1.0 apart (an optax exponent 1 multiplies, 1.0 calls pow) and False apart from 0."""
    if isinstance(value, list | tuple):
        return ["sequence", [comparable(item) for item in value]]
    if isinstance(value, dict):
        return ["mapping", {key: comparable(item) for key, item in value.items()}]
    if isinstance(value, BaseModel):
        return comparable(value.model_dump())
    return [type(value).__name__, value]


def assert_matches(
    model: type[BaseModel],
    factory: Callable[..., Any],
    label: str,
    model_lacks: frozenset[str] = frozenset(),
    lr_sentinel: bool = False,
) -> None:
    """(a) the same names, (b) the same required ones, (c) equal defaults. `model_lacks`: factory parameters a nested
    model leaves out on purpose (its parent passes them); `lr_sentinel`: see LR_REFUSED_BY_THE_ENGINE."""
    fields = model_fields(model)
    parameters = {name: default for name, default in factory_parameters(factory).items() if name not in model_lacks}
    if lr_sentinel:
        parameters["lr"] = REQUIRED
    assert sorted(fields) == sorted(parameters), f"{label}: the model's fields vs {factory.__qualname__}'s parameters"
    assert {name for name, default in fields.items() if default is REQUIRED} == {
        name for name, default in parameters.items() if default is REQUIRED
    }, f"{label}: required"
    defaults = {name: comparable(default) for name, default in fields.items() if default is not REQUIRED}
    assert defaults == {name: comparable(parameters[name]) for name in defaults}, f"{label}: defaults"


def test_every_registered_kind_has_a_model_and_every_model_a_factory() -> None:
    for group, registry in REGISTRIES.items():
        kinds = [kind_of(model) for model in MODELS[group]]
        assert len(kinds) == len(set(kinds)), f"a {group} kind is modelled twice"
        assert set(registry) == set(kinds), group
    modelled = {kind_of(model) for models in MODELS.values() for model in models}
    for kind in UNSERVED:
        assert kind not in SCHEDULES, kind
        assert kind not in OPTIMIZERS, kind
        assert kind not in modelled, kind


@pytest.mark.parametrize(("group", "model"), list(kind_models()))
def test_kind_model_matches_its_engine_factory(group: str, model: type[Kind]) -> None:
    kind = kind_of(model)
    assert_matches(model, REGISTRIES[group][kind], kind, lr_sentinel=kind in LR_REFUSED_BY_THE_ENGINE)


@pytest.mark.parametrize(("model", "factory", "model_lacks"), list(nested_models()))
def test_nested_model_matches_its_engine_factory(
    model: type[BaseModel], factory: Callable[..., Any], model_lacks: frozenset[str]
) -> None:
    assert_matches(model, factory, model.__name__, model_lacks)


@pytest.mark.parametrize(("kind", "others"), list(LR_REFUSED_BY_THE_ENGINE.items()))
def test_torch_lr_sentinel_is_refused_as_required(kind: str, others: dict[str, Any]) -> None:
    """The exception above still holds: the model requires lr, the factory defaults it to None and refuses that."""
    (model,) = [model for model in schedules.MODELS if kind_of(model) == kind]
    assert model.model_fields["lr"].is_required()
    assert inspect.signature(SCHEDULES[kind]).parameters["lr"].default is None
    SCHEDULES[kind](dtype=F64, lr=0.1, **others)  # the other arguments suffice
    with pytest.raises(ParameterError, match="lr is required") as refused:
        SCHEDULES[kind](dtype=F64, **others)
    assert refused.value.loc == ("lr",)
