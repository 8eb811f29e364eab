"""The engine's one exception type."""

Loc = tuple[str | int, ...]


class ParameterError(ValueError):
    """A factory refused a parameter; `name` is the parameter (or a path into nested parameters, such as
    `("schedulers", 1, "gamma")`), the message says what to change, `code` the kind of refusal for a program
    (`service.errors.ERROR_TYPES`)."""

    def __init__(self, name: str | Loc, message: str, code: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.code = code

    @property
    def loc(self) -> Loc:
        return (self.name,) if isinstance(self.name, str) else self.name

    def within(self, *prefix: str | int) -> "ParameterError":
        """The same error, located inside a nested parameter."""
        return ParameterError((*prefix, *self.loc), self.message, self.code)
