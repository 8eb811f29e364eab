"""The domain's errors: raised where a rule lives, carrying no HTTP codes; `service.api.problems` alone turns
them into RFC 9457 problems.

    DescentError            what the service refuses or cannot do for a client; `detail` says it in a sentence
     ├── InvalidSpec        a spec breaks a rule; `errors` lists (location, what to change) per offending field
     │    ├── LimitExceeded a valid spec beyond this server's limits (steps, dimensions, trace size, grid size)
     │    └── NoCounterpart a kind that the library asked for has no counterpart of (the run as code)
     ├── NotFound           no run, sweep or job has this id
     ├── Busy               every worker and every queue place is taken (or this client's quota for the hour);
     │                      retry after `retry_after` seconds
     ├── Conflict           the resource exists but its state does not allow this yet (a grid before it is done)
     └── StoreFull          the room the server keeps for something (saved views) is used up; waiting does not help
"""

from collections.abc import Sequence

Loc = list[str | int]
"""Where in a request: field names and list indices from the body's root, e.g. ["loss", "a"] or ["axes", 0]."""

FieldError = tuple[Loc, str, str]
"""One offending field: its location, what to change (a sentence for a person) and the error's type (a short,
stable code for a program, listed in `ERROR_TYPES`)."""

ERROR_TYPES: dict[str, str] = {
    "invalid_parameter": "the engine refused a parameter's value; the message says which values it takes",
    "invalid_expression": "an expression loss's formula cannot be parsed or uses what is not allowed",
    "dimension_mismatch": "the numbers of dimensions disagree (w0, the loss, a landscape's bounds)",
    "beyond_schedule": "more steps than the schedule defines (torch's OneCycleLR past total_steps)",
    "incompatible": "two fields that cannot go together (cycle_momentum with an optimizer without momentum)",
    "not_sweepable": "a sweep axis whose path is not a real-valued parameter, or that cannot vary per grid point",
    "limit_exceeded": "a valid request beyond this server's limits (steps, dimensions, trace size, grid size)",
    "no_counterpart": "the library asked for has nothing that reproduces this kind (the run as code)",
    "invalid_cursor": "a page cursor this server did not give",
    "invalid_view": "a saved view's state that is not plain JSON within a browser's numbers, or nests too deep",
    "id_taken": "another saved view already has this view's id",
}
"""The error types of the service's own rules (the domain errors), beside Pydantic's validation error types
(`missing`, `greater_than`, `literal_error`, `extra_forbidden`, ...; https://docs.pydantic.dev/latest/errors/
validation_errors/) and the service's refinements of them (`float32_range`, `number_or_list`, `kind_refused`,
`child_lr`)."""


class DescentError(Exception):
    """Base of every domain error; `detail` is one sentence for a person."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidSpec(DescentError):
    """A spec breaks a rule. Each error names its field, says what to change and carries its type (`ERROR_TYPES`;
    an error given as (loc, msg) takes the class's `error_type`); `detail` repeats the first."""

    error_type = "invalid_parameter"

    def __init__(
        self, errors: Sequence[tuple[Sequence[str | int], str] | tuple[Sequence[str | int], str, str]]
    ) -> None:
        if not errors:
            raise ValueError("InvalidSpec needs at least one error")
        self.errors: list[FieldError] = [
            (list(error[0]), error[1], error[2] if len(error) == 3 else self.error_type) for error in errors
        ]
        loc, msg, _ = self.errors[0]
        more = len(self.errors) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        where = ".".join(str(part) for part in loc) or "request"
        super().__init__(f"{where}: {msg.rstrip('.')}{tail}.")

    def within(self, *prefix: str | int) -> "InvalidSpec":
        """The same errors, located inside `prefix` (a spec nested in another, such as a sweep's base)."""
        moved = InvalidSpec.__new__(type(self))  # past a subclass's own __init__ (NoCounterpart takes one error)
        InvalidSpec.__init__(moved, [([*prefix, *loc], msg, type_) for loc, msg, type_ in self.errors])
        return moved


class LimitExceeded(InvalidSpec):
    """A spec within the rules but beyond this server's configured limits."""

    error_type = "limit_exceeded"


class NoCounterpart(InvalidSpec):
    """The library asked for has nothing that reproduces this kind (`torch.OneCycleLR` in Keras); located at the
    spec's field that names the kind."""

    error_type = "no_counterpart"

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__([(loc, message)])


class NotFound(DescentError):
    """Nothing has the id asked for."""


class Busy(DescentError):
    """No capacity now; the same request may succeed after `retry_after` seconds."""

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Conflict(DescentError):
    """The resource exists, but its state does not allow what was asked."""


class StoreFull(DescentError):
    """The store's room for this kind of thing, a setting of the server, is used up: only its operator can help."""
