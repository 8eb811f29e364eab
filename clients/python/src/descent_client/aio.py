"""The asynchronous client: `Client`'s methods as coroutines (and async iterators for streams), on one
`httpx.AsyncClient`."""

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
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


class AsyncClient:
    """An asynchronous client of one Descent server (`async with AsyncClient(url) as client: ...`).

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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = (base_url or os.environ.get("DESCENT_SERVER") or _core.DEFAULT_URL).rstrip("/")
        self.busy_retries = busy_retries
        self.max_reconnects = max_reconnects
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=_core.headers(_core.api_key_from(api_key, api_key_file)),
            timeout=_core.timeout(timeout),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def request(
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
            response = await self._http.request(method, path, json=json, params=params, headers=headers)
            if response.status_code != 429 or attempt == self.busy_retries:
                break
            await asyncio.sleep(error_from_response(response).retry_after or 1.0)
        return _core.checked(response)

    # Runs

    async def run(self, spec: Spec, *, trace: TraceFormat = "auto") -> Run:
        """Run `spec` and answer the finished run with its whole trace. A big trace (more than 10,000 rows) is
        fetched as Arrow: the run is submitted, waited for, then read back (`trace="json"` or `"arrow"` forces)."""
        if _core.wants_arrow(trace, _core.rows_of(spec)):
            info = await self.wait((await self.submit(spec)).id)
            return Run.with_trace(info, await self.trace(info.id))
        return Run.from_json((await self.request("POST", "/v1/runs", json=dict(spec))).json())

    async def submit(self, spec: Spec) -> RunInfo:
        """Start `spec` in the background (`202`); follow it with `events`, `wait` or `get`."""
        return RunInfo.from_json(
            (await self.request("POST", "/v1/runs", json=dict(spec), params={"wait": "false"})).json()
        )

    async def info(self, run_id: str) -> RunInfo:
        """The run's status, spec and summary, without its trace."""
        return RunInfo.from_json((await self.request("GET", f"/v1/runs/{run_id}", params={"max_points": 2})).json())

    async def get(
        self, run_id: str, *, every: int | None = None, max_points: int | None = None, trace: TraceFormat = "auto"
    ) -> Run:
        """The run with its trace (thinned by `every` or `max_points`: first and last rows always kept). An ended
        run's trace of more than 10,000 rows comes as Arrow."""
        if trace != "json":
            info = await self.info(run_id)
            if trace == "arrow" or (
                info.ended
                and info.summary is not None
                and _core.wants_arrow(trace, _core.expected_rows(info.summary.steps_run, info.spec, every, max_points))
            ):
                return Run.with_trace(info, await self.trace(run_id, every=every, max_points=max_points))
        return Run.from_json(await self.document(run_id, every=every, max_points=max_points))

    async def document(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> dict[str, Any]:
        """The run's JSON document as the server wrote it."""
        document: dict[str, Any] = (
            await self.request("GET", f"/v1/runs/{run_id}", params=_core.thinning(every, max_points))
        ).json()
        return document

    async def trace(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> Trace:
        """The trace alone, read as Arrow: each number in the run's dtype, bit for bit."""
        params = {**_core.thinning(every, max_points), "format": "arrow"}
        return _core.trace_from_arrow((await self.request("GET", f"/v1/runs/{run_id}", params=params)).content)

    async def csv(self, run_id: str, *, every: int | None = None, max_points: int | None = None) -> str:
        """The trace as the server's CSV download (header `step,w,loss,lr,grad`, or `w[i]`… for D dimensions)."""
        params = {**_core.thinning(every, max_points), "format": "csv"}
        return (await self.request("GET", f"/v1/runs/{run_id}", params=params)).text

    async def wait(self, run_id: str, *, on_progress: OnProgress | None = None) -> RunInfo:
        """Block until the run has ended; answer its status and summary. `on_progress(step, steps)` is called as
        rows arrive (the rows are then streamed in batches; without it only the end is awaited)."""
        if on_progress is None:
            async for _ in self.events(run_id, after=LAST_STEP):  # `run`, then `end` (the stream then closes)
                pass
        else:
            steps = 0
            async for event in self.events(run_id, batch=10_000):
                if isinstance(event, RunStarted):
                    steps = int(event.run.spec.get("steps", 0))
                elif isinstance(event, Steps):
                    on_progress(int(event.trace.step[-1]), steps)
                elif isinstance(event, StepEvent):
                    on_progress(event.step, steps)
        return await self.info(run_id)

    async def cancel(self, run_id: str) -> RunInfo:
        """Stop a queued or running run (it stays, `cancelled`, with the rows computed so far). An ended run is
        left as it is and answered."""
        info = await self.info(run_id)
        if info.ended:
            return info
        response = await self.request("DELETE", f"/v1/runs/{run_id}")
        if response.status_code == 202:
            return RunInfo.from_json(response.json())
        return info  # it ended meanwhile, and that DELETE deleted it

    async def delete(self, run_id: str) -> None:
        """Delete the run and its trace (a running one is cancelled first)."""
        if (await self.request("DELETE", f"/v1/runs/{run_id}")).status_code == 202:
            await self.request("DELETE", f"/v1/runs/{run_id}")

    async def runs(self, *, limit: int = 20, cursor: str | None = None) -> RunPage:
        """One page of runs, newest first, without traces."""
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        return RunPage.from_json((await self.request("GET", "/v1/runs", params=params)).json())

    async def iter_runs(self, *, page_size: int = 100) -> AsyncIterator[RunInfo]:
        """Every run, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = await self.runs(limit=page_size, cursor=cursor)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # Streams

    async def events(self, run_id: str, *, after: int = -1, batch: int | None = None) -> AsyncGenerator[Event, None]:
        """The run's events: `RunStarted`, then `Step` per row (or `Steps` per `batch` rows), `RunFailed` if it
        failed, `RunEnded`. Stored rows are replayed, then new ones follow live. A dropped connection is resumed
        with `Last-Event-ID`, so every row after `after` comes exactly once."""
        state = Resume(after=after)
        params = {"batch": batch} if batch is not None else {}
        failures = 0
        while True:
            error: Exception | None = None
            try:
                async with self._http.stream(
                    "GET",
                    f"/v1/runs/{run_id}/events",
                    params=params,
                    headers={"Accept": "text/event-stream", **state.headers()},
                    timeout=_core.STREAM_TIMEOUT,
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        raise error_from_response(response)
                    async for sse in EventSource(response).aiter_sse():
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
            await asyncio.sleep(reconnect_delay(failures))

    async def stream(self, spec: Spec, *, batch: int | None = None) -> AsyncGenerator[Event, None]:
        """Submit `spec` and yield its events as `events` does. Closing the stream before `RunEnded` cancels the
        run (a dropped connection does not: it is resumed): leave it early inside
        `async with contextlib.aclosing(client.stream(spec)) as events:`, so that it is closed at once."""
        info = await self.submit(spec)
        ended = False
        try:
            async with contextlib.aclosing(self.events(info.id, batch=batch)) as events:
                async for event in events:
                    ended = ended or isinstance(event, RunEnded)
                    yield event
        finally:
            if not ended:
                with contextlib.suppress(DescentError, httpx.TransportError):
                    await self.cancel(info.id)

    # Sweeps, range tests, landscapes

    async def sweep(self, spec: Spec) -> Sweep:
        """Run a grid of runs (`{"base": <run spec>, "axes": [...]}`) as one batch and answer the finished sweep."""
        return Sweep.from_json((await self.request("POST", "/v1/sweeps", json=dict(spec))).json())

    async def submit_sweep(self, spec: Spec) -> Sweep:
        return Sweep.from_json(
            (await self.request("POST", "/v1/sweeps", json=dict(spec), params={"wait": "false"})).json()
        )

    async def get_sweep(self, sweep_id: str) -> Sweep:
        return Sweep.from_json((await self.request("GET", f"/v1/sweeps/{sweep_id}")).json())

    async def sweep_table(self, sweep_id: str) -> Any:
        """A finished sweep as a `pyarrow.Table`: one row per grid point, every number as computed (NaN kept)."""
        body = (await self.request("GET", f"/v1/sweeps/{sweep_id}", params={"format": "arrow"})).content
        return pa.ipc.open_stream(body).read_all()

    async def wait_sweep(self, sweep_id: str, *, on_progress: OnProgress | None = None) -> Sweep:
        """Block until the sweep has ended (reporting its progress), then answer it."""
        failures = 0
        while True:
            error: Exception | None = None
            try:
                async with self._http.stream(
                    "GET",
                    f"/v1/sweeps/{sweep_id}/events",
                    headers={"Accept": "text/event-stream"},
                    timeout=_core.STREAM_TIMEOUT,
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        raise error_from_response(response)
                    async for sse in EventSource(response).aiter_sse():
                        event = job_event(sse)
                        if isinstance(event, Progress):
                            failures = 0
                            if on_progress is not None:
                                on_progress(event.step, event.steps)
                        elif isinstance(event, JobEnded):
                            return await self.get_sweep(sweep_id)
            except httpx.TransportError as exc:
                error = exc
            failures += 1
            if failures > self.max_reconnects:
                raise StreamError(f"the event stream of sweep {sweep_id} dropped {failures} times") from error
            await asyncio.sleep(reconnect_delay(failures))

    async def lr_finder(self, spec: Spec) -> LRFinderResult:
        """The learning-rate range test (torch-lr-finder's and fastai's) with its suggested rates."""
        document = (await self.request("POST", "/v1/lr-finder", json=dict(spec))).json()
        return LRFinderResult.from_json(document, str(spec.get("dtype", "float32")))

    async def landscape(self, spec: Spec) -> Landscape:
        """The loss on a 1-D range or a 2-D box (`{"loss": …, "bounds": [[lo, hi], …], "resolution": n}`)."""
        document = (await self.request("POST", "/v1/landscape", json=dict(spec))).json()
        return Landscape.from_json(document, str(spec.get("dtype", "float32")))

    async def save_view(self, state: Mapping[str, Any]) -> View:
        """Save a dashboard view (a JSON object: the runs, hidden runs, scales, zoom, step the page shows) under a
        short id; `View.url` opens the dashboard on it. The same state gives the same id (stored once). A client
        past its hourly quota gets `TooManyRequests`; a full store `APIError` 507."""
        response = await self.request("POST", "/v1/views", json={"state": dict(state)})
        return View.from_json(response.json(), str(self._http.base_url), state)

    async def view(self, view_id: str) -> View:
        """A saved dashboard view, with its state (`NotFound` for an id never saved)."""
        response = await self.request("GET", f"/v1/views/{view_id}")
        return View.from_json(response.json(), str(self._http.base_url))

    async def catalog(self) -> Catalog:
        """Every loss, schedule and optimizer kind, with parameters and defaults."""
        return Catalog.from_json((await self.request("GET", "/v1/catalog")).json())
