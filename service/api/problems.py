"""RFC 9457 problem responses: the one table from domain errors to problems, the handlers that turn every error
into one, and the problem responses routes declare for OpenAPI."""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from service.api.schemas import Problem
from service.errors import (
    Busy,
    Conflict,
    DescentError,
    FieldError,
    InvalidSpec,
    LimitExceeded,
    NoCounterpart,
    NotFound,
    StoreFull,
)
from service.specs.messages import validation_errors

PROBLEM_JSON = "application/problem+json"
INVALID_REQUEST = "urn:descent:problem:invalid-request"
LIMIT_EXCEEDED = "urn:descent:problem:limit-exceeded"
NOT_FOUND = "urn:descent:problem:not-found"
BUSY = "urn:descent:problem:busy"
CONFLICT = "urn:descent:problem:conflict"
NO_COUNTERPART = "urn:descent:problem:no-counterpart"
STORE_FULL = "urn:descent:problem:store-full"

logger = logging.getLogger("service.api")

DOMAIN: list[tuple[type[DescentError], int, str, str]] = [
    (LimitExceeded, 422, "Invalid request", LIMIT_EXCEEDED),
    (NoCounterpart, 422, "No counterpart in that library", NO_COUNTERPART),
    (InvalidSpec, 422, "Invalid request", INVALID_REQUEST),
    (NotFound, 404, "Not Found", NOT_FOUND),
    (Busy, 429, "Too Many Requests", BUSY),
    (Conflict, 409, "Conflict", CONFLICT),
    (StoreFull, 507, "Insufficient Storage", STORE_FULL),
]
"""Each domain error's status, title and problem type; the first matching row wins (subclasses first)."""


class ProblemError(Exception):
    """Raised anywhere below a router to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


def from_domain(error: DescentError) -> ProblemError:
    """The problem a domain error is answered with (the table `DOMAIN`)."""
    for kind, status, title, type_ in DOMAIN:
        if isinstance(error, kind):
            headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Busy) else None
            errors = error.errors if isinstance(error, InvalidSpec) else None
            return ProblemError(status, title, error.detail, type_=type_, errors=errors, headers=headers)
    raise TypeError(f"no problem is mapped for {type(error).__name__}")


DESCRIPTIONS = {
    404: "Nothing has this id.",
    409: "The resource is not in a state that allows this yet.",
    413: "The body is larger than the server accepts.",
    415: "The body is not JSON: send it with `Content-Type: application/json`.",
    422: "The request is invalid or beyond a limit; `errors` names each field and what to change.",
    429: "Every worker and queue place is busy; retry after `Retry-After` seconds.",
    507: "The room the server keeps for this is used up (a setting of the server); retrying does not help.",
}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these problem statuses; `descriptions` (`_404="..."`) override the
    general wording for one route."""
    return {
        status: {"model": Problem, "description": descriptions.get(f"_{status}", DESCRIPTIONS[status])}
        for status in statuses
    }


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
        body["errors"] = [{"loc": loc, "msg": msg, "type": type_} for loc, msg, type_ in problem.errors]
    return Response(orjson.dumps(body), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def install(app: FastAPI) -> None:
    """Register the handlers that make every error a problem document; a 500 never leaks internals."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(exc, request.url.path)

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DescentError)
        return problem_response(from_domain(exc), request.url.path)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(from_domain(InvalidSpec(validation_errors(exc.errors()))), request.url.path)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = _reason(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
        type_ = LIMIT_EXCEEDED if exc.status_code == 413 else "about:blank"
        headers = dict(exc.headers or {})
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "The body could not be read as JSON text; send UTF-8 encoded JSON."
            if "integer string conversion" in str(exc.__cause__):  # Python's JSON reader stops at 4300 digits
                detail = (
                    "The body has an integer of more than 4300 digits, which the JSON reader refuses; every number "
                    "in a spec lies within ±3.4e38 (float32's range)."
                )
        if exc.status_code == 405:  # the route that raised it names only its own methods
            methods = _allowed_methods(request, headers.get("Allow", ""))
            headers["Allow"] = ", ".join(methods)
            detail = f"{request.method} is not allowed here; use {_listed(methods)}."
        problem = ProblemError(exc.status_code, title, detail, type_=type_, headers=headers)
        return problem_response(problem, request.url.path)

    async def on_crash(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = ProblemError(500, "Internal Server Error", "The server failed; the error has been logged.")
        return problem_response(problem, request.url.path)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(DescentError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _allowed_methods(request: Request, raised: str) -> list[str]:
    """Every method some route accepts at this path, with those the raising route named (`raised`, its `Allow`:
    a mount's app knows its own); HEAD wherever GET (`head.HeadAsGet` answers it).

    FastAPI (0.165) keeps included routers' routes behind `_IncludedRouter` entries that carry no methods, so the
    routes are walked with their effective path and methods (`iter_route_contexts`), each matched against a fresh
    scope: by now the request's scope has been narrowed by the route that matched (a mount's `root_path`)."""
    scope = {
        "type": "http",
        "method": request.method,
        "path": request.scope["path"],
        "root_path": request.scope.get("app_root_path", request.scope.get("root_path", "")),
        "headers": request.scope.get("headers", []),
    }
    methods = {method.strip().upper() for method in raised.split(",") if method.strip()}
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _listed(methods: list[str]) -> str:
    """The methods in words: `GET, HEAD or POST`."""
    return " or ".join([", ".join(methods[:-1]), methods[-1]]) if len(methods) > 1 else "".join(methods)


def _reason(status: int) -> str:
    if status == 413:
        return "Content Too Large"  # RFC 9110's name; Python still says "Request Entity Too Large"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
