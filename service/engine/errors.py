"""The engine's one exception type."""


class ParameterError(ValueError):
    """A factory refused a parameter; `name` is the parameter, the message says what to change."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
