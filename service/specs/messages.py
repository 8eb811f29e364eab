"""Pydantic's validation errors as the service says them: request-level locations (`loss.a`, not
`body.loss.quadratic.a`) and messages that say what to change."""

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from service.errors import FieldError, Loc
from service.specs.catalog import KIND_TAGS
from service.specs.kinds.base import FLOAT32_MAX, shown


def validation_errors(raw: Iterable[Any]) -> list[FieldError]:
    """Pydantic's errors with request-level locations (`loss.a`, not `body.loss.quadratic.a`), messages that say
    what to change, and Pydantic's error type (`float32_range` where the bound is float32's range)."""
    cleaned: list[FieldError] = []
    for error in raw:
        loc: Loc = [part for part in error["loc"] if part not in KIND_TAGS]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:] if loc[0] == "body" else loc
        kinds = [part for part in error["loc"] if part in KIND_TAGS]
        loc, msg = _rephrase({**error, "kinds": kinds}, loc)
        child_lr = error["type"] == "extra_forbidden" and loc[-1:] == ["lr"] and "schedulers" in loc
        cleaned.append((loc, msg, "child_lr" if child_lr else _error_type(error)))
    return cleaned


def _error_type(error: Mapping[str, Any]) -> str:
    """Pydantic's type, except `float32_range` for a bound or number beyond float32's range (the message names
    the range, not the bound)."""
    kind, ctx = error["type"], error.get("ctx") or {}
    bound = next((ctx[key] for key in ("ge", "gt", "le", "lt") if key in ctx), None)
    if kind in _BOUNDS and bound is not None and abs(float(bound)) > 1e38:
        return "float32_range"
    if kind == "float_type" and _huge_integer(error.get("input")):
        return "float32_range"
    return str(kind)


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _unknown_kind(tag: str, tags: list[str]) -> str:
    """Name the kinds the user most likely meant: the same name in other libraries, then close spellings."""
    number = " (or give a number)" if "number" in tags else ""
    kinds = [t for t in tags if t != "number"]
    if len(kinds) <= 8:
        return f"Unknown kind {tag!r}; use one of {', '.join(kinds)}{number} (GET /v1/catalog lists them)."
    name = tag.rsplit(".", 1)[-1].lower()
    same_name = [k for k in kinds if k.rsplit(".", 1)[-1].lower() == name]
    close = difflib.get_close_matches(tag, kinds, n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(same_name + close))
    hint = f"did you mean {' or '.join(suggestions)}? " if suggestions else ""
    return (
        f"Unknown kind {tag!r}; {hint}Kinds are named <library>.<name> as the library spells them "
        f"(tf1, keras, torch, optax){number}; GET /v1/catalog lists all {len(kinds)}."
    )


def _rephrase(error: dict[str, Any], loc: Loc) -> tuple[Loc, str]:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "union_tag_invalid":
        return [*loc, "kind"], _unknown_kind(
            str(ctx.get("tag")), re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        )
    if kind == "kind_refused":  # a nested kind its parent cannot take; the message says why
        return [*loc, "kind"], error["msg"]
    if kind == "union_tag_not_found" and loc == ["schedule"]:
        return loc, f"Give a number (a constant rate) or an object with a 'kind', not {error['input']!r}."
    if kind == "union_tag_not_found":
        return [*loc, "kind"], "Give an object with a 'kind' (GET /v1/catalog lists the kinds)."
    if kind == "model_attributes_type" or kind == "dict_type":
        return loc, "Give an object with a 'kind' (GET /v1/catalog lists the kinds)."
    if kind == "extra_forbidden" and loc[-1] == "lr" and "schedulers" in loc:
        parent = error["kinds"][-2].split(".")[-1] if len(error["kinds"]) >= 2 else "parent"
        return loc, f"A child scheduler takes no lr of its own: it scales the {parent}'s lr; remove it."
    if kind == "extra_forbidden":
        return loc, f"Unknown field {loc[-1]!r}; check its spelling or remove it."
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = float(ctx[key])
        if abs(bound) > 1e38:
            return loc, "Give a number within ±3.4e38 (float32's range)."
        whole = bound.is_integer() and abs(bound) < 2**53  # in full: 2147483647, not 2.14748e+09
        return loc, f"Give a number {words} {int(bound) if whole else format(bound, 'g')}."
    if kind == "float_type" and _huge_integer(error.get("input")):
        return loc, f"Give a number within ±3.4e38 (float32's range); this one is {shown(error['input'])}."
    if kind == "int_type":  # 3.5, "3", true (a whole-number float such as 3.0 is taken)
        return loc, "Give a whole number (an integer such as 3, or 3.0)."
    if kind == "missing":
        return loc, "This field is required."
    if kind == "json_invalid":
        return ["body"], f"The body is not valid JSON ({ctx.get('error', 'parse error')})."
    return loc, str(error["msg"]).rstrip(".") + "."


def _huge_integer(value: Any) -> bool:
    """An integer literal beyond any float a spec takes (`10**400`: Pydantic calls it "not a valid number")."""
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > FLOAT32_MAX
