"""`service.errors`: each error item carries its type; a domain error's class gives the type of items given
without one, and relocating errors keeps their types."""

import pytest

from service.engine.errors import ParameterError
from service.errors import ERROR_TYPES, InvalidSpec, LimitExceeded, NoCounterpart
from service.specs.build import located


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (InvalidSpec([(["w0"], "m")]), "invalid_parameter"),
        (InvalidSpec([(["w0"], "m", "dimension_mismatch")]), "dimension_mismatch"),
        (LimitExceeded([(["steps"], "m")]), "limit_exceeded"),
        (NoCounterpart(["optimizer", "kind"], "m"), "no_counterpart"),
    ],
)
def test_an_item_without_a_type_takes_its_class_type(error: InvalidSpec, expected: str) -> None:
    assert [type_ for _, _, type_ in error.errors] == [expected]
    assert expected in ERROR_TYPES


def test_relocated_errors_keep_their_types() -> None:
    moved = LimitExceeded([(["steps"], "too many"), (["w0"], "wrong", "dimension_mismatch")]).within("base")
    assert isinstance(moved, LimitExceeded)
    assert moved.errors == [
        (["base", "steps"], "too many", "limit_exceeded"),
        (["base", "w0"], "wrong", "dimension_mismatch"),
    ]


def test_a_missing_counterpart_relocates_like_any_refusal() -> None:
    """NoCounterpart takes one (loc, message) of its own; moving it inside a sweep's base keeps class and type."""
    moved = NoCounterpart(["schedule", "kind"], "Keras has no OneCycleLR").within("base")
    assert isinstance(moved, NoCounterpart)
    assert moved.errors == [(["base", "schedule", "kind"], "Keras has no OneCycleLR", "no_counterpart")]
    assert moved.detail == "base.schedule.kind: Keras has no OneCycleLR."


def test_an_engine_refusal_keeps_its_code_through_located() -> None:
    with pytest.raises(InvalidSpec) as caught, located("loss"):
        raise ParameterError("formula", "cannot be parsed", "invalid_expression").within("inner")
    assert caught.value.errors == [(["loss", "inner", "formula"], "cannot be parsed", "invalid_expression")]
