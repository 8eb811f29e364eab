"""The command line's short forms of spec pieces, and the problem document's field paths."""

from typing import Any

import pytest

from descent_client import specs
from descent_client.errors import FieldError, Problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "tf1.exponential_decay:learning_rate=0.1,decay_steps=1,decay_rate=0.99,staircase=true",
            {
                "kind": "tf1.exponential_decay",
                "learning_rate": 0.1,
                "decay_steps": 1,
                "decay_rate": 0.99,
                "staircase": True,
            },
        ),
        ("0.2", 0.2),
        ("1e-6", 1e-6),
        ('{"kind": "constant", "learning_rate": 0.3}', {"kind": "constant", "learning_rate": 0.3}),
        (
            "tf1.piecewise_constant:boundaries=[10, 20],values=[0.3,0.2,0.1]",
            {"kind": "tf1.piecewise_constant", "boundaries": [10, 20], "values": [0.3, 0.2, 0.1]},
        ),
        (
            "torch.StepLR:lr=0.1, step_size=10 ,gamma=0.5",
            {"kind": "torch.StepLR", "lr": 0.1, "step_size": 10, "gamma": 0.5},
        ),
        ("keras.CosineDecay", {"kind": "keras.CosineDecay"}),
    ],
)
def test_schedules(text: str, expected: Any) -> None:
    assert specs.schedule(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(w+1)**2", {"kind": "expression", "formula": "(w+1)**2"}),
        ("w", {"kind": "expression", "formula": "w"}),
        ("sin(x) + y**2", {"kind": "expression", "formula": "sin(x) + y**2"}),
        ("quadratic:a=1,b=1,c=0", {"kind": "quadratic", "a": 1, "b": 1, "c": 0}),
        ("quadratic:a=[1,2]", {"kind": "quadratic", "a": [1, 2]}),
        ("rosenbrock", {"kind": "rosenbrock"}),
        ('{"kind": "booth"}', {"kind": "booth"}),
    ],
)
def test_losses(text: str, expected: dict[str, Any]) -> None:
    assert specs.loss(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5", 5.0), ("-1.5", -1.5), ("1,2", [1.0, 2.0]), ("[1, 2, 3]", [1.0, 2.0, 3.0])],
)
def test_numbers(text: str, expected: Any) -> None:
    assert specs.numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "schedule.learning_rate=linspace:0,2,101",
            {"path": "schedule.learning_rate", "linspace": {"start": 0, "stop": 2, "num": 101}},
        ),
        ("w0=logspace:-4,0,5", {"path": "w0", "logspace": {"start": -4, "stop": 0, "num": 5}}),
        ("optimizer.momentum=0,0.5,0.9", {"path": "optimizer.momentum", "values": [0.0, 0.5, 0.9]}),
        ("loss.a=2", {"path": "loss.a", "values": [2.0]}),
    ],
)
def test_axes(text: str, expected: dict[str, Any]) -> None:
    assert specs.axis(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "words"),
    [
        (specs.schedule, "tf1.exponential_decay:learning_rate", "expected name=value"),
        (specs.schedule, "not a kind!", "expected KIND or KIND:name=value"),
        (specs.kind_with_params, "[1, 2]", "expected KIND"),
        (specs.numbers, "five", "expected a number"),
        (specs.numbers, "1,x", "expected a number or numbers"),
        (specs.axis, "linspace:0,1,2", "expected PATH="),
        (specs.axis, "w0=linspace:0,1", "expected linspace:START,STOP,NUM"),
    ],
)
def test_mistakes_say_what_was_expected(parse: Any, text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse(text)


def test_field_paths_drop_the_request_part() -> None:
    problem = Problem.from_json(
        {
            "type": "urn:descent:problem:invalid-request",
            "title": "Invalid request",
            "status": 422,
            "detail": "…",
            "errors": [{"loc": ["body", "axes", 0, "path"], "msg": "m"}, {"loc": ["loss", "a"], "msg": "n"}],
        }
    )
    assert [error.field for error in problem.errors] == ["axes.0.path", "loss.a"]
    assert FieldError((), "whole body").field == "(the request)"
