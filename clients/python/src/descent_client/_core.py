"""What the sync and async clients share: settings, headers, request shapes and answer decoding (no I/O here)."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import httpx
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

from descent_client.errors import DescentError, error_from_response
from descent_client.models import Trace

DEFAULT_URL = "http://127.0.0.1:8000"
ARROW_STREAM = "application/vnd.apache.arrow.stream"
ARROW_ROWS = 10_000
"""Traces of more rows than this are fetched as Arrow (binary, exact, half JSON's size). `bench.client_traces`
measured `Client.get` with Arrow 1.6 to 2.9 times faster than with JSON at 10,001 rows, 8 to 13 times at 100,001,
and JSON faster below about 5,000 rows (Arrow's second request and framing)."""
TraceFormat = Literal["auto", "json", "arrow"]
USER_AGENT = "descent-client/0.1"


def api_key_from(api_key: str | None, api_key_file: str | os.PathLike[str] | None) -> str | None:
    """The key to send: `api_key`, else the first key in `api_key_file` (one per line, `#` comments, the format
    of the server's DESCENT_API_KEYS_FILE), else $DESCENT_API_KEY, else $DESCENT_API_KEY_FILE's first key."""
    if api_key:
        return api_key
    if api_key_file is None:
        if os.environ.get("DESCENT_API_KEY"):
            return os.environ["DESCENT_API_KEY"]
        api_key_file = os.environ.get("DESCENT_API_KEY_FILE") or None
    if api_key_file is not None:
        try:
            text = Path(api_key_file).read_text("utf-8")
        except OSError as exc:
            raise DescentError(f"cannot read the API key file {api_key_file}: {exc.strerror or exc}") from exc
        for line in text.splitlines():
            if (key := line.strip()) and not key.startswith("#"):
                return key
        raise DescentError(f"{api_key_file} lists no API key (one per line; lines starting with # are comments)")
    return None


def headers(api_key: str | None) -> dict[str, str]:
    base = {"User-Agent": USER_AGENT}
    if api_key:
        base["Authorization"] = f"Bearer {api_key}"
    return base


def timeout(seconds: float | None) -> httpx.Timeout:
    """Requests time out after `seconds`; an event stream's reads may wait longer (pings come every 15 s)."""
    return httpx.Timeout(seconds, connect=min(seconds or 10.0, 10.0))


STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


def checked(response: httpx.Response) -> httpx.Response:
    """The response if it succeeded, else its problem as an exception (the body must have been read)."""
    if response.is_success:
        return response
    raise error_from_response(response)


def rows_of(spec: Mapping[str, Any]) -> int:
    """How many rows a run of `spec` records at most (its steps over `record.every`, plus the first and last)."""
    steps = int(spec.get("steps", 0))
    every = int((spec.get("record") or {}).get("every", 1))
    return steps // max(every, 1) + 2


def wants_arrow(choice: TraceFormat, rows: int) -> bool:
    return choice == "arrow" or (choice == "auto" and rows > ARROW_ROWS)


def thinning(every: int | None, max_points: int | None) -> dict[str, int]:
    params = {}
    if every is not None:
        params["every"] = every
    if max_points is not None:
        params["max_points"] = max_points
    return params


def trace_from_arrow(body: bytes) -> Trace:
    """A trace from the service's Arrow IPC stream (the CSV's columns, each in the run's dtype, bit for bit)."""
    table = pa.ipc.open_stream(body).read_all()
    columns = {name: table.column(name).to_numpy() for name in table.column_names}
    return Trace.from_columns(columns)


def expected_rows(info_steps: int, spec: Mapping[str, Any], every: int | None, max_points: int | None) -> int:
    """Rows a read of an ended run answers, for choosing JSON or Arrow."""
    recorded = info_steps // max(int((spec.get("record") or {}).get("every", 1)), 1) + 2
    if every is not None:
        recorded = recorded // every + 2
    if max_points is not None:
        recorded = min(recorded, max_points)
    return recorded
