"""A run's server-sent events as typed values, and the bookkeeping that resumes a dropped stream exactly.

The service numbers each `step` event (and each `steps` batch) with its row's step as the SSE `id`, and
`GET /v1/runs/{id}/events` with `Last-Event-ID: n` resumes at the first row after step n. `Resume` remembers the
last step delivered; after a reconnection it drops the repeated `run` event and any row at or before that step, so
a consumer sees every row exactly once however often the connection drops.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from httpx_sse import ServerSentEvent

from descent_client.errors import Problem
from descent_client.models import Array, RunInfo, Summary, Trace, floats


@dataclass(frozen=True)
class RunStarted:
    """First event: the run without its trace."""

    run: RunInfo


@dataclass(frozen=True)
class Step:
    """One recorded row (`w` and `grad` are arrays of length D for a D-dimensional run)."""

    step: int
    w: float | Array
    loss: float
    lr: float
    grad: float | Array
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Steps:
    """With `batch=k`: up to k rows at once, in columns."""

    trace: Trace


@dataclass(frozen=True)
class RunFailed:
    """The run failed: the server's problem document (an `end` event follows)."""

    problem: Problem


@dataclass(frozen=True)
class RunEnded:
    """Last event: the final status and summary."""

    status: str
    summary: Summary | None
    error: str | None


Event = RunStarted | Step | Steps | RunFailed | RunEnded
LAST_STEP = 2**31 - 1
"""No run has a step beyond this: resuming after it yields `run` then `end` (a cheap way to wait for the end)."""


def _scalar_or_array(value: Any, dtype: str) -> float | Array:
    if isinstance(value, list):
        return floats(value, dtype)
    return float(floats(value, dtype))


@dataclass
class Resume:
    """Where a stream is: the last step delivered (`after`), whether `run` and `end` were seen."""

    after: int = -1
    dtype: str = "float32"
    started: bool = False
    ended: bool = False

    def events(self, sse: ServerSentEvent) -> Iterator[Event]:
        """The typed events of one SSE message, without what an earlier connection already delivered."""
        if sse.event == "run":
            info = RunInfo.from_json(json.loads(sse.data))
            self.dtype = info.dtype
            if not self.started:
                self.started = True
                yield RunStarted(info)
        elif sse.event == "step":
            data = json.loads(sse.data)
            if data["step"] > self.after:
                self.after = data["step"]
                yield Step(
                    step=data["step"],
                    w=_scalar_or_array(data["w"], self.dtype),
                    loss=float(floats(data["loss"], self.dtype)),
                    lr=float(floats(data["lr"], self.dtype)),
                    grad=_scalar_or_array(data["grad"], self.dtype),
                    state=data.get("state") or {},
                )
        elif sse.event == "steps":
            trace = Trace.from_json(json.loads(sse.data), self.dtype)
            fresh = trace.step > self.after
            if fresh.any():
                self.after = int(trace.step[-1])
                yield Steps(_rows(trace, fresh))
        elif sse.event == "error":
            yield RunFailed(Problem.from_json(json.loads(sse.data)))
        elif sse.event == "end":
            data = json.loads(sse.data)
            self.ended = True
            summary = data.get("summary")
            yield RunEnded(data["status"], Summary.from_json(summary) if summary else None, data.get("error"))

    def headers(self) -> dict[str, str]:
        """The headers of the next connection: `Last-Event-ID` once a row has been delivered."""
        return {"Last-Event-ID": str(self.after)} if self.after >= 0 else {}


def _rows(trace: Trace, keep: Array) -> Trace:
    if keep.all():
        return trace
    return Trace(
        step=trace.step[keep],
        w=trace.w[keep],
        loss=trace.loss[keep],
        lr=trace.lr[keep],
        grad=trace.grad[keep],
        state={name: values[keep] for name, values in trace.state.items()},
    )


@dataclass(frozen=True)
class Progress:
    """A sweep's progress event: all grid points advance together."""

    step: int
    steps: int


@dataclass(frozen=True)
class JobEnded:
    """A sweep stream's last event."""

    status: str
    error: str | None


def job_event(sse: ServerSentEvent) -> Progress | JobEnded | None:
    if sse.event == "progress":
        data = json.loads(sse.data)
        return Progress(data["step"], data["steps"])
    if sse.event == "end":
        data = json.loads(sse.data)
        return JobEnded(data["status"], data.get("error"))
    return None


def reconnect_delay(failures: int) -> float:
    """Seconds to wait before reconnection number `failures` (1, 2, …) without progress in between."""
    return float(min(0.1 * 2 ** (failures - 1), 2.0))
