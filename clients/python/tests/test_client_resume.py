"""Invariants of the client's own bookkeeping, without a server: resuming delivers every row once, and the
`KIND:name=value,…` form reads back what it wrote."""

import json
from typing import Any

from httpx_sse import ServerSentEvent
from hypothesis import given
from hypothesis import strategies as st

from descent_client import specs
from descent_client.events import Resume, RunEnded, RunStarted, Step, Steps

RUN = {
    "id": "r",
    "name": None,
    "status": "running",
    "created_at": "2026-12-05T00:00:00Z",
    "finished_at": None,
    "spec": {"dtype": "float32", "steps": 99},
    "summary": None,
    "error": None,
}


def connection(rows: list[int], after: int, cut: int, batch: int | None) -> list[ServerSentEvent]:
    """What the server sends a connection resuming after step `after`, cut after `cut` messages: `run`, the rows
    after `after` (one `step` each, or `steps` of `batch` rows), `end`."""
    fresh = [row for row in rows if row > after]
    messages = [ServerSentEvent("run", json.dumps(RUN))]
    if batch is None:
        for row in fresh:
            data: dict[str, Any] = {"step": row, "w": float(row), "loss": 1.0, "lr": 0.1, "grad": 2.0}
            messages.append(ServerSentEvent("step", json.dumps(data), str(row)))
    else:
        for start in range(0, len(fresh), batch):
            steps = fresh[start : start + batch]
            columns = {"step": steps, "w": [float(s) for s in steps], "loss": [1.0] * len(steps)}
            columns |= {"lr": [0.1] * len(steps), "grad": [2.0] * len(steps)}
            messages.append(ServerSentEvent("steps", json.dumps(columns), str(steps[-1])))
    messages.append(ServerSentEvent("end", json.dumps({"status": "finished", "summary": None, "error": None})))
    return messages[:cut]


@given(
    count=st.integers(0, 60),
    cuts=st.lists(st.integers(0, 80), max_size=8),
    batch=st.none() | st.integers(1, 7),
    server_rewinds=st.booleans(),
)
def test_resuming_delivers_every_row_once(count: int, cuts: list[int], batch: int | None, server_rewinds: bool) -> None:
    """However the connections are cut (even a server that replays from an earlier step), the rows come out once,
    in order, with one `RunStarted` first and one `RunEnded` last."""
    rows = list(range(0, count * 3, 3))
    state = Resume()
    delivered: list[Any] = []
    for cut in [*cuts, 10**6]:  # the last connection runs to the end
        after = -1 if server_rewinds and len(delivered) % 2 else state.after
        for message in connection(rows, after, cut, batch):
            delivered.extend(state.events(message))
        if state.ended:
            break
    steps: list[int] = []
    for event in delivered:
        if isinstance(event, Step):
            steps.append(event.step)
        elif isinstance(event, Steps):
            steps.extend(event.trace.step.tolist())
            assert event.trace.w.tolist() == [float(step) for step in event.trace.step]
    assert steps == rows
    assert isinstance(delivered[0], RunStarted)
    assert isinstance(delivered[-1], RunEnded)
    assert sum(isinstance(event, RunStarted | RunEnded) for event in delivered) == 2
    assert state.headers() == ({"Last-Event-ID": str(rows[-1])} if rows else {})


names = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda name: name != "kind")
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@given(
    kind=st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[A-Za-z][A-Za-z0-9_]{0,12})?", fullmatch=True),
    params=st.dictionaries(names, values, max_size=5),
)
def test_kind_with_params_reads_back_what_it_wrote(kind: str, params: dict[str, Any]) -> None:
    text = kind + (":" + ",".join(f"{name}={json.dumps(value)}" for name, value in params.items()) if params else "")
    assert specs.kind_with_params(text) == {"kind": kind, **params}
