"""Timestamps as the API writes them."""

from datetime import UTC, datetime


def now() -> str:
    """UTC time as RFC 3339 with milliseconds and a Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso(seconds: float) -> str:
    """Unix seconds as `now` writes times."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
