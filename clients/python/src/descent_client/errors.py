"""Errors the server answers, as exceptions carrying its RFC 9457 problem document.

Every non-2xx answer of the service is `application/problem+json` (`type`, `title`, `status`, `detail`, and for
validation failures `errors: [{loc, msg, type}]` naming each field and the kind of error). `APIError` keeps that
document whole; subclasses let callers catch what they can act on (a 422 to fix, a 404, a 429 to retry after
`retry_after` seconds).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class FieldError:
    """One refused field: `loc` is its path in the request (`("body", "schedule", "learning_rate")`), `msg` what
    to change, `type` the kind of error to branch on (`"missing"`, `"greater_than"`, `"limit_exceeded"`, ...: the
    server's OpenAPI schema `ErrorItem` lists them; empty from a server that does not send it)."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = ""

    @property
    def field(self) -> str:
        """The field's dotted path in the body, the way a spec is written: `schedule.learning_rate`, `w0.1`."""
        parts = self.loc[1:] if self.loc and self.loc[0] in ("body", "query", "path", "header") else self.loc
        return ".".join(str(part) for part in parts) or "(the request)"


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem document as the service writes it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: tuple[FieldError, ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> "Problem":
        errors = tuple(
            FieldError(tuple(item.get("loc", ())), str(item.get("msg", "")), str(item.get("type", "")))
            for item in document.get("errors") or ()
        )
        return cls(
            type=str(document.get("type", "about:blank")),
            title=str(document.get("title", "")),
            status=int(document.get("status", 0)),
            detail=str(document.get("detail", "")),
            instance=document.get("instance"),
            errors=errors,
        )


class DescentError(Exception):
    """Base of every error this package raises."""


class APIError(DescentError):
    """The server answered with an error status; `problem` is its problem document."""

    def __init__(self, problem: Problem, *, retry_after: float | None = None, request_id: str | None = None) -> None:
        self.problem = problem
        self.retry_after = retry_after
        """Seconds the server asked to wait before retrying (`Retry-After`), when it said."""
        self.request_id = request_id
        """The answer's `X-Request-ID`, to find the request in the server's log."""
        super().__init__(str(self))

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def errors(self) -> tuple[FieldError, ...]:
        return self.problem.errors

    @property
    def fields(self) -> list[str]:
        """The dotted paths of the refused fields (`["schedule.learning_rate"]`), in the server's order."""
        return [error.field for error in self.problem.errors]

    def __str__(self) -> str:
        text = f"{self.problem.status} {self.problem.title}: {self.problem.detail}"
        for error in self.problem.errors:
            text += f"\n  {error.field}: {error.msg}"
        return text


class InvalidRequest(APIError):
    """400, 413, 415 or 422: the request must change (see `errors` for the fields)."""


class Unauthorized(APIError):
    """401: an API key is needed, or the one sent is not accepted."""


class NotFound(APIError):
    """404: nothing has this id."""


class Conflict(APIError):
    """409: the resource is not in a state that allows this yet."""


class TooManyRequests(APIError):
    """429: every worker and queue place is busy (or too many streams); retry after `retry_after` seconds."""


class ServiceUnavailable(APIError):
    """503: the server is overloaded or not ready."""


class StreamError(DescentError):
    """An event stream could not be resumed (the connection kept failing)."""


STATUSES: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an error answer (its body must have been read): the problem document when there is one,
    else a problem made from the status and the start of the body (a proxy's HTML page, say)."""
    problem: Problem | None = None
    if "json" in response.headers.get("content-type", ""):
        try:
            document = response.json()
        except ValueError:
            document = None
        if isinstance(document, dict) and "status" in document:
            problem = Problem.from_json(document)
    if problem is None:
        detail = response.text.strip()[:500] or response.reason_phrase
        problem = Problem("about:blank", response.reason_phrase, response.status_code, detail)
    kind = STATUSES.get(response.status_code, APIError)
    return kind(
        problem,
        retry_after=retry_after(response.headers.get("retry-after")),
        request_id=response.headers.get("x-request-id"),
    )


def retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds (the service sends delay-seconds; an HTTP date is not used)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
