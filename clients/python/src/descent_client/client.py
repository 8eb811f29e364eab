"""The synchronous client: one method per thing the service does, typed answers, problems as exceptions."""

import contextlib
import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any

import httpx
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
from httpx_sse import EventSource

from descent_client import _core
from descent_client._core import TraceFormat
from descent_client.errors import DescentError, StreamError, error_from_response
from descent_client.events import (
    LAST_STEP,
    Event,
    JobEnded,
    Progress,
    Resume,
    RunEnded,
    RunStarted,
    Steps,
    job_event,
    reconnect_delay,
)
from descent_client.events import Step as StepEvent
from descent_client.models import Catalog, Landscape, LRFinderResult, Run, RunInfo, RunPage, Sweep, Trace, View

Spec = Mapping[str, Any]
OnProgress = Callable[[int, int], None]
"""Called with (last step computed, steps) as a run or sweep advances."""


class Client:
    """A client of one Descent server.

    `base_url` defaults to $DESCENT_SERVER, else http://127.0.0.1:8000 (`make run`). With API keys on the server,
    pass `api_key` (sent as `Authorization: Bearer`) or `api_key_file` (the first key of a DESCENT_API_KEYS_FILE-style
    file); $DESCENT_API_KEY and $DESCENT_API_KEY_FILE are read otherwise. `busy_retries` retries a 429 that many
    times after its `Retry-After`; `max_reconnects` bounds the reconnections of an event stream in a row without
    a new event. Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        api_key_file: str | os.PathLike[str] | None = None,
        timeout: float | None = 600.0,
        busy_retries: int = 0,
        max_reconnects: int = 5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("DESCENT_SERVER") or _core.DEFAULT_URL).rstrip("/")
        self.busy_retries = busy_retries
        self.max_reconnects = max_reconnects
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=_core.headers(_core.api_key_from(api_key, api_key_file)),
            timeout=_core.timeout(timeout),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer, or its problem raised; a 429 is retried `busy_retries` times after its `Retry-After`."""
        for attempt in range(self.busy_retries + 1):
            response = self._http.request(method, path, json=json, params=params, headers=headers)
            if response.status_code != 429 or attempt == self.busy_retries:
                break
            time.sleep(error_from_response(response).retry_after or 1.0)
        return _core.checked(response)

    # Runs

    def run(self, spec: Spec, *, trace: TraceFormat = "auto") -> Run:
        """Run `spec` and answer the finished run with its whole trace. A big trace (more than 10,000 rows) is
        fetched as Arrow: the run is submitted, waited for, then read back (`trace="json"` or `"arrow"` forces)."""
        if _core.wants_arrow(trace, _core.rows_of(spec)):
            info = self.wait(self.submit(spec).id)
            return Run.with_trace(info, self.trace(info.id))
        return Run.from_json(self.request("POST", "/v1/runs", json=dict(spec)).json())

    def submit(self, spec: Spec) -> RunInfo:
        """Start `spec` in the background (`202`); follow it with `events`, `wait` or `get`."""
        return RunInfo.from_json(self.request("POST", "/v1/runs", json=dict(spec), params={"wait": "false"}).json())

    def info(self, run_id: str) -> RunInfo:
        """The run's status, spec and summary, without its trace."""
        return RunInfo.from_json(self.request("GET", f"/v1/runs/{run_id}", params={"max_points": 2}).json())

    def get(
        self, run_id: str, *, every: int | None = None, max_points: int | None = None, trace: TraceFormat = "auto"
    ) -> Run:
        """The run with its trace (thinned by `every` or `max_points`: first and last rows always kept). An ended
        run's trace of more than 10,000 rows comes as Arrow."""
        if trace != "json":
            info = self.info(run_id)
            if trace == "arrow" or (
                info.ended
                and info.summary is not None
                and _core.wants_arrow(trace, _core.expected_rows(info.summary.steps_run, info.spec, every, max_points))
            ):
                return Run.with_trace(info, self.trace(run_id, every=every, max_points=max_points))
        return Run.from_json(self.document(run_id, every=every, max_points=max_points))

    def document(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> dict[str, Any]:
        """The run's JSON document as the server wrote it."""
        document: dict[str, Any] = self.request(
            "GET", f"/v1/runs/{run_id}", params=_core.thinning(every, max_points)
        ).json()
        return document

    def trace(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> Trace:
        """The trace alone, read as Arrow: each number in the run's dtype, bit for bit."""
        params = {**_core.thinning(every, max_points), "format": "arrow"}
        return _core.trace_from_arrow(self.request("GET", f"/v1/runs/{run_id}", params=params).content)

    def csv(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> str:
        """The trace as the server's CSV download (header `step,w,loss,lr,grad`, or `w[i]`… for D dimensions)."""
        params = {**_core.thinning(every, max_points), "format": "csv"}
        return self.request("GET", f"/v1/runs/{run_id}", params=params).text

    def wait(self, run_id: str, *, on_progress: OnProgress | None = None) -> RunInfo:
        """Block until the run has ended; answer its status and summary. `on_progress(step, steps)` is called as
        rows arrive (the rows are then streamed in batches; without it only the end is awaited)."""
        if on_progress is None:
            for _ in self.events(run_id, after=LAST_STEP):  # `run`, then `end` (the stream then closes)
                pass
        else:
            steps = 0
            for event in self.events(run_id, batch=10_000):
                if isinstance(event, RunStarted):
                    steps = int(event.run.spec.get("steps", 0))
                elif isinstance(event, Steps):
                    on_progress(int(event.trace.step[-1]), steps)
                elif isinstance(event, StepEvent):
                    on_progress(event.step, steps)
        return self.info(run_id)

    def cancel(self, run_id: str) -> RunInfo:
        """Stop a queued or running run (it stays, `cancelled`, with the rows computed so far). An ended run is
        left as it is and answered."""
        info = self.info(run_id)
        if info.ended:
            return info
        response = self.request("DELETE", f"/v1/runs/{run_id}")
        if response.status_code == 202:
            return RunInfo.from_json(response.json())
        return info  # it ended meanwhile, and that DELETE deleted it

    def delete(self, run_id: str) -> None:
        """Delete the run and its trace (a running one is cancelled first)."""
        if self.request("DELETE", f"/v1/runs/{run_id}").status_code == 202:
            self.request("DELETE", f"/v1/runs/{run_id}")

    def runs(self, *, limit: int = 20, cursor: str | None = None) -> RunPage:
        """One page of runs, newest first, without traces."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return RunPage.from_json(self.request("GET", "/v1/runs", params=params).json())

    def iter_runs(self, *, page_size: int = 100) -> Iterator[RunInfo]:
        """Every run, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.runs(limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # Streams

    def events(self, run_id: str, *, after: int = -1, batch: int | None = None) -> Generator[Event, None, None]:
        """The run's events: `RunStarted`, then `Step` per row (or `Steps` per `batch` rows), `RunFailed` if it
        failed, `RunEnded`. Stored rows are replayed, then new ones follow live. A dropped connection is resumed
        with `Last-Event-ID`, so every row after `after` comes exactly once."""
        state = Resume(after=after)
        params = {"batch": batch} if batch is not None else {}
        failures = 0
        while True:
            error: Exception | None = None
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/runs/{run_id}/events",
                    params=params,
                    headers={"Accept": "text/event-stream", **state.headers()},
                    timeout=_core.STREAM_TIMEOUT,
                ) as response:
                    if not response.is_success:
                        response.read()
                        raise error_from_response(response)
                    for sse in EventSource(response).iter_sse():
                        for event in state.events(sse):
                            failures = 0
                            yield event
                        if state.ended:
                            return
            except httpx.TransportError as exc:
                error = exc
            failures += 1
            if failures > self.max_reconnects:
                raise StreamError(
                    f"the event stream of run {run_id} dropped {failures} times in a row after step {state.after}"
                ) from error
            time.sleep(reconnect_delay(failures))

    def stream(self, spec: Spec, *, batch: int | None = None) -> Generator[Event, None, None]:
        """Submit `spec` and yield its events as `events` does. Leaving the loop before `RunEnded` cancels the
        run (a dropped connection does not: it is resumed)."""
        info = self.submit(spec)
        ended = False
        try:
            with contextlib.closing(self.events(info.id, batch=batch)) as events:
                for event in events:
                    ended = ended or isinstance(event, RunEnded)
                    yield event
        finally:
            if not ended:
                with contextlib.suppress(DescentError, httpx.TransportError):
                    self.cancel(info.id)

    # Sweeps, range tests, landscapes

    def sweep(self, spec: Spec) -> Sweep:
        """Run a grid of runs (`{"base": <run spec>, "axes": [...]}`) as one batch and answer the finished sweep."""
        return Sweep.from_json(self.request("POST", "/v1/sweeps", json=dict(spec)).json())

    def submit_sweep(self, spec: Spec) -> Sweep:
        return Sweep.from_json(self.request("POST", "/v1/sweeps", json=dict(spec), params={"wait": "false"}).json())

    def get_sweep(self, sweep_id: str) -> Sweep:
        return Sweep.from_json(self.request("GET", f"/v1/sweeps/{sweep_id}").json())

    def sweep_table(self, sweep_id: str) -> Any:
        """A finished sweep as a `pyarrow.Table`: one row per grid point, every number as computed (NaN kept)."""
        body = self.request("GET", f"/v1/sweeps/{sweep_id}", params={"format": "arrow"}).content
        return pa.ipc.open_stream(body).read_all()

    def wait_sweep(self, sweep_id: str, *, on_progress: OnProgress | None = None) -> Sweep:
        """Block until the sweep has ended (reporting its progress), then answer it."""
        failures = 0
        while True:
            error: Exception | None = None
            try:
                with self._http.stream(
                    "GET",
                    f"/v1/sweeps/{sweep_id}/events",
                    headers={"Accept": "text/event-stream"},
                    timeout=_core.STREAM_TIMEOUT,
                ) as response:
                    if not response.is_success:
                        response.read()
                        raise error_from_response(response)
                    for sse in EventSource(response).iter_sse():
                        event = job_event(sse)
                        if isinstance(event, Progress):
                            failures = 0
                            if on_progress is not None:
                                on_progress(event.step, event.steps)
                        elif isinstance(event, JobEnded):
                            return self.get_sweep(sweep_id)
            except httpx.TransportError as exc:
                error = exc
            failures += 1
            if failures > self.max_reconnects:
                raise StreamError(f"the event stream of sweep {sweep_id} dropped {failures} times") from error
            time.sleep(reconnect_delay(failures))

    def lr_finder(self, spec: Spec) -> LRFinderResult:
        """The learning-rate range test (torch-lr-finder's and fastai's) with its suggested rates."""
        document = self.request("POST", "/v1/lr-finder", json=dict(spec)).json()
        return LRFinderResult.from_json(document, str(spec.get("dtype", "float32")))

    def landscape(self, spec: Spec) -> Landscape:
        """The loss on a 1-D range or a 2-D box (`{"loss": …, "bounds": [[lo, hi], …], "resolution": n}`)."""
        document = self.request("POST", "/v1/landscape", json=dict(spec)).json()
        return Landscape.from_json(document, str(spec.get("dtype", "float32")))

    def save_view(self, state: Mapping[str, Any]) -> View:
        """Save a dashboard view (a JSON object: the runs, hidden runs, scales, zoom, step the page shows) under a
        short id; `View.url` opens the dashboard on it. The same state gives the same id (stored once). A client
        past its hourly quota gets `TooManyRequests`; a full store `APIError` 507."""
        response = self.request("POST", "/v1/views", json={"state": dict(state)})
        return View.from_json(response.json(), str(self._http.base_url), state)

    def view(self, view_id: str) -> View:
        """A saved dashboard view, with its state (`NotFound` for an id never saved)."""
        response = self.request("GET", f"/v1/views/{view_id}")
        return View.from_json(response.json(), str(self._http.base_url))

    def catalog(self) -> Catalog:
        """Every loss, schedule and optimizer kind, with parameters and defaults."""
        return Catalog.from_json(self.request("GET", "/v1/catalog").json())
