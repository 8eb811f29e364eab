"""RFC 9457 problem responses, and the handlers that turn every error into one."""

import difflib
import logging
import re
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from service.specs.catalog import KIND_TAGS

PROBLEM_JSON = "application/problem+json"
INVALID_REQUEST = "urn:descent:problem:invalid-request"
LIMIT_EXCEEDED = "urn:descent:problem:limit-exceeded"
NOT_FOUND = "urn:descent:problem:not-found"
BUSY = "urn:descent:problem:busy"

logger = logging.getLogger("service.api")

Loc = list[str | int]


class ProblemError(Exception):
    """Raised anywhere below a router to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: Sequence[tuple[Loc, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


def invalid(errors: Sequence[tuple[Loc, str]], status: int = 422, type_: str = INVALID_REQUEST) -> ProblemError:
    """A 422 naming each offending field; the detail repeats the first one in a sentence."""
    loc, msg = errors[0]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    where = ".".join(str(part) for part in loc) or "request"
    return ProblemError(status, "Invalid request", f"{where}: {msg.rstrip('.')}{more}.", type_=type_, errors=errors)


def problem_response(problem: ProblemError, instance: str | None = None) -> Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    if problem.errors is not None:
        body["errors"] = [{"loc": loc, "msg": msg} for loc, msg in problem.errors]
    return Response(orjson.dumps(body), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def validation_errors(raw: Iterable[Any]) -> list[tuple[Loc, str]]:
    """Pydantic's errors with request-level locations (`loss.a`, not `body.loss.quadratic.a`) and
    messages that say what to change."""
    cleaned: list[tuple[Loc, str]] = []
    for error in raw:
        loc: Loc = [part for part in error["loc"] if part not in KIND_TAGS]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:] if loc[0] == "body" else loc
        kinds = [part for part in error["loc"] if part in KIND_TAGS]
        cleaned.append(_rephrase({**error, "kinds": kinds}, loc))
    return cleaned


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
    bounds = {
        "greater_than_equal": ("ge", "at least"),
        "greater_than": ("gt", "greater than"),
        "less_than_equal": ("le", "at most"),
        "less_than": ("lt", "less than"),
    }
    if kind in bounds:
        key, words = bounds[kind]
        bound = float(ctx[key])
        if abs(bound) > 1e38:
            return loc, "Give a number within ±3.4e38 (float32's range)."
        return loc, f"Give a number {words} {bound:g}."
    if kind == "missing":
        return loc, "This field is required."
    if kind == "json_invalid":
        return ["body"], f"The body is not valid JSON ({ctx.get('error', 'parse error')})."
    return loc, str(error["msg"]).rstrip(".") + "."


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a problem document; a 500 never leaks internals."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(invalid(validation_errors(exc.errors())), request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = _reason(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
        type_ = LIMIT_EXCEEDED if exc.status_code == 413 else "about:blank"
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "The body could not be read as JSON text; send UTF-8 encoded JSON."
        if exc.status_code == 405:  # Starlette names only the first matching route's methods
            headers["Allow"] = ", ".join(_allowed_methods(request))
            detail = f"{request.method} is not allowed here; use {headers['Allow']}."
        problem = ProblemError(exc.status_code, title, detail, type_=type_, headers=headers)
        return problem_response(problem, request.url.path)

    async def on_crash(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = ProblemError(500, "Internal Server Error", "The server failed; the error has been logged.")
        return problem_response(problem, request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _reason(status: int) -> str:
    if status == 413:
        return "Content Too Large"  # RFC 9110's name; Python still says "Request Entity Too Large"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
