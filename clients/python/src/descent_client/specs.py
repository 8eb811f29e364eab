"""Spec pieces from short text, as the command line takes them.

- a kind with parameters: `tf1.exponential_decay:learning_rate=0.1,decay_steps=1,decay_rate=0.99,staircase=true`
  (each value read as JSON, so `true`, `null`, `[1, 2]` and numbers are what they say; anything else is a string);
- JSON: `{"kind": "torch.SGD", "momentum": 0.9}`;
- a number (a constant rate), a formula (a loss), a list of numbers (`5`, `1,2`, `[1, 2]`);
- a sweep axis: `schedule.learning_rate=linspace:0,2,101`, `…=logspace:-4,0,50`, `…=0.1,0.2,0.5`.

Errors are `ValueError`s saying what was expected.
"""

import json
import re
from typing import Any

KIND = re.compile(r"^(?P<kind>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?)(:(?P<params>.*))?$", re.DOTALL)
FORMULA_NAMES = {"w", "x", "y", "pi", "e"}
"""Names that are a formula on their own, not a loss kind."""


def split_top(text: str, separator: str = ",") -> list[str]:
    """`text` split at `separator`s outside brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def value(text: str) -> Any:
    """A parameter's value: JSON when it reads as JSON (numbers, true, null, lists), else the text itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def kind_with_params(text: str) -> dict[str, Any]:
    """`kind:name=value,…` (or a JSON object) as `{"kind": kind, name: value, …}`."""
    text = text.strip()
    if text.startswith("{"):
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        return document
    match = KIND.match(text)
    if match is None:
        raise ValueError(f"expected KIND or KIND:name=value,… (or a JSON object), got {text!r}")
    spec: dict[str, Any] = {"kind": match["kind"]}
    params = (match["params"] or "").strip()
    for item in split_top(params) if params else []:
        name, equals, raw = item.partition("=")
        if not equals or not name.strip():
            raise ValueError(f"expected name=value in {text!r}, got {item.strip()!r}")
        spec[name.strip()] = value(raw)
    return spec


def schedule(text: str) -> float | dict[str, Any]:
    """A schedule: a number (a constant rate), JSON, or `kind:name=value,…`."""
    try:
        return float(text)
    except ValueError:
        pass
    return kind_with_params(text)


def loss(text: str) -> dict[str, Any]:
    """A loss: JSON, `kind:name=value,…` (`quadratic:a=1,b=1,c=0`, `rosenbrock`), or a formula (`(w+1)**2`)."""
    stripped = text.strip()
    match = KIND.match(stripped)
    if stripped.startswith("{") or (match is not None and match["kind"] not in FORMULA_NAMES):
        return kind_with_params(stripped)
    return {"kind": "expression", "formula": stripped}


def numbers(text: str) -> float | list[float]:
    """`5`, `1,2` or `[1, 2]`: a number or a list of numbers."""
    parsed = value(text if text.strip().startswith("[") or "," not in text else f"[{text}]")
    if isinstance(parsed, bool) or not isinstance(parsed, int | float | list):
        raise ValueError(f"expected a number or numbers separated by commas, got {text!r}")
    if isinstance(parsed, list):
        if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in parsed):
            raise ValueError(f"expected numbers, got {text!r}")
        return [float(item) for item in parsed]
    return float(parsed)


def axis(text: str) -> dict[str, Any]:
    """`path=linspace:start,stop,num`, `path=logspace:start,stop,num` (exponents of 10) or `path=v1,v2,…`."""
    path, equals, rest = text.partition("=")
    if not equals or not path.strip():
        raise ValueError(f"expected PATH=linspace:START,STOP,NUM, PATH=logspace:… or PATH=V1,V2,…; got {text!r}")
    rest = rest.strip()
    for space in ("linspace", "logspace"):
        if rest.startswith(f"{space}:"):
            parts = rest[len(space) + 1 :].split(",")
            if len(parts) != 3:
                raise ValueError(f"expected {space}:START,STOP,NUM, got {rest!r}")
            start, stop, num = (value(part) for part in parts)
            return {"path": path.strip(), space: {"start": start, "stop": stop, "num": num}}
    values = numbers(rest)
    return {"path": path.strip(), "values": values if isinstance(values, list) else [values]}
